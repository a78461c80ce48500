//! App Attest `authData`: the WebAuthn authenticator data layout.
//!
//! ```text
//! rpIdHash (32) | flags (1) | signCount (4, big endian)
//! | aaguid (16) | credentialIdLength (2, big endian) | credentialId
//! | credentialPublicKey (COSE_Key, CBOR) | extensions (CBOR, if flag ED)
//! ```

use ciborium::Value;

use crate::error::AttestError;

/// Largest authData accepted (App Attest's is 164 bytes).
pub(crate) const MAX_AUTH_DATA_LEN: usize = 1024;
/// Flag AT: attested credential data present.
const FLAG_AT: u8 = 0x40;
/// Flag ED: extension data present.
const FLAG_ED: u8 = 0x80;

/// The App Attest AAGUIDs.
pub(crate) const AAGUID_DEVELOPMENT: &[u8; 16] = b"appattestdevelop";
pub(crate) const AAGUID_PRODUCTION: &[u8; 16] = b"appattest\0\0\0\0\0\0\0";

/// authData split into its fields; parsing checks the layout only.
#[derive(Debug, Clone)]
pub(crate) struct AuthData<'a> {
    pub(crate) rp_id_hash: &'a [u8],
    pub(crate) counter: u32,
    pub(crate) aaguid: &'a [u8],
    pub(crate) credential_id: &'a [u8],
    /// The COSE key's `x || y` (P-256, 64 bytes).
    pub(crate) credential_key_xy: Vec<u8>,
}

fn malformed(what: &str) -> AttestError {
    AttestError::Malformed(format!("authData: {what}"))
}

fn take<'a>(bytes: &mut &'a [u8], n: usize, what: &str) -> Result<&'a [u8], AttestError> {
    if bytes.len() < n {
        return Err(malformed(what));
    }
    let (head, tail) = bytes.split_at(n);
    *bytes = tail;
    Ok(head)
}

impl<'a> AuthData<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, AttestError> {
        if bytes.len() > MAX_AUTH_DATA_LEN {
            return Err(AttestError::TooLarge {
                what: "authData",
                limit: MAX_AUTH_DATA_LEN,
            });
        }
        let mut rest = bytes;
        let rp_id_hash = take(&mut rest, 32, "truncated rpIdHash")?;
        let flags = take(&mut rest, 1, "truncated flags")?[0];
        let counter = take(&mut rest, 4, "truncated counter")?;
        let counter = u32::from_be_bytes([counter[0], counter[1], counter[2], counter[3]]);
        if flags & FLAG_AT == 0 {
            return Err(malformed("no attested credential data (flag AT unset)"));
        }
        let aaguid = take(&mut rest, 16, "truncated aaguid")?;
        let id_len = take(&mut rest, 2, "truncated credentialIdLength")?;
        let id_len = usize::from(u16::from_be_bytes([id_len[0], id_len[1]]));
        let credential_id = take(&mut rest, id_len, "truncated credentialId")?;
        let mut reader = rest;
        let key: Value = ciborium::de::from_reader(&mut reader)
            .map_err(|e| AttestError::Cbor(format!("credentialPublicKey: {e}")))?;
        if flags & FLAG_ED == 0 && !reader.is_empty() {
            return Err(malformed("trailing bytes after the credential public key"));
        }
        Ok(Self {
            rp_id_hash,
            counter,
            aaguid,
            credential_id,
            credential_key_xy: cose_p256_xy(&key)?,
        })
    }
}

/// `x || y` of a COSE_Key that must be EC2 (kty 2), ES256 (alg -7), P-256 (crv 1).
fn cose_p256_xy(key: &Value) -> Result<Vec<u8>, AttestError> {
    let bad = |what: &str| AttestError::Cbor(format!("credentialPublicKey: {what}"));
    let entries = key.as_map().ok_or_else(|| bad("not a map"))?;
    let mut kty = None;
    let mut alg = None;
    let mut crv = None;
    let mut x = None;
    let mut y = None;
    for (label, value) in entries {
        let label = label
            .as_integer()
            .and_then(|i| i64::try_from(i).ok())
            .ok_or_else(|| bad("non-integer label"))?;
        let slot = match label {
            1 => &mut kty,
            3 => &mut alg,
            -1 => &mut crv,
            -2 => &mut x,
            -3 => &mut y,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(bad("repeated label"));
        }
    }
    let int = |v: Option<&Value>| {
        v.and_then(Value::as_integer)
            .and_then(|i| i64::try_from(i).ok())
    };
    if int(kty) != Some(2) || int(alg) != Some(-7) || int(crv) != Some(1) {
        return Err(bad("not an EC2 ES256 P-256 key"));
    }
    fn coord(v: Option<&Value>) -> Option<&[u8]> {
        v.and_then(Value::as_bytes)
            .map(Vec::as_slice)
            .filter(|b| b.len() == 32)
    }
    let (x, y) = match (coord(x), coord(y)) {
        (Some(x), Some(y)) => (x, y),
        _ => return Err(bad("coordinate is not 32 bytes")),
    };
    Ok([x, y].concat())
}
