//! XML documents written into memory with quick-xml's writer (the pain.001 payment file, the IATI
//! files): one indentation, every text and attribute escaped by the writer, so the same input
//! always gives the same bytes.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// Writing into memory failed: a defect (a `Vec` does not refuse bytes), reported, never unwrapped.
#[derive(Debug, thiserror::Error)]
#[error("writing XML failed: {0}")]
pub struct XmlError(String);

impl From<std::io::Error> for XmlError {
    fn from(error: std::io::Error) -> Self {
        XmlError(error.to_string())
    }
}

/// An XML document being written, in UTF-8 with a declaration, indented by two spaces.
pub struct XmlDocument {
    writer: Writer<Vec<u8>>,
}

impl std::fmt::Debug for XmlDocument {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("XmlDocument")
            .field("bytes_written", &self.writer.get_ref().len())
            .finish()
    }
}

impl XmlDocument {
    /// A document with its declaration written.
    pub fn new() -> Result<XmlDocument, XmlError> {
        let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
        writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
        Ok(XmlDocument { writer })
    }

    /// Opens an element.
    pub fn open(&mut self, name: &str, attributes: &[(&str, &str)]) -> Result<(), XmlError> {
        let start = BytesStart::new(name).with_attributes(attributes.iter().copied());
        self.writer.write_event(Event::Start(start))?;
        Ok(())
    }

    /// Closes the element `name` opened last.
    pub fn close(&mut self, name: &str) -> Result<(), XmlError> {
        self.writer.write_event(Event::End(BytesEnd::new(name)))?;
        Ok(())
    }

    /// An element holding only text.
    pub fn leaf(
        &mut self,
        name: &str,
        attributes: &[(&str, &str)],
        text: &str,
    ) -> Result<(), XmlError> {
        self.open(name, attributes)?;
        self.writer.write_event(Event::Text(BytesText::new(text)))?;
        self.close(name)
    }

    /// An element with attributes only.
    pub fn empty(&mut self, name: &str, attributes: &[(&str, &str)]) -> Result<(), XmlError> {
        let start = BytesStart::new(name).with_attributes(attributes.iter().copied());
        self.writer.write_event(Event::Empty(start))?;
        Ok(())
    }

    /// The document's bytes, ending with a newline.
    pub fn finish(self) -> Vec<u8> {
        let mut bytes = self.writer.into_inner();
        bytes.push(b'\n');
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_attributes_are_escaped() {
        // Proves a name with markup characters cannot break the document out of its element.
        let mut document = XmlDocument::new().unwrap();
        document
            .leaf("Nm", &[("lang", "a\"<b")], "Mutuelle <A&B>")
            .unwrap();
        let text = String::from_utf8(document.finish()).unwrap();
        assert!(
            text.contains(r#"<Nm lang="a&quot;&lt;b">Mutuelle &lt;A&amp;B&gt;</Nm>"#),
            "{text}"
        );
    }
}
