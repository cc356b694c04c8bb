//! Token counts with a real tokenizer, and the length buckets of the paper's
//! SFT sets (32k, 64k, 128k).
//!
//! The default is OpenAI's `o200k_base` BPE (`cl100k_base` on request), counted
//! by GitHub's `bpe-openai`: the same vocabulary and pre-tokenization regex as
//! tiktoken, so the same counts (the `tiktoken_parity` tests check that against
//! tiktoken-rs on real text), but about twice as fast as tiktoken-rs, which
//! matters because counting is nearly all of a distillation's CPU time. Its ranks are compiled
//! into the binary, so it works offline. A Hugging Face `tokenizer.json` (the
//! trained model's own tokenizer) can replace it. An example is counted on its
//! Qwen/Hermes text form ([`crate::format::hermes_text`]): that is the sequence
//! a trainer feeds the model, chat markup and tool schemas included.

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A tokenizer that counts tokens.
#[derive(Clone)]
pub enum TokenCounter {
    /// A tiktoken encoding (`o200k_base` or `cl100k_base`).
    Tiktoken {
        /// Encoding name.
        name: &'static str,
        /// The encoder, built on the first count and shared by the process:
        /// its tables take ~100 MB, which a distiller that has not counted
        /// yet (a mesh service waiting for its first request) need not hold.
        bpe: fn() -> &'static bpe_openai::Tokenizer,
    },
    /// A Hugging Face tokenizer.json.
    HuggingFace {
        /// Where it was loaded from.
        path: String,
        /// The tokenizer.
        tokenizer: Arc<tokenizers::Tokenizer>,
    },
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl TokenCounter {
    /// tiktoken `o200k_base` (GPT-4o's encoding), the default.
    pub fn o200k() -> Self {
        Self::Tiktoken { name: "o200k_base", bpe: bpe_openai::o200k_base }
    }

    /// tiktoken `cl100k_base` (GPT-4's encoding).
    pub fn cl100k() -> Self {
        Self::Tiktoken { name: "cl100k_base", bpe: bpe_openai::cl100k_base }
    }

    /// A tokenizer by spec: `o200k_base`, `cl100k_base`, or a path to a
    /// Hugging Face `tokenizer.json`.
    pub fn from_spec(spec: &str) -> Result<Self, Error> {
        match spec {
            "" | "o200k_base" | "o200k" => Ok(Self::o200k()),
            "cl100k_base" | "cl100k" => Ok(Self::cl100k()),
            path => Self::hugging_face(Path::new(path)),
        }
    }

    /// A Hugging Face tokenizer from its `tokenizer.json`.
    pub fn hugging_face(path: &Path) -> Result<Self, Error> {
        if !path.is_file() {
            return Err(Error::Config(format!(
                "tokenizer {}: no such file (give o200k_base, cl100k_base or a tokenizer.json path)",
                path.display()
            )));
        }
        let tokenizer = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| Error::Config(format!("tokenizer {}: not a Hugging Face tokenizer.json: {e}", path.display())))?;
        Ok(Self::HuggingFace { path: path.display().to_string(), tokenizer: Arc::new(tokenizer) })
    }

    /// Name recorded in statistics and lineage. It names the encoding, not the
    /// library that counts it: the counts are tiktoken's.
    pub fn name(&self) -> String {
        match self {
            Self::Tiktoken { name, .. } => format!("tiktoken:{name}"),
            Self::HuggingFace { path, .. } => format!("hf:{path}"),
        }
    }

    /// Tokens in `text`. Special-token markup (`<|im_start|>`) is counted as
    /// ordinary text (tiktoken's `encode_ordinary`), an over-count of a few
    /// tokens per message that errs on the side of a smaller bucket.
    pub fn count(&self, text: &str) -> usize {
        match self {
            Self::Tiktoken { bpe, .. } => bpe().count(text),
            Self::HuggingFace { tokenizer, .. } => tokenizer.encode_fast(text, false).map(|e| e.len()).unwrap_or_else(|_| text.len()),
        }
    }
}

/// A length bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Bucket {
    /// Up to 32,768 tokens.
    #[serde(rename = "32k")]
    K32,
    /// Up to 65,536 tokens.
    #[serde(rename = "64k")]
    K64,
    /// Up to 131,072 tokens.
    #[serde(rename = "128k")]
    K128,
}

impl Bucket {
    /// All buckets, smallest first.
    pub const ALL: [Bucket; 3] = [Bucket::K32, Bucket::K64, Bucket::K128];

    /// Most tokens an example of the bucket has.
    pub fn limit(self) -> usize {
        match self {
            Bucket::K32 => 32 * 1024,
            Bucket::K64 => 64 * 1024,
            Bucket::K128 => 128 * 1024,
        }
    }

    /// `32k`, `64k` or `128k`.
    pub fn name(self) -> &'static str {
        match self {
            Bucket::K32 => "32k",
            Bucket::K64 => "64k",
            Bucket::K128 => "128k",
        }
    }

    /// The smallest bucket `tokens` fits in.
    pub fn of(tokens: usize) -> Option<Bucket> {
        Self::ALL.into_iter().find(|b| tokens <= b.limit())
    }
}

impl std::str::FromStr for Bucket {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown bucket {s:?}: use 32k, 64k or 128k"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn o200k_counts_real_tokens() {
        let t = TokenCounter::o200k();
        assert_eq!(t.count(""), 0);
        assert_eq!(t.count("hello world"), 2);
        // Far fewer tokens than characters on English text, more than words.
        let text = "Which blender under $100 crushes ice best? Compare wattage, jar size and warranty.";
        let n = t.count(text);
        assert!(n > text.split_whitespace().count() && n < text.len() / 2, "{n}");
        assert_eq!(TokenCounter::from_spec("cl100k_base").unwrap().count("hello world"), 2);
    }

    #[test]
    fn buckets_are_the_smallest_that_fit() {
        assert_eq!(Bucket::of(0), Some(Bucket::K32));
        assert_eq!(Bucket::of(32_768), Some(Bucket::K32));
        assert_eq!(Bucket::of(32_769), Some(Bucket::K64));
        assert_eq!(Bucket::of(131_072), Some(Bucket::K128));
        assert_eq!(Bucket::of(131_073), None);
        assert_eq!("64K".parse::<Bucket>(), Ok(Bucket::K64));
        assert!("16k".parse::<Bucket>().unwrap_err().contains("32k, 64k or 128k"));
    }

    #[test]
    fn a_missing_tokenizer_file_is_a_one_line_error() {
        let e = TokenCounter::from_spec("/nonexistent/tokenizer.json").unwrap_err().to_string();
        assert!(e.contains("/nonexistent/tokenizer.json") && !e.contains('\n'), "{e}");
    }

    #[test]
    fn a_hugging_face_tokenizer_json_counts_with_its_own_vocabulary() {
        use tokenizers::models::wordlevel::WordLevel;
        use tokenizers::pre_tokenizers::whitespace::Whitespace;
        let vocab = [("[UNK]", 0), ("blender", 1), ("ice", 2)].into_iter().map(|(w, i)| (w.to_string(), i)).collect();
        let model = WordLevel::builder().vocab(vocab).unk_token("[UNK]".into()).build().unwrap();
        let mut tokenizer = tokenizers::Tokenizer::new(model);
        tokenizer.with_pre_tokenizer(Some(Whitespace {}));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokenizer.json");
        tokenizer.save(&path, false).unwrap();
        let t = TokenCounter::from_spec(path.to_str().unwrap()).unwrap();
        // Whitespace pre-tokenizer: words and punctuation, one token each.
        assert_eq!(t.count("blender crushes ice!"), 4);
        assert!(t.name().starts_with("hf:") && t.name().ends_with("tokenizer.json"));
        std::fs::write(&path, "{}").unwrap();
        assert!(TokenCounter::from_spec(path.to_str().unwrap()).unwrap_err().to_string().contains("not a Hugging Face tokenizer.json"));
    }
}
