//! The UniFFI binding generator, built from this crate so its version
//! always matches the scaffolding in the library:
//!
//! ```sh
//! cargo run -p crosslock-ffi --features cli --bin uniffi-bindgen -- \
//!     generate --library target/debug/libcrosslock_ffi.so --language kotlin --out-dir out
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
