//! A strict JSON scanner that validates a document and hands out the raw
//! text of object members, without building anything.
//!
//! Serde's derive machinery costs thousands of instructions for a 90-byte
//! request; the envelope only needs to know where a few members are. This
//! walks the grammar of RFC 8259 once, exactly as strictly as serde_json's
//! own validation (a differential test below holds it to that), and lets the
//! caller keep slices of the members it cares about. Values it hands out
//! are complete, valid JSON texts, which later parsers can take as they are.

/// Nesting the scanner itself refuses beyond (the envelope check in
/// [`crate::jsonrpc`] applies the real, lower limit first).
const MAX_SCAN_DEPTH: usize = 128;

/// Bytes that end a run of ordinary characters inside a string.
const STOPS_STRING: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = true;
        b += 1;
    }
    table[b'"' as usize] = true;
    table[b'\\' as usize] = true;
    table
};

/// A syntax error; where it was does not matter to JSON-RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// A cursor over one JSON text.
pub struct Scan<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scan<'a> {
    pub fn new(text: &'a str) -> Self {
        Scan { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// The first byte of the next value (after whitespace), if any.
    pub fn first(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    /// Succeeds when only whitespace is left.
    pub fn end(&mut self) -> Result<(), Invalid> {
        self.ws();
        if self.pos == self.text.len() {
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// Skips one value (after whitespace) and returns its text.
    pub fn value(&mut self) -> Result<&'a str, Invalid> {
        self.ws();
        let start = self.pos;
        self.skip_value(0)?;
        Ok(&self.text[start..self.pos])
    }

    /// Walks the object that comes next. For each member, `member` gets
    /// the key and the scanner positioned at the value, which it must
    /// consume with [`Self::value`] or a nested [`Self::object`].
    pub fn object(
        &mut self,
        mut member: impl FnMut(Key<'a>, &mut Self) -> Result<(), Invalid>,
    ) -> Result<(), Invalid> {
        self.ws();
        if self.peek() != Some(b'{') {
            return Err(Invalid);
        }
        self.pos += 1;
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.key()?;
            member(key, self)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Invalid),
            }
        }
    }

    /// Like [`Self::object`], returning the object's text.
    pub fn object_text(
        &mut self,
        member: impl FnMut(Key<'a>, &mut Self) -> Result<(), Invalid>,
    ) -> Result<&'a str, Invalid> {
        self.ws();
        let start = self.pos;
        self.object(member)?;
        Ok(&self.text[start..self.pos])
    }

    /// A key and its `:`, leaving the scanner at the value.
    fn key(&mut self) -> Result<Key<'a>, Invalid> {
        if self.peek() != Some(b'"') {
            return Err(Invalid);
        }
        let start = self.pos;
        let escaped = self.skip_string()?;
        let raw = &self.text[start..self.pos];
        self.ws();
        if self.peek() != Some(b':') {
            return Err(Invalid);
        }
        self.pos += 1;
        Ok(Key {
            raw,
            plain: (!escaped).then(|| &raw[1..raw.len() - 1]),
        })
    }

    /// Skips the members of an object whose `{` was consumed.
    fn skip_members(&mut self, depth: usize) -> Result<(), Invalid> {
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.key()?;
            self.ws();
            self.skip_value(depth)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(Invalid),
            }
        }
    }

    fn skip_value(&mut self, depth: usize) -> Result<(), Invalid> {
        if depth > MAX_SCAN_DEPTH {
            return Err(Invalid);
        }
        match self.peek().ok_or(Invalid)? {
            b'"' => self.skip_string().map(|_| ()),
            b'{' => {
                self.pos += 1;
                self.skip_members(depth + 1)
            }
            b'[' => {
                self.pos += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(());
                        }
                        _ => return Err(Invalid),
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.skip_number(),
            _ => Err(Invalid),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), Invalid> {
        if self.text.as_bytes()[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// At a `"`: skips the string and tells whether it had escapes.
    /// Escapes must be well-formed; `\u` takes any four hex digits (pairing
    /// of surrogates is the business of whoever decodes the string, as in
    /// serde_json).
    fn skip_string(&mut self) -> Result<bool, Invalid> {
        let mut escaped = false;
        let bytes = self.text.as_bytes();
        let mut i = self.pos + 1;
        loop {
            i = skip_ordinary(bytes, i);
            let b = *bytes.get(i).ok_or(Invalid)?;
            i += 1;
            match b {
                b'"' => {
                    self.pos = i;
                    return Ok(escaped);
                }
                b'\\' => {
                    escaped = true;
                    match *bytes.get(i).ok_or(Invalid)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 1,
                        b'u' => {
                            let hex = bytes.get(i + 1..i + 5).ok_or(Invalid)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return Err(Invalid);
                            }
                            i += 5;
                        }
                        _ => return Err(Invalid),
                    }
                }
                0..=0x1f => return Err(Invalid),
                _ => {}
            }
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn skip_number(&mut self) -> Result<(), Invalid> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(Invalid);
                }
            }
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(Invalid),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(Invalid);
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(Invalid);
            }
            self.digits();
        }
        Ok(())
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }
}

/// The index of the first byte at or after `i` that ends a run of ordinary
/// string characters (`"`, `\\` or a control character), or `bytes.len()`.
/// Eight bytes at a time: the strings of a request are mostly short keys and
/// names, which one word usually covers.
fn skip_ordinary(bytes: &[u8], mut i: usize) -> usize {
    while let Some(word) = bytes.get(i..i + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let stops = stop_bytes(u64::from_le_bytes(word));
        if stops != 0 {
            return i + (stops.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while bytes.get(i).is_some_and(|&b| !STOPS_STRING[usize::from(b)]) {
        i += 1;
    }
    i
}

/// The high bit of each byte of `word` that is `"`, `\\` or below 0x20 (and
/// possibly of bytes above the first such one: only the lowest set bit is
/// exact, which is the one [`skip_ordinary`] uses). Bytes of multi-byte
/// UTF-8 characters (0x80 and up) are never flagged.
const fn stop_bytes(word: u64) -> u64 {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    const fn zero_bytes(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGHS
    }
    let quote = zero_bytes(word ^ (ONES * b'"' as u64));
    let backslash = zero_bytes(word ^ (ONES * b'\\' as u64));
    let control = word.wrapping_sub(ONES * 0x20) & !word & HIGHS;
    quote | backslash | control
}

/// An object key as found in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key<'a> {
    /// The literal, quotes included.
    pub raw: &'a str,
    /// Its contents when it has no escapes (the usual case).
    pub plain: Option<&'a str>,
}

impl<'a> Key<'a> {
    /// The key's text: borrowed when it has no escapes.
    pub fn name(self) -> alloc::borrow::Cow<'a, str> {
        match self.plain {
            Some(plain) => alloc::borrow::Cow::Borrowed(plain),
            None => alloc::borrow::Cow::Owned(
                serde_json::from_str::<alloc::string::String>(self.raw).unwrap_or_default(),
            ),
        }
    }
}

/// Whether `text` is exactly one valid JSON value (with whitespace around).
pub fn is_valid(text: &str) -> bool {
    let mut scan = Scan::new(text);
    scan.value().is_ok() && scan.end().is_ok()
}

/// The contents of a JSON string literal without escapes, borrowed; `None`
/// if `raw` is not a string or contains escapes (decode those with serde).
pub fn plain_str(raw: &str) -> Option<&str> {
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    // A plain loop: these strings are short, too short for `memchr`'s setup.
    (!inner.bytes().any(|b| b == b'\\')).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    const CASES: &[&str] = &[
        "",
        " ",
        "{}",
        "[]",
        "{ }",
        "[ ]",
        "{\"a\":1}",
        "{\"a\":1,}",
        "[1,]",
        "[,1]",
        "{,}",
        "{\"a\"}",
        "{\"a\":}",
        "{a:1}",
        "{'a':1}",
        "0",
        "-0",
        "01",
        "-01",
        "1.",
        ".5",
        "1.5",
        "1e5",
        "1E+5",
        "1e-5",
        "1e",
        "1e+",
        "-",
        "--1",
        "+1",
        "1.5e3",
        "0.0",
        "00",
        "1 2",
        "true",
        "tru",
        "truex",
        "null",
        "nul",
        "false",
        "\"\"",
        "\"a",
        "\"\\u00e9\"",
        "\"\\u00g9\"",
        "\"\\ud800\"",
        "\"\\udc00\\ud800\"",
        "\"\\x\"",
        "\"\\/\"",
        "\"\t\"",
        "\"\u{7f}\"",
        "\"é😀\"",
        "[[[[]]]]",
        "{\"a\":{\"b\":[1,{\"c\":null}]}}",
        "[1 2]",
        "{\"a\":1 \"b\":2}",
        "{\"a\":1}}",
        "[]]",
        " {\"jsonrpc\":\"2.0\"} ",
        "\"\\\"\"",
        "\"\\\\\"",
        "\"\\\"",
        "1.0e",
        "-1.25E-10",
        "[-]",
        "[true,false,null]",
        "{\"\":\"\"}",
        "\u{feff}{}",
        "{\"a\":1}\n",
        "nan",
        "Infinity",
        "[1e400]",
        "18446744073709551616",
    ];

    #[test]
    fn agrees_with_serde_json() {
        for case in CASES {
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(case).is_ok();
            assert_eq!(is_valid(case), serde, "{case:?}");
        }
    }

    #[test]
    fn agrees_with_serde_json_on_mutations() {
        // Deterministic mutations of a realistic request.
        let seed = r#"{"jsonrpc":"2.0","id":"a\u00e9","method":"tools/call","params":{"name":"echo","arguments":{"x":[1,-2.5e3,true,null,{"y":"\n"}]}}}"#;
        let alphabet = b"{}[]\",:\\0123456789-+.eEtrufalsn u\t\r\n\x01";
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut checked = 0;
        for _ in 0..20_000 {
            let mut bytes: Vec<u8> = seed.as_bytes().to_vec();
            for _ in 0..1 + next() % 3 {
                let pos = (next() as usize) % (bytes.len() + 1);
                let b = alphabet[(next() as usize) % alphabet.len()];
                match next() % 3 {
                    0 if pos < bytes.len() => bytes[pos] = b,
                    1 => bytes.insert(pos, b),
                    _ if pos < bytes.len() => {
                        bytes.remove(pos);
                    }
                    _ => {}
                }
            }
            let Ok(text) = String::from_utf8(bytes) else {
                continue;
            };
            let serde = serde_json::from_str::<serde::de::IgnoredAny>(&text).is_ok();
            assert_eq!(is_valid(&text), serde, "{text}");
            checked += 1;
        }
        assert!(checked > 10_000);
    }

    #[test]
    fn word_at_a_time_skipping_matches_byte_at_a_time() {
        let alphabet = [
            b'a', b'"', b'\\', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xc3, 0xff, b'!', 0x21,
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let len = (state % 20) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|k| alphabet[((state >> (3 * k % 60)) % alphabet.len() as u64) as usize])
                .collect();
            for start in 0..=len {
                let slow = (start..len)
                    .find(|&i| STOPS_STRING[usize::from(bytes[i])])
                    .unwrap_or(len);
                assert_eq!(skip_ordinary(&bytes, start), slow, "{bytes:?} from {start}");
            }
        }
    }

    #[test]
    fn members_and_slices() {
        let mut seen = Vec::new();
        let text = r#" { "a" : [1, 2] , "b\n":"x" ,"c":{"d":null}} "#;
        let mut scan = Scan::new(text);
        scan.object(|k, s| {
            seen.push((k.raw, k.plain, s.value()?));
            Ok(())
        })
        .unwrap();
        scan.end().unwrap();
        assert_eq!(
            seen,
            [
                ("\"a\"", Some("a"), "[1, 2]"),
                ("\"b\\n\"", None, "\"x\""),
                ("\"c\"", Some("c"), "{\"d\":null}")
            ]
        );
        assert_eq!(plain_str("\"abc\""), Some("abc"));
        assert_eq!(plain_str("\"a\\nc\""), None);
        assert_eq!(plain_str("5"), None);
    }
}
