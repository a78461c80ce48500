//! FileInfo (`crosslock_wire::file_info`): strict, deterministic CBOR, so
//! a decoded value re-encodes to exactly the input; plus the client's size
//! check on a received FileInfo.
#![no_main]

use crosslock_wire::file_info::FileInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = FileInfo::decode(data) {
        let encoded = info.encode();
        assert_eq!(encoded, data, "a FileInfo is deterministic CBOR only");
        assert_eq!(FileInfo::decode(&encoded).as_ref(), Ok(&info));
        let _ = info.safe_file_name();
        let _ = info.is_expired(u64::MAX);
        let _ = crosslock_client::file::check_info(&info);
        if let Some(thumbnail) = info.thumbnail() {
            assert!(thumbnail.thumbnail().is_none());
        }
    }
});
