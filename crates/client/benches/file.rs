//! Encrypted files: encryption and decryption throughput on 64 MiB, the
//! AWS-LC primitives they are built from on the same data (the ceiling),
//! and a 1 GiB stream that shows memory does not grow with the file.
//!
//! Run: `cargo bench -p crosslock-client --bench file` (`-- --quick` for a
//! short run). The 1 GiB stream runs first and prints its own lines; set
//! `CROSSLOCK_FILE_STREAM_MIB` to change its size.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    missing_docs
)]

use std::hint::black_box;
use std::io::{self, Cursor, Read, Write};
use std::time::Instant;

use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::hmac::{self, HMAC_SHA256};
use aws_lc_rs::iv::FixedLength;
use criterion::{Criterion, Throughput, criterion_group};
use crosslock_client::file::{DecryptParams, decrypt_file, encrypt_file};
use crosslock_client::wire::file_info::FileKey;

const MIB: usize = 1 << 20;
const SIZE: usize = 64 * MIB;
/// The HKDF info (the original file name).
const NAME: &[u8] = b"video.mp4";

fn file_throughput(c: &mut Criterion) {
    let plain: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
    let key = FileKey::from_bytes([7; 32]);
    let iv = [9; 12];
    let mut blob = Vec::with_capacity(SIZE + 64);
    let encrypted = encrypt_file(&plain[..], &mut blob, &key, NAME, iv).unwrap();
    let params = DecryptParams {
        key: &key,
        info: NAME,
        iv: &encrypted.iv,
        tag: &encrypted.tag,
        length_hint: Some(encrypted.size),
    };

    let mut g = c.benchmark_group("file");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("encrypt 64 MiB", |b| {
        b.iter(|| encrypt_file(black_box(&plain[..]), io::sink(), &key, NAME, iv).unwrap())
    });
    g.bench_function("decrypt 64 MiB", |b| {
        b.iter(|| decrypt_file(Cursor::new(black_box(&blob)), io::sink(), params).unwrap())
    });
    g.finish();

    // What the scheme is made of, over the same 64 MiB.
    let mut g = c.benchmark_group("primitives");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("SHA-256 64 MiB", |b| {
        b.iter(|| digest::digest(&SHA256, black_box(&plain)))
    });
    let mac_key = hmac::Key::new(HMAC_SHA256, &[1; 32]);
    g.bench_function("HMAC-SHA256 64 MiB", |b| {
        b.iter(|| hmac::sign(&mac_key, black_box(&plain)))
    });
    let aes = EncryptingKey::ctr(UnboundCipherKey::new(&AES_256, &[2; 32]).unwrap()).unwrap();
    let mut buf = plain.clone();
    g.bench_function("AES-256-CTR 64 MiB", |b| {
        b.iter(|| {
            let context = EncryptionContext::Iv128(FixedLength::from([3u8; 16]));
            aes.less_safe_encrypt(black_box(&mut buf), context).unwrap();
        })
    });
    g.finish();
}

/// A reader that yields `left` bytes of a repeating pattern.
struct Generated {
    pattern: Vec<u8>,
    at: usize,
    left: u64,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        let mut done = 0;
        while done < n {
            let take = (n - done).min(self.pattern.len() - self.at);
            buf[done..done + take].copy_from_slice(&self.pattern[self.at..self.at + take]);
            self.at = (self.at + take) % self.pattern.len();
            done += take;
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn generated(bytes: u64) -> Generated {
    Generated {
        pattern: (0..MIB + 7).map(|i| (i * 131 % 253) as u8).collect(),
        at: 0,
        left: bytes,
    }
}

/// A sink that checksums what it is given (cheaply, so the measurement
/// is the file code's, not the sink's) and counts it.
#[derive(Default)]
struct HashingSink {
    sum: u64,
    bytes: u64,
}

impl Write for HashingSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut words = buf.chunks_exact(8);
        for w in &mut words {
            let v = u64::from_le_bytes(w.try_into().unwrap());
            self.sum = self.sum.rotate_left(5).wrapping_add(v);
        }
        for &b in words.remainder() {
            self.sum = self.sum.rotate_left(5).wrapping_add(u64::from(b));
        }
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Peak resident memory of this process so far, in KiB (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn rate(bytes: u64, secs: f64) -> f64 {
    bytes as f64 / secs / 1e9
}

fn stream() {
    let mib: u64 = std::env::var("CROSSLOCK_FILE_STREAM_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let bytes = mib * MIB as u64;
    let key = FileKey::from_bytes([7; 32]);
    let before = peak_rss_kib();

    // Encrypt: generated reader → hashing sink.
    let mut sink = HashingSink::default();
    // Benchmark: measures elapsed wall time.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let encrypted = encrypt_file(generated(bytes), &mut sink, &key, NAME, [9; 12]).unwrap();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(sink.bytes, encrypted.ciphertext_size);
    println!(
        "stream encrypt {mib} MiB: {secs:.2} s, {:.2} GB/s, peak RSS {} KiB before, {} KiB after",
        rate(bytes, secs),
        before.unwrap_or(0),
        peak_rss_kib().unwrap_or(0),
    );

    // Decrypt needs a seekable ciphertext: write it to a temporary file first.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("encrypted_file");
    let file = std::fs::File::create(&path).unwrap();
    let written = encrypt_file(
        generated(bytes),
        io::BufWriter::new(file),
        &key,
        NAME,
        [9; 12],
    )
    .unwrap();
    assert_eq!(written, encrypted);
    let mut plain = HashingSink::default();
    // Benchmark: measures elapsed wall time.
    #[allow(clippy::disallowed_methods)]
    let started = Instant::now();
    let params = DecryptParams {
        key: &key,
        info: NAME,
        iv: &written.iv,
        tag: &written.tag,
        length_hint: Some(written.size),
    };
    decrypt_file(std::fs::File::open(&path).unwrap(), &mut plain, params).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let mut original = HashingSink::default();
    io::copy(&mut generated(bytes), &mut original).unwrap();
    assert_eq!((plain.bytes, plain.sum), (original.bytes, original.sum));
    println!(
        "stream decrypt {mib} MiB from a file: {secs:.2} s, {:.2} GB/s, peak RSS {} KiB",
        rate(bytes, secs),
        peak_rss_kib().unwrap_or(0),
    );
}

criterion_group!(benches, file_throughput);

fn main() {
    // Only under `cargo bench` (which passes --bench), and before the
    // criterion benches allocate their 64 MiB buffers, so the peak RSS
    // printed is the stream's.
    if std::env::args().any(|a| a == "--bench") {
        stream();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
