//! Encrypted files (RCC.16 Annex C.2 / C.3 as deployed): round trips at
//! the sizes where blocks, buffers and padding change, tampering of every
//! kind refused with nothing written, and a file with a thumbnail sent
//! through MLS between devices as FileInfo messages plus an FT-HTTP
//! descriptor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use common::*;
use crosslock_client::env::{Environment, ManualClock, SeededEntropy};
use crosslock_client::file::{
    DecryptParams, Download, FileError, IV_LEN, PreparedFile, ReceivedFile, TRAILER_LEN,
    UPLOAD_FILE_NAME, ciphertext_size, decrypt_file, encrypt_file, padme, prepare_file,
};
use crosslock_client::wire::file_info::{FileInfoError, FileKey};
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

/// Encrypts `plain` as a sender would; returns the prepared file and the
/// ciphertext to upload.
fn encrypt(plain: &[u8], seed: u64) -> (PreparedFile, Vec<u8>) {
    let mut ct = Vec::new();
    let prepared = prepare_file(
        &env(seed),
        plain,
        &mut ct,
        "f.bin",
        "application/octet-stream",
    )
    .unwrap();
    (prepared, ct)
}

fn decrypt(ct: &[u8], params: DecryptParams<'_>) -> (Result<u64, FileError>, Vec<u8>) {
    let mut out = Vec::new();
    let result = decrypt_file(Cursor::new(ct), &mut out, params);
    (result, out)
}

#[test]
fn round_trips_where_blocks_buffers_and_padding_change() {
    let sizes = [
        0,
        1,
        7,
        8,
        15,
        16,
        17,
        65_527,
        65_528,
        65_535,
        65_536,
        65_537,
        3 * 65_536,
        3 * 1024 * 1024 + 7,
    ];
    for (i, &len) in sizes.iter().enumerate() {
        let plain = data(len, i as u64 + 1);
        let (file, ct) = encrypt(&plain, 40 + i as u64);
        assert_eq!(file.size(), len as u64);
        let expected = padme(len as u64).unwrap() + TRAILER_LEN as u64;
        assert_eq!(file.ciphertext_size(), expected);
        assert_eq!(Some(expected), ciphertext_size(len as u64));
        assert_eq!(ct.len() as u64, expected, "{len}");
        // No plaintext in the ciphertext (a 16-byte window is enough to tell).
        if len >= 64 {
            assert!(!ct.windows(16).any(|w| w == &plain[len / 2..len / 2 + 16]));
        }
        let (result, out) = decrypt(&ct, file.metadata().into());
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
fn ciphertexts_do_not_depend_on_how_the_reader_splits_its_input() {
    let plain = data(70_001, 9);
    let key = FileKey::from_bytes([3; 32]);
    let mut whole = Vec::new();
    let a = encrypt_file(&plain[..], &mut whole, &key, b"a.bin", [4; IV_LEN]).unwrap();
    let mut dribbled = Vec::new();
    let reader = Dribble {
        inner: &plain[..],
        calls: 0,
    };
    let b = encrypt_file(reader, &mut dribbled, &key, b"a.bin", [4; IV_LEN]).unwrap();
    assert_eq!(a, b);
    assert!(whole == dribbled);
}

#[test]
fn randomness_comes_from_the_environment() {
    let plain = data(1000, 5);
    let (one, ct_one) = encrypt(&plain, 7);
    let (again, ct_again) = encrypt(&plain, 7);
    let (other, ct_other) = encrypt(&plain, 8);
    assert_eq!(one, again);
    assert_eq!(ct_one, ct_again);
    let (e1, e2) = (one.metadata().encryption(), other.metadata().encryption());
    assert_ne!(e1.key, e2.key);
    assert_ne!(e1.iv, e2.iv);
    assert_ne!(ct_one, ct_other);
}

#[test]
fn every_flipped_bit_is_refused_and_nothing_is_written() {
    let plain = data(100, 13);
    let (file, ct) = encrypt(&plain, 14);
    assert_eq!(ct.len(), 104 + 8);
    for bit in 0..ct.len() * 8 {
        let mut forged = ct.clone();
        forged[bit / 8] ^= 1 << (bit % 8);
        let (result, out) = decrypt(&forged, file.metadata().into());
        assert!(matches!(result, Err(FileError::BadTag)), "bit {bit}");
        assert!(out.is_empty(), "bit {bit}");
    }
    // The IV and the tag travel in the FileInfo: flipping them fails too.
    let e = file.metadata().encryption();
    for bit in 0..(IV_LEN + 32) * 8 {
        let (mut iv, mut tag) = (e.iv, e.tag);
        if bit < IV_LEN * 8 {
            iv[bit / 8] ^= 1 << (bit % 8);
        } else {
            tag[bit / 8 - IV_LEN] ^= 1 << (bit % 8);
        }
        let params = DecryptParams {
            iv: &iv,
            tag: &tag,
            ..file.metadata().into()
        };
        let (result, out) = decrypt(&ct, params);
        assert!(matches!(result, Err(FileError::BadTag)), "bit {bit}");
        assert!(out.is_empty());
    }
}

#[test]
fn flipped_bits_in_a_multi_buffer_file_are_refused() {
    let plain = data(200_000, 15);
    let (file, ct) = encrypt(&plain, 16);
    let n = ct.len();
    // Around each buffer edge, the end of the content, the padding and the
    // trailer.
    for at in [
        0,
        65_535,
        65_536,
        65_537,
        199_999,
        200_000,
        n - 9,
        n - 8,
        n - 1,
    ] {
        let mut forged = ct.clone();
        forged[at] ^= 0x80;
        let (result, out) = decrypt(&forged, file.metadata().into());
        assert!(matches!(result, Err(FileError::BadTag)), "byte {at}");
        assert!(out.is_empty());
    }
}

#[test]
fn truncation_and_extension_are_refused_and_nothing_is_written() {
    let (file, ct) = encrypt(&data(100, 17), 18);
    for cut in 0..ct.len() {
        let (result, out) = decrypt(&ct[..cut], file.metadata().into());
        if cut < TRAILER_LEN {
            assert!(matches!(result, Err(FileError::TooShort(n)) if n == cut as u64));
        } else {
            assert!(matches!(result, Err(FileError::BadTag)), "cut at {cut}");
        }
        assert!(out.is_empty());
    }
    for extra in [&[0u8][..], &[0; 16], &[0; 32]] {
        let mut longer = ct.clone();
        longer.extend_from_slice(extra);
        let (result, out) = decrypt(&longer, file.metadata().into());
        assert!(matches!(result, Err(FileError::BadTag)));
        assert!(out.is_empty());
    }
}

#[test]
fn the_ciphertext_may_start_anywhere_in_the_reader() {
    let plain = data(5000, 19);
    let (file, ct) = encrypt(&plain, 20);
    let mut stored = b"some header".to_vec();
    stored.extend_from_slice(&ct);
    let mut reader = Cursor::new(stored);
    reader.seek(SeekFrom::Start(11)).unwrap();
    let mut out = Vec::new();
    assert_eq!(
        decrypt_file(reader, &mut out, file.metadata()).unwrap(),
        5000
    );
    assert!(out == plain);
}

#[test]
fn wrong_key_name_or_hint_are_refused() {
    let (file, ct) = encrypt(&data(100, 21), 22);
    let wrong_key = FileKey::from_bytes([9; 32]);
    let params = DecryptParams {
        key: &wrong_key,
        ..file.metadata().into()
    };
    let (result, out) = decrypt(&ct, params);
    assert!(matches!(result, Err(FileError::BadTag)));
    assert!(out.is_empty());
    // The file name is the HKDF info: another name, other keys.
    let params = DecryptParams {
        info: b"encrypted_file",
        ..file.metadata().into()
    };
    assert!(matches!(decrypt(&ct, params).0, Err(FileError::BadTag)));
    // An authentic file whose length is not the hint.
    let params = DecryptParams {
        length_hint: Some(99),
        ..file.metadata().into()
    };
    let (result, out) = decrypt(&ct, params);
    assert!(matches!(
        result,
        Err(FileError::HintMismatch {
            hint: 99,
            length: 100
        })
    ));
    assert!(out.is_empty());
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
        encrypt_file(Failing, Vec::new(), &key, b"a", [0; IV_LEN]),
        Err(FileError::Io(_))
    ));
    assert!(matches!(
        encrypt_file(&b"abc"[..], Failing, &key, b"a", [0; IV_LEN]),
        Err(FileError::Io(_))
    ));
    let (file, ct) = encrypt(b"abc", 24);
    assert!(matches!(
        decrypt_file(Cursor::new(&ct), Failing, file.metadata()),
        Err(FileError::Io(_))
    ));
}

#[test]
fn unsafe_names_are_refused_before_anything_is_encrypted() {
    for name in ["../../etc/passwd", "..", "a/b", "a\\b", "nul\0", ""] {
        let mut ct = Vec::new();
        let result = prepare_file(&env(1), &b"x"[..], &mut ct, name, "text/plain");
        assert!(
            matches!(result, Err(FileError::Info(FileInfoError::Name(_)))),
            "{name:?}"
        );
        assert!(ct.is_empty());
    }
    let mut ct = Vec::new();
    assert!(matches!(
        prepare_file(
            &env(1),
            &b"x"[..],
            &mut ct,
            "a.txt",
            "text/plain; charset=x"
        ),
        Err(FileError::Info(FileInfoError::MediaType(_)))
    ));
    // A legal but misleading name is saved under a neutral one.
    let mut ct = Vec::new();
    let prepared = prepare_file(
        &env(1),
        &b"x"[..],
        &mut ct,
        "invoice\u{202E}fdp.exe",
        "application/octet-stream",
    )
    .unwrap();
    assert_eq!(prepared.name(), "invoice\u{202E}fdp.exe");
    assert_eq!(prepared.metadata().safe_file_name(), "invoice_fdp.exe");
}

/// A stand-in for the content server: URL → ciphertext, and the upload
/// names it saw.
#[derive(Default)]
struct ContentServer {
    blobs: HashMap<String, Vec<u8>>,
    names: Vec<String>,
}

impl ContentServer {
    fn upload(&mut self, name: &str, ct: Vec<u8>) -> Download {
        let url = format!("https://cs.example/f/{}", self.blobs.len());
        self.names.push(name.to_owned());
        self.blobs.insert(url.clone(), ct);
        Download {
            url,
            until: T0 + 7 * 86_400,
        }
    }
}

#[test]
fn devices_exchange_a_file_with_a_thumbnail_through_mls() {
    let net = Net::new();
    let (mut alice, mut bob, mut carol, id) = group_of_three(&net);
    let mut server = ContentServer::default();
    let photo = data(300_000, 25);
    let thumb = data(2_000, 26);

    // Sender: encrypt, upload, then FileInfo ×2 and the descriptor.
    let mut ct = Vec::new();
    let file = alice
        .prepare_file(&photo[..], &mut ct, "holiday.jpg", "image/jpeg")
        .unwrap();
    let download = server.upload(file.upload_name(), ct);
    let mut thumb_ct = Vec::new();
    let small = alice
        .prepare_file(&thumb[..], &mut thumb_ct, "holiday-thumb.jpg", "image/jpeg")
        .unwrap();
    let thumb_download = server.upload(small.upload_name(), thumb_ct);
    let sent = alice
        .send_file(&id, &file, download, Some((&small, thumb_download)))
        .unwrap();
    assert_eq!(sent.len(), 3);

    // The servers see neither key, name nor URL.
    assert_eq!(server.names, [UPLOAD_FILE_NAME, UPLOAD_FILE_NAME]);
    for s in &sent {
        let envelope = &s.outbound.envelope;
        for secret in [
            &file.metadata().encryption().key.as_bytes()[..],
            b"holiday",
            b"cs.example",
            b"image/jpeg",
            b"encrypted_file",
        ] {
            assert!(!envelope.windows(secret.len()).any(|w| w == secret));
        }
    }

    for receiver in [&mut bob, &mut carol] {
        let mut last = None;
        for s in &sent {
            let received = receiver
                .receive(&s.outbound.message_id, &s.outbound.envelope)
                .unwrap();
            let Received::Message(message) = received else {
                panic!("not a message: {received:?}");
            };
            assert_eq!(message.sender.number, number("+15551230001"));
            last = Some(message);
        }
        let message = last.unwrap();
        let ReceivedContent::File(ReceivedFile {
            file: got,
            thumbnail,
        }) = &message.content
        else {
            panic!("not a file: {:?}", message.content);
        };
        assert_eq!(&got.metadata, file.metadata());
        assert_eq!(got.metadata.safe_file_name(), "holiday.jpg");
        assert!(!got.is_expired(T0));
        // Fetch and decrypt the file and the thumbnail.
        let mut out = Vec::new();
        let ct = &server.blobs[&got.download.url];
        assert_eq!(ct.len() as u64, got.ciphertext_size);
        decrypt_file(Cursor::new(ct), &mut out, &got.metadata).unwrap();
        assert!(out == photo);
        let t = thumbnail.as_ref().unwrap();
        assert_eq!(t.metadata.file_name(), "holiday-thumb.jpg");
        let mut out = Vec::new();
        decrypt_file(
            Cursor::new(&server.blobs[&t.download.url]),
            &mut out,
            &t.metadata,
        )
        .unwrap();
        assert!(out == thumb);
        // Held until acknowledged, like any message.
        let inbox = receiver.undelivered().unwrap();
        assert_eq!(inbox.last().unwrap().content, message.content);
        for m in inbox {
            receiver.ack(m.delivery).unwrap();
        }
        assert!(receiver.undelivered().unwrap().is_empty());
    }
}

#[test]
fn a_descriptor_with_a_bad_url_is_not_sent() {
    let net = Net::new();
    let (mut alice, _bob, _carol, id) = group_of_three(&net);
    let (file, _) = encrypt(&data(100, 27), 28);
    let bad = Download {
        url: "ftp://cs.example/x".into(),
        until: T0,
    };
    assert!(matches!(
        alice.send_file(&id, &file, bad, None),
        Err(ClientError::File(FileError::Descriptor(_)))
    ));
}
