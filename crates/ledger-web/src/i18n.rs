//! The site's three languages (French, English, Spanish): which one a request gets (its cookie,
//! set by the language switch, then its `Accept-Language`, then French, the network's working
//! language) and the Project Fluent messages every visible text comes from
//! (`locales/{fr,en,es}/site.ftl`, embedded at compile time).

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header::{ACCEPT_LANGUAGE, COOKIE};
use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader, langid};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "fr",
        // Messages are placed in HTML; Unicode isolation marks would only clutter copied text.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The cookie that remembers the language chosen with the switch.
pub const LANGUAGE_COOKIE: &str = "lang";

/// The most `Accept-Language` entries looked at (a header is a few; this bounds a hostile one).
const MAX_ACCEPT_LANGUAGE_ENTRIES: usize = 32;

/// A language of the site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    Fr,
    En,
    Es,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Fr, Lang::En, Lang::Es];

    /// The BCP 47 code (`lang` attribute, cookie, switch).
    pub fn code(self) -> &'static str {
        match self {
            Lang::Fr => "fr",
            Lang::En => "en",
            Lang::Es => "es",
        }
    }

    /// The language a code (`fr`, `fr-CA`, `EN`) names, if one of the site's.
    pub fn parse(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next().unwrap_or("").trim();
        Lang::ALL
            .into_iter()
            .find(|lang| lang.code().eq_ignore_ascii_case(primary))
    }

    fn identifier(self) -> LanguageIdentifier {
        match self {
            Lang::Fr => langid!("fr"),
            Lang::En => langid!("en"),
            Lang::Es => langid!("es"),
        }
    }
}

/// The language of a request: the switch's cookie, else the best `Accept-Language` match, else
/// French.
pub fn negotiate(headers: &HeaderMap) -> Lang {
    from_cookie(headers)
        .or_else(|| from_accept_language(headers))
        .unwrap_or(Lang::Fr)
}

fn from_cookie(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == LANGUAGE_COOKIE)
        .and_then(|(_, value)| Lang::parse(value))
}

/// The highest-weighted language of the site in `Accept-Language` (`es-ES,es;q=0.9,en;q=0.8`).
fn from_accept_language(headers: &HeaderMap) -> Option<Lang> {
    let header = headers.get(ACCEPT_LANGUAGE)?.to_str().ok()?;
    let mut best: Option<(u16, Lang)> = None;
    for entry in header.split(',').take(MAX_ACCEPT_LANGUAGE_ENTRIES) {
        let mut parts = entry.split(';');
        let Some(lang) = parts.next().and_then(Lang::parse) else {
            continue;
        };
        // Weights in thousandths, so no float is compared.
        let weight = parts
            .find_map(|parameter| parameter.trim().strip_prefix("q="))
            .map_or(1000, quality_thousandths);
        if weight > 0 && best.is_none_or(|(best_weight, _)| weight > best_weight) {
            best = Some((weight, lang));
        }
    }
    best.map(|(_, lang)| lang)
}

/// `0.8` → 800; `1` → 1000; anything malformed → 0 (ignored).
fn quality_thousandths(text: &str) -> u16 {
    let (whole, fraction) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let fraction: String = fraction.chars().chain("000".chars()).take(3).collect();
    match (whole, fraction.parse::<u16>()) {
        ("1", Ok(0)) => 1000,
        ("0", Ok(thousandths)) if fraction.bytes().all(|byte| byte.is_ascii_digit()) => thousandths,
        _ => 0,
    }
}

/// The message `key` in `lang`, with `arguments` for its placeables; the key itself when missing
/// (a test makes sure none is).
pub fn message(lang: Lang, key: &str, arguments: &[(&str, String)]) -> String {
    let identifier = lang.identifier();
    if arguments.is_empty() {
        return LOCALES
            .try_lookup(&identifier, key)
            .unwrap_or_else(|| key.to_owned());
    }
    let arguments: HashMap<std::borrow::Cow<'static, str>, FluentValue<'_>> = arguments
        .iter()
        .map(|(name, value)| ((*name).to_owned().into(), FluentValue::from(value.clone())))
        .collect();
    LOCALES
        .try_lookup_with_args(&identifier, key, &arguments)
        .unwrap_or_else(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(axum::http::HeaderName, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(name.clone(), HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn the_cookie_wins_then_the_best_weighted_language_then_french() {
        // Proves the order of negotiation and the weights of Accept-Language.
        assert_eq!(negotiate(&HeaderMap::new()), Lang::Fr);
        assert_eq!(
            negotiate(&headers(&[(ACCEPT_LANGUAGE, "de-DE,es;q=0.5,en;q=0.9")])),
            Lang::En
        );
        assert_eq!(
            negotiate(&headers(&[(ACCEPT_LANGUAGE, "es-ES,es;q=0.9,en;q=0.8")])),
            Lang::Es
        );
        assert_eq!(
            negotiate(&headers(&[(ACCEPT_LANGUAGE, "en;q=0,de")])),
            Lang::Fr
        );
        assert_eq!(
            negotiate(&headers(&[
                (ACCEPT_LANGUAGE, "en"),
                (COOKIE, "other=1; lang=es")
            ])),
            Lang::Es
        );
        assert_eq!(
            negotiate(&headers(&[(ACCEPT_LANGUAGE, "en"), (COOKIE, "lang=xx")])),
            Lang::En
        );
    }

    #[test]
    fn messages_take_their_arguments() {
        // Proves placeables are filled and no isolation marks are added.
        let arguments = [
            ("count", "4".to_owned()),
            ("named", "3".to_owned()),
            ("mutuals", "3".to_owned()),
        ];
        assert_eq!(
            message(Lang::En, "fund-counted", &arguments),
            "4 unions and mutuals of the North contribute (3 named here, with their agreement); \
             3 member mutuals in the South."
        );
        assert_eq!(message(Lang::Es, "nav-home", &[]), "El fondo");
    }
}
