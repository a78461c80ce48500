//! The MIMI content extensions map (draft-ietf-mimi-content §4.3, §6.2, §6.3).
//!
//! ```text
//! extensions = { ? 1 => tstr (senderUri), ? 2 => tstr (roomUri), * name => value }
//! name  = int / tstr .size (1..255)
//! value = any .size (0..4095)
//! ```
//!
//! Rules checked: keys are integers representable as doubles
//! (|k| ≤ 2^53 − 1) or text of 1 to 255 bytes, and never repeat; key 0 is
//! reserved (§8.2.1); the extensions map, and the arrays, maps and tags inside
//! its values, nest at most 4 levels (§6.3); maps inside values have only
//! integer, text or byte-string keys (§6.2), none repeated; each value encodes
//! to at most [`MAX_EXTENSION_VALUE_BYTES`] bytes; bignum tags (2, 3) wrap a
//! byte string (RFC 8949 §3.4.3).

use super::MAX_EXTENSION_VALUE_BYTES;
use crate::cbor::{read, write};
use ciborium::Value;

/// The largest magnitude of an integer key (2^53 − 1, draft §6.2).
pub(crate) const MAX_SAFE_INT: i128 = (1 << 53) - 1;
/// The extensions map is level 1; values may reach level 4 (draft §6.3).
const MAX_LEVEL: usize = 4;
const SENDER_URI: i128 = 1;
const ROOM_URI: i128 = 2;

/// The key of an extension other than senderUri and roomUri.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExtensionName {
    /// An integer key: positive ones come from the IANA registry, negative
    /// ones are private use.
    Int(i64),
    /// A text key (private use), 1 to 255 bytes.
    Text(String),
}

impl ExtensionName {
    fn to_value(&self) -> Value {
        match self {
            ExtensionName::Int(i) => Value::Integer((*i).into()),
            ExtensionName::Text(t) => Value::Text(t.clone()),
        }
    }
}

/// The extensions of a MIMI content message.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Extensions {
    /// Key 1: the sender as a MIMI participant URI.
    pub sender_uri: Option<String>,
    /// Key 2: the MIMI room URI.
    pub room_uri: Option<String>,
    /// Every other extension, in deterministic (encoded key) order after a
    /// decode; any order is accepted for encoding.
    pub other: Vec<(ExtensionName, Value)>,
}

impl Extensions {
    /// The entries as (encoded key, value) in deterministic order.
    fn entries(&self) -> Vec<(Vec<u8>, Value)> {
        let mut entries: Vec<(Vec<u8>, Value)> = Vec::with_capacity(self.other.len() + 2);
        let known = [(SENDER_URI, &self.sender_uri), (ROOM_URI, &self.room_uri)];
        for (key, value) in known {
            if let Some(uri) = value {
                let key = Value::Integer((key as i64).into());
                entries.push((write::to_vec(&key), Value::Text(uri.clone())));
            }
        }
        for (name, value) in &self.other {
            entries.push((write::to_vec(&name.to_value()), value.clone()));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        let entries = self.entries();
        write::map(out, entries.len());
        for (key, value) in &entries {
            out.extend_from_slice(key);
            write::value(out, value);
        }
    }

    pub(crate) fn read(v: &Value) -> Result<Extensions, read::Expected> {
        let Value::Map(entries) = v else {
            return Err("extensions must be a map");
        };
        let mut ext = Extensions::default();
        for (key, value) in entries {
            match key {
                Value::Integer(i) if i128::from(*i) == SENDER_URI => {
                    set_once(&mut ext.sender_uri, value)?;
                }
                Value::Integer(i) if i128::from(*i) == ROOM_URI => {
                    set_once(&mut ext.room_uri, value)?;
                }
                Value::Integer(i) => {
                    let i = i64::try_from(i128::from(*i)).map_err(|_| BAD_INT_KEY)?;
                    ext.other.push((ExtensionName::Int(i), value.clone()));
                }
                Value::Text(t) => ext
                    .other
                    .push((ExtensionName::Text(t.clone()), value.clone())),
                _ => return Err("extension keys must be integers or text"),
            }
        }
        Ok(ext)
    }

    /// Checks the rules in the module documentation.
    pub(crate) fn validate(&self) -> Result<(), read::Expected> {
        for (name, value) in &self.other {
            match name {
                ExtensionName::Int(0) => return Err("extension key 0 is reserved"),
                ExtensionName::Int(i) if i128::from(*i).abs() > MAX_SAFE_INT => {
                    return Err(BAD_INT_KEY);
                }
                ExtensionName::Int(i)
                    if i128::from(*i) == SENDER_URI || i128::from(*i) == ROOM_URI =>
                {
                    return Err("senderUri and roomUri belong in their own fields");
                }
                ExtensionName::Text(t) if t.is_empty() || t.len() > 255 => {
                    return Err("text extension keys must be 1 to 255 bytes");
                }
                _ => {}
            }
            check_value(value, 2)?;
        }
        let entries = self.entries();
        if entries.windows(2).any(|w| w[0].0 == w[1].0) {
            return Err("duplicate extension key");
        }
        if entries
            .iter()
            .any(|(_, v)| write::to_vec(v).len() > MAX_EXTENSION_VALUE_BYTES)
        {
            return Err("extension value longer than 4095 bytes");
        }
        Ok(())
    }
}

const BAD_INT_KEY: &str = "integer extension keys must be within ±(2^53 − 1)";

fn set_once(slot: &mut Option<String>, value: &Value) -> Result<(), read::Expected> {
    if slot.is_some() {
        return Err("duplicate extension key");
    }
    *slot = Some(read::text(value, "senderUri and roomUri must be text")?.to_owned());
    Ok(())
}

/// Checks a value nested at `level` (a container directly in the
/// extensions map is level 2).
fn check_value(v: &Value, level: usize) -> Result<(), read::Expected> {
    const TOO_DEEP: &str = "extension value nested more than 4 levels";
    match v {
        Value::Integer(_) | Value::Bytes(_) | Value::Float(_) | Value::Text(_) | Value::Bool(_) => {
            Ok(())
        }
        Value::Null => Ok(()),
        // RFC 8949 §3.4.3: a bignum tag wraps a byte string.
        Value::Tag(2 | 3, inner) if !matches!(**inner, Value::Bytes(_)) => {
            Err("bignum tag without a byte string")
        }
        Value::Tag(_, inner) if level <= MAX_LEVEL => check_value(inner, level + 1),
        Value::Array(items) if level <= MAX_LEVEL => items
            .iter()
            .try_for_each(|item| check_value(item, level + 1)),
        Value::Map(entries) if level <= MAX_LEVEL => {
            for (key, value) in entries {
                match key {
                    Value::Integer(i) if i128::from(*i).abs() <= MAX_SAFE_INT => {}
                    Value::Text(_) | Value::Bytes(_) => {}
                    _ => {
                        return Err(
                            "map keys inside extensions must be safe integers, text or bytes",
                        );
                    }
                }
                check_value(value, level + 1)?;
            }
            let sorted = write::sorted_entries(entries);
            if sorted.windows(2).any(|w| w[0].0 == w[1].0) {
                return Err("duplicate map key inside an extension");
            }
            Ok(())
        }
        Value::Tag(..) | Value::Array(_) | Value::Map(_) => Err(TOO_DEEP),
        _ => Err("unsupported CBOR value in an extension"),
    }
}
