//! The JSON view of a KeyDescription.
//!
//! Field names and encodings are those of the reference `.json` files that
//! accompany the Android samples (`tests/data/android/*.json`): camelCase
//! names, integers as decimal strings, byte strings as standard base64 with
//! padding, enumerations by name, NULL-typed flags as `true`, absent fields
//! omitted. `attestationChallenge` and `uniqueId` are always present.

use base64::Engine as _;
use serde::Serialize;

use super::key_description::{
    AttestationApplicationId, AuthorizationList, KeyDescription, Origin, RootOfTrust,
};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn dec(value: i64) -> String {
    value.to_string()
}

fn decs(values: &[i64]) -> Vec<String> {
    values.iter().copied().map(dec).collect()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KeyDescriptionView<'a> {
    attestation_version: String,
    attestation_security_level: &'static str,
    key_mint_version: String,
    key_mint_security_level: &'static str,
    attestation_challenge: String,
    unique_id: String,
    software_enforced: AuthorizationListView<'a>,
    hardware_enforced: AuthorizationListView<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationListView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    purposes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    algorithms: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_size: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    block_modes: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    digests: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    paddings: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ec_curve: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rsa_public_exponent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rsa_oaep_mgf_digests: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollback_resistance: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    active_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origination_expire_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    usage_expire_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    no_auth_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_auth_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_while_on_body: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_user_presence_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trusted_confirmation_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unlocked_device_required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    creation_date_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rollback_resistant: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    root_of_trust: Option<RootOfTrustView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    os_patch_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_application_id: Option<ApplicationIdView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_brand: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_device: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_product: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_serial: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_imei: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_meid: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_manufacturer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_model: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vendor_patch_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    boot_patch_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_unique_attestation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attestation_id_second_imei: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    module_hash: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RootOfTrustView {
    verified_boot_key: String,
    device_locked: bool,
    verified_boot_state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    verified_boot_hash: Option<String>,
}

#[derive(Serialize)]
struct ApplicationIdView<'a> {
    packages: Vec<PackageView<'a>>,
    signatures: Vec<String>,
}

#[derive(Serialize)]
struct PackageView<'a> {
    name: &'a str,
    version: String,
}

fn flag(set: bool) -> Option<bool> {
    set.then_some(true)
}

fn origin_name(origin: Origin) -> String {
    match origin {
        Origin::Generated => "GENERATED".into(),
        Origin::Derived => "DERIVED".into(),
        Origin::Imported => "IMPORTED".into(),
        Origin::Reserved => "RESERVED".into(),
        Origin::SecurelyImported => "SECURELY_IMPORTED".into(),
        Origin::Other(value) => dec(value),
    }
}

fn root_of_trust(rot: &RootOfTrust) -> RootOfTrustView {
    RootOfTrustView {
        verified_boot_key: b64(&rot.verified_boot_key),
        device_locked: rot.device_locked,
        verified_boot_state: rot.verified_boot_state.name(),
        verified_boot_hash: rot.verified_boot_hash.as_deref().map(b64),
    }
}

fn application_id(id: &AttestationApplicationId) -> ApplicationIdView<'_> {
    ApplicationIdView {
        packages: id
            .packages
            .iter()
            .map(|p| PackageView {
                name: &p.name,
                version: dec(p.version),
            })
            .collect(),
        signatures: id.signatures.iter().map(|s| b64(s)).collect(),
    }
}

fn authorization_list(list: &AuthorizationList) -> AuthorizationListView<'_> {
    AuthorizationListView {
        purposes: list.purposes.as_deref().map(decs),
        algorithms: list.algorithm.map(dec),
        key_size: list.key_size.map(dec),
        block_modes: list.block_modes.as_deref().map(decs),
        digests: list.digests.as_deref().map(decs),
        paddings: list.paddings.as_deref().map(decs),
        ec_curve: list.ec_curve.map(dec),
        rsa_public_exponent: list.rsa_public_exponent.map(dec),
        rsa_oaep_mgf_digests: list.rsa_oaep_mgf_digests.as_deref().map(decs),
        rollback_resistance: flag(list.rollback_resistance),
        active_date_time: list.active_date_time.map(dec),
        origination_expire_date_time: list.origination_expire_date_time.map(dec),
        usage_expire_date_time: list.usage_expire_date_time.map(dec),
        no_auth_required: flag(list.no_auth_required),
        user_auth_type: list.user_auth_type.map(dec),
        auth_timeout: list.auth_timeout.map(dec),
        allow_while_on_body: flag(list.allow_while_on_body),
        trusted_user_presence_required: flag(list.trusted_user_presence_required),
        trusted_confirmation_required: flag(list.trusted_confirmation_required),
        unlocked_device_required: flag(list.unlocked_device_required),
        creation_date_time: list.creation_date_time.map(dec),
        origin: list.origin.map(origin_name),
        rollback_resistant: flag(list.rollback_resistant),
        root_of_trust: list.root_of_trust.as_ref().map(root_of_trust),
        os_version: list.os_version.map(dec),
        os_patch_level: list.os_patch_level.map(dec),
        attestation_application_id: list.attestation_application_id.as_ref().map(application_id),
        attestation_id_brand: list.attestation_id_brand.as_deref(),
        attestation_id_device: list.attestation_id_device.as_deref(),
        attestation_id_product: list.attestation_id_product.as_deref(),
        attestation_id_serial: list.attestation_id_serial.as_deref(),
        attestation_id_imei: list.attestation_id_imei.as_deref(),
        attestation_id_meid: list.attestation_id_meid.as_deref(),
        attestation_id_manufacturer: list.attestation_id_manufacturer.as_deref(),
        attestation_id_model: list.attestation_id_model.as_deref(),
        vendor_patch_level: list.vendor_patch_level.map(dec),
        boot_patch_level: list.boot_patch_level.map(dec),
        device_unique_attestation: flag(list.device_unique_attestation),
        attestation_id_second_imei: list.attestation_id_second_imei.as_deref(),
        module_hash: list.module_hash.as_deref().map(b64),
    }
}

impl Serialize for KeyDescription {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        KeyDescriptionView {
            attestation_version: dec(self.attestation_version),
            attestation_security_level: self.attestation_security_level.name(),
            key_mint_version: dec(self.key_mint_version),
            key_mint_security_level: self.key_mint_security_level.name(),
            attestation_challenge: b64(&self.attestation_challenge),
            unique_id: b64(&self.unique_id),
            software_enforced: authorization_list(&self.software_enforced),
            hardware_enforced: authorization_list(&self.hardware_enforced),
        }
        .serialize(serializer)
    }
}

impl KeyDescription {
    /// The JSON view (see the module documentation for the encoding).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        // Serializing plain strings, booleans and arrays cannot fail.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
