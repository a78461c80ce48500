//! Encrypted files (`crosslock_client::file::decrypt_file`, RCC.16 Annex
//! C.3) under a fixed content key and file name: the IV, the tag, the
//! length hint and the ciphertext are fuzzed. Whatever decrypts
//! re-encrypts, with the same IV, to exactly the ciphertext and the tag;
//! whatever is refused wrote nothing.
//!
//! Input: the hint as 4 little-endian bytes, the 12-byte IV, the 32-byte
//! tag, then the ciphertext.
#![no_main]

use std::io::Cursor;

use crosslock_client::file::{DecryptParams, IV_LEN, TAG_LEN, decrypt_file, encrypt_file};
use crosslock_fuzz::{FILE_KEY, FILE_NAME};
use crosslock_wire::file_info::FileKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 + IV_LEN + TAG_LEN {
        return;
    }
    let hint = u32::from_le_bytes(data[..4].try_into().expect("4 bytes"));
    let iv: [u8; IV_LEN] = data[4..4 + IV_LEN].try_into().expect("an IV");
    let tag: [u8; TAG_LEN] = data[4 + IV_LEN..4 + IV_LEN + TAG_LEN]
        .try_into()
        .expect("a tag");
    let ciphertext = &data[4 + IV_LEN + TAG_LEN..];
    let key = FileKey::from_bytes(FILE_KEY);
    for length_hint in [Some(hint), None] {
        let params = DecryptParams {
            key: &key,
            info: FILE_NAME,
            iv: &iv,
            tag: &tag,
            length_hint,
        };
        let mut out = Vec::new();
        match decrypt_file(Cursor::new(ciphertext), &mut out, params) {
            Ok(n) => {
                assert_eq!(out.len() as u64, n);
                let mut again = Vec::new();
                let made = encrypt_file(Cursor::new(&out), &mut again, &key, FILE_NAME, iv)
                    .expect("encrypt");
                assert_eq!(made.tag, tag, "re-encryption's tag differs");
                assert_eq!(again, ciphertext, "re-encryption differs");
            }
            Err(_) => assert!(out.is_empty(), "plaintext released on a refusal"),
        }
    }
});
