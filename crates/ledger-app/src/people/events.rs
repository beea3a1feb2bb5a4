//! Reading the security record (admins and auditors).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use ledger_store::people::{SecurityEventFilter, SecurityEventRow};

pub use super::event_kinds::SecurityEventKind;
use super::time;
use crate::App;
use crate::caller::Caller;
use crate::error::AppError;
use crate::pagination::{ListOrder, Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::Query;

/// Filters of the security record.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SecurityEventQuery {
    /// Only events of this kind (`sign_in_failed`, `api_key_revoked`, ...).
    pub kind: Option<String>,
    pub user_id: Option<Uuid>,
    pub organisation_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `oldest_first` (default) or `newest_first`.
    pub order: Option<ListOrder>,
}

/// A security event.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecurityEventView {
    pub id: Uuid,
    pub at: String,
    pub kind: String,
    pub organisation_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    /// Who acted: a user's email, a key's prefix, a token's subject, or the email tried.
    pub subject: String,
    pub client: Option<String>,
    /// Non-secret details.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl SecurityEventView {
    fn of(row: SecurityEventRow) -> SecurityEventView {
        SecurityEventView {
            id: row.id,
            at: time(row.at),
            kind: row.kind,
            organisation_id: row.organisation_id,
            user_id: row.user_id,
            subject: row.subject,
            client: row.client,
            detail: serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// The security record, oldest first.
#[derive(Debug)]
pub struct ListSecurityEvents(pub SecurityEventQuery);

impl Query for ListSecurityEvents {
    const OPERATION: Operation = Operation::ReadSecurityEvents;
    type Output = Page<SecurityEventView>;

    async fn read(self, app: &App, _caller: &Caller) -> Result<Page<SecurityEventView>, AppError> {
        let query = self.0;
        let (limit, seek) = PageQuery {
            limit: query.limit,
            cursor: query.cursor,
        }
        .seek(query.order)?;
        let filter = SecurityEventFilter {
            kind: query.kind,
            user_id: query.user_id,
            organisation_id: query.organisation_id,
        };
        let rows = app.store.security_events(&filter, seek, limit + 1).await?;
        Ok(page(rows, limit, |row| row.id, SecurityEventView::of))
    }
}
