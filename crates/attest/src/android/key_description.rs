//! The KeyDescription extension (OID 1.3.6.1.4.1.11129.2.1.17), parsed by hand.
//!
//! Schema (Android Key Attestation, "KeyDescription" and "AuthorizationList"):
//!
//! ```text
//! KeyDescription ::= SEQUENCE {
//!     attestationVersion         INTEGER,
//!     attestationSecurityLevel   SecurityLevel,      -- ENUMERATED
//!     keyMintVersion             INTEGER,            -- keymasterVersion before KeyMint
//!     keyMintSecurityLevel       SecurityLevel,
//!     attestationChallenge       OCTET STRING,
//!     uniqueId                   OCTET STRING,
//!     softwareEnforced           AuthorizationList,
//!     hardwareEnforced           AuthorizationList }
//! AuthorizationList ::= SEQUENCE { [n] EXPLICIT ... OPTIONAL, ... }
//! RootOfTrust ::= SEQUENCE { verifiedBootKey OCTET STRING, deviceLocked BOOLEAN,
//!     verifiedBootState VerifiedBootState, verifiedBootHash OCTET STRING -- v3+ }
//! AttestationApplicationId ::= SEQUENCE {
//!     packageInfos SET OF SEQUENCE { packageName OCTET STRING, version INTEGER },
//!     signatureDigests SET OF OCTET STRING }
//! ```
//!
//! Rules enforced here (ids are cited in the crate README):
//! - ATT-KD-1 strict DER for every element (e.g. a BOOLEAN must be 0x00 or 0xFF),
//!   except that the members of a SET OF are taken in the order given (DER
//!   sorts them; a device that does not is harmless and not refused);
//! - ATT-KD-2 AuthorizationList tags strictly ascending; unknown tags skipped;
//! - ATT-KD-3 limits on sizes and counts; the schema has a fixed depth, so
//!   nesting is bounded by construction.

use der::asn1::{AnyRef, Null, OctetStringRef};
use der::{Decode, Reader, SliceReader, Tag, Tagged};

use crate::error::KeyDescriptionError;

/// Largest KeyDescription extension accepted (real ones are under 2 KiB).
pub const MAX_KEY_DESCRIPTION_LEN: usize = 16 * 1024;
/// Most entries in one AuthorizationList.
const MAX_AUTHORIZATIONS: usize = 128;
/// Most values in one SET OF.
const MAX_SET_ITEMS: usize = 64;
/// Largest OCTET STRING value (challenge, ids, hashes, package names).
const MAX_OCTETS: usize = 4096;

/// The security level of the attestation or of the key (`SecurityLevel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityLevel {
    /// 0: Android's software implementation.
    Software,
    /// 1: a Trusted Execution Environment.
    TrustedEnvironment,
    /// 2: a StrongBox secure element.
    StrongBox,
}

impl SecurityLevel {
    /// The name used in the JSON view (`SOFTWARE`, `TRUSTED_ENVIRONMENT`, `STRONG_BOX`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Software => "SOFTWARE",
            Self::TrustedEnvironment => "TRUSTED_ENVIRONMENT",
            Self::StrongBox => "STRONG_BOX",
        }
    }

    /// Whether keys at this level live in hardware.
    #[must_use]
    pub fn is_hardware(self) -> bool {
        !matches!(self, Self::Software)
    }
}

impl std::fmt::Display for SecurityLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The device's verified boot state (`VerifiedBootState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VerifiedBootState {
    /// 0: booted an image signed by the device's embedded key.
    Verified,
    /// 1: booted an image signed by a user-installed key.
    SelfSigned,
    /// 2: boot image not verified (unlocked bootloader).
    Unverified,
    /// 3: verification failed.
    Failed,
}

impl VerifiedBootState {
    /// The name used in the JSON view (`VERIFIED`, `SELF_SIGNED`, `UNVERIFIED`, `FAILED`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Verified => "VERIFIED",
            Self::SelfSigned => "SELF_SIGNED",
            Self::Unverified => "UNVERIFIED",
            Self::Failed => "FAILED",
        }
    }
}

impl std::fmt::Display for VerifiedBootState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a key came from (`origin`, tag 702).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// 0
    Generated,
    /// 1
    Derived,
    /// 2
    Imported,
    /// 3
    Reserved,
    /// 4
    SecurelyImported,
    /// A value this crate does not name.
    Other(i64),
}

impl Origin {
    /// The KeyMint name (`GENERATED`, `DERIVED`, `IMPORTED`, `RESERVED`,
    /// `SECURELY_IMPORTED`, or `OTHER` for an unnamed value).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Generated => "GENERATED",
            Self::Derived => "DERIVED",
            Self::Imported => "IMPORTED",
            Self::Reserved => "RESERVED",
            Self::SecurelyImported => "SECURELY_IMPORTED",
            Self::Other(_) => "OTHER",
        }
    }

    fn from_value(value: i64) -> Self {
        match value {
            0 => Self::Generated,
            1 => Self::Derived,
            2 => Self::Imported,
            3 => Self::Reserved,
            4 => Self::SecurelyImported,
            other => Self::Other(other),
        }
    }
}

/// The root of trust (tag 704): the boot state the secure hardware saw.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RootOfTrust {
    /// Digest of the key that verified the boot image (may be empty or zero).
    pub verified_boot_key: Vec<u8>,
    /// Whether the bootloader is locked.
    pub device_locked: bool,
    /// The verified boot state.
    pub verified_boot_state: VerifiedBootState,
    /// Digest of the verified boot data (attestation version 3 and later).
    pub verified_boot_hash: Option<Vec<u8>>,
}

/// One package of the attestation application id.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageInfo {
    /// The package name.
    pub name: String,
    /// The package version code.
    pub version: i64,
}

/// The app that requested the key (tag 709), as the Android framework saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttestationApplicationId {
    /// The packages sharing the calling uid.
    pub packages: Vec<PackageInfo>,
    /// SHA-256 digests of the packages' signing certificates.
    pub signatures: Vec<Vec<u8>>,
}

/// An AuthorizationList: the key's properties, each an optional tagged field.
///
/// Field names follow the KeyMint tags; [`AuthorizationList::algorithm`] is
/// shown as `algorithms` in the JSON view, as in the reference encoding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationList {
    /// Tag 1.
    pub purposes: Option<Vec<i64>>,
    /// Tag 2.
    pub algorithm: Option<i64>,
    /// Tag 3.
    pub key_size: Option<i64>,
    /// Tag 4.
    pub block_modes: Option<Vec<i64>>,
    /// Tag 5.
    pub digests: Option<Vec<i64>>,
    /// Tag 6.
    pub paddings: Option<Vec<i64>>,
    /// Tag 10.
    pub ec_curve: Option<i64>,
    /// Tag 200.
    pub rsa_public_exponent: Option<i64>,
    /// Tag 203.
    pub rsa_oaep_mgf_digests: Option<Vec<i64>>,
    /// Tag 303 (Keymaster 4 and later).
    pub rollback_resistance: bool,
    /// Tag 400: milliseconds since the epoch.
    pub active_date_time: Option<i64>,
    /// Tag 401.
    pub origination_expire_date_time: Option<i64>,
    /// Tag 402.
    pub usage_expire_date_time: Option<i64>,
    /// Tag 503.
    pub no_auth_required: bool,
    /// Tag 504.
    pub user_auth_type: Option<i64>,
    /// Tag 505: seconds.
    pub auth_timeout: Option<i64>,
    /// Tag 506.
    pub allow_while_on_body: bool,
    /// Tag 507.
    pub trusted_user_presence_required: bool,
    /// Tag 508.
    pub trusted_confirmation_required: bool,
    /// Tag 509.
    pub unlocked_device_required: bool,
    /// Tag 701: milliseconds since the epoch.
    pub creation_date_time: Option<i64>,
    /// Tag 702.
    pub origin: Option<Origin>,
    /// Tag 703 (Keymaster 2 and 3).
    pub rollback_resistant: bool,
    /// Tag 704.
    pub root_of_trust: Option<RootOfTrust>,
    /// Tag 705: e.g. 140000 for Android 14.
    pub os_version: Option<i64>,
    /// Tag 706: YYYYMM.
    pub os_patch_level: Option<i64>,
    /// Tag 709.
    pub attestation_application_id: Option<AttestationApplicationId>,
    /// Tag 710.
    pub attestation_id_brand: Option<String>,
    /// Tag 711.
    pub attestation_id_device: Option<String>,
    /// Tag 712.
    pub attestation_id_product: Option<String>,
    /// Tag 713.
    pub attestation_id_serial: Option<String>,
    /// Tag 714.
    pub attestation_id_imei: Option<String>,
    /// Tag 715.
    pub attestation_id_meid: Option<String>,
    /// Tag 716.
    pub attestation_id_manufacturer: Option<String>,
    /// Tag 717.
    pub attestation_id_model: Option<String>,
    /// Tag 718: YYYYMMDD (sometimes YYYYMM).
    pub vendor_patch_level: Option<i64>,
    /// Tag 719: YYYYMMDD (sometimes YYYYMM).
    pub boot_patch_level: Option<i64>,
    /// Tag 720.
    pub device_unique_attestation: bool,
    /// Tag 723.
    pub attestation_id_second_imei: Option<String>,
    /// Tag 724.
    pub module_hash: Option<Vec<u8>>,
}

/// The parsed KeyDescription. Parsing proves nothing: only
/// [`crate::verify_android_attestation`] ties it to a trusted chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyDescription {
    /// Version of the attestation schema (1, 2, 3, 4, 100, 200, 300, 400…).
    pub attestation_version: i64,
    /// Where the attestation was produced.
    pub attestation_security_level: SecurityLevel,
    /// KeyMint (or Keymaster) version.
    pub key_mint_version: i64,
    /// Where the key lives.
    pub key_mint_security_level: SecurityLevel,
    /// The challenge the app passed when it generated the key.
    pub attestation_challenge: Vec<u8>,
    /// Privacy-sensitive device-unique id (usually empty).
    pub unique_id: Vec<u8>,
    /// Properties enforced by Android software.
    pub software_enforced: AuthorizationList,
    /// Properties enforced by the secure hardware.
    pub hardware_enforced: AuthorizationList,
}

type Result<T> = std::result::Result<T, KeyDescriptionError>;

impl KeyDescription {
    /// Parses the `extnValue` contents of the KeyDescription extension.
    ///
    /// # Errors
    /// [`KeyDescriptionError`] naming the element that failed.
    pub fn from_der(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_KEY_DESCRIPTION_LEN {
            return Err(KeyDescriptionError::TooLarge {
                field: "KeyDescription",
                limit: MAX_KEY_DESCRIPTION_LEN,
            });
        }
        let outer =
            AnyRef::from_der(bytes).map_err(|e| KeyDescriptionError::field("KeyDescription", e))?;
        if outer.tag() != Tag::Sequence {
            return Err(KeyDescriptionError::field(
                "KeyDescription",
                "not a SEQUENCE",
            ));
        }
        let mut r = reader("KeyDescription", outer.value())?;
        let attestation_version = next_int(&mut r, "attestationVersion")?;
        let attestation_security_level = security_level(&mut r, "attestationSecurityLevel")?;
        let key_mint_version = next_int(&mut r, "keyMintVersion")?;
        let key_mint_security_level = security_level(&mut r, "keyMintSecurityLevel")?;
        let attestation_challenge = next_octets(&mut r, "attestationChallenge")?;
        let unique_id = next_octets(&mut r, "uniqueId")?;
        let software_enforced = authorization_list(&mut r, "softwareEnforced")?;
        let hardware_enforced = authorization_list(&mut r, "hardwareEnforced")?;
        finish(r, "KeyDescription")?;
        Ok(Self {
            attestation_version,
            attestation_security_level,
            key_mint_version,
            key_mint_security_level,
            attestation_challenge,
            unique_id,
            software_enforced,
            hardware_enforced,
        })
    }
}

fn reader<'a>(field: &'static str, bytes: &'a [u8]) -> Result<SliceReader<'a>> {
    SliceReader::new(bytes).map_err(|e| KeyDescriptionError::field(field, e))
}

fn finish(r: SliceReader<'_>, field: &'static str) -> Result<()> {
    if r.is_finished() {
        Ok(())
    } else {
        Err(KeyDescriptionError::field(
            field,
            "unexpected trailing elements",
        ))
    }
}

fn next_any<'a>(r: &mut SliceReader<'a>, field: &'static str) -> Result<AnyRef<'a>> {
    if r.is_finished() {
        return Err(KeyDescriptionError::field(field, "missing"));
    }
    AnyRef::decode(r).map_err(|e| KeyDescriptionError::field(field, e))
}

fn int_value(any: AnyRef<'_>, field: &'static str) -> Result<i64> {
    if any.tag() != Tag::Integer && any.tag() != Tag::Enumerated {
        return Err(KeyDescriptionError::field(field, "not an INTEGER"));
    }
    // ENUMERATED has INTEGER's content encoding (X.690 §8.4).
    AnyRef::new(Tag::Integer, any.value())
        .and_then(|a| a.decode_as::<i64>())
        .map_err(|e| KeyDescriptionError::field(field, e))
}

fn next_int(r: &mut SliceReader<'_>, field: &'static str) -> Result<i64> {
    let any = next_any(r, field)?;
    if any.tag() != Tag::Integer {
        return Err(KeyDescriptionError::field(field, "not an INTEGER"));
    }
    int_value(any, field)
}

fn next_enumerated(r: &mut SliceReader<'_>, field: &'static str) -> Result<i64> {
    let any = next_any(r, field)?;
    if any.tag() != Tag::Enumerated {
        return Err(KeyDescriptionError::field(field, "not an ENUMERATED"));
    }
    int_value(any, field)
}

fn security_level(r: &mut SliceReader<'_>, field: &'static str) -> Result<SecurityLevel> {
    match next_enumerated(r, field)? {
        0 => Ok(SecurityLevel::Software),
        1 => Ok(SecurityLevel::TrustedEnvironment),
        2 => Ok(SecurityLevel::StrongBox),
        value => Err(KeyDescriptionError::UnknownValue { field, value }),
    }
}

fn octets_value(any: AnyRef<'_>, field: &'static str) -> Result<Vec<u8>> {
    if any.tag() != Tag::OctetString {
        return Err(KeyDescriptionError::field(field, "not an OCTET STRING"));
    }
    if any.value().len() > MAX_OCTETS {
        return Err(KeyDescriptionError::TooLarge {
            field,
            limit: MAX_OCTETS,
        });
    }
    Ok(any.value().to_vec())
}

fn next_octets(r: &mut SliceReader<'_>, field: &'static str) -> Result<Vec<u8>> {
    let any = next_any(r, field)?;
    octets_value(any, field)
}

/// The single element inside an EXPLICIT tag.
fn explicit_inner<'a>(value: &'a [u8], field: &'static str) -> Result<AnyRef<'a>> {
    AnyRef::from_der(value).map_err(|e| KeyDescriptionError::field(field, e))
}

fn int_field(value: &[u8], field: &'static str) -> Result<i64> {
    int_value(explicit_inner(value, field)?, field)
}

fn null_field(value: &[u8], field: &'static str) -> Result<bool> {
    Null::from_der(value).map_err(|e| KeyDescriptionError::field(field, e))?;
    Ok(true)
}

fn octets_field(value: &[u8], field: &'static str) -> Result<Vec<u8>> {
    let inner =
        <&OctetStringRef>::from_der(value).map_err(|e| KeyDescriptionError::field(field, e))?;
    if inner.as_bytes().len() > MAX_OCTETS {
        return Err(KeyDescriptionError::TooLarge {
            field,
            limit: MAX_OCTETS,
        });
    }
    Ok(inner.as_bytes().to_vec())
}

fn string_field(value: &[u8], field: &'static str) -> Result<String> {
    String::from_utf8(octets_field(value, field)?)
        .map_err(|_| KeyDescriptionError::field(field, "not UTF-8"))
}

fn set_of<'a, T>(
    value: &'a [u8],
    field: &'static str,
    item: impl FnMut(AnyRef<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    let set = explicit_inner(value, field)?;
    set_items(set, field, item)
}

fn set_items<'a, T>(
    set: AnyRef<'a>,
    field: &'static str,
    mut item: impl FnMut(AnyRef<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    if set.tag() != Tag::Set {
        return Err(KeyDescriptionError::field(field, "not a SET"));
    }
    let mut r = reader(field, set.value())?;
    let mut out = Vec::new();
    while !r.is_finished() {
        if out.len() == MAX_SET_ITEMS {
            return Err(KeyDescriptionError::TooLarge {
                field,
                limit: MAX_SET_ITEMS,
            });
        }
        let any = AnyRef::decode(&mut r).map_err(|e| KeyDescriptionError::field(field, e))?;
        out.push(item(any)?);
    }
    Ok(out)
}

fn int_set_field(value: &[u8], field: &'static str) -> Result<Vec<i64>> {
    set_of(value, field, |any| {
        if any.tag() != Tag::Integer {
            return Err(KeyDescriptionError::field(
                field,
                "SET member is not an INTEGER",
            ));
        }
        int_value(any, field)
    })
}

fn root_of_trust(value: &[u8]) -> Result<RootOfTrust> {
    const F: &str = "rootOfTrust";
    let seq = explicit_inner(value, F)?;
    if seq.tag() != Tag::Sequence {
        return Err(KeyDescriptionError::field(F, "not a SEQUENCE"));
    }
    let mut r = reader(F, seq.value())?;
    let verified_boot_key = next_octets(&mut r, "rootOfTrust.verifiedBootKey")?;
    let locked = next_any(&mut r, "rootOfTrust.deviceLocked")?;
    if locked.tag() != Tag::Boolean {
        return Err(KeyDescriptionError::field(
            "rootOfTrust.deviceLocked",
            "not a BOOLEAN",
        ));
    }
    let device_locked = locked
        .decode_as::<bool>()
        .map_err(|e| KeyDescriptionError::field("rootOfTrust.deviceLocked", e))?;
    let verified_boot_state = match next_enumerated(&mut r, "rootOfTrust.verifiedBootState")? {
        0 => VerifiedBootState::Verified,
        1 => VerifiedBootState::SelfSigned,
        2 => VerifiedBootState::Unverified,
        3 => VerifiedBootState::Failed,
        value => {
            return Err(KeyDescriptionError::UnknownValue {
                field: "rootOfTrust.verifiedBootState",
                value,
            });
        }
    };
    let verified_boot_hash = if r.is_finished() {
        None
    } else {
        Some(next_octets(&mut r, "rootOfTrust.verifiedBootHash")?)
    };
    finish(r, F)?;
    Ok(RootOfTrust {
        verified_boot_key,
        device_locked,
        verified_boot_state,
        verified_boot_hash,
    })
}

fn attestation_application_id(value: &[u8]) -> Result<AttestationApplicationId> {
    const F: &str = "attestationApplicationId";
    // The OCTET STRING holds a DER-encoded AttestationApplicationId.
    let encoded = octets_field(value, F)?;
    let seq = AnyRef::from_der(&encoded).map_err(|e| KeyDescriptionError::field(F, e))?;
    if seq.tag() != Tag::Sequence {
        return Err(KeyDescriptionError::field(F, "not a SEQUENCE"));
    }
    let mut r = reader(F, seq.value())?;
    let packages_set = next_any(&mut r, "attestationApplicationId.packages")?;
    let packages = set_items(packages_set, "attestationApplicationId.packages", |any| {
        const P: &str = "attestationApplicationId.packages";
        if any.tag() != Tag::Sequence {
            return Err(KeyDescriptionError::field(P, "not a SEQUENCE"));
        }
        let mut pr = reader(P, any.value())?;
        let name = String::from_utf8(next_octets(
            &mut pr,
            "attestationApplicationId.packages.name",
        )?)
        .map_err(|_| {
            KeyDescriptionError::field("attestationApplicationId.packages.name", "not UTF-8")
        })?;
        let version = next_int(&mut pr, "attestationApplicationId.packages.version")?;
        finish(pr, P)?;
        Ok(PackageInfo { name, version })
    })?;
    let signatures_set = next_any(&mut r, "attestationApplicationId.signatures")?;
    let signatures = set_items(
        signatures_set,
        "attestationApplicationId.signatures",
        |any| octets_value(any, "attestationApplicationId.signatures"),
    )?;
    finish(r, F)?;
    Ok(AttestationApplicationId {
        packages,
        signatures,
    })
}

fn authorization_list(r: &mut SliceReader<'_>, list: &'static str) -> Result<AuthorizationList> {
    let seq = next_any(r, list)?;
    if seq.tag() != Tag::Sequence {
        return Err(KeyDescriptionError::field(list, "not a SEQUENCE"));
    }
    let mut r = reader(list, seq.value())?;
    let mut out = AuthorizationList::default();
    let mut previous: Option<u32> = None;
    let mut count = 0usize;
    while !r.is_finished() {
        count += 1;
        if count > MAX_AUTHORIZATIONS {
            return Err(KeyDescriptionError::TooLarge {
                field: list,
                limit: MAX_AUTHORIZATIONS,
            });
        }
        let entry = AnyRef::decode(&mut r).map_err(|e| KeyDescriptionError::field(list, e))?;
        let tag = match entry.tag() {
            Tag::ContextSpecific {
                constructed: true,
                number,
            } => number.0,
            _ => {
                return Err(KeyDescriptionError::field(
                    list,
                    "entry is not an EXPLICIT context-specific tag",
                ));
            }
        };
        if let Some(previous) = previous
            && tag <= previous
        {
            return Err(KeyDescriptionError::TagsNotAscending {
                list,
                previous,
                tag,
            });
        }
        previous = Some(tag);
        set_authorization(&mut out, tag, entry.value())?;
    }
    Ok(out)
}

fn set_authorization(out: &mut AuthorizationList, tag: u32, v: &[u8]) -> Result<()> {
    match tag {
        1 => out.purposes = Some(int_set_field(v, "purposes")?),
        2 => out.algorithm = Some(int_field(v, "algorithms")?),
        3 => out.key_size = Some(int_field(v, "keySize")?),
        4 => out.block_modes = Some(int_set_field(v, "blockModes")?),
        5 => out.digests = Some(int_set_field(v, "digests")?),
        6 => out.paddings = Some(int_set_field(v, "paddings")?),
        10 => out.ec_curve = Some(int_field(v, "ecCurve")?),
        200 => out.rsa_public_exponent = Some(int_field(v, "rsaPublicExponent")?),
        203 => out.rsa_oaep_mgf_digests = Some(int_set_field(v, "rsaOaepMgfDigests")?),
        303 => out.rollback_resistance = null_field(v, "rollbackResistance")?,
        400 => out.active_date_time = Some(int_field(v, "activeDateTime")?),
        401 => {
            out.origination_expire_date_time = Some(int_field(v, "originationExpireDateTime")?);
        }
        402 => out.usage_expire_date_time = Some(int_field(v, "usageExpireDateTime")?),
        503 => out.no_auth_required = null_field(v, "noAuthRequired")?,
        504 => out.user_auth_type = Some(int_field(v, "userAuthType")?),
        505 => out.auth_timeout = Some(int_field(v, "authTimeout")?),
        506 => out.allow_while_on_body = null_field(v, "allowWhileOnBody")?,
        507 => {
            out.trusted_user_presence_required = null_field(v, "trustedUserPresenceRequired")?;
        }
        508 => {
            out.trusted_confirmation_required = null_field(v, "trustedConfirmationRequired")?;
        }
        509 => out.unlocked_device_required = null_field(v, "unlockedDeviceRequired")?,
        701 => out.creation_date_time = Some(int_field(v, "creationDateTime")?),
        702 => out.origin = Some(Origin::from_value(int_field(v, "origin")?)),
        703 => out.rollback_resistant = null_field(v, "rollbackResistant")?,
        704 => out.root_of_trust = Some(root_of_trust(v)?),
        705 => out.os_version = Some(int_field(v, "osVersion")?),
        706 => out.os_patch_level = Some(int_field(v, "osPatchLevel")?),
        709 => out.attestation_application_id = Some(attestation_application_id(v)?),
        710 => out.attestation_id_brand = Some(string_field(v, "attestationIdBrand")?),
        711 => out.attestation_id_device = Some(string_field(v, "attestationIdDevice")?),
        712 => out.attestation_id_product = Some(string_field(v, "attestationIdProduct")?),
        713 => out.attestation_id_serial = Some(string_field(v, "attestationIdSerial")?),
        714 => out.attestation_id_imei = Some(string_field(v, "attestationIdImei")?),
        715 => out.attestation_id_meid = Some(string_field(v, "attestationIdMeid")?),
        716 => {
            out.attestation_id_manufacturer = Some(string_field(v, "attestationIdManufacturer")?);
        }
        717 => out.attestation_id_model = Some(string_field(v, "attestationIdModel")?),
        718 => out.vendor_patch_level = Some(int_field(v, "vendorPatchLevel")?),
        719 => out.boot_patch_level = Some(int_field(v, "bootPatchLevel")?),
        720 => out.device_unique_attestation = null_field(v, "deviceUniqueAttestation")?,
        723 => {
            out.attestation_id_second_imei = Some(string_field(v, "attestationIdSecondImei")?);
        }
        724 => out.module_hash = Some(octets_field(v, "moduleHash")?),
        // ATT-KD-2: tags this crate does not interpret are skipped (their
        // content was still required to be one well-formed DER element).
        _ => {
            explicit_inner(v, "unknown tag")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-built minimal KeyDescription with the given hardware list body.
    fn key_description_with(hardware: &[u8]) -> Vec<u8> {
        let mut body = vec![
            0x02, 0x01, 0x03, // attestationVersion 3
            0x0a, 0x01, 0x01, // TRUSTED_ENVIRONMENT
            0x02, 0x01, 0x04, // keymasterVersion 4
            0x0a, 0x01, 0x01, // TRUSTED_ENVIRONMENT
            0x04, 0x02, b'h', b'i', // challenge
            0x04, 0x00, // uniqueId
            0x30, 0x00, // softwareEnforced
        ];
        body.push(0x30);
        body.push(u8::try_from(hardware.len()).unwrap());
        body.extend_from_slice(hardware);
        let mut out = vec![0x30, u8::try_from(body.len()).unwrap()];
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn parses_a_minimal_description() {
        // [2] algorithm 3, [3] keySize 256, [503] noAuthRequired
        let hw = [
            0xa2, 0x03, 0x02, 0x01, 0x03, 0xa3, 0x04, 0x02, 0x02, 0x01, 0x00, 0xbf, 0x83, 0x77,
            0x02, 0x05, 0x00,
        ];
        let kd = KeyDescription::from_der(&key_description_with(&hw)).unwrap();
        assert_eq!(kd.attestation_version, 3);
        assert_eq!(kd.attestation_challenge, b"hi");
        assert_eq!(kd.hardware_enforced.algorithm, Some(3));
        assert_eq!(kd.hardware_enforced.key_size, Some(256));
        assert!(kd.hardware_enforced.no_auth_required);
    }

    #[test]
    fn refuses_out_of_order_and_repeated_tags() {
        let hw = [
            0xa3, 0x04, 0x02, 0x02, 0x01, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x03,
        ];
        assert_eq!(
            KeyDescription::from_der(&key_description_with(&hw)),
            Err(KeyDescriptionError::TagsNotAscending {
                list: "hardwareEnforced",
                previous: 3,
                tag: 2
            })
        );
        let hw = [0xa2, 0x03, 0x02, 0x01, 0x03, 0xa2, 0x03, 0x02, 0x01, 0x03];
        assert!(matches!(
            KeyDescription::from_der(&key_description_with(&hw)),
            Err(KeyDescriptionError::TagsNotAscending { .. })
        ));
    }

    #[test]
    fn skips_unknown_tags() {
        // [999] INTEGER 1, then [1000] NULL
        let hw = [
            0xbf, 0x87, 0x67, 0x03, 0x02, 0x01, 0x01, 0xbf, 0x87, 0x68, 0x02, 0x05, 0x00,
        ];
        let kd = KeyDescription::from_der(&key_description_with(&hw)).unwrap();
        assert_eq!(kd.hardware_enforced, AuthorizationList::default());
    }

    #[test]
    fn refuses_non_der_boolean_in_root_of_trust() {
        // [704] { SEQUENCE { OCTET STRING "", BOOLEAN 0x01, ENUMERATED 0 } }
        let hw = [
            0xbf, 0x85, 0x40, 0x0a, 0x30, 0x08, 0x04, 0x00, 0x01, 0x01, 0x01, 0x0a, 0x01, 0x00,
        ];
        let err = KeyDescription::from_der(&key_description_with(&hw)).unwrap_err();
        assert_eq!(err.field_name(), "rootOfTrust.deviceLocked");
        // The same with the DER TRUE (0xff) parses.
        let hw = [
            0xbf, 0x85, 0x40, 0x0a, 0x30, 0x08, 0x04, 0x00, 0x01, 0x01, 0xff, 0x0a, 0x01, 0x00,
        ];
        let kd = KeyDescription::from_der(&key_description_with(&hw)).unwrap();
        let rot = kd.hardware_enforced.root_of_trust.unwrap();
        assert!(rot.device_locked);
        assert_eq!(rot.verified_boot_state, VerifiedBootState::Verified);
        assert_eq!(rot.verified_boot_hash, None);
    }

    #[test]
    fn refuses_unknown_security_level_and_trailing_elements() {
        let mut kd = key_description_with(&[]);
        kd[7] = 7; // attestationSecurityLevel value
        assert_eq!(
            KeyDescription::from_der(&kd),
            Err(KeyDescriptionError::UnknownValue {
                field: "attestationSecurityLevel",
                value: 7
            })
        );
        let mut kd = key_description_with(&[]);
        kd.extend_from_slice(&[0x05, 0x00]);
        kd[1] += 2;
        assert!(KeyDescription::from_der(&kd).is_err());
    }
}
