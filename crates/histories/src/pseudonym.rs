//! User ids replaced by keyed hashes: HMAC-SHA256 over the source and the id,
//! with a secret key from the configuration or the environment. The same key
//! gives the same pseudonym (so re-imports and trajectory ids are stable);
//! without the key the original id cannot be recovered or confirmed by
//! hashing guesses, which a plain hash would allow.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Environment variable holding the key.
pub const KEY_ENV: &str = "PRODUCTRESEARCH_PSEUDONYM_KEY";

/// Shortest key accepted (bytes); a short key can be brute-forced.
pub const MIN_KEY_BYTES: usize = 16;

/// Hex characters of the pseudonym kept (64 bits: no collisions at our scale).
const PSEUDONYM_HEX: usize = 16;

/// Makes pseudonyms with one key.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer { key: <redacted> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with `key` (at least [`MIN_KEY_BYTES`] bytes).
    pub fn new(key: impl Into<Vec<u8>>) -> Result<Self, String> {
        let key = key.into();
        if key.len() < MIN_KEY_BYTES {
            return Err(format!("pseudonym key must be at least {MIN_KEY_BYTES} bytes (got {})", key.len()));
        }
        Ok(Self { key })
    }

    /// The key from [`KEY_ENV`]; the error says how to set it.
    pub fn from_env() -> Result<Self, String> {
        let key = std::env::var(KEY_ENV).map_err(|_| {
            format!("set {KEY_ENV} to a secret of at least {MIN_KEY_BYTES} characters (keep it stable: it makes user ids pseudonymous and repeatable)")
        })?;
        Self::new(key.trim().as_bytes().to_vec()).map_err(|e| format!("{KEY_ENV}: {e}"))
    }

    /// `u-` + the first 16 hex characters of HMAC-SHA256(key, source NUL id).
    /// The source keeps equal ids of different sources apart.
    pub fn pseudonym(&self, source: &str, user_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(source.as_bytes());
        mac.update(&[0]);
        mac.update(user_id.as_bytes());
        let digest = hex::encode(mac.finalize().into_bytes());
        format!("u-{}", &digest[..PSEUDONYM_HEX])
    }

    /// True for ids this type produces (imports do not pseudonymise twice).
    pub fn is_pseudonym(id: &str) -> bool {
        id.len() == 2 + PSEUDONYM_HEX && id.starts_with("u-") && id[2..].chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_source_specific() {
        let a = Pseudonymizer::new(*b"0123456789abcdef-key-A").unwrap();
        let b = Pseudonymizer::new(*b"0123456789abcdef-key-B").unwrap();
        let id = "AE3KLVXGZPANXE5XLXYKHTVAZ3FQ";
        let p = a.pseudonym("amazon2023", id);
        assert_eq!(p, a.pseudonym("amazon2023", id));
        assert!(Pseudonymizer::is_pseudonym(&p), "{p}");
        assert!(!p.contains(id));
        assert_ne!(p, b.pseudonym("amazon2023", id));
        assert_ne!(p, a.pseudonym("amazon_in", id));
        // RFC 4231 test case 2 checks the HMAC itself.
        let rfc = Pseudonymizer { key: b"Jefe".to_vec() };
        let mut mac = Hmac::<Sha256>::new_from_slice(&rfc.key).unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac.finalize().into_bytes()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn short_keys_are_rejected() {
        assert!(Pseudonymizer::new(*b"short").unwrap_err().contains("at least 16"));
    }
}
