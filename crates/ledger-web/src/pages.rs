//! The page handlers: each negotiates the language, runs one public query and renders its
//! template. Nothing here decides what is public: the queries do.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use ledger_app::public::{
    PublicFundView, PublicOrganisationView, ReadPublicDirectory, ReadPublicFund,
    ReadPublicOrganisation,
};
use ledger_app::{App, AppError, Refusal};
use minijinja::Value;
use minijinja::context;
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::chart::{Flow, flow_chart};
use crate::format;
use crate::i18n::{self, LANGUAGE_COOKIE, Lang, negotiate};
use crate::templates::render;

/// How long the language switch's cookie is kept: a year, in seconds.
const LANGUAGE_COOKIE_MAX_AGE_SECONDS: u32 = 365 * 24 * 60 * 60;
/// The longest path the language switch goes back to (longer: the home page).
const MAX_NEXT_PATH_LENGTH: usize = 512;
/// The flows drawn in the chart (the largest; the table below it lists more).
const CHART_FLOWS: usize = 12;
/// The width of the "one euro" bar, in SVG user units.
const EURO_BAR_WIDTH: i64 = 700;

/// What every page's frame needs: the language, the page, the path (for the language switch)
/// and the switch's entries.
fn frame(lang: Lang, page: &str, uri: &Uri) -> Value {
    let languages: Vec<Value> = Lang::ALL
        .iter()
        .map(|other| {
            context! {
                code => other.code(),
                name => i18n::message(*other, &format!("language-{}", other.code()), &[]),
            }
        })
        .collect();
    context! {
        lang => lang.code(),
        page => page,
        path => uri.path(),
        languages => languages,
    }
}

fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::VARY,
        HeaderValue::from_static("Accept-Language, Cookie"),
    );
    response
}

/// Renders a page, or the error page if the template fails (a defect: logged).
pub(crate) fn page(
    status: StatusCode,
    template: &str,
    lang: Lang,
    uri: &Uri,
    data: Value,
) -> Response {
    let context = context! { ..frame(lang, template.trim_end_matches(".html"), uri), ..data };
    match render(template, context) {
        Ok(body) => html(status, body),
        Err(error) => {
            tracing::error!(template, error = %error, "a page could not be rendered");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The error page for a refused query: 404 for what is not public, 500 (logged) otherwise.
fn refused(error: AppError, lang: Lang, uri: &Uri) -> Response {
    let (status, key) = match error.refusal {
        Refusal::NotFound => (StatusCode::NOT_FOUND, "error-not-found"),
        Refusal::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "error-unavailable"),
        _ => {
            tracing::error!(error = %error, source = ?error.source, "a public page failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "error-internal")
        }
    };
    page(
        status,
        "error.html",
        lang,
        uri,
        context! { message_key => key },
    )
}

fn not_found(lang: Lang, uri: &Uri) -> Response {
    refused(AppError::not_found("no such page"), lang, uri)
}

fn euro_bar(fund: &PublicFundView) -> Vec<Value> {
    let mut x = 0_i64;
    fund.one_euro
        .iter()
        .enumerate()
        .map(|(index, share)| {
            let cents: Decimal = share.cents_per_euro.parse().unwrap_or_default();
            let width = (cents * Decimal::from(EURO_BAR_WIDTH) / Decimal::ONE_HUNDRED)
                .round()
                .try_into()
                .unwrap_or(0_i64);
            let segment = context! {
                part => share.part.clone(),
                x => x,
                width => width,
                colour => index % crate::chart::PALETTE_SIZE,
            };
            x += width;
            segment
        })
        .collect()
}

pub(crate) async fn home(State(app): State<App>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = negotiate(&headers);
    let fund = match app.query_public(ReadPublicFund).await {
        Ok(fund) => fund,
        Err(error) => return refused(error, lang, &uri),
    };
    let others = i18n::message(lang, "flow-other-unions", &[]);
    let flows: Vec<Flow> = fund
        .flows
        .iter()
        .take(CHART_FLOWS)
        .map(|flow| {
            let source = flow
                .contributor
                .as_ref()
                .map_or_else(|| others.clone(), |name| name.name.clone());
            let amount = format::money(&flow.eur.amount, &flow.eur.currency, lang);
            Flow {
                title: format!("{source} → {}: {amount}", flow.mutual.name),
                source,
                target: flow.mutual.name.clone(),
                minor: minor_of(&flow.eur.amount),
            }
        })
        .collect();
    let chart = flow_chart(&flows, |minor| {
        format::money(&ledger_core_money(minor), "EUR", lang)
    });
    page(
        StatusCode::OK,
        "home.html",
        lang,
        &uri,
        context! { fund => Value::from_serialize(&fund), chart => Value::from_serialize(&chart) },
    )
}

/// EUR minor units from a decimal string with two places (the API's EUR amounts).
fn minor_of(amount: &str) -> i64 {
    amount
        .parse::<Decimal>()
        .ok()
        .and_then(|value| (value * Decimal::ONE_HUNDRED).round().try_into().ok())
        .unwrap_or(0)
}

/// EUR minor units as the API's decimal string.
fn ledger_core_money(minor: i64) -> String {
    Decimal::new(minor, 2).to_string()
}

pub(crate) async fn directory(State(app): State<App>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = negotiate(&headers);
    match app.query_public(ReadPublicDirectory).await {
        Ok(directory) => page(
            StatusCode::OK,
            "directory.html",
            lang,
            &uri,
            context! { directory => Value::from_serialize(&directory) },
        ),
        Err(error) => refused(error, lang, &uri),
    }
}

pub(crate) async fn mutual(
    State(app): State<App>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let lang = negotiate(&headers);
    match app.query_public(ReadPublicOrganisation { slug }).await {
        Ok(PublicOrganisationView::Mutual(mutual)) => page(
            StatusCode::OK,
            "mutual.html",
            lang,
            &uri,
            context! { mutual => Value::from_serialize(&mutual) },
        ),
        Ok(PublicOrganisationView::Union(_)) => not_found(lang, &uri),
        Err(error) => refused(error, lang, &uri),
    }
}

pub(crate) async fn union(
    State(app): State<App>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let lang = negotiate(&headers);
    match app.query_public(ReadPublicOrganisation { slug }).await {
        Ok(PublicOrganisationView::Union(union)) => page(
            StatusCode::OK,
            "union.html",
            lang,
            &uri,
            context! { union => Value::from_serialize(&union) },
        ),
        Ok(PublicOrganisationView::Mutual(_)) => not_found(lang, &uri),
        Err(error) => refused(error, lang, &uri),
    }
}

pub(crate) async fn one_euro(State(app): State<App>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = negotiate(&headers);
    match app.query_public(ReadPublicFund).await {
        Ok(fund) => {
            let bar = euro_bar(&fund);
            page(
                StatusCode::OK,
                "one_euro.html",
                lang,
                &uri,
                context! { fund => Value::from_serialize(&fund), bar => bar, bar_width => EURO_BAR_WIDTH },
            )
        }
        Err(error) => refused(error, lang, &uri),
    }
}

pub(crate) async fn open_data(State(app): State<App>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = negotiate(&headers);
    match app.query_public(ReadPublicFund).await {
        Ok(fund) => {
            // The programmes that moved money, each once, for their IATI activity files.
            let mut programmes: Vec<Value> = Vec::new();
            let mut seen = std::collections::HashSet::new();
            for row in &fund.by_year_programme {
                if seen.insert(row.programme_id) {
                    programmes.push(context! { id => row.programme_id.to_string(), name => row.programme.clone() });
                }
            }
            page(
                StatusCode::OK,
                "open_data.html",
                lang,
                &uri,
                context! { programmes => programmes },
            )
        }
        Err(error) => refused(error, lang, &uri),
    }
}

pub(crate) async fn verify(State(app): State<App>, headers: HeaderMap, uri: Uri) -> Response {
    let lang = negotiate(&headers);
    match app.query_public(ReadPublicFund).await {
        Ok(fund) => page(
            StatusCode::OK,
            "verify.html",
            lang,
            &uri,
            context! { head => Value::from_serialize(&fund.chain_head) },
        ),
        Err(error) => refused(error, lang, &uri),
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SwitchQuery {
    next: Option<String>,
}

/// A path of this site to go back to: absolute, not another host's (`//host`, `/\host`).
fn local_path(next: Option<&str>) -> &str {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && path.len() <= MAX_NEXT_PATH_LENGTH
                && path.bytes().all(|byte| byte.is_ascii_graphic()) =>
        {
            path
        }
        _ => "/",
    }
}

/// The language switch: remembers the language in a cookie and goes back to the page.
pub(crate) async fn switch_language(
    Path(code): Path<String>,
    Query(query): Query<SwitchQuery>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let Some(lang) = Lang::parse(&code).filter(|lang| lang.code() == code) else {
        return not_found(negotiate(&headers), &uri);
    };
    let cookie = format!(
        "{LANGUAGE_COOKIE}={}; Path=/; Max-Age={LANGUAGE_COOKIE_MAX_AGE_SECONDS}; SameSite=Lax; HttpOnly",
        lang.code()
    );
    let location = local_path(query.next.as_deref()).to_owned();
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    if let (Ok(cookie), Ok(location)) = (
        HeaderValue::from_str(&cookie),
        HeaderValue::from_str(&location),
    ) {
        headers.insert(header::SET_COOKIE, cookie);
        headers.insert(header::LOCATION, location);
    }
    response
}

/// The embedded stylesheet and images.
pub(crate) async fn asset(Path(file): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    let (content_type, body) = match file.as_str() {
        "site.css" => (
            "text/css; charset=utf-8",
            include_str!("../static/site.css"),
        ),
        "logo.svg" => ("image/svg+xml", include_str!("../static/logo.svg")),
        _ => return not_found(negotiate(&headers), &uri),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_switch_goes_back_only_to_this_site() {
        // Proves an open redirect is impossible: other hosts and odd paths go to the home page.
        assert_eq!(local_path(Some("/mutuals?x=1")), "/mutuals?x=1");
        for hostile in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "",
            "/a b",
            "/\u{e9}",
        ] {
            assert_eq!(local_path(Some(hostile)), "/", "{hostile}");
        }
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn amounts_convert_to_minor_units_and_back() {
        // Proves the chart's sizes are read exactly from the API's decimal strings.
        assert_eq!(minor_of("1234.56"), 123_456);
        assert_eq!(minor_of("x"), 0);
        assert_eq!(ledger_core_money(123_456), "1234.56");
    }
}
