//! A deterministic CBOR writer (RFC 8949 §4.2.1).
//!
//! Integers and lengths take their shortest form, every length is definite,
//! floats take the shortest width that keeps their value (NaN is always the
//! half-width quiet NaN `f9 7e00`), and map entries are sorted by the
//! bytewise order of their encoded keys.

use ciborium::Value;

const UINT: u8 = 0;
const NINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;

/// Writes an item head with the shortest argument encoding.
pub(crate) fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= u64::from(u8::MAX) {
        out.extend_from_slice(&[m | 24, arg as u8]);
    } else if arg <= u64::from(u16::MAX) {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= u64::from(u32::MAX) {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

pub(crate) fn uint(out: &mut Vec<u8>, n: u64) {
    head(out, UINT, n);
}

pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    head(out, BYTES, b.len() as u64);
    out.extend_from_slice(b);
}

pub(crate) fn text(out: &mut Vec<u8>, t: &str) {
    head(out, TEXT, t.len() as u64);
    out.extend_from_slice(t.as_bytes());
}

pub(crate) fn array(out: &mut Vec<u8>, len: usize) {
    head(out, ARRAY, len as u64);
}

pub(crate) fn map(out: &mut Vec<u8>, len: usize) {
    head(out, MAP, len as u64);
}

pub(crate) fn null(out: &mut Vec<u8>) {
    out.push(0xf6);
}

pub(crate) fn boolean(out: &mut Vec<u8>, b: bool) {
    out.push(if b { 0xf5 } else { 0xf4 });
}

/// Writes an integer in `-2^64 ..= 2^64 - 1`.
pub(crate) fn int(out: &mut Vec<u8>, i: i128) {
    if i >= 0 {
        head(out, UINT, i as u64);
    } else {
        head(out, NINT, (-1 - i) as u64);
    }
}

/// Writes a float in its shortest exact width.
pub(crate) fn float(out: &mut Vec<u8>, f: f64) {
    if f.is_nan() {
        out.extend_from_slice(&[0xf9, 0x7e, 0x00]);
        return;
    }
    let half = half::f16::from_f64(f);
    let single = f as f32;
    if f64::from(half).to_bits() == f.to_bits() {
        out.push(0xf9);
        out.extend_from_slice(&half.to_be_bytes());
    } else if f64::from(single).to_bits() == f.to_bits() {
        out.push(0xfa);
        out.extend_from_slice(&single.to_be_bytes());
    } else {
        out.push(0xfb);
        out.extend_from_slice(&f.to_be_bytes());
    }
}

/// The deterministic encoding of a map key (or any value).
pub(crate) fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    value(&mut out, v);
    out
}

/// Writes any value deterministically. Recursion depth equals the value's
/// nesting depth, which decoders bound before a value exists.
pub(crate) fn value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Integer(i) => int(out, i128::from(*i)),
        Value::Bytes(b) => bytes(out, b),
        Value::Float(f) => float(out, *f),
        Value::Text(t) => text(out, t),
        Value::Bool(b) => boolean(out, *b),
        Value::Tag(tag, inner) => {
            head(out, TAG, *tag);
            value(out, inner);
        }
        Value::Array(items) => {
            array(out, items.len());
            for item in items {
                value(out, item);
            }
        }
        Value::Map(entries) => {
            map(out, entries.len());
            for (key, val) in sorted_entries(entries) {
                out.extend_from_slice(&key);
                value(out, val);
            }
        }
        // `Null`, and any variant a later ciborium adds (validation refuses those).
        _ => null(out),
    }
}

/// Map entries with their encoded keys, in deterministic order.
pub(crate) fn sorted_entries(entries: &[(Value, Value)]) -> Vec<(Vec<u8>, &Value)> {
    let mut sorted: Vec<(Vec<u8>, &Value)> = entries.iter().map(|(k, v)| (to_vec(k), v)).collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(v: &Value) -> String {
        to_vec(v).iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn matches_rfc_8949_appendix_a() {
        let int = |i: i128| Value::Integer(i.try_into().unwrap());
        assert_eq!(enc(&int(0)), "00");
        assert_eq!(enc(&int(23)), "17");
        assert_eq!(enc(&int(24)), "1818");
        assert_eq!(enc(&int(1000)), "1903e8");
        assert_eq!(enc(&int(1_000_000)), "1a000f4240");
        assert_eq!(enc(&int(1_000_000_000_000)), "1b000000e8d4a51000");
        assert_eq!(enc(&int(u64::MAX.into())), "1bffffffffffffffff");
        assert_eq!(enc(&int(-1)), "20");
        assert_eq!(enc(&int(-1000)), "3903e7");
        assert_eq!(enc(&int(-(1i128 << 64))), "3bffffffffffffffff");
        assert_eq!(enc(&Value::Float(0.0)), "f90000");
        assert_eq!(enc(&Value::Float(-0.0)), "f98000");
        assert_eq!(enc(&Value::Float(1.5)), "f93e00");
        assert_eq!(enc(&Value::Float(65504.0)), "f97bff");
        assert_eq!(enc(&Value::Float(100000.0)), "fa47c35000");
        assert_eq!(enc(&Value::Float(1.1)), "fb3ff199999999999a");
        assert_eq!(enc(&Value::Float(5.960464477539063e-8)), "f90001");
        assert_eq!(enc(&Value::Float(f64::INFINITY)), "f97c00");
        assert_eq!(enc(&Value::Float(f64::NAN)), "f97e00");
        assert_eq!(enc(&Value::Text("IETF".into())), "6449455446");
        assert_eq!(enc(&Value::Bytes(vec![1, 2, 3, 4])), "4401020304");
        assert_eq!(
            enc(&Value::Tag(1, Box::new(int(1_363_896_240)))),
            "c11a514b67b0"
        );
        assert_eq!(
            enc(&Value::Array(vec![
                int(1),
                Value::Array(vec![int(2), int(3)])
            ])),
            "8201820203"
        );
    }

    #[test]
    fn sorts_map_keys_by_encoding() {
        // RFC 8949 §4.2.1: 10, 100, -1, "z", "aa", [100], [-1], false
        let int = |i: i128| Value::Integer(i.try_into().unwrap());
        let map = Value::Map(vec![
            (Value::Bool(false), int(7)),
            (Value::Text("aa".into()), int(4)),
            (Value::Array(vec![int(-1)]), int(6)),
            (int(-1), int(2)),
            (Value::Text("z".into()), int(3)),
            (int(100), int(1)),
            (Value::Array(vec![int(100)]), int(5)),
            (int(10), int(0)),
        ]);
        assert_eq!(
            enc(&map),
            "a80a001864012002617a036261610481186405812006f407"
        );
    }
}
