//! A query's money amounts against the prices in the shopper's history: a
//! small model writes "a budget of $19,000" for headphones when the history's
//! one price is $19. Such an intent is re-asked, not researched.

use productresearch_record::UserHistory;

/// How far above the highest history price a budget may go. Generous: a
/// shopper upgrading from $19 earbuds to $329 headphones is 17x.
const MAX_ABOVE: f64 = 100.0;
/// How far below the lowest history price an amount may go.
const MAX_BELOW: f64 = 50.0;

/// Words after which a bare number is a price ("under 300").
const PRICE_WORDS: [&str; 6] = ["under", "below", "budget", "within", "max", "maximum"];

/// An error phrased as feedback when an amount in `query` is far outside the
/// history's price range; `Ok` when the history has no prices.
pub fn check(query: &str, history: &UserHistory) -> Result<(), String> {
    let prices: Vec<f64> = history.events.iter().filter_map(|e| e.price).filter(|p| p.is_finite() && *p > 0.0).collect();
    let (Some(low), Some(high)) = (prices.iter().copied().reduce(f64::min), prices.iter().copied().reduce(f64::max)) else {
        return Ok(());
    };
    for amount in amounts(query) {
        if amount > high * MAX_ABOVE || amount < low / MAX_BELOW {
            return Err(format!(
                "the query names ${} but the shopper's history has prices from ${low:.0} to ${high:.0}; \
                 use an amount this shopper would plausibly spend",
                fmt(amount)
            ));
        }
    }
    Ok(())
}

/// Money amounts in `text`: `$1,299`, `$1.5k`, `300 dollars`, `300 USD`, `under 300`.
pub fn amounts(text: &str) -> Vec<f64> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    let mut out = Vec::new();
    for (i, raw) in tokens.iter().enumerate() {
        let token = raw.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | '.' | '?' | '!' | ';' | ':'));
        let lower = |j: usize| tokens.get(j).map(|t| t.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase()).unwrap_or_default();
        let (number, marked) = match token.strip_prefix('$').or_else(|| token.strip_prefix("US$")) {
            Some(rest) => (rest, true),
            None => {
                let unit = ["dollars", "dollar", "usd", "bucks"].contains(&lower(i + 1).as_str());
                let cue = i > 0
                    && (PRICE_WORDS.contains(&lower(i - 1).as_str()) || (lower(i - 1) == "of" && lower(i.wrapping_sub(2)) == "budget"));
                (token, unit || cue)
            }
        };
        if marked && let Some(v) = number_value(number) {
            out.push(v);
        }
    }
    out
}

/// `1,299` → 1299, `1.5k` → 1500; `None` when `s` is not a number.
fn number_value(s: &str) -> Option<f64> {
    let (digits, scale) = match s.strip_suffix(['k', 'K']) {
        Some(d) => (d, 1_000.0),
        None => (s, 1.0),
    };
    let clean: String = digits.chars().filter(|c| *c != ',').collect();
    if clean.is_empty() || !clean.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    clean.parse::<f64>().ok().map(|v| v * scale)
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::{HistoryEvent, HistoryEventKind};

    fn history(prices: &[f64]) -> UserHistory {
        UserHistory {
            user_id: "u".into(),
            events: prices
                .iter()
                .map(|p| HistoryEvent {
                    kind: HistoryEventKind::Purchase,
                    timestamp: None,
                    product_id: String::new(),
                    title: "earbuds".into(),
                    price: Some(*p),
                    rating: None,
                    text: String::new(),
                    category: String::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn amounts_are_found_in_their_usual_spellings() {
        assert_eq!(amounts("headphones with a budget of $19,000?"), vec![19_000.0]);
        assert_eq!(amounts("under 300 for commuting, about 2 hours a day"), vec![300.0]);
        assert_eq!(amounts("a $1.5k laptop or 200 dollars tablet"), vec![1_500.0, 200.0]);
        assert_eq!(amounts("budget of 250 and 30 hours battery"), vec![250.0]);
        assert!(amounts("30 hours of battery, 2 colours").is_empty());
    }

    #[test]
    fn far_out_budgets_are_re_asked_and_plausible_ones_pass() {
        let h = history(&[19.0]);
        let err = check("Which noise cancelling headphones with a budget of $19,000 suit my commute?", &h).unwrap_err();
        assert!(err.contains("$19000") && err.contains("$19 to $19"), "{err}");
        assert!(check("Which noise cancelling headphones under $350 suit my commute?", &h).is_ok());
        assert!(check("Which shoes under $0.10 are best?", &history(&[95.0])).is_err());
        assert!(check("Which headphones for $19,000?", &history(&[])).is_ok(), "no prices, nothing to compare");
    }
}
