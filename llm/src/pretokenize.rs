//! Pre-tokenizers: how a text is cut into words before BPE, named by the
//! file's `tokenizer.ggml.pre`.
//!
//! Written by hand rather than with a regex engine (no look-ahead in the
//! `regex` crate, and none at all in no_std), to behave as llama.cpp's:
//!
//! - `gpt2` (and `default`): GPT-2's pattern
//!   `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
//! - `smollm` (also starcoder & co. in llama.cpp): every `\p{N}` character is
//!   first cut out on its own, then each remaining piece gets GPT-2's
//!   pattern — so "2024" is four words and the space before it a fifth.
//!
//! Letters and numbers are Unicode general categories L and N; whitespace
//! is Unicode White_Space (what `char::is_whitespace` tests).

use alloc::vec::Vec;

use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreTokenizer {
    Gpt2,
    /// Digits split individually, then GPT-2.
    SmolLm,
}

impl PreTokenizer {
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "default" | "gpt2" => Some(PreTokenizer::Gpt2),
            "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" => {
                Some(PreTokenizer::SmolLm)
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Number,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if c.is_whitespace() {
        return Class::Space;
    }
    match c.general_category_group() {
        GeneralCategoryGroup::Letter => Class::Letter,
        GeneralCategoryGroup::Number => Class::Number,
        _ => Class::Other,
    }
}

/// The words of `text`, in order; together they are exactly `text`.
pub fn split(pre: PreTokenizer, text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    match pre {
        PreTokenizer::Gpt2 => gpt2(text, &mut words),
        PreTokenizer::SmolLm => {
            let mut start = 0;
            for (at, c) in text.char_indices() {
                if class(c) == Class::Number {
                    gpt2(&text[start..at], &mut words);
                    let end = at + c.len_utf8();
                    words.push(&text[at..end]);
                    start = end;
                }
            }
            gpt2(&text[start..], &mut words);
        }
    }
    words
}

/// GPT-2's pattern over one piece (look-ahead sees only this piece, as in
/// llama.cpp, where each earlier split bounds the later patterns).
fn gpt2<'a>(text: &'a str, words: &mut Vec<&'a str>) {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|&(_, c)| c);
    let class_at = |i: usize| at(i).map(class);
    let offset = |i: usize| chars.get(i).map_or(text.len(), |&(o, _)| o);

    let mut i = 0;
    while i < chars.len() {
        let start = i;
        let c = chars[i].1;
        // The class of this word once an optional leading ' ' is skipped.
        let after_space = if c == ' ' {
            class_at(i + 1)
        } else {
            Some(class(c))
        };

        if c == '\'' {
            // Contractions, case-sensitive as in GPT-2's pattern.
            let len = match (at(i + 1), at(i + 2)) {
                (Some('r'), Some('e')) | (Some('v'), Some('e')) | (Some('l'), Some('l')) => 3,
                (Some('s' | 't' | 'm' | 'd'), _) => 2,
                _ => 0,
            };
            if len > 0 {
                i += len;
                words.push(&text[offset(start)..offset(i)]);
                continue;
            }
        }
        match after_space {
            Some(Class::Letter) | Some(Class::Number) | Some(Class::Other) => {
                let want = after_space;
                if c == ' ' {
                    i += 1;
                }
                while i < chars.len() && class_at(i) == want {
                    i += 1;
                }
            }
            _ => {
                // Whitespace: a run, less its last character when that one
                // is followed by a non-space (which then takes it as its
                // optional leading ' ', or stands alone).
                let mut end = i;
                while end < chars.len() && class_at(end) == Some(Class::Space) {
                    end += 1;
                }
                if end - i > 1 && end < chars.len() {
                    end -= 1;
                }
                i = end.max(i + 1);
            }
        }
        words.push(&text[offset(start)..offset(i)]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn gpt2_words() {
        let w = split(PreTokenizer::Gpt2, "Hello, world! I'll   go\n\n  now 2024");
        assert_eq!(
            w,
            vec!["Hello", ",", " world", "!", " I", "'ll", "  ", " go", "\n\n ", " now", " 2024"]
        );
    }

    #[test]
    fn smollm_splits_digits() {
        let w = split(PreTokenizer::SmolLm, "was 2024 x=12");
        assert_eq!(w, vec!["was", " ", "2", "0", "2", "4", " x", "=", "1", "2"]);
    }

    #[test]
    fn words_cover_the_text() {
        for text in [
            "",
            " ",
            "  a",
            "a  ",
            "'",
            "'x",
            "\t\n x",
            "é\u{301}",
            "日本語 テスト",
            "x  \n",
        ] {
            assert_eq!(split(PreTokenizer::SmolLm, text).concat(), text);
            assert_eq!(split(PreTokenizer::Gpt2, text).concat(), text);
        }
    }
}
