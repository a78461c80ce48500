//! RCC.16 GroupContext extensions.

use crosslock_wire::rcc16::{
    self, Revision,
    extensions::{DowngradeReason, EndMls},
};
use mls_rs::ExtensionList;
use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};
use mls_rs_core::extension::{Extension, ExtensionType, MlsCodecExtension};

/// 0xF001: the conversation's era (u32, from 1). A new era is a new MLS
/// group under the same group id, re-Welcomed (RCC.16; GUIDE §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, MlsSize, MlsEncode, MlsDecode)]
pub struct EraExtension {
    /// The era.
    pub era: u32,
}

impl EraExtension {
    /// Its extension type.
    pub const TYPE: ExtensionType = ExtensionType::new(0xF001);
}

impl MlsCodecExtension for EraExtension {
    fn extension_type() -> ExtensionType {
        Self::TYPE
    }
}

/// 0xF002 `end_mls`: the group has left end-to-end encryption. Present in
/// the GroupContext only after an explicit commit every member sees; no
/// application message is sent or accepted afterwards.
///
/// Its presence is the flag: any payload means end_mls (fact sheet §4,
/// WIRE-EXT-2). We write the v3.0 literal `end_mls` under
/// [`Revision::V3_0`] (what deployed clients send) and a bare v4.0
/// `EndMlsMetadata` under [`Revision::V4_0`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndMlsExtension;

impl EndMlsExtension {
    /// Its extension type.
    pub const TYPE: ExtensionType = ExtensionType::new(rcc16::extensions::END_MLS);

    /// The extension as this device writes it under `revision`.
    pub fn extension(revision: Revision, reason: DowngradeReason) -> Extension {
        Extension::new(
            Self::TYPE,
            rcc16::extensions::encode_end_mls(revision, reason),
        )
    }

    /// What the `end_mls` in `extensions` says, if there is one.
    pub fn read(extensions: &ExtensionList) -> Option<EndMls> {
        extensions
            .get(Self::TYPE)
            .map(|e| rcc16::extensions::decode_end_mls(&e.extension_data))
    }
}
