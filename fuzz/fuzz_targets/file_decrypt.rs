//! Encrypted-file blobs (`crosslock_client::file::decrypt_file`) under a
//! fixed file key: the claimed plaintext size and the blob are fuzzed.
//! Whatever decrypts re-encrypts, with the blob's own IV, to exactly the
//! blob; whatever is refused wrote nothing.
//!
//! Input: the plaintext size as 4 little-endian bytes, then the blob.
#![no_main]

use std::io::Cursor;

use crosslock_client::file::{DecryptParams, IV_LEN, decrypt_file, encrypt_file, encrypted_size};
use crosslock_fuzz::FILE_KEY;
use crosslock_wire::file_info::FileKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let size = u64::from(u32::from_le_bytes(data[..4].try_into().expect("4 bytes")));
    let blob = &data[4..];
    let key = FileKey::from_bytes(FILE_KEY);
    // Claim the blob's own length, and the size the format gives.
    let claims = [blob.len() as u64, encrypted_size(size).unwrap_or(0)];
    for encrypted in claims {
        let params = DecryptParams {
            key: &key,
            size,
            encrypted_size: encrypted,
        };
        let mut out = Vec::new();
        match decrypt_file(Cursor::new(blob), &mut out, params) {
            Ok(n) => {
                assert_eq!(n, size);
                assert_eq!(out.len() as u64, size);
                let iv: [u8; IV_LEN] = blob[..IV_LEN].try_into().expect("an IV");
                let mut again = Vec::new();
                let made = encrypt_file(Cursor::new(&out), &mut again, &key, iv).expect("encrypt");
                assert_eq!(made.size, size);
                assert_eq!(made.encrypted_size, encrypted);
                assert_eq!(again, blob, "re-encryption differs");
            }
            Err(_) => assert!(out.is_empty(), "plaintext released on a refusal"),
        }
    }
});
