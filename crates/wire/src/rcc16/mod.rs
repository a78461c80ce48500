//! RCC.16 as deployed: the revision setting and the codecs of the MLS
//! profile's GroupContext extensions, Annex C.1 commitments and custom
//! proposals.

pub mod commitment;
pub mod extensions;
pub mod proposal;

/// The RCC.16 revision whose wire shapes a device sends. Decoders accept
/// both revisions' shapes; only encoders depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Revision {
    /// RCC.16 v3.0, what deployed Google Messages and Apple clients send.
    #[default]
    V3_0,
    /// RCC.16 v4.0.
    V4_0,
}

/// A private-use extension type that a Crosslock device lists in its
/// KeyPackage `capabilities.extensions`, never as an actual extension:
/// "I read MIMI content, MIMI message status and typing inside MLS".
pub const CROSSLOCK_EXTRAS: u16 = 0xFC4C;
