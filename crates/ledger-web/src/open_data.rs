//! Open-data downloads: the fund's figures by year and programme and the directory of member
//! mutuals, as JSON (the public queries' answers, as they are) and CSV (one row per year and
//! programme; one per mutual and purpose). The same public queries as the pages, so a file never
//! holds what a page would not show.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use ledger_app::App;
use ledger_app::public::{DirectoryView, PublicFundView, ReadPublicDirectory, ReadPublicFund};

/// The files offered, as linked from the open-data page.
pub const FILES: [&str; 4] = ["fund.json", "fund.csv", "mutuals.json", "mutuals.csv"];

fn internal(error: impl std::fmt::Display) -> Response {
    tracing::error!(error = %error, "an open-data file could not be made");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn file(content_type: &'static str, name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"solidarity-ledger-{name}\"");
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(content_type),
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

fn fund_csv(fund: &PublicFundView) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "year",
        "programme_id",
        "programme",
        "currency",
        "received",
        "transferred",
        "redistributed",
        "kept",
        "awaiting",
        "held",
        "in_transit",
        "with_mutuals",
        "refunded",
    ])?;
    for row in &fund.by_year_programme {
        let totals = &row.totals;
        writer.write_record([
            row.year.as_str(),
            &row.programme_id.to_string(),
            row.programme.as_str(),
            totals.received.currency.as_str(),
            totals.received.amount.as_str(),
            totals.transferred.amount.as_str(),
            totals.redistributed.amount.as_str(),
            totals.kept.amount.as_str(),
            totals.awaiting.amount.as_str(),
            totals.held.amount.as_str(),
            totals.in_transit.amount.as_str(),
            totals.with_mutuals.amount.as_str(),
            totals.refunded.amount.as_str(),
        ])?;
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error().into())
}

fn mutuals_csv(directory: &DirectoryView) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "slug",
        "name",
        "country",
        "covered_members",
        "received_eur",
        "received_local",
        "local_currency",
        "purpose",
        "redistributed_eur",
        "redistributed_local",
    ])?;
    for mutual in &directory.mutuals {
        let members = mutual
            .covered_members
            .map(|members| members.to_string())
            .unwrap_or_default();
        let head = [
            mutual.name.slug.clone(),
            mutual.name.name.clone(),
            mutual.name.country.clone(),
            members,
            mutual.received.amount.clone(),
            mutual.received_local.amount.clone(),
            mutual.currency.clone(),
        ];
        if mutual.redistributed.is_empty() {
            writer.write_record(head.iter().map(String::as_str).chain(["", "", ""]))?;
        }
        for purpose in &mutual.redistributed {
            writer.write_record(head.iter().map(String::as_str).chain([
                purpose.purpose.as_str(),
                purpose.eur.amount.as_str(),
                purpose.local.amount.as_str(),
            ]))?;
        }
    }
    writer
        .into_inner()
        .map_err(|error| error.into_error().into())
}

pub(crate) async fn download(State(app): State<App>, Path(name): Path<String>) -> Response {
    if !FILES.contains(&name.as_str()) {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    }
    let made = match name.as_str() {
        "fund.json" | "fund.csv" => match app.query_public(ReadPublicFund).await {
            Ok(fund) if name == "fund.json" => serde_json::to_vec_pretty(&fund)
                .map(|body| file("application/json", &name, body))
                .map_err(|error| error.to_string()),
            Ok(fund) => fund_csv(&fund)
                .map(|body| file("text/csv; charset=utf-8", &name, body))
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        },
        "mutuals.json" | "mutuals.csv" => match app.query_public(ReadPublicDirectory).await {
            Ok(directory) if name == "mutuals.json" => serde_json::to_vec_pretty(&directory)
                .map(|body| file("application/json", &name, body))
                .map_err(|error| error.to_string()),
            Ok(directory) => mutuals_csv(&directory)
                .map(|body| file("text/csv; charset=utf-8", &name, body))
                .map_err(|error| error.to_string()),
            Err(error) => Err(error.to_string()),
        },
        _ => return (StatusCode::NOT_FOUND, "no such file").into_response(),
    };
    made.unwrap_or_else(internal)
}
