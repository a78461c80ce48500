//! Helpers shared by this crate's unit tests.

/// Bytes from hex text; whitespace is ignored so test vectors can be laid
/// out by field.
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
