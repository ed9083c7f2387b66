//! Grammar-constrained greedy decoding: the model picks, at each step, its
//! most likely token among those the grammar allows, so that what it writes
//! is always one of a set of names ([`Choice`]) or a JSON object that a
//! flat object schema accepts ([`JsonArgs`]).
//!
//! A token is allowed when every byte of its text is ([`Grammar::feed`]
//! on a copy of the state). Special tokens and tokens without text never
//! are. Candidates are tried best logit first, so a step usually checks a
//! handful of tokens rather than the whole vocabulary.
//!
//! What [`JsonArgs`] writes is compact JSON (no whitespace) with the
//! schema's keys in any order, each at most once: strings of printable
//! ASCII without escapes, integers and decimal numbers (no exponent)
//! within their bounds, booleans and enums. Anything else in a schema is
//! refused when the [`ObjectSchema`] is built (by the caller), never
//! guessed at.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use crate::model::{Error as ModelError, Session};
use crate::tokenizer::{TokenId, Tokenizer};

/// A language the decoder writes, byte by byte.
pub trait Grammar: Clone {
    /// Takes one more byte; false (and the state is then unspecified: the
    /// decoder feeds copies) when the grammar does not allow it here.
    fn feed(&mut self, byte: u8) -> bool;
    /// The text so far is complete and nothing may follow.
    fn is_done(&self) -> bool;
    /// The rest of the text when only one continuation remains, so that
    /// the decoder can write it without asking the model.
    fn forced_rest(&self) -> Option<Vec<u8>> {
        None
    }
    /// How many of a few options the text can still become (1 when the
    /// grammar is not a choice). The model's probability of a token that
    /// several options share is their sum; the decoder divides it by this
    /// (takes ln of it from the logit), so that a family of similar names
    /// does not win over a single one for being a family.
    fn share(&self) -> usize {
        1
    }
}

/// Exactly one of a set of byte strings (none a prefix of another).
#[derive(Debug, Clone)]
pub struct Choice<'o> {
    options: &'o [Vec<u8>],
    typed: Vec<u8>,
}

impl<'o> Choice<'o> {
    pub fn new(options: &'o [Vec<u8>]) -> Self {
        Choice {
            options,
            typed: Vec::new(),
        }
    }

    fn matching(&self) -> impl Iterator<Item = &'o Vec<u8>> + '_ {
        self.options.iter().filter(|o| o.starts_with(&self.typed))
    }
}

impl Grammar for Choice<'_> {
    fn feed(&mut self, byte: u8) -> bool {
        self.typed.push(byte);
        self.matching().next().is_some()
    }

    fn is_done(&self) -> bool {
        self.options.contains(&self.typed)
    }

    fn share(&self) -> usize {
        self.matching().count().max(1)
    }

    fn forced_rest(&self) -> Option<Vec<u8>> {
        let mut matching = self.matching();
        let only = matching.next()?;
        matching
            .next()
            .is_none()
            .then(|| only[self.typed.len()..].to_vec())
    }
}

/// A property's value, as far as the decoder constrains it.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Printable ASCII without `"` or `\`, length in characters.
    String {
        min_len: usize,
        max_len: usize,
    },
    Integer {
        min: Option<i64>,
        max: Option<i64>,
    },
    Number {
        min: Option<f64>,
        max: Option<f64>,
    },
    Boolean,
    /// One of these JSON texts (`"output"`, `3`, `true`).
    Enum(Vec<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Property {
    pub name: String,
    pub kind: Kind,
    pub required: bool,
}

/// An object schema whose properties all have a [`Kind`] (at most 64).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectSchema {
    pub properties: Vec<Property>,
}

/// Why a schema cannot be constrained.
#[derive(Debug, Clone, PartialEq)]
pub struct Unsupported(pub String);

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "schema not supported by constrained decoding: {}",
            self.0
        )
    }
}

/// Most properties per object (the used ones are a bit mask).
pub const MAX_PROPERTIES: usize = 64;
/// Longest number text (digits, sign, point).
const MAX_NUMBER_LEN: usize = 24;

impl ObjectSchema {
    pub fn new(properties: Vec<Property>) -> Result<Self, Unsupported> {
        if properties.len() > MAX_PROPERTIES {
            return Err(Unsupported(alloc::format!(
                "more than {MAX_PROPERTIES} properties"
            )));
        }
        if let Some(p) = properties
            .iter()
            .find(|p| !p.name.bytes().all(plain_string_byte))
        {
            return Err(Unsupported(alloc::format!(
                "property name {:?} needs escapes",
                p.name
            )));
        }
        Ok(ObjectSchema { properties })
    }

    /// The JSON shape the prompt shows for a tool: `{"pin":integer,...}`.
    pub fn signature(&self) -> String {
        let mut out = String::from("{");
        for (i, p) in self.properties.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push('"');
            out.push_str(&p.name);
            out.push_str("\":");
            match &p.kind {
                Kind::String { .. } => out.push_str("string"),
                Kind::Integer { .. } => out.push_str("integer"),
                Kind::Number { .. } => out.push_str("number"),
                Kind::Boolean => out.push_str("boolean"),
                Kind::Enum(values) => out.push_str(&values.join("|")),
            }
            if !p.required {
                out.push('?');
            }
        }
        out.push('}');
        out
    }
}

/// Bytes allowed in strings (and keys) without escapes.
fn plain_string_byte(b: u8) -> bool {
    (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'
}

/// Where [`JsonArgs`] is in the object.
#[derive(Debug, Clone)]
enum At {
    /// Before `{`, which one space may precede (the prompt's lead ends
    /// with a colon, and the model's tokens often carry the space).
    Lead,
    Open,
    /// After `{` (a key or `}`) or after `,` (a key).
    KeyStart {
        after_comma: bool,
    },
    Key(Vec<u8>),
    Colon(usize),
    Value(usize, Value),
    AfterValue,
    Done,
}

#[derive(Debug, Clone)]
enum Value {
    /// Before the opening quote, or inside with `len` characters.
    Str {
        open: bool,
        len: usize,
    },
    Number(Vec<u8>),
    Literal(Vec<u8>),
}

/// The properties not written yet.
fn unused(schema: &ObjectSchema, used: u64) -> impl Iterator<Item = (usize, &Property)> {
    schema
        .properties
        .iter()
        .enumerate()
        .filter(move |(i, _)| used & (1 << i) == 0)
}

/// A JSON object under an [`ObjectSchema`].
#[derive(Debug, Clone)]
pub struct JsonArgs<'s> {
    schema: &'s ObjectSchema,
    used: u64,
    at: At,
}

impl<'s> JsonArgs<'s> {
    pub fn new(schema: &'s ObjectSchema) -> Self {
        JsonArgs {
            schema,
            used: 0,
            at: At::Lead,
        }
    }

    fn unused(&self) -> impl Iterator<Item = (usize, &'s Property)> {
        unused(self.schema, self.used)
    }

    fn required_done(&self) -> bool {
        self.unused().all(|(_, p)| !p.required)
    }

    fn value_start(kind: &Kind) -> Value {
        match kind {
            Kind::String { .. } => Value::Str {
                open: false,
                len: 0,
            },
            Kind::Integer { .. } | Kind::Number { .. } => Value::Number(Vec::new()),
            Kind::Boolean | Kind::Enum(_) => Value::Literal(Vec::new()),
        }
    }

    /// Feeds `byte` to the value of property `prop`; `Err(())` when the
    /// value was complete and `byte` belongs after it.
    fn feed_value(kind: &Kind, value: &mut Value, byte: u8) -> Result<bool, ()> {
        match (kind, value) {
            (Kind::String { min_len, max_len }, Value::Str { open, len }) => {
                if !*open {
                    *open = byte == b'"';
                    return Ok(*open);
                }
                if byte == b'"' {
                    return if *len >= *min_len { Err(()) } else { Ok(false) };
                }
                if plain_string_byte(byte) && *len < *max_len {
                    *len += 1;
                    return Ok(true);
                }
                Ok(false)
            }
            (Kind::Integer { min, max }, Value::Number(typed)) => {
                let mut next = typed.clone();
                next.push(byte);
                if integer_viable(&next, *min, *max) {
                    *typed = next;
                    Ok(true)
                } else if integer_complete(typed, *min, *max) {
                    Err(())
                } else {
                    Ok(false)
                }
            }
            (Kind::Number { min, max }, Value::Number(typed)) => {
                let mut next = typed.clone();
                next.push(byte);
                if next.len() <= MAX_NUMBER_LEN && number_prefix(&next) {
                    *typed = next;
                    Ok(true)
                } else if number_complete(typed, *min, *max) {
                    Err(())
                } else {
                    Ok(false)
                }
            }
            (kind, Value::Literal(typed)) => {
                let bool_literals = [String::from("true"), String::from("false")];
                let literals: &[String] = match kind {
                    Kind::Enum(values) => values,
                    _ => &bool_literals,
                };
                typed.push(byte);
                if literals.iter().any(|l| l.as_bytes().starts_with(typed)) {
                    return Ok(true);
                }
                typed.pop();
                if literals.iter().any(|l| l.as_bytes() == typed.as_slice()) {
                    Err(())
                } else {
                    Ok(false)
                }
            }
            _ => Ok(false),
        }
    }
}

impl Grammar for JsonArgs<'_> {
    fn feed(&mut self, byte: u8) -> bool {
        let (schema, used) = (self.schema, self.used);
        let any_unused = unused(schema, used).next().is_some();
        let required_done = self.required_done();
        match &mut self.at {
            At::Lead if byte == b' ' => {
                self.at = At::Open;
                true
            }
            At::Lead | At::Open => {
                self.at = At::KeyStart { after_comma: false };
                byte == b'{'
            }
            At::KeyStart { after_comma } => {
                if byte == b'"' && any_unused {
                    self.at = At::Key(Vec::new());
                    true
                } else if byte == b'}' && !*after_comma && required_done {
                    self.at = At::Done;
                    true
                } else {
                    false
                }
            }
            At::Key(typed) => {
                if byte == b'"' {
                    let found = unused(schema, used).find(|(_, p)| p.name.as_bytes() == *typed);
                    match found {
                        Some((i, _)) => {
                            self.at = At::Colon(i);
                            true
                        }
                        None => false,
                    }
                } else {
                    typed.push(byte);
                    unused(schema, used).any(|(_, p)| p.name.as_bytes().starts_with(typed))
                }
            }
            At::Colon(i) => {
                let i = *i;
                self.used |= 1 << i;
                self.at = At::Value(i, Self::value_start(&self.schema.properties[i].kind));
                byte == b':'
            }
            At::Value(i, value) => {
                let kind = &schema.properties[*i].kind;
                match Self::feed_value(kind, value, byte) {
                    Ok(ok) => ok,
                    // A string ends with its quote; other values end at
                    // the byte after them, which is read again here.
                    Err(()) if matches!(kind, Kind::String { .. }) => {
                        self.at = At::AfterValue;
                        true
                    }
                    Err(()) => {
                        self.at = At::AfterValue;
                        self.feed(byte)
                    }
                }
            }
            At::AfterValue => {
                if byte == b',' && any_unused {
                    self.at = At::KeyStart { after_comma: true };
                    true
                } else if byte == b'}' && required_done {
                    self.at = At::Done;
                    true
                } else {
                    false
                }
            }
            At::Done => false,
        }
    }

    fn is_done(&self) -> bool {
        matches!(self.at, At::Done)
    }
}

/// `-?(0|[1-9][0-9]*)`, possibly unfinished.
fn integer_prefix(text: &[u8]) -> bool {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    digits.iter().all(u8::is_ascii_digit)
        && !(digits.len() > 1 && digits[0] == b'0')
        && text.len() <= 19
}

/// Some completion of `text` (itself included) is an integer in range.
fn integer_viable(text: &[u8], min: Option<i64>, max: Option<i64>) -> bool {
    if !integer_prefix(text) {
        return false;
    }
    let (negative, digits) = match text.strip_prefix(b"-") {
        Some(d) => (true, d),
        None => (false, text),
    };
    let (lo, hi) = (
        i128::from(min.unwrap_or(i64::MIN)),
        i128::from(max.unwrap_or(i64::MAX)),
    );
    if digits.is_empty() {
        // A lone sign: any negative number may follow.
        return negative && lo < 0;
    }
    let magnitude = digits
        .iter()
        .fold(0i128, |n, d| n * 10 + i128::from(d - b'0'));
    // Completions with k more digits span [m*10^k, (m+1)*10^k - 1] in
    // magnitude (only m itself when m is 0: no leading zeros).
    let mut scale = 1i128;
    for _ in 0..=(19 - text.len()) {
        let (a, b) = (magnitude * scale, (magnitude + 1) * scale - 1);
        let (from, to) = if negative { (-b, -a) } else { (a, b) };
        if from <= hi && to >= lo {
            return true;
        }
        if magnitude == 0 {
            break;
        }
        scale *= 10;
    }
    false
}

fn integer_complete(text: &[u8], min: Option<i64>, max: Option<i64>) -> bool {
    let Some(value) = core::str::from_utf8(text)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return false;
    };
    integer_prefix(text) && min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, possibly unfinished.
fn number_prefix(text: &[u8]) -> bool {
    let (int, frac) = match text.iter().position(|&b| b == b'.') {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let int_digits = int.strip_prefix(b"-").unwrap_or(int);
    integer_prefix(int)
        && (frac.is_none() || !int_digits.is_empty())
        && frac.is_none_or(|f| f.iter().all(u8::is_ascii_digit))
}

fn number_complete(text: &[u8], min: Option<f64>, max: Option<f64>) -> bool {
    let Some(value) = core::str::from_utf8(text)
        .ok()
        .filter(|s| !s.ends_with('.') && !s.ends_with('-'))
        .and_then(|s| s.parse::<f64>().ok())
    else {
        return false;
    };
    number_prefix(text) && min.is_none_or(|m| value >= m) && max.is_none_or(|m| value <= m)
}

/// Every token's text, looked up once per model (specials are empty: no
/// grammar allows them).
#[derive(Debug)]
pub struct TokenTexts(Vec<Vec<u8>>);

impl TokenTexts {
    pub fn new(tokenizer: &Tokenizer) -> Self {
        TokenTexts(
            (0..tokenizer.vocab_size() as TokenId)
                .map(|id| {
                    if tokenizer.is_special(id) {
                        Vec::new()
                    } else {
                        tokenizer.piece_bytes(id)
                    }
                })
                .collect(),
        )
    }

    fn get(&self, id: usize) -> &[u8] {
        self.0.get(id).map_or(&[], Vec::as_slice)
    }
}

/// The grammar after `bytes`, if it allows them all (and they are some).
pub fn advance<G: Grammar>(grammar: &G, bytes: &[u8]) -> Option<G> {
    if bytes.is_empty() {
        return None;
    }
    let mut next = grammar.clone();
    bytes.iter().all(|&b| next.feed(b)).then_some(next)
}

/// Candidates checked in logit order before sorting the whole vocabulary.
const FIRST_CANDIDATES: usize = 64;

/// The most likely token the grammar allows (the lowest id among equal
/// scores), with the grammar after it; `None` when it allows none. A
/// token's score is its logit less ln([`Grammar::share`]).
pub fn best_allowed<G: Grammar>(
    logits: &[f32],
    grammar: &G,
    texts: &TokenTexts,
) -> Option<(TokenId, G)> {
    let mut order: Vec<usize> = (0..logits.len()).collect();
    let by_logit = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
    let first = FIRST_CANDIDATES.min(order.len());
    if first < order.len() {
        order.select_nth_unstable_by(first, by_logit);
    }
    order[..first].sort_unstable_by(by_logit);
    let mut sorted_all = false;
    let mut best: Option<(f32, TokenId, G)> = None;
    let mut i = 0;
    while i < order.len() {
        if i == first && !sorted_all {
            if best.is_some() {
                break;
            }
            order[first..].sort_unstable_by(by_logit);
            sorted_all = true;
        }
        let id = order[i];
        i += 1;
        // Scores are at most logits: nothing after can beat the best.
        if best.as_ref().is_some_and(|b| logits[id] <= b.0) {
            break;
        }
        if let Some(next) = advance(grammar, texts.get(id)) {
            let score = logits[id] - ln(next.share());
            if best.as_ref().is_none_or(|b| score > b.0) {
                best = Some((score, id as TokenId, next));
            }
        }
    }
    best.map(|(_, id, g)| (id, g))
}

/// ln(n) for a count, without std: ln(n) = 2 atanh((n-1)/(n+1)) after
/// taking out powers of two.
fn ln(n: usize) -> f32 {
    if n <= 1 {
        return 0.0;
    }
    let mut m = n as f64;
    let mut twos = 0;
    while m >= 2.0 {
        m /= 2.0;
        twos += 1;
    }
    let y = (m - 1.0) / (m + 1.0);
    let (mut term, mut sum) = (y, 0.0);
    for k in (1..40).step_by(2) {
        sum += term / k as f64;
        term *= y * y;
    }
    (2.0 * sum + f64::from(twos) * core::f64::consts::LN_2) as f32
}

#[derive(Debug, Clone, PartialEq)]
pub enum DecodeError {
    Model(ModelError),
    /// The grammar allows no token of the vocabulary here.
    NoToken,
    /// `max_tokens` tokens did not finish the text.
    TooLong(usize),
    /// The caller's poll asked to stop.
    Cancelled,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Model(e) => write!(f, "{e}"),
            DecodeError::NoToken => f.write_str("no token continues the constrained text"),
            DecodeError::TooLong(n) => {
                write!(f, "the constrained text did not finish in {n} tokens")
            }
            DecodeError::Cancelled => f.write_str("cancelled"),
        }
    }
}

impl From<ModelError> for DecodeError {
    fn from(e: ModelError) -> Self {
        DecodeError::Model(e)
    }
}

/// What [`decode`] wrote.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// The text (whole: the grammar is done).
    pub text: Vec<u8>,
    /// Tokens the model chose (each a step).
    pub chosen: usize,
    /// Tokens appended but not evaluated yet: the last chosen one and any
    /// forced rest. The caller evaluates them before what follows.
    pub pending: Vec<TokenId>,
}

/// Greedy decoding under `grammar` from `logits` (the session's logits at
/// its end), at most `max_tokens` chosen tokens. `poll` runs before each
/// evaluation; true stops with [`DecodeError::Cancelled`].
pub fn decode<G: Grammar>(
    session: &mut Session<'_, '_>,
    texts: &TokenTexts,
    mut logits: Vec<f32>,
    mut grammar: G,
    max_tokens: usize,
    poll: &mut dyn FnMut() -> bool,
) -> Result<Decoded, DecodeError> {
    let mut out = Decoded::default();
    loop {
        if grammar.is_done() {
            return Ok(out);
        }
        if let Some(rest) = grammar.forced_rest() {
            let tokenizer = &session.model().tokenizer;
            out.pending.extend(encode_continuation(tokenizer, &rest));
            out.text.extend_from_slice(&rest);
            return Ok(out);
        }
        if !out.pending.is_empty() {
            if poll() {
                return Err(DecodeError::Cancelled);
            }
            logits = session.eval(&out.pending)?;
            out.pending.clear();
        }
        if out.chosen >= max_tokens {
            return Err(DecodeError::TooLong(max_tokens));
        }
        let (id, next) = best_allowed(&logits, &grammar, texts).ok_or(DecodeError::NoToken)?;
        out.text.extend_from_slice(texts.get(id as usize));
        out.pending.push(id);
        out.chosen += 1;
        grammar = next;
    }
}

/// `text`'s ids to append to a conversation (with specials parsed, and
/// without the BOS a tokenizer may put at the start of a text).
pub fn encode_continuation(tokenizer: &Tokenizer, text: &[u8]) -> Vec<TokenId> {
    let text = String::from_utf8_lossy(text);
    let mut ids = tokenizer.encode(&text, true);
    if tokenizer.add_bos && ids.first() == tokenizer.bos.as_ref() {
        ids.remove(0);
    }
    ids
}

/// The ids of `texts` one after another: [`encode_continuation`] of each.
pub fn encode_all(tokenizer: &Tokenizer, texts: &[&[u8]]) -> Vec<TokenId> {
    let mut ids = vec![];
    for t in texts {
        ids.extend(encode_continuation(tokenizer, t));
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepts<G: Grammar>(g: &G, text: &str) -> Option<G> {
        advance(g, text.as_bytes())
    }

    fn gpio_write() -> ObjectSchema {
        ObjectSchema::new(vec![
            Property {
                name: "pin".into(),
                kind: Kind::Integer {
                    min: Some(0),
                    max: Some(57),
                },
                required: true,
            },
            Property {
                name: "level".into(),
                kind: Kind::Boolean,
                required: true,
            },
        ])
        .unwrap()
    }

    #[test]
    fn choice_takes_one_option_and_forces_a_unique_rest() {
        let options = [
            b"sys_info\n".to_vec(),
            b"fs_list\n".to_vec(),
            b"fs_read\n".to_vec(),
        ];
        let c = Choice::new(&options);
        assert!(c.forced_rest().is_none());
        let fs = accepts(&c, "fs_").unwrap();
        assert!(accepts(&fs, "x").is_none());
        assert_eq!(
            accepts(&c, "s").unwrap().forced_rest().unwrap(),
            b"ys_info\n"
        );
        assert!(accepts(&c, "fs_list\n").unwrap().is_done());
        assert!(accepts(&c, "fs_list\nx").is_none());
    }

    #[test]
    fn json_args_follow_the_schema() {
        let schema = gpio_write();
        let g = JsonArgs::new(&schema);
        for good in [r#"{"pin":17,"level":true}"#, r#" {"level":false,"pin":0}"#] {
            assert!(accepts(&g, good).unwrap().is_done(), "{good}");
        }
        for bad in [
            r#"{"pin":58"#,
            r#"{"pin":017"#,
            r#"{"pin":-1"#,
            r#"{"pin":1,"pin""#,
            r#"{"pin":1}"#,
            r#"{"pins""#,
            r#"{"level":tru,"#,
            r#"{ "pin""#,
            r#"  {"#,
            r#"{"pin":1,"level":true}}"#,
            r#"{}"#,
        ] {
            assert!(accepts(&g, bad).is_none(), "{bad}");
        }
        // Unfinished but still possible.
        assert!(!accepts(&g, r#"{"pin":5"#).unwrap().is_done());
    }

    #[test]
    fn strings_enums_numbers_and_optional_keys() {
        let schema = ObjectSchema::new(vec![
            Property {
                name: "path".into(),
                kind: Kind::String {
                    min_len: 1,
                    max_len: 8,
                },
                required: true,
            },
            Property {
                name: "mode".into(),
                kind: Kind::Enum(vec!["\"in\"".into(), "\"input\"".into()]),
                required: false,
            },
            Property {
                name: "t".into(),
                kind: Kind::Number {
                    min: Some(0.0),
                    max: Some(2.0),
                },
                required: false,
            },
        ])
        .unwrap();
        let g = JsonArgs::new(&schema);
        for good in [
            r#"{"path":"/"}"#,
            r#"{"path":"/A/B","mode":"in"}"#,
            r#"{"mode":"input","path":"x","t":1.5}"#,
        ] {
            assert!(accepts(&g, good).unwrap().is_done(), "{good}");
        }
        for bad in [
            r#"{"path":""}"#,
            r#"{"path":"123456789"#,
            r#"{"path":"a\"#,
            r#"{"path":"a","mode":"out"#,
            r#"{"path":"a","t":2.5}"#,
            r#"{"path":"a","t":.5"#,
            r#"{"mode":"in"}"#,
        ] {
            assert!(accepts(&g, bad).is_none(), "{bad}");
        }
        assert_eq!(
            schema.signature(),
            r#"{"path":string,"mode":"in"|"input"?,"t":number?}"#
        );
    }

    #[test]
    fn ln_of_counts() {
        for (n, want) in [
            (1, 0.0),
            (2, core::f32::consts::LN_2),
            (3, 1.098_612_3),
            (10, core::f32::consts::LN_10),
        ] {
            assert!((ln(n) - want).abs() < 1e-5, "{n}");
        }
    }

    #[test]
    fn a_shared_token_counts_once_per_option() {
        let options = [b"ab".to_vec(), b"ac".to_vec(), b"b".to_vec()];
        let texts = TokenTexts(vec![b"a".to_vec(), b"b".to_vec(), b"x".to_vec()]);
        // "a" leads by less than ln 2: "b" wins; by more: "a".
        let pick = |la: f32| {
            best_allowed(&[la, 1.0, 9.0], &Choice::new(&options), &texts)
                .unwrap()
                .0
        };
        assert_eq!(pick(1.5), 1);
        assert_eq!(pick(1.8), 0);
    }

    #[test]
    fn integer_bounds_prune_prefixes() {
        assert!(integer_viable(b"5", Some(0), Some(57)));
        assert!(!integer_viable(b"58", Some(0), Some(57)));
        assert!(!integer_viable(b"6", Some(10), Some(57)));
        assert!(integer_viable(b"1", Some(10), Some(57)));
        assert!(!integer_viable(b"-", Some(0), None));
        assert!(integer_viable(b"-3", Some(-30), Some(5)));
        assert!(integer_complete(b"-4", Some(-30), Some(5)));
        assert!(!integer_viable(b"-31", Some(-30), Some(5)));
        assert!(integer_viable(b"4294967295", Some(0), Some(4_294_967_295)));
        assert!(!integer_viable(b"4294967296", Some(0), Some(4_294_967_295)));
    }
}
