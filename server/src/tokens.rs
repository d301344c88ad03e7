//! Admin bearer tokens: stored as SHA-256 digests (a leaked file does not
//! leak a token), compared in constant time, named (the name is who the
//! audit trail records). The token itself is never logged.
//!
//! The file: one `NAME sha256:HEX` per line, `#` comments; `fraud-server
//! --hash-token` turns a token read on stdin into its `sha256:HEX`.

use std::path::Path;

use sha2::{Digest, Sha256};

/// The longest token accepted (longer ones are refused before hashing).
pub const MAX_TOKEN_BYTES: usize = 4096;

/// Named token digests.
#[derive(Clone)]
pub struct Tokens {
    entries: Vec<(String, [u8; 32])>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: digests stay out of logs too.
        f.debug_list().entries(self.entries.iter().map(|(n, _)| n)).finish()
    }
}

/// `sha256:HEX` of a token.
pub fn hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn parse_digest(text: &str) -> Option<[u8; 32]> {
    let hex = text.strip_prefix("sha256:")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Equal in time that depends on the length only, not on where the first difference is.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

impl Tokens {
    /// Reads a token file (line numbers in errors; the digests themselves never shown).
    pub fn read(path: &Path) -> Result<Tokens, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Tokens::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the file's text.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let (Some(name), Some(digest), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(format!("line {}: expected `NAME sha256:HEX`", n + 1));
            };
            if name.len() > 64 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-@".contains(&b)) {
                return Err(format!("line {}: a name is 1 to 64 letters, digits, _ . - @", n + 1));
            }
            let Some(digest) = parse_digest(digest) else {
                return Err(format!(
                    "line {}: the token must be given as sha256: and 64 hex digits (fraud-server --hash-token makes one)",
                    n + 1
                ));
            };
            if entries.iter().any(|(other, _)| other == name) {
                return Err(format!("line {}: the name {name} is given twice", n + 1));
            }
            entries.push((name.to_string(), digest));
        }
        if entries.is_empty() {
            return Err("no tokens (lines `NAME sha256:HEX`)".into());
        }
        Ok(Tokens { entries })
    }

    /// The name of the token presented, if it is one of ours. Every entry is compared (no early exit).
    pub fn check(&self, presented: &str) -> Option<&str> {
        if presented.len() > MAX_TOKEN_BYTES {
            return None;
        }
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        let mut found = None;
        for (name, stored) in &self.entries {
            if same(stored, &digest) {
                found = Some(name.as_str());
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_by_digest_only() {
        let file = format!("# admins\nana {}\nops {}\n", hash("s3cret-a"), hash("s3cret-b"));
        let t = Tokens::parse(&file).unwrap();
        assert_eq!(t.check("s3cret-a"), Some("ana"));
        assert_eq!(t.check("s3cret-b"), Some("ops"));
        assert_eq!(t.check("s3cret-"), None);
        assert_eq!(t.check(""), None);
        assert!(!format!("{t:?}").contains("sha256"));
        for bad in [
            "ana",
            "ana s3cret",
            "ana sha256:00",
            "a b c",
            "",
            "ana sha256:zz00000000000000000000000000000000000000000000000000000000000000",
        ] {
            assert!(Tokens::parse(bad).is_err(), "{bad:?}");
        }
        assert!(Tokens::parse(&format!("a {0}\na {0}", hash("x"))).unwrap_err().contains("twice"));
    }
}
