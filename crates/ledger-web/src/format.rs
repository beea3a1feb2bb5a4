//! Numbers, money and dates as each of the site's languages writes them: French `1 234,56 €`,
//! English `€1,234.56`, Spanish `1.234,56 €`; the CFA francs (XOF, XAF) have no decimals and are
//! written `FCFA` (`1 234 567 FCFA`). Amounts arrive as the API's decimal strings, so no float
//! ever touches money here; this module only places separators and symbols.

use chrono::{Datelike, NaiveDate};

use crate::i18n::Lang;

/// The no-break space French and Spanish put between a number and its symbol, and French between
/// groups of thousands: a figure never breaks across lines.
pub const NO_BREAK_SPACE: char = '\u{a0}';

/// The longest decimal string formatted (a longer one is shown as given): far beyond the largest
/// amount the ledger holds (19 digits of minor units).
const MAX_DECIMAL_LENGTH: usize = 40;

fn separators(lang: Lang) -> (char, char) {
    match lang {
        Lang::Fr => (NO_BREAK_SPACE, ','),
        Lang::En => (',', '.'),
        Lang::Es => ('.', ','),
    }
}

/// A decimal string (`-1234.5`) with the language's group and decimal separators; anything that
/// is not a plain decimal string is returned unchanged.
pub fn decimal(text: &str, lang: Lang) -> String {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let plain = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if text.len() > MAX_DECIMAL_LENGTH
        || whole.is_empty()
        || !plain(whole)
        || fraction.is_some_and(|fraction| fraction.is_empty() || !plain(fraction))
    {
        return text.to_owned();
    }
    let (group, decimal_mark) = separators(lang);
    let mut out = String::with_capacity(text.len() + whole.len() / 3 * 2);
    if negative {
        out.push('-');
    }
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            out.push(group);
        }
        out.push(digit);
    }
    if let Some(fraction) = fraction {
        out.push(decimal_mark);
        out.push_str(fraction);
    }
    out
}

/// A whole number with the language's group separator.
pub fn integer(value: i64, lang: Lang) -> String {
    decimal(&value.to_string(), lang)
}

/// What a currency is written with: `€`, `FCFA`, or its ISO code.
fn symbol(currency: &str) -> &str {
    match currency {
        "EUR" => "€",
        "XOF" | "XAF" => "FCFA",
        other => other,
    }
}

/// An amount (the API's decimal string, with the currency's minor unit digits) in a currency.
pub fn money(amount: &str, currency: &str, lang: Lang) -> String {
    let number = decimal(amount, lang);
    let symbol = symbol(currency);
    match (lang, currency) {
        (Lang::En, "EUR") => match number.strip_prefix('-') {
            Some(rest) => format!("-€{rest}"),
            None => format!("€{number}"),
        },
        (Lang::En, _) => format!("{number} {symbol}"),
        (Lang::Fr | Lang::Es, _) => format!("{number}{NO_BREAK_SPACE}{symbol}"),
    }
}

/// A date (`2026-11-30`) written out: `30 novembre 2026`, `30 November 2026`,
/// `30 de noviembre de 2026`; anything else is returned unchanged.
pub fn date(text: &str, lang: Lang) -> String {
    let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") else {
        return text.to_owned();
    };
    let month = month_name(date.month0(), lang);
    match lang {
        Lang::Fr => format!("{} {month} {}", date.day(), date.year()),
        Lang::En => format!("{} {month} {}", date.day(), date.year()),
        Lang::Es => format!("{} de {month} de {}", date.day(), date.year()),
    }
}

fn month_name(month0: u32, lang: Lang) -> &'static str {
    const FR: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const ES: [&str; 12] = [
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ];
    let names = match lang {
        Lang::Fr => &FR,
        Lang::En => &EN,
        Lang::Es => &ES,
    };
    names.get(month0 as usize).copied().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_written_as_each_language_writes_it() {
        // Proves the three examples and the English form, with no-break spaces.
        assert_eq!(money("1234.56", "EUR", Lang::Fr), "1\u{a0}234,56\u{a0}€");
        assert_eq!(
            money("1234567", "XOF", Lang::Fr),
            "1\u{a0}234\u{a0}567\u{a0}FCFA"
        );
        assert_eq!(money("1234.56", "EUR", Lang::Es), "1.234,56\u{a0}€");
        assert_eq!(money("1234.56", "EUR", Lang::En), "€1,234.56");
        assert_eq!(money("-1234.56", "EUR", Lang::En), "-€1,234.56");
        assert_eq!(money("1234567", "XOF", Lang::En), "1,234,567 FCFA");
        assert_eq!(money("250000.00", "CDF", Lang::Es), "250.000,00\u{a0}CDF");
        assert_eq!(money("0.00", "EUR", Lang::Fr), "0,00\u{a0}€");
    }

    #[test]
    fn only_plain_decimals_are_regrouped() {
        // Proves grouping at every length and that anything else passes through untouched.
        assert_eq!(decimal("1", Lang::En), "1");
        assert_eq!(decimal("123", Lang::En), "123");
        assert_eq!(decimal("1234", Lang::En), "1,234");
        assert_eq!(decimal("123456", Lang::Es), "123.456");
        assert_eq!(decimal("1234567.5", Lang::Fr), "1\u{a0}234\u{a0}567,5");
        assert_eq!(decimal("-12", Lang::Fr), "-12");
        assert_eq!(integer(125_000, Lang::Fr), "125\u{a0}000");
        for odd in ["", "abc", "1.", ".5", "1.2.3", "--1", "1e5", "<b>"] {
            assert_eq!(decimal(odd, Lang::En), odd);
        }
    }

    #[test]
    fn dates_are_written_out_in_each_language() {
        // Proves day, month name and year order per language, and that a non-date passes.
        assert_eq!(date("2026-11-30", Lang::Fr), "30 novembre 2026");
        assert_eq!(date("2026-02-01", Lang::En), "1 February 2026");
        assert_eq!(date("2026-08-15", Lang::Es), "15 de agosto de 2026");
        assert_eq!(date("2026-13-01", Lang::Es), "2026-13-01");
    }
}
