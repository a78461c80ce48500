use super::*;

/// Written by hand from RCC.07's descriptor shape and the RCC.16 rules of
/// rcc16-deployed.md §2 (`encrypted_file`); `until` 1_796_710_400 is
/// 2026-12-08T06:13:20Z (`date -u -d @1796710400`). 80 = Padmé(65) + 8,
/// the Annex C.2 vector's ciphertext; 40 = Padmé(32) + 8.
const VECTOR: &str = concat!(
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
    "<file xmlns=\"urn:gsma:params:xml:ns:rcs:rcs:fthttp\">",
    "<file-info type=\"thumbnail\"><file-size>40</file-size>",
    "<content-type>message/mls-ft</content-type>",
    "<data url=\"https://cs.example/f/t?a=1&amp;b=2\" until=\"2026-12-08T06:13:20Z\"/></file-info>",
    "<file-info type=\"file\"><file-size>80</file-size><file-name>encrypted_file</file-name>",
    "<content-type>message/mls-ft</content-type>",
    "<data url=\"https://cs.example/f/1\" until=\"2026-12-08T06:13:20Z\"/></file-info>",
    "</file>",
);

fn descriptor() -> Descriptor {
    let until = 1_796_710_400;
    Descriptor::new(
        FileEntry::encrypted(
            80,
            Download {
                url: "https://cs.example/f/1".into(),
                until,
            },
        ),
        Some(FileEntry::encrypted(
            40,
            Download {
                url: "https://cs.example/f/t?a=1&b=2".into(),
                until,
            },
        )),
    )
    .unwrap()
}

#[test]
fn known_vector_both_ways() {
    assert_eq!(String::from_utf8(descriptor().encode()).unwrap(), VECTOR);
    assert_eq!(Descriptor::decode(VECTOR.as_bytes()).unwrap(), descriptor());
    let plain = Descriptor::new(descriptor().file, None).unwrap();
    assert_eq!(Descriptor::decode(&plain.encode()).unwrap(), plain);
}

#[test]
fn a_peer_descriptor_with_extras_decodes() {
    // Other order, prefixes, whitespace, an offset date, RCC.07 extension
    // elements, an `mls-file` and a foreign element, all skipped.
    let doc = r#"<?xml version="1.0"?>
<f:file xmlns:f="urn:gsma:params:xml:ns:rcs:rcs:fthttp" xmlns:x="urn:example">
  <f:file-info type="file">
    <f:data until="2026-12-08T07:13:20+01:00" url="https://cs.example/f/1"></f:data>
    <f:content-type> image/jpeg </f:content-type>
    <f:file-disposition>render</f:file-disposition>
    <f:file-size> 80 </f:file-size>
    <x:thing><x:deep>1</x:deep></x:thing>
  </f:file-info>
  <f:mls-file>opaque &amp; unknown</f:mls-file>
  <!-- a comment -->
</f:file>"#;
    let d = Descriptor::decode(doc.as_bytes()).unwrap();
    assert_eq!(d.file.size, 80);
    assert_eq!(d.file.content_type, "image/jpeg");
    assert_eq!(d.file.download.until, 1_796_710_400);
    assert_eq!(d.thumbnail, None);
}

#[test]
fn refusals() {
    let swap = |from: &str, to: &str| VECTOR.replacen(from, to, 1);
    let big = format!("{}{}", VECTOR, " ".repeat(MAX_DESCRIPTOR_BYTES));
    let deep = VECTOR
        .replace(
            "<file-info type=\"file\">",
            &format!(
                "{}<file-info type=\"file\">",
                "<a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a>"
            ),
        )
        .replace("<a>", "<x:a xmlns:x=\"u\">")
        .replace("</a>", "</x:a>");
    let cases: Vec<(&str, String, DescriptorError)> = vec![
        ("too large", big, DescriptorError::TooLarge),
        (
            "doctype",
            swap("<file ", "<!DOCTYPE file [<!ENTITY x \"y\">]><file "),
            DescriptorError::Malformed("DOCTYPE"),
        ),
        (
            "entity",
            swap("encrypted_file", "&x;"),
            DescriptorError::Malformed("undefined entity"),
        ),
        (
            "root",
            swap("rcs:rcs:fthttp", "rcs:rcs:other"),
            DescriptorError::WrongRoot,
        ),
        (
            "type",
            swap("type=\"thumbnail\"", "type=\"icon\""),
            DescriptorError::UnknownType,
        ),
        (
            "no type",
            swap(" type=\"thumbnail\"", ""),
            DescriptorError::Missing("file-info type"),
        ),
        (
            "two files",
            swap("type=\"thumbnail\"", "type=\"file\""),
            DescriptorError::Duplicate("file-info"),
        ),
        (
            "no file",
            VECTOR.replace("type=\"file\"", "type=\"thumbnail\""),
            DescriptorError::Duplicate("file-info"),
        ),
        (
            "duplicate size",
            swap(
                "<file-size>80</file-size>",
                "<file-size>80</file-size><file-size>9</file-size>",
            ),
            DescriptorError::Duplicate("file-size"),
        ),
        (
            "size",
            swap("<file-size>80<", "<file-size>-80<"),
            DescriptorError::Size,
        ),
        (
            "size overflow",
            swap("<file-size>80<", "<file-size>99999999999999999999<"),
            DescriptorError::Size,
        ),
        (
            "no size",
            swap("<file-size>80</file-size>", ""),
            DescriptorError::Missing("file-size"),
        ),
        (
            "no data",
            swap(
                "<data url=\"https://cs.example/f/1\" until=\"2026-12-08T06:13:20Z\"/>",
                "",
            ),
            DescriptorError::Missing("data"),
        ),
        (
            "no url",
            swap(" url=\"https://cs.example/f/1\"", ""),
            DescriptorError::Missing("data url"),
        ),
        (
            "http url",
            swap("https://cs.example/f/1", "http://cs.example/f/1"),
            DescriptorError::Url("not an https URL"),
        ),
        (
            "until",
            swap(
                "until=\"2026-12-08T06:13:20Z\"/></file-info></file>",
                "until=\"tomorrow\"/></file-info></file>",
            ),
            DescriptorError::Until,
        ),
        (
            "before 1970",
            VECTOR.replace("2026-12-08", "1969-12-08"),
            DescriptorError::Until,
        ),
        (
            "content type",
            swap("<content-type>message/mls-ft", "<content-type>nonsense"),
            DescriptorError::ContentType,
        ),
        (
            "markup in text",
            swap("<file-size>80</file-size>", "<file-size><b/>80</file-size>"),
            DescriptorError::Malformed("markup inside a simple element"),
        ),
        (
            "text in file-info",
            swap("<file-size>80", "stray<file-size>80"),
            DescriptorError::Malformed("text outside a simple element"),
        ),
        ("too deep", deep, DescriptorError::TooDeep),
        (
            "pi",
            swap("<file ", "<?x y?><file "),
            DescriptorError::Malformed("processing instruction"),
        ),
        (
            "encoding",
            swap("UTF-8", "ISO-8859-1"),
            DescriptorError::Encoding,
        ),
        (
            "second root",
            format!("{VECTOR}<file/>"),
            DescriptorError::Malformed("content after the root element"),
        ),
    ];
    for (what, doc, err) in cases {
        assert_eq!(Descriptor::decode(doc.as_bytes()), Err(err), "{what}");
    }
    assert_eq!(Descriptor::decode(b"\xff"), Err(DescriptorError::Encoding));
    assert!(matches!(
        Descriptor::decode(&VECTOR.as_bytes()[..100]),
        Err(DescriptorError::Xml(_) | DescriptorError::Malformed(_))
    ));
    // Building refuses what decoding would.
    let mut bad = descriptor();
    bad.file.download.url = "file:///etc/passwd".into();
    assert!(Descriptor::new(bad.file, None).is_err());
    let mut late = descriptor();
    late.file.download.until = u64::MAX;
    assert_eq!(
        Descriptor::new(late.file, None),
        Err(DescriptorError::Until)
    );
}

proptest::proptest! {
    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
        let _ = Descriptor::decode(&bytes);
    }

    #[test]
    fn corrupted_vectors_never_panic(at: usize, byte: u8) {
        let mut bytes = VECTOR.as_bytes().to_vec();
        let at = at % bytes.len();
        bytes[at] = byte;
        if let Ok(d) = Descriptor::decode(&bytes) {
            proptest::prop_assert_eq!(Descriptor::decode(&d.encode()), Ok(d));
        }
    }
}
