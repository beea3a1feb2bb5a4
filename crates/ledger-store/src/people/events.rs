//! The rows of the security record.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A security event (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SecurityEventRow {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub kind: String,
    pub organisation_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub subject: String,
    pub client: Option<String>,
    /// A JSON object of details.
    pub detail: String,
}

/// Which security events to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityEventFilter {
    pub kind: Option<String>,
    pub user_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
}
