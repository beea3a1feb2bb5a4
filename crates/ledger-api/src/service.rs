//! Service endpoints: liveness and readiness.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::json::AppJson;
use crate::problem::ApiError;

/// A health answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
    /// Readiness only: the admins the four-eyes operations need (2, or 1 in a one-person test
    /// setup), so an auditor can see which rule was in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approvals_required: Option<u8>,
}

pub(crate) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
}

/// The process is alive (no database involved).
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Health)))]
async fn healthz() -> AppJson<Health> {
    AppJson(Health {
        status: "ok",
        approvals_required: None,
    })
}

/// The database answers and every migration is applied.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "not ready", body = crate::problem::Problem, content_type = "application/problem+json")
    )
)]
async fn readyz(State(state): State<AppState>) -> Result<AppJson<Health>, ApiError> {
    state.app.ready().await?;
    Ok(AppJson(Health {
        status: "ok",
        approvals_required: Some(state.app.approvals_required),
    }))
}
