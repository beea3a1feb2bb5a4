//! Forms that carry a file (`multipart/form-data`): a union's spreadsheet, an auditor's export to
//! verify. The whole body is read (the service's body limit bounds it) into the form's text fields
//! and its one file, so the CSRF field is checked first, as every form's is
//! ([`super::visit::SignedUpload`]).

use axum::extract::Multipart;
use axum::extract::multipart::MultipartRejection;
use axum::http::StatusCode;

use super::Fields;

/// The file of a form.
#[derive(Debug, Default)]
pub(crate) struct File {
    /// As the browser names it (`cotisations.csv`); empty when none was chosen.
    pub(crate) name: String,
    /// As the browser labels it (`text/csv`); often absent or generic.
    pub(crate) media_type: String,
    pub(crate) bytes: Vec<u8>,
}

/// A form with its file (in the field named `file`).
#[derive(Debug, Default)]
pub(crate) struct Upload {
    pub(crate) fields: Fields,
    pub(crate) file: File,
}

/// The most text a form's other fields may hold together (they are short: ids, dates, tokens).
const MAX_TEXT_FIELDS_BYTES: usize = 64 * 1024;

/// Reads a `multipart/form-data` form; the status to answer when it is none or cannot be read
/// (413 for a body over the limit).
pub(crate) async fn read_upload(
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Upload, StatusCode> {
    let mut multipart = multipart.map_err(|rejection| rejection.status())?;
    let mut upload = Upload::default();
    let mut text_bytes = 0_usize;
    while let Some(part) = multipart
        .next_field()
        .await
        .map_err(|error| error.status())?
    {
        let name = part.name().unwrap_or_default().to_owned();
        if name == "file" {
            upload.file.name = part.file_name().unwrap_or_default().to_owned();
            upload.file.media_type = part.content_type().unwrap_or_default().to_owned();
            upload.file.bytes = part.bytes().await.map_err(|error| error.status())?.to_vec();
        } else {
            let value = part.text().await.map_err(|error| error.status())?;
            text_bytes = text_bytes.saturating_add(value.len());
            if text_bytes > MAX_TEXT_FIELDS_BYTES {
                return Err(StatusCode::PAYLOAD_TOO_LARGE);
            }
            upload.fields.push((name, value));
        }
    }
    Ok(upload)
}
