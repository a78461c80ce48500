//! RCC.16 GroupContext extensions.

use mls_rs_codec::{MlsDecode, MlsEncode, MlsSize};
use mls_rs_core::extension::{ExtensionType, MlsCodecExtension};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, MlsSize, MlsEncode, MlsDecode)]
pub struct EndMlsExtension;

impl EndMlsExtension {
    /// Its extension type.
    pub const TYPE: ExtensionType = ExtensionType::new(0xF002);
}

impl MlsCodecExtension for EndMlsExtension {
    fn extension_type() -> ExtensionType {
        Self::TYPE
    }
}
