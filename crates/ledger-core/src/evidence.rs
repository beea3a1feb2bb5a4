//! Evidence documents attached to facts: what kinds are accepted (told by their content, never by
//! a name or a declared type), how large one may be, and the SHA-256 that addresses it. A document
//! that exists as an [`EvidenceDocument`] is of an accepted kind and within the limit.

use sha2::{Digest, Sha256};

/// The largest evidence document accepted: statutes, minutes or a bank letter scanned as a PDF or
/// photographed fit in a few megabytes; 4 MiB keeps one upload (base64 in JSON, 4/3 larger) well
/// inside the API's request body limit and the database's rows small enough to back up.
pub const MAX_EVIDENCE_DOCUMENT_BYTES: usize = 4 * 1024 * 1024;

/// The kinds of evidence documents accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    Pdf,
    Png,
    Jpeg,
}

impl DocumentKind {
    /// The kind `content` is, from its first bytes (its "magic number"); `None` for anything else.
    pub fn sniff(content: &[u8]) -> Option<DocumentKind> {
        const PDF: &[u8] = b"%PDF-";
        const PNG: &[u8] = b"\x89PNG\r\n\x1a\n";
        const JPEG: &[u8] = b"\xFF\xD8\xFF";
        if content.starts_with(PDF) {
            Some(DocumentKind::Pdf)
        } else if content.starts_with(PNG) {
            Some(DocumentKind::Png)
        } else if content.starts_with(JPEG) {
            Some(DocumentKind::Jpeg)
        } else {
            None
        }
    }

    /// The media type the document is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            DocumentKind::Pdf => "application/pdf",
            DocumentKind::Png => "image/png",
            DocumentKind::Jpeg => "image/jpeg",
        }
    }

    pub fn parse_media_type(text: &str) -> Option<DocumentKind> {
        [DocumentKind::Pdf, DocumentKind::Png, DocumentKind::Jpeg]
            .into_iter()
            .find(|kind| kind.media_type() == text)
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    #[error("the document is empty")]
    Empty,
    #[error(
        "the document has {size_bytes} bytes; at most {MAX_EVIDENCE_DOCUMENT_BYTES} are accepted"
    )]
    TooLarge { size_bytes: usize },
    #[error("the document is not a PDF, PNG or JPEG file (told by its content)")]
    UnexpectedType,
}

/// An accepted evidence document with its content address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvidenceDocument {
    kind: DocumentKind,
    sha256: String,
    content: Vec<u8>,
}

impl EvidenceDocument {
    /// Accepts `content` if it is within the size limit and of an accepted kind.
    pub fn accept(content: Vec<u8>) -> Result<EvidenceDocument, DocumentError> {
        if content.is_empty() {
            return Err(DocumentError::Empty);
        }
        if content.len() > MAX_EVIDENCE_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge {
                size_bytes: content.len(),
            });
        }
        let kind = DocumentKind::sniff(&content).ok_or(DocumentError::UnexpectedType)?;
        Ok(EvidenceDocument {
            kind,
            sha256: sha256_hex(&content),
            content,
        })
    }

    pub fn kind(&self) -> DocumentKind {
        self.kind
    }

    /// The lower-case hexadecimal SHA-256 of the content: the document's address.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    pub fn content(&self) -> &[u8] {
        &self.content
    }

    pub fn into_content(self) -> Vec<u8> {
        self.content
    }
}

/// The lower-case hexadecimal SHA-256 of `content`.
pub fn sha256_hex(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_told_by_content_and_limited_in_size() {
        // Proves PDF, PNG and JPEG are recognised by their first bytes whatever they claim to be,
        // anything else, an empty or an oversized document is refused, and the address is the
        // SHA-256 of the content.
        let pdf = b"%PDF-1.7\n%minutes of the general assembly".to_vec();
        let document = EvidenceDocument::accept(pdf.clone()).unwrap();
        assert_eq!(document.kind(), DocumentKind::Pdf);
        assert_eq!(document.kind().media_type(), "application/pdf");
        assert_eq!(document.sha256(), sha256_hex(&pdf));
        assert_eq!(document.sha256().len(), 64);
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        assert_eq!(
            EvidenceDocument::accept(png).unwrap().kind(),
            DocumentKind::Png
        );
        let jpeg = b"\xFF\xD8\xFF\xE0\0\x10JFIF".to_vec();
        assert_eq!(
            EvidenceDocument::accept(jpeg).unwrap().kind(),
            DocumentKind::Jpeg
        );
        assert_eq!(
            EvidenceDocument::accept(b"<html>%PDF-</html>".to_vec()),
            Err(DocumentError::UnexpectedType)
        );
        assert_eq!(
            EvidenceDocument::accept(Vec::new()),
            Err(DocumentError::Empty)
        );
        let mut large = b"%PDF-".to_vec();
        large.resize(MAX_EVIDENCE_DOCUMENT_BYTES + 1, b' ');
        assert_eq!(
            EvidenceDocument::accept(large),
            Err(DocumentError::TooLarge {
                size_bytes: MAX_EVIDENCE_DOCUMENT_BYTES + 1
            })
        );
        let mut largest = b"%PDF-".to_vec();
        largest.resize(MAX_EVIDENCE_DOCUMENT_BYTES, b' ');
        assert!(EvidenceDocument::accept(largest).is_ok());
        assert_eq!(
            DocumentKind::parse_media_type("image/png"),
            Some(DocumentKind::Png)
        );
        assert_eq!(DocumentKind::parse_media_type("text/html"), None);
    }
}
