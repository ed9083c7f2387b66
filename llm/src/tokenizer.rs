//! GPT-2 byte-level BPE, as llama.cpp runs it for `tokenizer.ggml.model =
//! "gpt2"` files, with the vocabulary, merges and token types read from the
//! file.
//!
//! Encoding a text:
//! 1. special tokens (control and user-defined types) are cut out whole, when
//!    asked for (chat prompts), the rest is split into fragments;
//! 2. each fragment is pre-tokenized into words ([`pretokenize`]);
//! 3. each word's UTF-8 bytes are mapped to GPT-2's printable stand-ins (the
//!    alphabet the vocabulary is written in) and merged pair by pair, lowest
//!    merge rank first, leftmost first on ties.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

use crate::gguf::{Gguf, Value};
use crate::pretokenize::{self, PreTokenizer};

pub type TokenId = u32;

/// llama.cpp's token types (`tokenizer.ggml.token_type`).
const TYPE_CONTROL: i64 = 3;
const TYPE_USER_DEFINED: i64 = 4;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A tokenizer key is absent or of the wrong type.
    Missing(&'static str),
    /// `tokenizer.ggml.model` is not "gpt2".
    UnsupportedModel(String),
    /// `tokenizer.ggml.pre` names a pre-tokenizer we do not have.
    UnsupportedPre(String),
    /// Token types and tokens differ in number.
    Inconsistent,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing(key) => write!(f, "{key} is missing or malformed"),
            Error::UnsupportedModel(m) => {
                write!(f, "tokenizer model {m:?} is not supported (gpt2 is)")
            }
            Error::UnsupportedPre(p) => write!(f, "pre-tokenizer {p:?} is not supported"),
            Error::Inconsistent => f.write_str("token types and tokens differ in number"),
        }
    }
}

#[derive(Debug)]
///
/// The vocabulary is kept in a few large allocations, not one per token:
/// the kernel's list allocator walks its free list on every free, and
/// dropping ~100,000 small blocks (a model being unloaded) took longer than
/// the watchdog allows.
pub struct Tokenizer {
    /// Every token's text in GPT-2's byte alphabet (specials as written),
    /// one after the other; token `id` ends at `ends[id]`.
    texts: String,
    ends: Vec<u32>,
    /// Token ids sorted by text, one per distinct text (the lowest id, as
    /// llama.cpp's map keeps the first): looked up by binary search.
    by_text: Vec<TokenId>,
    /// ((left, right), (rank, merged token)), sorted by pair, one per pair
    /// (the best rank).
    merges: Vec<((TokenId, TokenId), (u32, TokenId))>,
    /// Special tokens, longest first, so a longer one wins at a position.
    specials: Vec<(String, TokenId)>,
    is_special: Vec<bool>,
    /// The token for each byte's stand-in character.
    byte_tokens: [Option<TokenId>; 256],
    pre: PreTokenizer,
    pub bos: Option<TokenId>,
    pub eos: Option<TokenId>,
    pub add_bos: bool,
}

impl Tokenizer {
    pub fn from_gguf(g: &Gguf<'_>) -> Result<Self, Error> {
        let model = g.get("tokenizer.ggml.model").and_then(Value::as_str);
        if model != Some("gpt2") {
            return Err(Error::UnsupportedModel(model.unwrap_or("").to_string()));
        }
        let pre_name = g
            .get("tokenizer.ggml.pre")
            .and_then(Value::as_str)
            .unwrap_or("default");
        let pre = PreTokenizer::from_name(pre_name)
            .ok_or_else(|| Error::UnsupportedPre(pre_name.to_string()))?;

        let strings = |key: &'static str| -> Result<Vec<&str>, Error> {
            let items = g
                .get(key)
                .and_then(Value::as_array)
                .ok_or(Error::Missing(key))?;
            items
                .iter()
                .map(|v| v.as_str().ok_or(Error::Missing(key)))
                .collect()
        };
        let tokens = strings("tokenizer.ggml.tokens")?;
        let types: Vec<i64> = match g.get("tokenizer.ggml.token_type").and_then(Value::as_array) {
            None => alloc::vec![1; tokens.len()],
            Some(items) => items
                .iter()
                .map(|v| match v {
                    Value::I32(t) => Ok(i64::from(*t)),
                    v => v
                        .as_u64()
                        .map(|t| t as i64)
                        .ok_or(Error::Missing("tokenizer.ggml.token_type")),
                })
                .collect::<Result<_, _>>()?,
        };
        if types.len() != tokens.len() {
            return Err(Error::Inconsistent);
        }

        let mut texts = String::with_capacity(tokens.iter().map(|t| t.len()).sum());
        let mut ends = Vec::with_capacity(tokens.len());
        for text in &tokens {
            texts.push_str(text);
            ends.push(u32::try_from(texts.len()).map_err(|_| Error::Inconsistent)?);
        }
        let mut by_text: Vec<TokenId> = (0..tokens.len() as TokenId).collect();
        // Stable: among equal texts the lowest id comes first and is kept.
        by_text.sort_by(|&a, &b| tokens[a as usize].cmp(tokens[b as usize]));
        by_text.dedup_by(|b, a| tokens[*a as usize] == tokens[*b as usize]);
        let id_of = |text: &str| {
            by_text
                .binary_search_by(|&id| tokens[id as usize].cmp(text))
                .ok()
                .map(|at| by_text[at])
        };

        let mut merges = Vec::new();
        let mut joined = String::new();
        for (rank, merge) in strings("tokenizer.ggml.merges")?.into_iter().enumerate() {
            // "left right"; both halves are non-empty tokens.
            let Some((left, right)) = merge.split_once(' ') else {
                continue;
            };
            joined.clear();
            joined.push_str(left);
            joined.push_str(right);
            if let (Some(l), Some(r), Some(m)) = (id_of(left), id_of(right), id_of(&joined)) {
                merges.push(((l, r), (rank as u32, m)));
            }
        }
        // Stable: a pair listed twice keeps its first (best) rank.
        merges.sort_by_key(|&(pair, _)| pair);
        merges.dedup_by_key(|&mut (pair, _)| pair);

        let is_special: Vec<bool> = types
            .iter()
            .map(|&t| t == TYPE_CONTROL || t == TYPE_USER_DEFINED)
            .collect();
        let mut specials: Vec<(String, TokenId)> = tokens
            .iter()
            .enumerate()
            .filter(|(id, text)| is_special[*id] && !text.is_empty())
            .map(|(id, text)| (String::from(*text), id as TokenId))
            .collect();
        specials.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.1.cmp(&b.1)));

        let mut byte_tokens = [None; 256];
        for (byte, slot) in byte_tokens.iter_mut().enumerate() {
            let mut buf = [0; 4];
            *slot = id_of(byte_char(byte as u8).encode_utf8(&mut buf));
        }

        let meta_id = |key| g.get(key).and_then(Value::as_u64).map(|v| v as TokenId);
        Ok(Tokenizer {
            bos: meta_id("tokenizer.ggml.bos_token_id"),
            eos: meta_id("tokenizer.ggml.eos_token_id"),
            add_bos: g
                .get("tokenizer.ggml.add_bos_token")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            texts,
            ends,
            by_text,
            merges,
            specials,
            is_special,
            byte_tokens,
            pre,
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.ends.len()
    }

    /// Token `id`'s text in GPT-2's byte alphabet (specials as written).
    fn text(&self, id: TokenId) -> Option<&str> {
        let end = *self.ends.get(id as usize)? as usize;
        let start = match id {
            0 => 0,
            _ => self.ends[id as usize - 1] as usize,
        };
        self.texts.get(start..end)
    }

    pub fn token_id(&self, text: &str) -> Option<TokenId> {
        self.by_text
            .binary_search_by(|&id| self.text(id).unwrap_or_default().cmp(text))
            .ok()
            .map(|at| self.by_text[at])
    }

    /// The merge of the pair (left, right): (its rank, the merged token).
    fn merge(&self, pair: (TokenId, TokenId)) -> Option<(u32, TokenId)> {
        self.merges
            .binary_search_by_key(&pair, |&(p, _)| p)
            .ok()
            .map(|at| self.merges[at].1)
    }

    pub fn is_special(&self, id: TokenId) -> bool {
        self.is_special.get(id as usize).copied().unwrap_or(false)
    }

    /// Token ids for `text`. With `parse_special`, special tokens written in
    /// the text (`<|im_start|>`) become their ids; without, they are plain
    /// text. A BOS is prepended when the file asks for one.
    pub fn encode(&self, text: &str, parse_special: bool) -> Vec<TokenId> {
        let mut out = Vec::new();
        if self.add_bos {
            out.extend(self.bos);
        }
        let mut rest = text;
        while !rest.is_empty() {
            let (plain, special) = if parse_special {
                self.next_special(rest)
            } else {
                (rest.len(), None)
            };
            for word in pretokenize::split(self.pre, &rest[..plain]) {
                self.encode_word(word, &mut out);
            }
            rest = &rest[plain..];
            if let Some((len, id)) = special {
                out.push(id);
                rest = &rest[len..];
            }
        }
        out
    }

    /// The first special token in `text`: (bytes before it, (its length, id)).
    fn next_special(&self, text: &str) -> (usize, Option<(usize, TokenId)>) {
        for (at, _) in text.char_indices() {
            let here = &text[at..];
            if let Some((s, id)) = self
                .specials
                .iter()
                .find(|(s, _)| here.starts_with(s.as_str()))
            {
                return (at, Some((s.len(), *id)));
            }
        }
        (text.len(), None)
    }

    /// BPE over one pre-tokenized word.
    fn encode_word(&self, word: &str, out: &mut Vec<TokenId>) {
        let mut symbols: Vec<TokenId> = Vec::with_capacity(word.len());
        for &b in word.as_bytes() {
            match self.byte_tokens[b as usize] {
                Some(id) => symbols.push(id),
                // A vocabulary without this byte cannot spell the word.
                None => return out.extend(self.token_id("<|endoftext|>")),
            }
        }
        loop {
            let best = symbols
                .windows(2)
                .enumerate()
                .filter_map(|(at, pair)| {
                    self.merge((pair[0], pair[1]))
                        .map(|(rank, id)| (rank, at, id))
                })
                .min();
            let Some((_, at, id)) = best else { break };
            symbols[at] = id;
            symbols.remove(at + 1);
        }
        out.extend_from_slice(&symbols);
    }

    /// The bytes a token stands for (specials as their text).
    pub fn piece_bytes(&self, id: TokenId) -> Vec<u8> {
        let Some(text) = self.text(id) else {
            return Vec::new();
        };
        if self.is_special(id) {
            return text.as_bytes().to_vec();
        }
        text.chars().map(|c| char_byte(c).unwrap_or(b'?')).collect()
    }

    /// Text of a token sequence; bytes that are not UTF-8 (a character split
    /// across tokens) show as U+FFFD.
    pub fn decode(&self, ids: &[TokenId]) -> String {
        let bytes: Vec<u8> = ids.iter().flat_map(|&id| self.piece_bytes(id)).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// GPT-2's printable stand-in for a byte: printable Latin-1 bytes stand for
/// themselves, the other 68 are moved to U+0100.. in byte order.
fn byte_char(b: u8) -> char {
    if is_printable(b) {
        return b as char;
    }
    let shifted = (0..b).filter(|&x| !is_printable(x)).count() as u32;
    char::from_u32(256 + shifted).unwrap_or('?')
}

/// The inverse of [`byte_char`].
fn char_byte(c: char) -> Option<u8> {
    let c = c as u32;
    if c < 256 && is_printable(c as u8) {
        return Some(c as u8);
    }
    let n = c.checked_sub(256)? as usize;
    (0..=255u8).filter(|&x| !is_printable(x)).nth(n)
}

fn is_printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_alphabet_round_trips() {
        assert_eq!(byte_char(b' '), 'Ġ');
        assert_eq!(byte_char(b'\n'), 'Ċ');
        assert_eq!(byte_char(b'a'), 'a');
        for b in 0..=255u8 {
            assert_eq!(char_byte(byte_char(b)), Some(b));
        }
    }
}
