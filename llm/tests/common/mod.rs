//! What the tests that need the reference model share: where it is, the
//! reference json (llama.cpp's outputs), and the file loaded into an arena.
#![allow(dead_code)]

use std::path::PathBuf;

use serde::Deserialize;

/// `KINGLY_MODEL`, else where scripts/fetch-model puts the model.
/// Panics (the test fails, it is not skipped) when the file is missing.
pub fn model_path() -> PathBuf {
    let path = match std::env::var_os("KINGLY_MODEL") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/models/smollm2-135m-instruct-q4_1.gguf"),
    };
    assert!(
        path.is_file(),
        "the reference model is missing at {}: run scripts/fetch-model (or set KINGLY_MODEL)",
        path.display()
    );
    path
}

/// The model file's bytes in a 64-byte-aligned arena, as the kernel will
/// hold them.
pub fn model_bytes() -> llm::arena::Arena {
    use std::io::Read;
    let mut file = std::fs::File::open(model_path()).expect("opening the model");
    let len = file.metadata().expect("the model's size").len() as usize;
    let mut arena = llm::arena::Arena::new(len);
    file.read_exact(arena.bytes_mut())
        .expect("reading the model");
    arena
}

#[derive(Deserialize)]
pub struct Reference {
    pub model: ModelRef,
    pub tokenize: Vec<TokenizeCase>,
    pub raw: Vec<GenCase>,
    pub chat: Vec<GenCase>,
}

#[derive(Deserialize)]
pub struct ModelRef {
    pub size_bytes: u64,
}

#[derive(Deserialize)]
pub struct TokenizeCase {
    pub text: String,
    pub ids: Vec<u32>,
    pub pieces: Vec<String>,
}

#[derive(Deserialize)]
pub struct GenCase {
    pub prompt: Option<String>,
    pub user: Option<String>,
    pub rendered_prompt: Option<String>,
    pub prompt_ids: Vec<u32>,
    pub gen_ids: Vec<u32>,
    pub gen_text: String,
    pub top2_margins: Vec<f32>,
    pub top5_first_position: Vec<TopLogit>,
}

#[derive(Deserialize)]
pub struct TopLogit {
    pub id: u32,
    pub logit: f32,
    pub piece: String,
}

/// ../shared/reference/smollm2-135m-q4_1.json beside the repository, or
/// `KINGLY_REFERENCE`.
pub fn reference() -> Reference {
    let path = match std::env::var_os("KINGLY_REFERENCE") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/reference/smollm2-135m-q4_1.json"),
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading the reference {}: {e}", path.display()));
    serde_json::from_str(&text).expect("parsing the reference json")
}

/// The reference's comparison rule for greedy ids: ours must equal
/// llama.cpp's for (at least) every step before the first whose top-2
/// margin in llama.cpp's run is below `near_tie` (there a rounding
/// difference may legitimately pick the other token). Returns (steps equal,
/// steps required); the host tests and the kernel's QEMU test share it.
pub fn greedy_agreement(ours: &[u32], case: &GenCase, near_tie: f32) -> (usize, usize) {
    let equal = ours
        .iter()
        .zip(&case.gen_ids)
        .take_while(|(a, b)| a == b)
        .count();
    let required = case
        .top2_margins
        .iter()
        .position(|&m| m < near_tie)
        .unwrap_or(case.gen_ids.len());
    (equal, required)
}
