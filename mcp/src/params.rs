//! The members of a request's `params` that any method reads, captured as
//! raw JSON slices in the same pass that parses the envelope: `params` is
//! read once, whatever its size, and each method then checks the types of
//! the members it uses.
//!
//! Shape problems (not an object, a member twice) are recorded rather than
//! raised, because they are -32602 errors addressed to the request's id,
//! which the envelope parse must still deliver.

use alloc::borrow::Cow;
use core::fmt;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::jsonrpc::Member;

/// Every `params` member any method reads: string members as [`Text`]
/// (parsed in place), the others as raw JSON slices.
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

/// A member that should hold a string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Text<'a> {
    #[default]
    Absent,
    /// Borrowed from the line unless it contained escapes.
    Str(Cow<'a, str>),
    /// Present, but not a string.
    Other,
}

impl Text<'_> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Text::Absent)
    }
}

impl<'de> Params<'de> {
    /// Reads the value of member `key` into its slot; returns whether the
    /// member was already there, or `None` for members we do not read.
    fn read<A: MapAccess<'de>>(
        &mut self,
        key: &str,
        map: &mut A,
    ) -> Result<Option<bool>, A::Error> {
        fn raw<'de, A: MapAccess<'de>>(
            slot: &mut Member<'de>,
            map: &mut A,
        ) -> Result<bool, A::Error> {
            let seen = slot.0.is_some();
            *slot = map.next_value()?;
            Ok(seen)
        }
        fn text<'de, A: MapAccess<'de>>(
            slot: &mut Text<'de>,
            map: &mut A,
        ) -> Result<bool, A::Error> {
            let seen = !slot.is_absent();
            *slot = map.next_value()?;
            Ok(seen)
        }
        Ok(Some(match key {
            "_meta" => raw(&mut self.meta, map)?,
            "name" => text(&mut self.name, map)?,
            "arguments" => raw(&mut self.arguments, map)?,
            "uri" => text(&mut self.uri, map)?,
            "cursor" => text(&mut self.cursor, map)?,
            "level" => text(&mut self.level, map)?,
            "protocolVersion" => text(&mut self.protocol_version, map)?,
            "ref" => raw(&mut self.reference, map)?,
            "argument" => raw(&mut self.argument, map)?,
            "notifications" => raw(&mut self.notifications, map)?,
            "requestId" => raw(&mut self.request_id, map)?,
            _ => return Ok(None),
        }))
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
#[derive(Default, Clone)]
pub struct ParamsSlot<'a> {
    pub shape: Shape,
    pub members: Params<'a>,
}

impl fmt::Debug for ParamsSlot<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamsSlot")
            .field("shape", &self.shape)
            .finish_non_exhaustive()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for ParamsSlot<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SlotVisitor)
    }
}

struct SlotVisitor;

impl SlotVisitor {
    fn scalar<'a, E>(self) -> Result<ParamsSlot<'a>, E> {
        Ok(ParamsSlot {
            shape: Shape::Scalar,
            members: Params::default(),
        })
    }
}

impl<'de> Visitor<'de> for SlotVisitor {
    type Value = ParamsSlot<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut slot = ParamsSlot {
            shape: Shape::Object,
            members: Params::default(),
        };
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match slot.members.read(&key, &mut map)? {
                Some(true) => slot.shape = Shape::Duplicate,
                Some(false) => {}
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(slot)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(ParamsSlot {
            shape: Shape::Array,
            members: Params::default(),
        })
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        self.scalar()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        self.scalar()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        self.scalar()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        self.scalar()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        self.scalar()
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.scalar()
    }
}

/// An object key, borrowed from the line unless it contains escapes
/// (serde's own `Cow<str>` always allocates).
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.into())))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Owned(v.into())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::Other)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Text::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text::Other)
            }
        }
        d.deserialize_any(TextVisitor)
    }
}
