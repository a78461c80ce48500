//! Encrypted files (RCC.16 file transfer): round trips at the sizes where
//! blocks, buffers and padding change, tampering of every kind refused
//! with nothing written, and a FileInfo with a thumbnail sent through MLS
//! between two devices.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use common::*;
use crosslock_client::env::{Environment, ManualClock, SeededEntropy};
use crosslock_client::file::{
    DecryptParams, FileError, IV_LEN, TAG_LEN, UPLOAD_FILE_NAME, decrypt_file, encrypt_file,
    encrypted_size, padme, prepare_file,
};
use crosslock_client::wire::file_info::{FileInfo, FileInfoError, FileKey};
use crosslock_client::*;

fn env(seed: u64) -> Environment {
    Environment {
        clock: Arc::new(ManualClock::new(T0)),
        entropy: Arc::new(SeededEntropy::new(seed)),
    }
}

/// `len` bytes that are not all alike (xorshift).
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Encrypts `plain` as a sender would; returns the FileInfo and the blob.
fn encrypt(plain: &[u8], seed: u64) -> (FileInfo, Vec<u8>) {
    let mut blob = Vec::new();
    let prepared = prepare_file(
        &env(seed),
        plain,
        &mut blob,
        "f.bin",
        "application/octet-stream",
    )
    .unwrap();
    let info = prepared
        .into_file_info("https://cs.example/f/1", T0 + 86_400)
        .unwrap();
    (info, blob)
}

fn decrypt(blob: &[u8], params: DecryptParams<'_>) -> (Result<u64, FileError>, Vec<u8>) {
    let mut out = Vec::new();
    let result = decrypt_file(Cursor::new(blob), &mut out, params);
    (result, out)
}

#[test]
fn round_trips_where_blocks_buffers_and_padding_change() {
    let sizes = [
        0,
        1,
        15,
        16,
        17,
        65_535,
        65_536,
        65_537,
        3 * 65_536,
        3 * 1024 * 1024 + 7,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let plain = data(len, i as u64 + 1);
        let (info, blob) = encrypt(&plain, 40 + i as u64);
        let padded = padme(len as u64).unwrap();
        assert_eq!(info.size(), len as u64);
        assert_eq!(
            info.encrypted_size(),
            IV_LEN as u64 + padded + TAG_LEN as u64
        );
        assert_eq!(Some(info.encrypted_size()), encrypted_size(len as u64));
        assert_eq!(blob.len() as u64, info.encrypted_size(), "{len}");
        // No plaintext in the blob (a 16-byte window is enough to tell).
        if len >= 64 {
            assert!(!blob.windows(16).any(|w| w == &plain[len / 2..len / 2 + 16]));
        }
        let (result, out) = decrypt(&blob, (&info).into());
        assert_eq!(result.unwrap(), len as u64, "{len}");
        assert!(out == plain, "round trip of {len} bytes");
    }
}

/// Returns its input a few bytes at a time, with interruptions in between.
struct Dribble<R> {
    inner: R,
    calls: usize,
}

impl<R: Read> Read for Dribble<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(3) {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = buf.len().min(self.calls % 7 + 1);
        self.inner.read(&mut buf[..n])
    }
}

#[test]
fn blobs_do_not_depend_on_how_the_reader_splits_its_input() {
    let plain = data(70_001, 9);
    let key = FileKey::from_bytes([3; 32]);
    let mut whole = Vec::new();
    let a = encrypt_file(&plain[..], &mut whole, &key, [4; IV_LEN]).unwrap();
    let mut dribbled = Vec::new();
    let reader = Dribble {
        inner: &plain[..],
        calls: 0,
    };
    let b = encrypt_file(reader, &mut dribbled, &key, [4; IV_LEN]).unwrap();
    assert_eq!(a, b);
    assert!(whole == dribbled);
}

#[test]
fn randomness_comes_from_the_environment() {
    let plain = data(1000, 5);
    let (one, blob_one) = encrypt(&plain, 7);
    let (again, blob_again) = encrypt(&plain, 7);
    let (other, blob_other) = encrypt(&plain, 8);
    assert_eq!(one, again);
    assert_eq!(blob_one, blob_again);
    assert_ne!(one.key(), other.key());
    assert_ne!(blob_one[..IV_LEN], blob_other[..IV_LEN]);
    assert_ne!(blob_one, blob_other);
}

#[test]
fn padding_is_padme_and_zeros() {
    for len in (0..300).chain([1000, 4097, 65_537]) {
        let plain = data(len, 11);
        let (info, blob) = encrypt(&plain, 12);
        let padded = padme(len as u64).unwrap();
        assert_eq!(blob.len() as u64, 48 + padded, "{len}");
        // Claiming the padded length (its own Padmé length) shows the
        // padding: zeros.
        let params = DecryptParams {
            size: padded,
            ..(&info).into()
        };
        let (result, out) = decrypt(&blob, params);
        assert_eq!(result.unwrap(), padded);
        assert!(out[..len] == plain[..]);
        assert!(out[len..].iter().all(|&b| b == 0), "{len}");
    }
}

#[test]
fn every_flipped_bit_is_refused_and_nothing_is_written() {
    let plain = data(100, 13);
    let (info, blob) = encrypt(&plain, 14);
    assert_eq!(blob.len(), 16 + 104 + 32);
    for bit in 0..blob.len() * 8 {
        let mut forged = blob.clone();
        forged[bit / 8] ^= 1 << (bit % 8);
        let (result, out) = decrypt(&forged, (&info).into());
        assert!(matches!(result, Err(FileError::BadTag)), "bit {bit}");
        assert!(out.is_empty(), "bit {bit}");
    }
}

#[test]
fn flipped_bits_in_a_multi_buffer_file_are_refused() {
    let plain = data(200_000, 15);
    let (info, blob) = encrypt(&plain, 16);
    let n = blob.len();
    // First and last of the IV, the ciphertext around each buffer edge
    // and in the padding, and the tag.
    for at in [
        0,
        15,
        16,
        65_535,
        65_536,
        65_537,
        200_015,
        200_016,
        n - 33,
        n - 32,
        n - 1,
    ] {
        let mut forged = blob.clone();
        forged[at] ^= 0x80;
        let (result, out) = decrypt(&forged, (&info).into());
        assert!(matches!(result, Err(FileError::BadTag)), "byte {at}");
        assert!(out.is_empty());
    }
}

#[test]
fn truncation_and_extension_are_refused_and_nothing_is_written() {
    let (info, blob) = encrypt(&data(100, 17), 18);
    let expected = blob.len() as u64;
    for cut in 0..blob.len() {
        let (result, out) = decrypt(&blob[..cut], (&info).into());
        match result {
            Err(FileError::Truncated {
                expected: e,
                actual,
            }) => {
                assert_eq!((e, actual), (expected, cut as u64));
            }
            other => panic!("cut at {cut}: {other:?}"),
        }
        assert!(out.is_empty());
    }
    for extra in [&[0u8][..], &[0; 16], &[0; 32]] {
        let mut longer = blob.clone();
        longer.extend_from_slice(extra);
        let (result, out) = decrypt(&longer, (&info).into());
        assert!(
            matches!(result, Err(FileError::WrongSize { actual, .. }) if actual == expected + extra.len() as u64)
        );
        assert!(out.is_empty());
    }
}

#[test]
fn the_blob_may_start_anywhere_in_the_reader() {
    let plain = data(5000, 19);
    let (info, blob) = encrypt(&plain, 20);
    let mut stored = b"some header".to_vec();
    stored.extend_from_slice(&blob);
    let mut reader = Cursor::new(stored);
    reader.seek(SeekFrom::Start(11)).unwrap();
    let mut out = Vec::new();
    assert_eq!(decrypt_file(reader, &mut out, &info).unwrap(), 5000);
    assert!(out == plain);
}

#[test]
fn wrong_key_or_sizes_are_refused() {
    let (info, blob) = encrypt(&data(100, 21), 22);
    let wrong_key = FileKey::from_bytes([9; 32]);
    let params = DecryptParams {
        key: &wrong_key,
        ..(&info).into()
    };
    let (result, out) = decrypt(&blob, params);
    assert!(matches!(result, Err(FileError::BadTag)));
    assert!(out.is_empty());

    for (size, encrypted_size) in [(100, 151), (100, 153), (200, 152), (u64::MAX, 152)] {
        let params = DecryptParams {
            size,
            encrypted_size,
            ..(&info).into()
        };
        let (result, out) = decrypt(&blob, params);
        assert!(
            matches!(result, Err(FileError::InconsistentSizes { .. })),
            "{size}/{encrypted_size}: {result:?}"
        );
        assert!(out.is_empty());
    }
}

#[test]
fn non_zero_padding_is_refused_after_authentication() {
    // The sender encrypts 104 non-zero bytes but claims 100: the tag is
    // valid, the "padding" is not zeros.
    let key = FileKey::from_bytes([5; 32]);
    let mut blob = Vec::new();
    let out = encrypt_file(&data(104, 23)[..], &mut blob, &key, [6; IV_LEN]).unwrap();
    let params = DecryptParams {
        key: &key,
        size: 100,
        encrypted_size: out.encrypted_size,
    };
    let (result, written) = decrypt(&blob, params);
    assert!(matches!(result, Err(FileError::BadPadding)));
    assert!(written.is_empty());
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::other("disk gone"))
    }
}

impl Write for Failing {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn io_errors_are_reported() {
    let key = FileKey::from_bytes([1; 32]);
    assert!(matches!(
        encrypt_file(Failing, Vec::new(), &key, [0; IV_LEN]),
        Err(FileError::Io(_))
    ));
    assert!(matches!(
        encrypt_file(&b"abc"[..], Failing, &key, [0; IV_LEN]),
        Err(FileError::Io(_))
    ));
    let (info, blob) = encrypt(b"abc", 24);
    assert!(matches!(
        decrypt_file(Cursor::new(&blob), Failing, &info),
        Err(FileError::Io(_))
    ));
}

#[test]
fn unsafe_names_are_refused_before_anything_is_encrypted() {
    for name in ["../../etc/passwd", "..", "a/b", "a\\b", "nul\0", ""] {
        let mut blob = Vec::new();
        let result = prepare_file(&env(1), &b"x"[..], &mut blob, name, "text/plain");
        assert!(
            matches!(result, Err(FileError::Info(FileInfoError::Name(_)))),
            "{name:?}"
        );
        assert!(blob.is_empty());
    }
    let mut blob = Vec::new();
    assert!(matches!(
        prepare_file(
            &env(1),
            &b"x"[..],
            &mut blob,
            "a.txt",
            "text/plain; charset=x"
        ),
        Err(FileError::Info(FileInfoError::MediaType(_)))
    ));
    // A legal but misleading name is saved under a neutral one.
    let mut blob = Vec::new();
    let prepared = prepare_file(
        &env(1),
        &b"x"[..],
        &mut blob,
        "invoice\u{202E}fdp.exe",
        "application/octet-stream",
    )
    .unwrap();
    let info = prepared.into_file_info("https://cs.example/x", T0).unwrap();
    assert_eq!(info.name(), "invoice\u{202E}fdp.exe");
    assert_eq!(info.safe_file_name(), "invoice_fdp.exe");
}

/// A stand-in for the content server: URL → blob, and the upload names it saw.
#[derive(Default)]
struct ContentServer {
    blobs: HashMap<String, Vec<u8>>,
    names: Vec<String>,
}

impl ContentServer {
    fn upload(&mut self, name: &str, blob: Vec<u8>) -> String {
        let url = format!("https://cs.example/f/{}", self.blobs.len());
        self.names.push(name.to_owned());
        self.blobs.insert(url.clone(), blob);
        url
    }
}

#[test]
fn devices_exchange_a_file_with_a_thumbnail_through_mls() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let mut server = ContentServer::default();
    let photo = data(300_000, 25);
    let thumb = data(2_000, 26);

    // Sender: encrypt, upload, FileInfo, send.
    let mut blob = Vec::new();
    let file = alice
        .prepare_file(&photo[..], &mut blob, "holiday.jpg", "image/jpeg")
        .unwrap();
    let url = server.upload(file.upload_name(), blob);
    let mut thumb_blob = Vec::new();
    let small = alice
        .prepare_file(
            &thumb[..],
            &mut thumb_blob,
            "holiday-thumb.jpg",
            "image/jpeg",
        )
        .unwrap();
    let thumb_url = server.upload(small.upload_name(), thumb_blob);
    let expires = T0 + 7 * 86_400;
    let info = file
        .into_file_info(url, expires)
        .unwrap()
        .with_thumbnail(small.into_file_info(thumb_url, expires).unwrap())
        .unwrap();
    let sent = alice.send_file_info(&id, info.clone()).unwrap();

    // The servers see neither key, name nor URL.
    assert_eq!(server.names, [UPLOAD_FILE_NAME, UPLOAD_FILE_NAME]);
    let envelope = &sent.outbound.envelope;
    for secret in [
        &info.key().as_bytes()[..],
        b"holiday",
        b"cs.example",
        b"image/jpeg",
    ] {
        assert!(!envelope.windows(secret.len()).any(|w| w == secret));
    }

    for receiver in [&mut bob, &mut carol] {
        let received = receiver
            .receive(&sent.outbound.message_id, envelope)
            .unwrap();
        let Received::Message(message) = received else {
            panic!("not a message: {received:?}");
        };
        assert_eq!(message.sender.number, number("+15551230001"));
        let ReceivedContent::FileInfo(got) = &message.content else {
            panic!("not a FileInfo: {:?}", message.content);
        };
        assert_eq!(got, &info);
        assert_eq!(got.safe_file_name(), "holiday.jpg");
        assert!(!got.is_expired(T0));
        // Fetch and decrypt the file and the thumbnail.
        let mut out = Vec::new();
        decrypt_file(Cursor::new(&server.blobs[got.url()]), &mut out, got).unwrap();
        assert!(out == photo);
        let t = got.thumbnail().unwrap();
        assert_eq!(t.name(), "holiday-thumb.jpg");
        let mut out = Vec::new();
        decrypt_file(Cursor::new(&server.blobs[t.url()]), &mut out, t).unwrap();
        assert!(out == thumb);
        // Held until acknowledged, like any message.
        assert_eq!(receiver.undelivered().unwrap()[0].content, message.content);
        receiver.ack(message.delivery).unwrap();
        assert!(receiver.undelivered().unwrap().is_empty());
    }
}

#[test]
fn a_file_info_whose_sizes_do_not_fit_is_not_sent() {
    let net = Net::new();
    let (mut alice, _bob, _carol, id) = group_of_three(&net);
    let (info, _) = encrypt(&data(100, 27), 28);
    let mut fields = info.fields().clone();
    fields.encrypted_size += 1;
    let forged = FileInfo::new(fields).unwrap();
    assert!(matches!(
        alice.send_file_info(&id, forged),
        Err(ClientError::File(FileError::InconsistentSizes { .. }))
    ));
}
