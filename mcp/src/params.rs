//! The members of a request's `params` that any method reads, found by one
//! scan of `params` right after the envelope's: each method then checks the
//! types of the members it uses.
//!
//! Shape problems (not an object, a member twice) are recorded rather than
//! raised, because they are -32602 errors addressed to the request's id,
//! which the envelope parse must still deliver.

use alloc::borrow::Cow;
use alloc::string::String;

use crate::jsonrpc::Member;
use crate::scan::{self, Invalid, Scan};

/// Every `params` member any method reads: string members as [`Text`],
/// the others as raw JSON text.
#[derive(Default, Clone, Debug)]
pub struct Params<'a> {
    pub meta: Member<'a>,
    pub name: Text<'a>,
    pub arguments: Member<'a>,
    pub uri: Text<'a>,
    pub cursor: Text<'a>,
    pub level: Text<'a>,
    pub protocol_version: Text<'a>,
    pub reference: Member<'a>,
    pub argument: Member<'a>,
    pub notifications: Member<'a>,
    pub request_id: Member<'a>,
}

impl<'a> Params<'a> {
    /// Stores member `key`; returns true if it was already there.
    fn take(&mut self, key: &str, value: &'a str) -> bool {
        fn raw<'a>(slot: &mut Member<'a>, value: &'a str) -> bool {
            let seen = slot.0.is_some();
            slot.0 = Some(value);
            seen
        }
        fn text<'a>(slot: &mut Text<'a>, value: &'a str) -> bool {
            let seen = !slot.is_absent();
            *slot = Text::of(Member(Some(value)));
            seen
        }
        match key {
            "_meta" => raw(&mut self.meta, value),
            "name" => text(&mut self.name, value),
            "arguments" => raw(&mut self.arguments, value),
            "uri" => text(&mut self.uri, value),
            "cursor" => text(&mut self.cursor, value),
            "level" => text(&mut self.level, value),
            "protocolVersion" => text(&mut self.protocol_version, value),
            "ref" => raw(&mut self.reference, value),
            "argument" => raw(&mut self.argument, value),
            "notifications" => raw(&mut self.notifications, value),
            "requestId" => raw(&mut self.request_id, value),
            _ => false,
        }
    }
}

/// A member that should hold a string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Text<'a> {
    #[default]
    Absent,
    /// Borrowed from the line unless it contained escapes.
    Str(Cow<'a, str>),
    /// Present, but not a string (or a string with an unpaired surrogate
    /// escape, which no Rust string can hold).
    Other,
}

impl<'a> Text<'a> {
    /// Reads a member's raw JSON text.
    pub fn of(member: Member<'a>) -> Text<'a> {
        let Some(raw) = member.0 else {
            return Text::Absent;
        };
        if let Some(plain) = scan::plain_str(raw) {
            return Text::Str(Cow::Borrowed(plain));
        }
        if !raw.starts_with('"') {
            return Text::Other;
        }
        match serde_json::from_str::<String>(raw) {
            Ok(s) => Text::Str(Cow::Owned(s)),
            Err(_) => Text::Other,
        }
    }

    pub fn is_absent(&self) -> bool {
        matches!(self, Text::Absent)
    }
}

/// What `params` looked like.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    #[default]
    Absent,
    Object,
    Array,
    /// A string, number, boolean or `null`.
    Scalar,
    /// An object naming one of the members above twice.
    Duplicate,
}

/// `params` as read from the envelope.
#[derive(Default, Clone, Debug)]
pub struct ParamsSlot<'a> {
    pub shape: Shape,
    pub members: Params<'a>,
}

impl<'a> ParamsSlot<'a> {
    /// Reads the value of `params` where `scan` stands, consuming it.
    pub fn read(scan: &mut Scan<'a>) -> Result<ParamsSlot<'a>, Invalid> {
        let mut slot = ParamsSlot::default();
        if scan.first() != Some(b'{') {
            let raw = scan.value()?;
            slot.shape = if raw.starts_with('[') {
                Shape::Array
            } else {
                Shape::Scalar
            };
            return Ok(slot);
        }
        let mut repeated = false;
        let members = &mut slot.members;
        scan.object(|key, scan| {
            let value = scan.value()?;
            repeated |= members.take(&key.name(), value);
            Ok(())
        })?;
        slot.shape = if repeated {
            Shape::Duplicate
        } else {
            Shape::Object
        };
        Ok(slot)
    }
}
