//! Reading transfers: the list (a beneficiary its own, admins and auditors all), one transfer, and
//! the view every transfer answer shares (with its confirmation or open claim).

use ledger_store::transfers::{TransferFilter, TransferRow};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub use super::views::{
    ConfirmationView, OpenDisputeView, RateView, TransferView, row_of, transfer_view,
};
use crate::error::AppError;
use crate::fields::parse_id;
use crate::pagination::{ListOrder, Page, PageQuery, page};
use crate::policy::Operation;
use crate::runner::Query;
use crate::{App, Caller};

/// A transfer the caller may see, or 404 (another beneficiary's transfer is never disclosed).
/// Every operation on one transfer starts here, after the policy let the caller in.
pub async fn visible_transfer(
    app: &App,
    caller: &Caller,
    id: &str,
) -> Result<TransferRow, AppError> {
    let not_found = || AppError::not_found("no such transfer");
    let id = parse_id(id).ok_or_else(not_found)?;
    let transfer = app.store.transfer(id).await?.ok_or_else(not_found)?;
    if caller.may_see(ledger_core::OrganisationId::from_uuid(
        transfer.beneficiary_id,
    )) {
        Ok(transfer)
    } else {
        Err(not_found())
    }
}

/// Filters of the transfer list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TransferListQuery {
    /// pending | disputed | settled | topped_up
    pub status: Option<String>,
    /// Admins and auditors may list one beneficiary's transfers.
    pub beneficiary_id: Option<Uuid>,
    pub run_id: Option<Uuid>,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    /// `oldest_first` (default) or `newest_first`.
    pub order: Option<ListOrder>,
}

/// List transfers: a beneficiary its own; admins and auditors all.
#[derive(Debug)]
pub struct ListTransfers(pub TransferListQuery);

impl Query for ListTransfers {
    const OPERATION: Operation = Operation::ListTransfers;
    type Output = Page<TransferView>;

    async fn read(self, app: &App, caller: &Caller) -> Result<Page<TransferView>, AppError> {
        let query = self.0;
        let (limit, seek) = PageQuery {
            limit: query.limit,
            cursor: query.cursor.clone(),
        }
        .seek(query.order)?;
        if let Some(status) = &query.status
            && !matches!(
                status.as_str(),
                "pending" | "disputed" | "settled" | "topped_up"
            )
        {
            return Err(AppError::invalid_field(
                "status",
                "must be pending, disputed, settled or topped_up",
            ));
        }
        let filter = TransferFilter {
            beneficiary_id: if caller.sees_everything() {
                query.beneficiary_id
            } else {
                Some(caller.organisation.as_uuid())
            },
            run_id: query.run_id,
            status: query.status,
        };
        let rows = app.store.transfers(&filter, seek, limit + 1).await?;
        let listed = page(rows, limit, |row| row.id, |row| row);
        let items = listed
            .items
            .iter()
            .map(|row| transfer_view(row, None))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page {
            items,
            next_cursor: listed.next_cursor,
        })
    }
}

/// One transfer with its confirmation.
#[derive(Debug)]
pub struct ReadTransfer {
    /// As given in the path (an id that is not one answers 404).
    pub id: String,
}

impl Query for ReadTransfer {
    const OPERATION: Operation = Operation::ReadTransfer;
    type Output = TransferView;

    async fn read(self, app: &App, caller: &Caller) -> Result<TransferView, AppError> {
        let transfer = visible_transfer(app, caller, &self.id).await?;
        transfer_view(&transfer, None)
    }
}
