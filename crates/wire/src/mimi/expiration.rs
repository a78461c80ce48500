//! Message expiry (draft-ietf-mimi-content §4.1).
//!
//! ```text
//! Expiration = [ relative: bool, time: uint .size 4 ]
//! ```
//!
//! Relative: seconds the message stays visible after it is read. Absolute:
//! seconds since the UNIX epoch at which it is deleted. A hint only: nothing
//! can force a receiver to honour it.

use crate::cbor::{read, write};
use ciborium::Value;

/// When a message should be deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Expiration {
    /// `true`: `time` is seconds after reading; `false`: UNIX time in seconds.
    pub relative: bool,
    /// Seconds (relative) or seconds since the UNIX epoch (absolute).
    pub time: u32,
}

impl Expiration {
    /// Deleted `seconds` after the receiver reads it.
    pub fn after_reading(seconds: u32) -> Expiration {
        Expiration {
            relative: true,
            time: seconds,
        }
    }

    /// Deleted at UNIX time `unix_seconds`.
    pub fn at(unix_seconds: u32) -> Expiration {
        Expiration {
            relative: false,
            time: unix_seconds,
        }
    }

    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        write::array(out, 2);
        write::boolean(out, self.relative);
        write::uint(out, self.time.into());
    }

    pub(crate) fn read(v: &Value) -> Result<Expiration, read::Expected> {
        const SHAPE: &str = "expires must be null or [bool, uint32]";
        let items = read::array_of(v, 2, SHAPE)?;
        Ok(Expiration {
            relative: read::boolean(&items[0], SHAPE)?,
            time: read::uint(&items[1], SHAPE)?,
        })
    }
}
