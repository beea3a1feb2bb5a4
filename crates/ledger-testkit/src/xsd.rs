//! XML Schema validation for tests: a file the project writes (pain.001, IATI) is checked against
//! the official schemas in `../shared/standards/` by libxml2, through Python's `lxml`
//! (`scripts/ensure-python.sh` installs it, pinned). When the check cannot run (no `python3`, no
//! `lxml`, no schema) the helper panics with how to fix it: a test that silently skipped the
//! schema would pass without testing anything.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The validator: exit 0 valid, [`INVALID_EXIT`] invalid with one error a line on stdout; anything
/// else (an uncaught exception exits 1: no lxml, an unreadable schema) is a failure to validate. Entities are not resolved and
/// nothing is fetched from the network.
const VALIDATOR: &str = r#"
import sys
from lxml import etree
schema = etree.XMLSchema(etree.parse(sys.argv[1]))
parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
try:
    document = etree.parse(sys.argv[2], parser)
except etree.XMLSyntaxError as error:
    print(f"not well-formed: {error}")
    sys.exit(10)
if schema.validate(document):
    sys.exit(0)
for error in schema.error_log:
    print(f"line {error.line}: {error.message}")
sys.exit(10)
"#;

/// The validator's exit status for a document the schema refuses (distinct from Python's 1 for an
/// uncaught exception).
const INVALID_EXIT: i32 = 10;

/// What to do when validation cannot run.
const HOW_TO_FIX: &str = "To fix: run scripts/ensure-python.sh (installs the pinned lxml for \
python3), and keep the standards' schemas in ../shared/standards beside the repository (or set \
SOLIDARITY_STANDARDS_DIR to their folder).";

/// The folder of the official schemas: `SOLIDARITY_STANDARDS_DIR`, else `../shared/standards`
/// beside the repository.
pub fn standards_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SOLIDARITY_STANDARDS_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/standards")
}

/// A schema of [`standards_dir`] by its relative path (`pain.001.001.09.xsd`,
/// `iati/iati-activities-schema.xsd`).
///
/// # Panics
/// When the schema is not there.
#[allow(clippy::panic)]
pub fn standard_schema(relative: &str) -> PathBuf {
    let path = standards_dir().join(relative);
    if !path.is_file() {
        panic!("the schema {} is missing. {HOW_TO_FIX}", path.display());
    }
    path
}

/// The schema errors of `xml` against `schema` (empty: valid).
///
/// # Panics
/// When the validation cannot run at all (no python3, no lxml, an unreadable schema): loudly,
/// with how to fix it.
#[allow(clippy::panic, clippy::expect_used)]
pub fn schema_errors(xml: &[u8], schema: &Path) -> Vec<String> {
    let mut file = tempfile::NamedTempFile::new().expect("a temporary file for the XML");
    file.write_all(xml).expect("the XML written to a file");
    let output = match Command::new("python3")
        .args(["-c", VALIDATOR])
        .arg(schema)
        .arg(file.path())
        .output()
    {
        Ok(output) => output,
        Err(error) => {
            panic!("XSD validation cannot run: python3 did not start ({error}). {HOW_TO_FIX}")
        }
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    match output.status.code() {
        Some(0) => Vec::new(),
        Some(INVALID_EXIT) => stdout.lines().map(str::to_owned).collect(),
        _ => panic!(
            "XSD validation cannot run against {}: {}{}\n{HOW_TO_FIX}",
            schema.display(),
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// Fails the test with every schema error when `xml` is not valid against `schema`.
///
/// # Panics
/// When `xml` is invalid, or validation cannot run.
#[allow(clippy::panic)]
pub fn assert_valid(xml: &[u8], schema: &Path) {
    let errors = schema_errors(xml, schema);
    if !errors.is_empty() {
        panic!(
            "not valid against {}:\n{}\n--- the document ---\n{}",
            schema.display(),
            errors.join("\n"),
            String::from_utf8_lossy(xml)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_the_schema_refuses_is_reported_and_a_valid_one_passes() {
        // Proves the helper really validates: a pain.001 without its payment block is refused with
        // the element named, a minimal valid one passes, and text that is no XML is refused.
        let schema = standard_schema("pain.001.001.09.xsd");
        let header = r#"<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-12-01T10:00:00</CreDtTm><NbOfTxs>1</NbOfTxs><InitgPty><Nm>ESN</Nm></InitgPty></GrpHdr>"#;
        let missing_payment = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>{header}</CstmrCdtTrfInitn></Document>"#
        );
        let errors = schema_errors(missing_payment.as_bytes(), &schema);
        assert!(
            errors.iter().any(|error| error.contains("PmtInf")),
            "{errors:?}"
        );
        let payment = r#"<PmtInf><PmtInfId>P1</PmtInfId><PmtMtd>TRF</PmtMtd><ReqdExctnDt><Dt>2026-12-01</Dt></ReqdExctnDt><Dbtr><Nm>ESN</Nm></Dbtr><DbtrAcct><Id><IBAN>FR7630006000011234567890189</IBAN></Id></DbtrAcct><DbtrAgt><FinInstnId><BICFI>AGRIFRPP</BICFI></FinInstnId></DbtrAgt><CdtTrfTxInf><PmtId><EndToEndId>E1</EndToEndId></PmtId><Amt><InstdAmt Ccy="EUR">1.00</InstdAmt></Amt><Cdtr><Nm>M</Nm></Cdtr></CdtTrfTxInf></PmtInf>"#;
        let valid = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn>{header}{payment}</CstmrCdtTrfInitn></Document>"#
        );
        assert_valid(valid.as_bytes(), &schema);
        assert!(!schema_errors(b"not xml at all", &schema).is_empty());
    }

    #[test]
    #[should_panic(expected = "XSD validation cannot run")]
    fn a_validation_that_cannot_run_fails_loudly() {
        // Proves a missing or unreadable schema is a failed test, never a silent pass.
        let not_a_schema = tempfile::NamedTempFile::new().unwrap();
        schema_errors(b"<a/>", not_a_schema.path());
    }
}
