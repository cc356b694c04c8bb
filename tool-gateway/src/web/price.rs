//! Prices as shops write them → an amount and an ISO 4217 currency.
//!
//! Structured data is meant to hold `"26.00"` and `"EUR"`, but shops write
//! `"26,00 € EUR"`, `"67.8400"`, `"1.299,00"` or `"R$ 1.299,90"`, and the
//! agent must not read `26,00` as twenty-six hundred. Machine values
//! (numbers, dot-decimal strings) are taken as they are; anything else is
//! read with the separator rules of the locales that write it.

/// A normalised price.
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub amount: f64,
    /// ISO 4217, when the value or the page says which.
    pub currency: Option<String>,
}

impl Price {
    /// `amount` with two decimals (none for currencies without minor units,
    /// up to four when the shop gives them), then the currency code.
    pub fn display(&self) -> String {
        let zero_decimals = self.currency.as_deref().is_some_and(|c| ZERO_DECIMAL.contains(&c));
        let amount = if zero_decimals && self.amount.fract() == 0.0 {
            format!("{:.0}", self.amount)
        } else if (self.amount * 100.0 - (self.amount * 100.0).round()).abs() > 1e-6 {
            let text = format!("{:.4}", self.amount);
            text.trim_end_matches('0').to_owned()
        } else {
            format!("{:.2}", self.amount)
        };
        match &self.currency {
            Some(currency) => format!("{amount} {currency}"),
            None => amount,
        }
    }
}

/// Currencies written without minor units.
const ZERO_DECIMAL: &[&str] = &["JPY", "KRW", "CLP", "ISK", "VND", "PYG", "UGX", "XOF", "XAF", "HUF", "COP", "IDR"];

/// Symbols and local abbreviations, longest first so `R$` wins over `$`.
const SYMBOLS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("CA$", "CAD"),
    ("AU$", "AUD"),
    ("NZ$", "NZD"),
    ("MX$", "MXN"),
    ("R$", "BRL"),
    ("C$", "CAD"),
    ("A$", "AUD"),
    ("S/", "PEN"),
    ("zł", "PLN"),
    ("Kč", "CZK"),
    ("Ft", "HUF"),
    ("lei", "RON"),
    ("лв", "BGN"),
    ("€", "EUR"),
    ("£", "GBP"),
    ("₹", "INR"),
    ("¥", "JPY"),
    ("₩", "KRW"),
    ("₽", "RUB"),
    ("₺", "TRY"),
    ("₴", "UAH"),
    ("₱", "PHP"),
    ("฿", "THB"),
    ("₫", "VND"),
    ("$", "USD"),
];

/// ISO codes a price string may carry ("26,00 € EUR", "CHF 49.–").
const CODES: &[&str] = &[
    "EUR", "USD", "GBP", "CHF", "PLN", "CZK", "HUF", "RON", "BGN", "SEK", "NOK", "DKK", "ISK", "BRL", "ARS", "CLP", "COP", "MXN", "PEN",
    "UYU", "CAD", "AUD", "NZD", "INR", "JPY", "CNY", "KRW", "RUB", "TRY", "UAH", "PHP", "THB", "VND", "IDR", "MYR", "SGD", "HKD", "TWD",
    "ZAR", "AED", "SAR", "ILS", "EGP",
];

/// Reads `raw` (a structured-data value or the text of a price element);
/// `currency` is the page's stated currency, which wins over a symbol (`$`
/// is many currencies).
pub fn parse(raw: &str, currency: Option<&str>) -> Option<Price> {
    let raw = raw.trim();
    let stated = currency.map(|c| c.trim().to_ascii_uppercase()).filter(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_alphabetic()));
    let currency = stated.or_else(|| currency_in(raw)).or_else(|| currency.and_then(currency_in));
    // "12.990" in pesos is twelve thousand: a currency without minor units
    // has no decimals to write.
    let grouped =
        currency.as_deref().is_some_and(|c| ZERO_DECIMAL.contains(&c)) && raw.rsplit_once('.').is_some_and(|(_, tail)| tail.len() == 3);
    let machine = if grouped { None } else { machine_amount(raw) };
    let amount = machine.or_else(|| written_amount(raw))?;
    if !(amount.is_finite() && amount >= 0.0) {
        return None;
    }
    Some(Price { amount, currency })
}

/// A dot-decimal number with nothing else (`67.8400`, `1299`, `26.0`):
/// what schema.org asks for.
fn machine_amount(raw: &str) -> Option<f64> {
    let ok = !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit() || c == '.') && raw.matches('.').count() <= 1;
    if ok { raw.parse().ok() } else { None }
}

/// The first number written in `raw`, with `.`/`,`/`'`/spaces read as the
/// locale that wrote it would: the last separator followed by one or two
/// digits is the decimal point; a separator followed by three digits groups
/// thousands.
fn written_amount(raw: &str) -> Option<f64> {
    let start = raw.find(|c: char| c.is_ascii_digit())?;
    let body: String =
        raw[start..].chars().take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '\'' | ' ' | '\u{a0}' | '\u{202f}')).collect();
    let body = body.trim_end_matches(|c: char| !c.is_ascii_digit());
    let groups: Vec<&str> = body.split(|c: char| !c.is_ascii_digit()).collect();
    let separators: Vec<char> = body.chars().filter(|c| !c.is_ascii_digit()).collect();
    let digits: String = groups.concat();
    let (&last, _) = groups.split_last()?;
    let decimal = match separators.last() {
        Some(sep) if matches!(sep, '.' | ',') && (last.len() <= 2 || (last.len() > 3 && groups.len() == 2)) => last.len(),
        // "1.299" or "1,299": one separator and three digits groups thousands,
        // unless the other separator already did ("1,299.5" is handled above).
        _ => 0,
    };
    let (int, frac) = digits.split_at(digits.len() - decimal);
    format!("{}.{}", if int.is_empty() { "0" } else { int }, if frac.is_empty() { "0" } else { frac }).parse().ok()
}

/// The currency a price string names by ISO code or symbol.
fn currency_in(raw: &str) -> Option<String> {
    let upper = raw.to_ascii_uppercase();
    let words: Vec<&str> = upper.split(|c: char| !c.is_ascii_alphabetic()).collect();
    if let Some(code) = CODES.iter().find(|code| words.contains(code)) {
        return Some((*code).to_owned());
    }
    SYMBOLS.iter().find(|(symbol, _)| raw.contains(symbol)).map(|(_, code)| (*code).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(raw: &str, currency: Option<&str>) -> String {
        parse(raw, currency).map(|p| p.display()).unwrap_or_default()
    }

    #[test]
    fn shop_spellings_normalise() {
        let cases = [
            ("26,00 € EUR", None, "26.00 EUR"),
            ("67.8400", Some("EUR"), "67.84 EUR"),
            ("67.8400 EUR", None, "67.84 EUR"),
            ("1.299,00 €", None, "1299.00 EUR"),
            ("1 299,00 zł", None, "1299.00 PLN"),
            ("R$ 1.299,90", None, "1299.90 BRL"),
            ("CHF 1'249.50", None, "1249.50 CHF"),
            ("$1,299.99", None, "1299.99 USD"),
            ("$1,299.99", Some("CAD"), "1299.99 CAD"),
            ("£34.99", None, "34.99 GBP"),
            ("34.99", Some("gbp"), "34.99 GBP"),
            ("1299", Some("EUR"), "1299.00 EUR"),
            ("$ 12.990", Some("CLP"), "12990 CLP"),
            ("12.990", Some("CLP"), "12990 CLP"),
            ("Prezzo: 19,9 €", None, "19.90 EUR"),
            ("0.999", Some("EUR"), "0.999 EUR"),
        ];
        for (raw, currency, want) in cases {
            assert_eq!(shown(raw, currency), want, "{raw} {currency:?}");
        }
        assert_eq!(parse("price on request", None), None);
    }
}
