//! The RCS FT-HTTP file descriptor (GSMA RCC.07 §3.2.5,
//! `application/vnd.gsma.rcs-ft-http+xml`): where an uploaded file can be
//! downloaded, until when, and how large the upload is.
//!
//! Under RCC.16 the upload is the Annex C.2 **ciphertext** only, so the
//! descriptor describes the ciphertext: `<file-size>` is its length
//! (`Padmé(n) + 8`), `<file-name>` is always the literal
//! [`UPLOAD_FILE_NAME`] (rcc16-deployed.md §2: Google Messages rejects any
//! other value), and we declare `<content-type>` [`ENCRYPTED_CONTENT_TYPE`]
//! (`message/mls-ft`, RCC.16's type for file-transfer ciphertext), so the
//! server learns neither the name nor the type. The real name, type and
//! keys travel in the FileInfo ([`crate::file_info`]).
//!
//! What we send (one line; the thumbnail `file-info` first, when there is
//! one, as in RCC.07's examples):
//!
//! ```text
//! <?xml version="1.0" encoding="UTF-8"?>
//! <file xmlns="urn:gsma:params:xml:ns:rcs:rcs:fthttp">
//!  <file-info type="thumbnail"><file-size>…</file-size><content-type>message/mls-ft</content-type>
//!   <data url="…" until="2026-12-08T06:00:00Z"/></file-info>
//!  <file-info type="file"><file-size>…</file-size><file-name>encrypted_file</file-name>
//!   <content-type>message/mls-ft</content-type><data url="…" until="…"/></file-info>
//! </file>
//! ```
//!
//! **`<mls-file>` is left out on purpose.** RCC.16 deployments carry an
//! `<mls-file>` element in the descriptor, but its content is not
//! established (rcc16-deployed.md §2: the public client that documents the
//! rest refuses to guess it). We neither invent nor require one; a
//! received `<mls-file>` is skipped like any other element we do not read.
//!
//! Parsing is strict where it matters (FT-HTTP-1 … FT-HTTP-6,
//! docs/validation-rules.md): at most [`MAX_DESCRIPTOR_BYTES`], UTF-8, no
//! DOCTYPE, only the predefined entities, depth at most 8, root `file` in
//! the FT-HTTP namespace, exactly one `file-info type="file"` and at most
//! one of type `thumbnail`, each with exactly one `file-size`, one
//! `content-type` and one `data` (with `url`, an https URL, and `until`, an
//! RFC 3339 date-time); elements we do not read are skipped.

mod error;
mod parse;

pub use error::DescriptorError;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::file_info::check_url;

/// The media type of an FT-HTTP descriptor (RCC.07).
pub const CONTENT_TYPE: &str = "application/vnd.gsma.rcs-ft-http+xml";
/// The FT-HTTP XML namespace (RCC.07).
pub const NAMESPACE: &str = "urn:gsma:params:xml:ns:rcs:rcs:fthttp";
/// The `<file-name>` of every RCC.16 upload (rcc16-deployed.md §2).
pub const UPLOAD_FILE_NAME: &str = "encrypted_file";
/// The `<content-type>` we declare for an encrypted upload (RCC.16
/// `message/mls-ft`).
pub const ENCRYPTED_CONTENT_TYPE: &str = "message/mls-ft";
/// The largest descriptor accepted, in bytes.
pub const MAX_DESCRIPTOR_BYTES: usize = 8192;

/// Where and until when one upload can be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Download {
    /// The download URL (`https`, or `http` to a loopback host).
    pub url: String,
    /// When the URL stops working, UNIX seconds.
    pub until: u64,
}

/// One `<file-info>`: an upload's size, declared type and download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// `<file-size>`: the upload's (ciphertext's) length in bytes.
    pub size: u64,
    /// `<content-type>` as declared.
    pub content_type: String,
    /// `<data url until>`.
    pub download: Download,
}

/// A checked FT-HTTP descriptor: the file and optionally its thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// `file-info type="file"`.
    pub file: FileEntry,
    /// `file-info type="thumbnail"`.
    pub thumbnail: Option<FileEntry>,
}

impl FileEntry {
    /// The entry for an encrypted upload of `size` bytes.
    pub fn encrypted(size: u64, download: Download) -> FileEntry {
        FileEntry {
            size,
            content_type: ENCRYPTED_CONTENT_TYPE.to_owned(),
            download,
        }
    }
}

impl Descriptor {
    /// Checks the URLs and dates so [`Descriptor::encode`] writes what
    /// [`Descriptor::decode`] accepts.
    pub fn new(
        file: FileEntry,
        thumbnail: Option<FileEntry>,
    ) -> Result<Descriptor, DescriptorError> {
        for entry in std::iter::once(&file).chain(&thumbnail) {
            check_entry(entry)?;
        }
        Ok(Descriptor { file, thumbnail })
    }

    /// The XML, as above.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::with_capacity(512);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<file xmlns=\"");
        out.push_str(NAMESPACE);
        out.push_str("\">");
        if let Some(t) = &self.thumbnail {
            write_entry(&mut out, "thumbnail", t, false);
        }
        write_entry(&mut out, "file", &self.file, true);
        out.push_str("</file>");
        out.into_bytes()
    }

    /// Parses and checks a descriptor from untrusted bytes.
    pub fn decode(bytes: &[u8]) -> Result<Descriptor, DescriptorError> {
        let d = parse::parse(bytes)?;
        Descriptor::new(d.file, d.thumbnail)
    }
}

fn write_entry(out: &mut String, kind: &str, e: &FileEntry, named: bool) {
    use std::fmt::Write;
    let _ = write!(
        out,
        "<file-info type=\"{kind}\"><file-size>{}</file-size>",
        e.size
    );
    if named {
        let _ = write!(out, "<file-name>{UPLOAD_FILE_NAME}</file-name>");
    }
    let _ = write!(
        out,
        "<content-type>{}</content-type><data url=\"{}\" until=\"{}\"/></file-info>",
        quick_xml::escape::escape(e.content_type.as_str()),
        quick_xml::escape::escape(e.download.url.as_str()),
        format_until(e.download.until),
    );
}

/// FT-HTTP-5: the URL is one we would fetch; FT-HTTP-6: the date fits
/// RFC 3339 (years up to 9999); the content type is a media type.
fn check_entry(e: &FileEntry) -> Result<(), DescriptorError> {
    check_url(&e.download.url).map_err(|e| match e {
        crate::file_info::FileInfoError::Url(why) => DescriptorError::Url(why),
        _ => DescriptorError::Url("invalid"),
    })?;
    if until_datetime(e.download.until).is_none() {
        return Err(DescriptorError::Until);
    }
    let ct = e.content_type.as_str();
    let base = ct.split(';').next().unwrap_or_default().trim();
    if ct.len() > 255
        || ct.chars().any(char::is_control)
        || crate::file_info::check_media_type(base).is_err()
    {
        return Err(DescriptorError::ContentType);
    }
    Ok(())
}

fn until_datetime(until: u64) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::from_unix_timestamp(i64::try_from(until).ok()?).ok()?;
    (t.year() <= 9999).then_some(t)
}

/// `until` as RFC 3339 in UTC, e.g. `2026-12-08T06:00:00Z`.
fn format_until(until: u64) -> String {
    until_datetime(until)
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

/// An RFC 3339 date-time (any offset) as UNIX seconds; before 1970 refused.
pub(crate) fn parse_until(text: &str) -> Result<u64, DescriptorError> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).map_err(|_| DescriptorError::Until)?;
    u64::try_from(t.unix_timestamp()).map_err(|_| DescriptorError::Until)
}

#[cfg(test)]
mod tests;
