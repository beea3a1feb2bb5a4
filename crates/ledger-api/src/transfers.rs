//! Loss-free transfers to southern mutuals over HTTP: fee coverage and transfer runs are served by
//! [`crate::fee_coverage`] and [`crate::transfer_runs`], the transfers once sent (list,
//! confirmation, held funds) by [`crate::transfer_confirmation`], their disputes by
//! [`crate::disputes`]; their routers are merged here. The commands are
//! [`ledger_app::transfers`]'; the rules the core's ([`ledger_core::transfer_run`],
//! [`ledger_core::settlement`]). Postings: `docs/accounts.md`.

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(crate::fee_coverage::router())
        .merge(crate::transfer_runs::router())
        .merge(crate::transfer_confirmation::router())
        .merge(crate::disputes::router())
}
