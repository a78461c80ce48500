//! Safety numbers: what two people compare to know their conversation is
//! not intercepted. The derivation is documented in docs/safety-numbers.md.

use sha2::{Digest, Sha512};

use crosslock_credential::PhoneNumber;

/// Derivation version, the first byte of every QR payload.
pub const SAFETY_NUMBER_VERSION: u8 = 1;
const LABEL: &[u8] = b"Crosslock safety number v1";
/// Hash iterations: makes finding a second key set with the same number
/// 5200 times more expensive for an attacker.
const ITERATIONS: usize = 5200;

/// A safety number for a pair of participants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyNumber {
    digits: String,
    qr: Vec<u8>,
}

impl SafetyNumber {
    /// Computes the number for participants `a` and `b`, each with the set
    /// of their participant public keys. Symmetric: `(a, b)` and `(b, a)`
    /// give the same result.
    pub fn compute(a: (&PhoneNumber, &[Vec<u8>]), b: (&PhoneNumber, &[Vec<u8>])) -> SafetyNumber {
        let fa = fingerprint(a.0, a.1);
        let fb = fingerprint(b.0, b.1);
        let (first, second) = if a.0.as_str() <= b.0.as_str() {
            (fa, fb)
        } else {
            (fb, fa)
        };
        let digits = format!("{}{}", digits(&first), digits(&second));
        let mut qr = Vec::with_capacity(65);
        qr.push(SAFETY_NUMBER_VERSION);
        qr.extend_from_slice(&first[..32]);
        qr.extend_from_slice(&second[..32]);
        SafetyNumber { digits, qr }
    }

    /// The 60 digits.
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The digits in twelve groups of five, as shown to users.
    pub fn grouped(&self) -> String {
        self.digits
            .as_bytes()
            .chunks(5)
            .map(|c| std::str::from_utf8(c).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The payload to encode in a QR code (65 bytes).
    pub fn qr_payload(&self) -> &[u8] {
        &self.qr
    }

    /// Whether a scanned payload matches, in constant time.
    pub fn matches_qr(&self, scanned: &[u8]) -> bool {
        scanned.len() == self.qr.len()
            && scanned
                .iter()
                .zip(&self.qr)
                .fold(0u8, |acc, (x, y)| acc | (x ^ y))
                == 0
    }
}

/// SHA-512 iterated over the label, the number and the sorted key set.
fn fingerprint(number: &PhoneNumber, keys: &[Vec<u8>]) -> [u8; 64] {
    let mut keys: Vec<&Vec<u8>> = keys.iter().collect();
    keys.sort();
    keys.dedup();
    let mut encoded_keys = Vec::new();
    for k in &keys {
        encoded_keys.extend_from_slice(&(k.len() as u16).to_be_bytes());
        encoded_keys.extend_from_slice(k);
    }
    let n = number.as_str().as_bytes();
    let mut hash = Sha512::new()
        .chain_update(LABEL)
        .chain_update((n.len() as u16).to_be_bytes())
        .chain_update(n)
        .chain_update(&encoded_keys)
        .finalize();
    for _ in 1..ITERATIONS {
        hash = Sha512::new()
            .chain_update(hash)
            .chain_update(&encoded_keys)
            .finalize();
    }
    hash.into()
}

/// 30 digits: six 5-byte chunks, each read big-endian modulo 100000.
fn digits(fingerprint: &[u8; 64]) -> String {
    fingerprint[..30]
        .chunks(5)
        .map(|c| {
            let v = c.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            format!("{:05}", v % 100_000)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> PhoneNumber {
        PhoneNumber::parse(s).unwrap()
    }

    #[test]
    fn symmetric_and_sixty_digits() {
        let (a, b) = (n("+15551230001"), n("+447700900123"));
        let ka = vec![vec![1u8; 65]];
        let kb = vec![vec![2u8; 32], vec![3u8; 32]];
        let x = SafetyNumber::compute((&a, &ka), (&b, &kb));
        let y = SafetyNumber::compute((&b, &kb), (&a, &ka));
        assert_eq!(x, y);
        assert_eq!(x.digits().len(), 60);
        assert!(x.digits().bytes().all(|c| c.is_ascii_digit()));
        assert_eq!(x.grouped().split(' ').count(), 12);
        assert_eq!(x.qr_payload().len(), 65);
        assert!(x.matches_qr(y.qr_payload()));
    }

    #[test]
    fn any_key_change_changes_the_number() {
        let (a, b) = (n("+15551230001"), n("+447700900123"));
        let ka = vec![vec![1u8; 65]];
        let base = SafetyNumber::compute((&a, &ka), (&b, &[vec![2u8; 32]]));
        let mut other = vec![2u8; 32];
        other[31] ^= 1;
        let changed = SafetyNumber::compute((&a, &ka), (&b, &[other]));
        assert_ne!(base.digits(), changed.digits());
        assert!(!base.matches_qr(changed.qr_payload()));
        // Key order and duplicates do not matter.
        let kb = vec![vec![2u8; 32], vec![3u8; 32]];
        let kb_rev = vec![vec![3u8; 32], vec![2u8; 32], vec![3u8; 32]];
        assert_eq!(
            SafetyNumber::compute((&a, &ka), (&b, &kb)),
            SafetyNumber::compute((&a, &ka), (&b, &kb_rev))
        );
    }

    #[test]
    fn known_answer() {
        // Pinned so the derivation cannot drift unnoticed between releases
        // (both phones must compute the same digits). The value was
        // computed independently from the description in
        // docs/safety-numbers.md with Python's hashlib.
        let x = SafetyNumber::compute(
            (&n("+15551230001"), &[vec![0x04; 65]]),
            (&n("+15551230002"), &[vec![0xED; 32]]),
        );
        assert_eq!(
            x.digits(),
            "713781782652673086158217142266202968916530507723813128234769"
        );
    }
}
