//! Whether the application can serve: its database answers and every migration is applied.

use crate::App;
use crate::error::{AppError, Refusal};

impl App {
    /// Ready when the database answers and is migrated; otherwise `not_ready` (unavailable),
    /// saying which.
    pub async fn ready(&self) -> Result<(), AppError> {
        match self.store.is_ready().await {
            Ok(true) => Ok(()),
            Ok(false) => Err(AppError::new(
                Refusal::Unavailable,
                "not_ready",
                "the database is not migrated",
            )),
            Err(error) => {
                tracing::warn!(error = %error, "readiness check failed");
                Err(AppError::new(
                    Refusal::Unavailable,
                    "not_ready",
                    "the database does not answer",
                ))
            }
        }
    }
}
