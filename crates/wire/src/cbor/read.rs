//! Typed views of a [`ciborium::Value`], each failing with a fixed message
//! that names the field and the expected shape.

use ciborium::Value;

/// The error of a failed view: what was expected.
pub(crate) type Expected = &'static str;

/// An array of exactly `len` elements.
pub(crate) fn array_of(v: &Value, len: usize, what: Expected) -> Result<&[Value], Expected> {
    match v {
        Value::Array(items) if items.len() == len => Ok(items),
        _ => Err(what),
    }
}

/// An array of any length.
pub(crate) fn array(v: &Value, what: Expected) -> Result<&[Value], Expected> {
    match v {
        Value::Array(items) => Ok(items),
        _ => Err(what),
    }
}

/// A byte string.
pub(crate) fn bytes(v: &Value, what: Expected) -> Result<&[u8], Expected> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(what),
    }
}

/// A byte string of exactly `N` bytes.
pub(crate) fn fixed<const N: usize>(v: &Value, what: Expected) -> Result<[u8; N], Expected> {
    bytes(v, what)?.try_into().map_err(|_| what)
}

/// A text string.
pub(crate) fn text(v: &Value, what: Expected) -> Result<&str, Expected> {
    match v {
        Value::Text(t) => Ok(t),
        _ => Err(what),
    }
}

/// An unsigned integer that fits in `T`.
pub(crate) fn uint<T: TryFrom<u64>>(v: &Value, what: Expected) -> Result<T, Expected> {
    match v {
        Value::Integer(i) => u64::try_from(*i)
            .ok()
            .and_then(|n| T::try_from(n).ok())
            .ok_or(what),
        _ => Err(what),
    }
}

/// A boolean.
pub(crate) fn boolean(v: &Value, what: Expected) -> Result<bool, Expected> {
    match v {
        Value::Bool(b) => Ok(*b),
        _ => Err(what),
    }
}

/// `null` as `None`, anything else through `f`.
pub(crate) fn nullable<'a, T>(
    v: &'a Value,
    f: impl FnOnce(&'a Value) -> Result<T, Expected>,
) -> Result<Option<T>, Expected> {
    match v {
        Value::Null => Ok(None),
        other => f(other).map(Some),
    }
}
