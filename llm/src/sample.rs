//! Choosing the next token from a step's logits, with llama.cpp's samplers
//! and in its order: repetition penalty → top-k → top-p → temperature →
//! a draw from the softmax (seeded PCG), or the argmax when the
//! temperature is 0.
//!
//! - Repetition penalty: each distinct token among the last
//!   `repeat_last_n` ids (the prompt's included, see [`Sampler::accept`])
//!   has its logit divided by the penalty when positive and multiplied by
//!   it otherwise, so it always becomes less likely. 1 is off.
//! - top-k keeps the `top_k` highest logits (0 is off); top-p then keeps
//!   the smallest run of the most likely tokens whose probabilities (at
//!   temperature 1, as llama.cpp computes them) add up to `top_p` (1 is
//!   off); at least one token always stays.
//! - Temperature 0 is greedy: the argmax (lowest id among equals), exactly
//!   [`crate::model::argmax_with_margin`], whatever top-k and top-p say, so
//!   greedy runs reproduce llama.cpp's greedy ids.
//!
//! The same options and seed give the same ids for the same logits.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;

use rand_core::{RngCore, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::model::argmax_with_margin;
use crate::tokenizer::TokenId;

/// How to choose tokens. `Default` is greedy with no penalty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// 0 is greedy; otherwise logits are divided by it before the draw.
    pub temperature: f32,
    /// Keep only the k most likely tokens; 0 keeps all.
    pub top_k: usize,
    /// Keep the most likely tokens up to this total probability, in (0, 1].
    pub top_p: f32,
    /// Above 1 discourages recent tokens; 1 is off.
    pub repeat_penalty: f32,
    /// How many of the latest ids the penalty looks at.
    pub repeat_last_n: usize,
    /// Seeds the PRNG of the draws.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 0,
        }
    }
}

/// An option out of its range (the value given).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptionError {
    Temperature(f32),
    TopP(f32),
    RepeatPenalty(f32),
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::Temperature(t) => {
                write!(f, "temperature must be a finite number >= 0, not {t}")
            }
            OptionError::TopP(p) => write!(f, "top_p must be above 0 and at most 1, not {p}"),
            OptionError::RepeatPenalty(r) => {
                write!(f, "repeat_penalty must be a finite number > 0, not {r}")
            }
        }
    }
}

impl Options {
    pub fn validate(&self) -> Result<(), OptionError> {
        // Written so that NaN fails each test.
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(OptionError::Temperature(self.temperature));
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(OptionError::TopP(self.top_p));
        }
        if !(self.repeat_penalty.is_finite() && self.repeat_penalty > 0.0) {
            return Err(OptionError::RepeatPenalty(self.repeat_penalty));
        }
        Ok(())
    }

    fn penalizes(&self) -> bool {
        self.repeat_penalty != 1.0 && self.repeat_last_n > 0
    }
}

/// A token chooser with its PRNG and the recent ids the penalty sees.
#[derive(Debug, Clone)]
pub struct Sampler {
    options: Options,
    rng: Pcg64Mcg,
    recent: VecDeque<TokenId>,
}

impl Sampler {
    pub fn new(options: Options) -> Result<Self, OptionError> {
        options.validate()?;
        Ok(Sampler {
            options,
            rng: Pcg64Mcg::seed_from_u64(options.seed),
            recent: VecDeque::with_capacity(options.repeat_last_n),
        })
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Records ids already in the context (the prompt, or a token chosen
    /// elsewhere): llama.cpp's penalty also counts the prompt's tokens.
    pub fn accept(&mut self, ids: &[TokenId]) {
        let n = self.options.repeat_last_n;
        if n == 0 {
            return;
        }
        for &id in &ids[ids.len().saturating_sub(n)..] {
            if self.recent.len() == n {
                self.recent.pop_front();
            }
            self.recent.push_back(id);
        }
    }

    /// Chooses the next token and records it.
    pub fn sample(&mut self, logits: &[f32]) -> TokenId {
        let id = if self.options.penalizes() && !self.recent.is_empty() {
            let mut penalized = logits.to_vec();
            self.penalize(&mut penalized);
            self.choose(&penalized)
        } else {
            self.choose(logits)
        };
        self.accept(&[id]);
        id
    }

    fn penalize(&self, logits: &mut [f32]) {
        let mut seen: Vec<TokenId> = self.recent.iter().copied().collect();
        seen.sort_unstable();
        seen.dedup();
        let p = self.options.repeat_penalty;
        for id in seen {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = if *l <= 0.0 { *l * p } else { *l / p };
            }
        }
    }

    fn choose(&mut self, logits: &[f32]) -> TokenId {
        let o = self.options;
        if o.temperature == 0.0 || logits.is_empty() {
            return argmax_with_margin(logits).0;
        }
        let mut candidates: Vec<(TokenId, f32)> = logits
            .iter()
            .enumerate()
            .map(|(i, &l)| (i as TokenId, l))
            .collect();
        if o.top_k > 0 && o.top_k < candidates.len() {
            candidates.select_nth_unstable_by(o.top_k - 1, best_first);
            candidates.truncate(o.top_k);
        }
        if o.top_p < 1.0 {
            candidates.sort_unstable_by(best_first);
            let probs = softmax(candidates.iter().map(|c| c.1), 1.0);
            let total: f64 = probs.iter().sum();
            let mut sum = 0.0;
            let keep = probs
                .iter()
                .position(|&p| {
                    sum += p;
                    sum >= f64::from(o.top_p) * total
                })
                .map_or(candidates.len(), |i| i + 1);
            candidates.truncate(keep);
        }
        let probs = softmax(candidates.iter().map(|c| c.1), o.temperature);
        let total: f64 = probs.iter().sum();
        // 53 random bits: a uniform f64 in [0, 1).
        let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
        let mut sum = 0.0;
        for (c, p) in candidates.iter().zip(&probs) {
            sum += p;
            if u < sum {
                return c.0;
            }
        }
        // Only by rounding: the last token with any probability.
        candidates
            .iter()
            .zip(&probs)
            .rev()
            .find(|(_, &p)| p > 0.0)
            .map_or(candidates[0].0, |(c, _)| c.0)
    }
}

/// Higher logit first, then the lower id (llama.cpp's greedy tie-break).
fn best_first(a: &(TokenId, f32), b: &(TokenId, f32)) -> Ordering {
    b.1.total_cmp(&a.1).then(a.0.cmp(&b.0))
}

/// Unnormalized softmax weights of `logits / temperature` (the caller sums
/// them; the largest weight is 1).
fn softmax(logits: impl Iterator<Item = f32> + Clone, temperature: f32) -> Vec<f64> {
    let max = logits.clone().fold(f32::NEG_INFINITY, f32::max);
    logits
        .map(|l| f64::from(crate::ffi::expf((l - max) / temperature)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(options: Options) -> Sampler {
        Sampler::new(options).unwrap()
    }

    /// Logits with ties and negatives, from a fixed PRNG.
    fn random_logits(seed: u64, n: usize) -> Vec<f32> {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        (0..n)
            .map(|_| ((rng.next_u32() % 400) as f32 - 200.0) / 16.0)
            .collect()
    }

    #[test]
    fn temperature_zero_is_the_argmax() {
        let mut s = sampler(Options {
            top_k: 3,
            top_p: 0.5,
            ..Options::default()
        });
        for seed in 0..50 {
            let logits = random_logits(seed, 1000);
            assert_eq!(s.sample(&logits), argmax_with_margin(&logits).0);
        }
        // The lowest id among equal best logits.
        assert_eq!(s.sample(&[1.0, 3.0, 3.0, 2.0]), 1);
    }

    #[test]
    fn top_k_one_is_the_argmax() {
        let mut s = sampler(Options {
            temperature: 1.5,
            top_k: 1,
            seed: 7,
            ..Options::default()
        });
        for seed in 0..50 {
            let logits = random_logits(seed, 1000);
            assert_eq!(s.sample(&logits), argmax_with_margin(&logits).0);
        }
        assert_eq!(s.sample(&[1.0, 3.0, 3.0, 2.0]), 1);
    }

    #[test]
    fn tiny_top_p_is_the_argmax() {
        let mut s = sampler(Options {
            temperature: 1.0,
            top_p: 1e-6,
            seed: 7,
            ..Options::default()
        });
        for seed in 0..50 {
            let logits = random_logits(seed, 1000);
            assert_eq!(s.sample(&logits), argmax_with_margin(&logits).0);
        }
    }

    #[test]
    fn top_p_keeps_the_nucleus() {
        // Probabilities 0.5, 0.3, 0.2 (logits ln p): top_p 0.6 keeps ids 0 and 1.
        let logits = [0.5f32.ln(), 0.3f32.ln(), 0.2f32.ln()];
        let mut s = sampler(Options {
            temperature: 1.0,
            top_p: 0.6,
            seed: 1,
            ..Options::default()
        });
        let mut counts = [0usize; 3];
        for _ in 0..2000 {
            counts[s.sample(&logits) as usize] += 1;
        }
        assert_eq!(counts[2], 0, "{counts:?}");
        assert!(counts[0] > counts[1] && counts[1] > 0, "{counts:?}");
    }

    #[test]
    fn draws_follow_the_softmax_at_temperature_one() {
        let logits = [1.0f32, 2.0, 0.0, -1.0, 0.5];
        let z: f64 = logits.iter().map(|&l| f64::from(l).exp()).sum();
        let mut s = sampler(Options {
            temperature: 1.0,
            seed: 3,
            ..Options::default()
        });
        const N: usize = 40_000;
        let mut counts = [0usize; 5];
        for _ in 0..N {
            counts[s.sample(&logits) as usize] += 1;
        }
        for (i, &l) in logits.iter().enumerate() {
            let want = f64::from(l).exp() / z;
            let got = counts[i] as f64 / N as f64;
            // Four standard deviations of a binomial share.
            let tolerance = 4.0 * (want * (1.0 - want) / N as f64).sqrt();
            assert!(
                (got - want).abs() < tolerance,
                "token {i}: {got} vs {want} ({counts:?})"
            );
        }
    }

    #[test]
    fn top_k_limits_the_draws() {
        let logits = [1.0f32, 2.0, 0.0, 1.5, 0.5];
        let mut s = sampler(Options {
            temperature: 2.0,
            top_k: 2,
            seed: 5,
            ..Options::default()
        });
        for _ in 0..1000 {
            let id = s.sample(&logits);
            assert!(id == 1 || id == 3, "{id}");
        }
    }

    #[test]
    fn repetition_penalty_changes_the_choice() {
        // Positive logits are divided: 2.0 / 1.5 < 1.8.
        let mut s = sampler(Options {
            repeat_penalty: 1.5,
            ..Options::default()
        });
        s.accept(&[0]);
        assert_eq!(s.sample(&[2.0, 1.8, 0.0]), 1);
        // Negative ones multiplied: -1.0 * 1.5 < -1.2. Id 1 was just chosen
        // and recorded, so it is penalized too: -1.2 * 1.5 < -1.3.
        assert_eq!(s.sample(&[-1.0, -1.2, -1.3]), 2);
        // Off (1.0): the argmax again.
        let mut off = sampler(Options::default());
        off.accept(&[0]);
        assert_eq!(off.sample(&[2.0, 1.8, 0.0]), 0);
    }

    #[test]
    fn repetition_penalty_forgets_past_its_window() {
        let mut s = sampler(Options {
            repeat_penalty: 1.5,
            repeat_last_n: 2,
            ..Options::default()
        });
        s.accept(&[0, 5, 6]);
        assert_eq!(s.sample(&[2.0, 1.8, 0.0]), 0);
    }

    #[test]
    fn the_same_seed_gives_the_same_ids() {
        let options = Options {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.9,
            repeat_penalty: 1.1,
            seed: 42,
            ..Options::default()
        };
        let run = |options: Options| {
            let mut s = sampler(options);
            (0..200)
                .map(|i| s.sample(&random_logits(i % 7, 300)))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(options), run(options));
        assert_ne!(
            run(options),
            run(Options {
                seed: 43,
                ..options
            })
        );
    }

    #[test]
    fn invalid_options_are_refused() {
        let bad = [
            (
                Options {
                    temperature: -0.1,
                    ..Options::default()
                },
                OptionError::Temperature(-0.1),
            ),
            (
                Options {
                    temperature: f32::INFINITY,
                    ..Options::default()
                },
                OptionError::Temperature(f32::INFINITY),
            ),
            (
                Options {
                    top_p: 0.0,
                    ..Options::default()
                },
                OptionError::TopP(0.0),
            ),
            (
                Options {
                    top_p: 1.01,
                    ..Options::default()
                },
                OptionError::TopP(1.01),
            ),
            (
                Options {
                    repeat_penalty: 0.0,
                    ..Options::default()
                },
                OptionError::RepeatPenalty(0.0),
            ),
        ];
        for (options, error) in bad {
            assert_eq!(Sampler::new(options).err(), Some(error));
        }
        assert!(matches!(
            Sampler::new(Options {
                temperature: f32::NAN,
                ..Options::default()
            }),
            Err(OptionError::Temperature(_))
        ));
        assert!(matches!(
            Sampler::new(Options {
                top_p: f32::NAN,
                ..Options::default()
            }),
            Err(OptionError::TopP(_))
        ));
        assert!(Sampler::new(Options {
            temperature: 2.0,
            top_p: 1.0,
            top_k: 0,
            ..Options::default()
        })
        .is_ok());
    }
}
