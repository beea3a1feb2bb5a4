//! The templates (`templates/*.html`, embedded at compile time) and the functions they call:
//! `t(key, name=value…)` for a message in the page's language, `money(m)`, `number(n)`,
//! `decimal(s)` and `date(s)` for figures written as that language does. Every template escapes
//! what it prints (HTML auto-escaping for all of them, whatever their name).

use std::sync::LazyLock;

use minijinja::value::{Kwargs, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State};

use crate::format;
use crate::i18n::{self, Lang};

/// Every template, by name.
pub const TEMPLATES: [(&str, &str); 39] = [
    ("base.html", include_str!("../templates/base.html")),
    ("macros.html", include_str!("../templates/macros.html")),
    ("home.html", include_str!("../templates/home.html")),
    (
        "directory.html",
        include_str!("../templates/directory.html"),
    ),
    ("mutual.html", include_str!("../templates/mutual.html")),
    ("union.html", include_str!("../templates/union.html")),
    ("one_euro.html", include_str!("../templates/one_euro.html")),
    (
        "open_data.html",
        include_str!("../templates/open_data.html"),
    ),
    ("verify.html", include_str!("../templates/verify.html")),
    ("error.html", include_str!("../templates/error.html")),
    (
        "portal_frame.html",
        include_str!("../templates/portal_frame.html"),
    ),
    (
        "portal_sign_in.html",
        include_str!("../templates/portal_sign_in.html"),
    ),
    (
        "portal_invitation.html",
        include_str!("../templates/portal_invitation.html"),
    ),
    (
        "portal_password.html",
        include_str!("../templates/portal_password.html"),
    ),
    (
        "portal_home.html",
        include_str!("../templates/portal_home.html"),
    ),
    (
        "portal_batch.html",
        include_str!("../templates/portal_batch.html"),
    ),
    (
        "portal_mutual_home.html",
        include_str!("../templates/portal_mutual_home.html"),
    ),
    (
        "portal_mutual_transfer.html",
        include_str!("../templates/portal_mutual_transfer.html"),
    ),
    (
        "portal_mutual_reports.html",
        include_str!("../templates/portal_mutual_reports.html"),
    ),
    (
        "portal_mutual_eligibility.html",
        include_str!("../templates/portal_mutual_eligibility.html"),
    ),
    (
        "portal_mutual_statement.html",
        include_str!("../templates/portal_mutual_statement.html"),
    ),
    (
        "portal_network_home.html",
        include_str!("../templates/portal_network_home.html"),
    ),
    (
        "portal_network_run.html",
        include_str!("../templates/portal_network_run.html"),
    ),
    (
        "portal_network_facts.html",
        include_str!("../templates/portal_network_facts.html"),
    ),
    (
        "portal_network_organisations.html",
        include_str!("../templates/portal_network_organisations.html"),
    ),
    (
        "portal_network_organisation.html",
        include_str!("../templates/portal_network_organisation.html"),
    ),
    (
        "portal_network_held.html",
        include_str!("../templates/portal_network_held.html"),
    ),
    (
        "portal_network_users.html",
        include_str!("../templates/portal_network_users.html"),
    ),
    (
        "portal_network_security.html",
        include_str!("../templates/portal_network_security.html"),
    ),
    (
        "portal_network_statements.html",
        include_str!("../templates/portal_network_statements.html"),
    ),
    (
        "portal_network_statement.html",
        include_str!("../templates/portal_network_statement.html"),
    ),
    (
        "portal_network_statement_lines.html",
        include_str!("../templates/portal_network_statement_lines.html"),
    ),
    (
        "portal_paging.html",
        include_str!("../templates/portal_paging.html"),
    ),
    (
        "portal_union_upload_form.html",
        include_str!("../templates/portal_union_upload_form.html"),
    ),
    (
        "portal_union_upload.html",
        include_str!("../templates/portal_union_upload.html"),
    ),
    (
        "portal_union_euros.html",
        include_str!("../templates/portal_union_euros.html"),
    ),
    (
        "portal_union_statement.html",
        include_str!("../templates/portal_union_statement.html"),
    ),
    (
        "portal_union_keys.html",
        include_str!("../templates/portal_union_keys.html"),
    ),
    (
        "portal_audit.html",
        include_str!("../templates/portal_audit.html"),
    ),
];

fn lang_of(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|value| value.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::Fr)
}

fn translate(state: &State, key: &str, arguments: Kwargs) -> Result<String, Error> {
    let mut pairs = Vec::new();
    for name in arguments.args() {
        let value: Value = arguments.get(name)?;
        pairs.push((name, value.to_string()));
    }
    arguments.assert_all_used()?;
    Ok(i18n::message(lang_of(state), key, &pairs))
}

fn money(state: &State, value: Value) -> Result<String, Error> {
    let field = |name: &str| -> Result<String, Error> {
        value
            .get_attr(name)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    "money needs amount and currency",
                )
            })
    };
    Ok(format::money(
        &field("amount")?,
        &field("currency")?,
        lang_of(state),
    ))
}

/// A country's name in the page's language, or its code when the messages do not name it.
fn country(state: &State, code: String) -> String {
    let key = format!("country-{code}");
    let name = i18n::message(lang_of(state), &key, &[]);
    if name == key { code } else { name }
}

fn number(state: &State, value: i64) -> String {
    format::integer(value, lang_of(state))
}

fn decimal(state: &State, value: String) -> String {
    format::decimal(&value, lang_of(state))
}

fn date(state: &State, value: String) -> String {
    format::date(&value, lang_of(state))
}

/// The environment, built once.
pub static ENVIRONMENT: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut environment = Environment::new();
    environment.set_auto_escape_callback(|_| AutoEscape::Html);
    environment.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        if let Err(error) = environment.add_template(name, source) {
            tracing::error!(template = name, %error, "a page template does not parse");
        }
    }
    environment.add_function("t", translate);
    environment.add_function("money", money);
    environment.add_function("number", number);
    environment.add_function("country", country);
    environment.add_function("decimal", decimal);
    environment.add_function("date", date);
    environment
});

/// Renders `name` with `context`.
pub fn render(name: &str, context: Value) -> Result<String, Error> {
    ENVIRONMENT.get_template(name)?.render(context)
}
