//! FileInfo (`crosslock_wire::file_info`, protobuf) and the FT-HTTP
//! descriptor (`crosslock_wire::ft_http`, XML), both tried on every input:
//! whatever decodes re-encodes to something that decodes to the same value.
#![no_main]

use crosslock_wire::file_info::FileInfo;
use crosslock_wire::ft_http::Descriptor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = FileInfo::decode(data) {
        let encoded = info.encode();
        assert!(
            encoded.len() <= data.len(),
            "re-encoding grew: unknown fields are dropped"
        );
        assert_eq!(FileInfo::decode(&encoded).as_ref(), Ok(&info));
        let _ = info.metadata().safe_file_name();
    }
    if let Ok(descriptor) = Descriptor::decode(data) {
        assert_eq!(
            Descriptor::decode(&descriptor.encode()).as_ref(),
            Ok(&descriptor)
        );
    }
});
