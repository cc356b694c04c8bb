//! Personal data out of histories before anything sees them: emails, phone
//! numbers, street addresses, order numbers and the names a history marks as
//! the user's become placeholders (`[EMAIL_1]`, `[PHONE_1]`, `[ADDRESS_1]`,
//! `[ORDER_1]`, `[NAME_1]`). Numbering is per history and stable: the same
//! value always gets the same placeholder within one user's history, so a
//! model still sees that two reviews mention the same phone number.
//!
//! The patterns are deliberately narrow. Prices (`$1,299.99`, `₹39`), model
//! numbers (`POR-1081`, `WH-1000XM4`), dates (`2023-03-16`), sizes and
//! quantities must survive: they are what intent inference runs on. Phone
//! numbers therefore need 10 to 13 digits in phone-like groups and no letter or
//! hyphenated word glued to them; order numbers need either Amazon's
//! `3-7-7` shape or the word "order" right before them.

use std::collections::HashMap;
use std::sync::LazyLock;

use productresearch_record::{HistoryEvent, UserHistory};
use regex::Regex;

static EMAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}").expect("email regex"));

/// Phone-like: optional `+CC`, optional `(area)`, then 2-4 digit groups split
/// by space, dot or dash, or one run of 10-12 digits. The digit count is
/// checked afterwards.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\d{1,3}[\s.-]?)?(?:\(\d{2,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,5}){1,4}|\+?\d{10,12}").expect("phone regex")
});

/// Amazon order ids (`404-1234567-1234567`) anywhere.
static AMAZON_ORDER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\b\d{3}-\d{7}-\d{7}\b").expect("order regex"));

/// "order #A1B2C3D4", "order no. 12345678", "order number: 1234-5678", "order id X9..."
static ORDER_AFTER_WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\border\s*(?:no\.?|number|num|id|#)?\s*[:#]?\s*([A-Z0-9][A-Z0-9-]{5,})").expect("order regex"));

/// A house number, one to four capitalised words, a street type, and an
/// optional unit: "221B Baker Street", "12 Main St. Apt 4".
static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b\d{1,5}[A-Za-z]?,?\s+(?:[A-Z][A-Za-z'.-]*\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|Terrace|Way|Highway|Hwy|Nagar|Marg|Cross)\b\.?(?:,?\s+(?:Apt|Apartment|Suite|Unit|Flat|#)\.?\s*[A-Za-z0-9-]+)?",
    )
    .expect("address regex")
});

/// Kinds of personal data, in the order they are replaced (most specific first,
/// so an order id is not taken for a phone number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Email,
    Order,
    Address,
    Phone,
    Name,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Self::Email => "EMAIL",
            Self::Order => "ORDER",
            Self::Address => "ADDRESS",
            Self::Phone => "PHONE",
            Self::Name => "NAME",
        }
    }
}

/// Placeholders of one history: the same value → the same placeholder.
#[derive(Debug, Default)]
struct Placeholders {
    seen: HashMap<(Kind, String), String>,
    counts: HashMap<Kind, usize>,
}

impl Placeholders {
    fn get(&mut self, kind: Kind, value: &str) -> String {
        let key = (kind, normalise(kind, value));
        if let Some(p) = self.seen.get(&key) {
            return p.clone();
        }
        let n = self.counts.entry(kind).or_default();
        *n += 1;
        let p = format!("[{}_{}]", kind.label(), n);
        self.seen.insert(key, p.clone());
        p
    }
}

/// Spelling differences that do not make a different value.
fn normalise(kind: Kind, value: &str) -> String {
    match kind {
        Kind::Phone | Kind::Order => value.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase(),
        _ => value.trim().to_lowercase(),
    }
}

/// What was replaced, by kind (for import reports; never the values).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScrubCounts {
    /// Emails replaced.
    pub emails: usize,
    /// Phone numbers replaced.
    pub phones: usize,
    /// Street addresses replaced.
    pub addresses: usize,
    /// Order numbers replaced.
    pub orders: usize,
    /// User names replaced.
    pub names: usize,
}

impl ScrubCounts {
    /// All replacements.
    pub fn total(&self) -> usize {
        self.emails + self.phones + self.addresses + self.orders + self.names
    }

    fn add(&mut self, kind: Kind) {
        match kind {
            Kind::Email => self.emails += 1,
            Kind::Phone => self.phones += 1,
            Kind::Address => self.addresses += 1,
            Kind::Order => self.orders += 1,
            Kind::Name => self.names += 1,
        }
    }
}

impl std::ops::AddAssign for ScrubCounts {
    fn add_assign(&mut self, o: Self) {
        self.emails += o.emails;
        self.phones += o.phones;
        self.addresses += o.addresses;
        self.orders += o.orders;
        self.names += o.names;
    }
}

/// Replaces personal data in the free text of histories.
#[derive(Debug, Clone, Default)]
pub struct Scrubber {
    _private: (),
}

impl Scrubber {
    /// A scrubbed copy of `history`: the free text the user wrote (reviews,
    /// searches, dialogues). Product titles, ids, categories and numbers are
    /// catalog data, full of part numbers that look like phone numbers, and are
    /// left alone. Running it twice changes nothing.
    pub fn scrub_history(&self, history: &UserHistory) -> UserHistory {
        self.scrub_history_with_names(history, &[]).0
    }

    /// As [`Scrubber::scrub_history`], also replacing `user_names` (the names
    /// the source marks as the user's), and counting the replacements.
    pub fn scrub_history_with_names(&self, history: &UserHistory, user_names: &[String]) -> (UserHistory, ScrubCounts) {
        let names = name_patterns(user_names);
        let mut placeholders = Placeholders::default();
        let mut counts = ScrubCounts::default();
        let events = history
            .events
            .iter()
            .map(|e| HistoryEvent { text: scrub_text(&e.text, &names, &mut placeholders, &mut counts), ..e.clone() })
            .collect();
        (UserHistory { user_id: history.user_id.clone(), events }, counts)
    }

    /// One text on its own (placeholders numbered from 1).
    pub fn scrub_text(&self, text: &str, user_names: &[String]) -> String {
        scrub_text(text, &name_patterns(user_names), &mut Placeholders::default(), &mut ScrubCounts::default())
    }
}

/// Display names that are words of every review ("Amazon Customer", "The"):
/// replacing them would blank ordinary text and protect no one.
const NOT_NAMES: [&str; 16] = [
    "the", "amazon", "customer", "user", "buyer", "client", "good", "nice", "great", "best", "app", "product", "kindle", "flipkart",
    "india", "shop",
];

/// The full names, and each capitalised part of three letters or more ("Vishal
/// Sagara Shetty" → also "Vishal", "Sagara", "Shetty"), as whole-word patterns.
/// A one-word name matches only as written (capitalised), so "Max" the person
/// does not take "max" the setting; generic display names are skipped.
fn name_patterns(user_names: &[String]) -> Vec<(Regex, String)> {
    let mut out: Vec<(Regex, String)> = Vec::new();
    let mut push = |needle: &str, case_insensitive: bool, canonical: &str| {
        let pattern = format!(r"{}\b{}\b", if case_insensitive { "(?i)" } else { "" }, regex::escape(needle));
        if let Ok(re) = Regex::new(&pattern) {
            out.push((re, canonical.to_string()));
        }
    };
    let generic = |w: &str| NOT_NAMES.contains(&w.to_lowercase().as_str());
    for name in user_names.iter().map(|n| n.trim()).filter(|n| n.chars().count() >= 2) {
        let parts: Vec<&str> = name.split_whitespace().collect();
        if parts.iter().all(|p| generic(p)) {
            continue;
        }
        push(name, parts.len() > 1, name);
        if parts.len() > 1 {
            for part in parts.iter().filter(|p| p.chars().count() >= 3 && p.chars().next().is_some_and(char::is_uppercase) && !generic(p)) {
                // Each part maps to the full name: "Vishal" and "Vishal Shetty" are one person.
                push(part, false, name);
            }
        }
    }
    out
}

fn scrub_text(text: &str, names: &[(Regex, String)], placeholders: &mut Placeholders, counts: &mut ScrubCounts) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut out = replace(text, &EMAIL, Kind::Email, placeholders, counts, |_, _| true);
    out = replace(&out, &AMAZON_ORDER, Kind::Order, placeholders, counts, |_, _| true);
    out = replace_group(&out, &ORDER_AFTER_WORD, Kind::Order, placeholders, counts);
    out = replace(&out, &ADDRESS, Kind::Address, placeholders, counts, |text, range| {
        // "USB 3.0 Pen Drive": a house number is a number of its own.
        text[..range.start].chars().next_back().is_none_or(|c| !(c.is_alphanumeric() || matches!(c, '.' | '-' | '/')))
    });
    out = replace(&out, &PHONE, Kind::Phone, placeholders, counts, is_phone);
    for (re, canonical) in names {
        let mut result = String::with_capacity(out.len());
        let mut last = 0;
        for m in re.find_iter(&out) {
            result.push_str(&out[last..m.start()]);
            result.push_str(&placeholders.get(Kind::Name, canonical));
            counts.add(Kind::Name);
            last = m.end();
        }
        result.push_str(&out[last..]);
        out = result;
    }
    out
}

/// Replaces every match of `re` that `keep` accepts (given the text and the match range).
fn replace(
    text: &str,
    re: &Regex,
    kind: Kind,
    placeholders: &mut Placeholders,
    counts: &mut ScrubCounts,
    keep: impl Fn(&str, std::ops::Range<usize>) -> bool,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for m in re.find_iter(text) {
        if !keep(text, m.range()) {
            continue;
        }
        out.push_str(&text[last..m.start()]);
        out.push_str(&placeholders.get(kind, m.as_str()));
        counts.add(kind);
        last = m.end();
    }
    out.push_str(&text[last..]);
    out
}

/// Replaces capture group 1 of every match that contains a digit.
fn replace_group(text: &str, re: &Regex, kind: Kind, placeholders: &mut Placeholders, counts: &mut ScrubCounts) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let Some(g) = caps.get(1) else { continue };
        if !g.as_str().chars().any(|c| c.is_ascii_digit()) || g.as_str().starts_with('[') {
            continue;
        }
        out.push_str(&text[last..g.start()]);
        out.push_str(&placeholders.get(kind, g.as_str()));
        counts.add(kind);
        last = g.end();
    }
    out.push_str(&text[last..]);
    out
}

/// Digit groups of dialled numbers written without `+` or `(area)`: US
/// 3-3-4, UK 3-4-4 / 4-3-4 / 5-6 / 4-6, India 5-5. Part numbers such as
/// `010-01769-01` or `8370-48-3700` have other shapes.
const PHONE_GROUPS: [&[usize]; 7] = [&[3, 3, 4], &[3, 4, 4], &[4, 3, 4], &[5, 5], &[5, 6], &[4, 6], &[2, 4, 4]];

/// Words that make an unbroken run of digits a phone number.
const PHONE_WORDS: [&str; 8] = ["call", "phone", "tel", "mobile", "whatsapp", "contact", "care", "number"];

/// A phone-pattern match is a phone number when it has 10 to 13 digits in a
/// phone-like shape (a `+` or `(area)` prefix, known group lengths, or one run
/// that is an Indian mobile number or follows a word like "call") and is not
/// part of a longer token: no letter, digit, `-`, `/`, `.`, `,`, `=`, `&`,
/// currency sign or placeholder bracket glued to either end (model numbers,
/// prices, dates, versions, URL parameters).
fn is_phone(text: &str, range: std::ops::Range<usize>) -> bool {
    let m = &text[range.clone()];
    let digits = m.chars().filter(char::is_ascii_digit).count();
    if !(10..=13).contains(&digits) {
        return false;
    }
    let groups: Vec<usize> = m.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).map(str::len).collect();
    let shaped = m.starts_with('+')
        || m.contains('(')
        || PHONE_GROUPS.contains(&groups.as_slice())
        || (groups.len() == 1 && (m.len() == 10 && m.starts_with(['6', '7', '8', '9']) || near_phone_word(&text[..range.start])));
    if !shaped {
        return false;
    }
    let glued = |c: char| {
        c.is_alphanumeric()
            || matches!(c, '-' | '/' | '.' | ',' | '_' | '[' | ']' | '$' | '€' | '£' | '₹' | '¥' | ':' | '=' | '&' | '?' | '#')
    };
    let before = text[..range.start].chars().next_back();
    let after = text[range.end..].chars().next();
    // A sentence may end right after a number: "call 555 123 4567."
    let after_ok = match after {
        None => true,
        Some('.') | Some(',') => text[range.end + 1..].chars().next().is_none_or(char::is_whitespace),
        Some(c) => !glued(c),
    };
    before.is_none_or(|c| !glued(c)) && after_ok && !looks_like_date(m)
}

/// True when one of [`PHONE_WORDS`] ends within the 30 bytes before.
fn near_phone_word(before: &str) -> bool {
    let mut start = before.len().saturating_sub(30);
    while !before.is_char_boundary(start) {
        start -= 1;
    }
    let lower = before[start..].to_lowercase();
    PHONE_WORDS.iter().any(|w| lower.contains(w))
}

/// `2023 03 16 1045`-style runs of a year and month digits are timestamps, not phones.
fn looks_like_date(m: &str) -> bool {
    let groups: Vec<&str> = m.split(|c: char| !c.is_ascii_digit()).filter(|g| !g.is_empty()).collect();
    groups.first().is_some_and(|g| g.len() == 4 && (g.starts_with("19") || g.starts_with("20")))
        && groups.get(1).is_some_and(|g| g.len() <= 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::HistoryEventKind;

    fn scrub(text: &str) -> String {
        Scrubber::default().scrub_text(text, &[])
    }

    #[test]
    fn emails_phones_addresses_and_orders_become_placeholders() {
        assert_eq!(scrub("write to jane.doe+shop@mail.example.co.uk now"), "write to [EMAIL_1] now");
        assert_eq!(scrub("call me at +1 (555) 123-4567 after 5"), "call me at [PHONE_1] after 5");
        assert_eq!(scrub("my number is 98765 43210."), "my number is [PHONE_1].");
        assert_eq!(scrub("whatsapp 9876543210 please"), "whatsapp [PHONE_1] please");
        assert_eq!(scrub("Contact our customer care 18001234567 for help"), "Contact our customer care [PHONE_1] for help");
        assert_eq!(scrub("call 555.123.4567"), "call [PHONE_1]");
        assert_eq!(scrub("ship to 221B Baker Street, London"), "ship to [ADDRESS_1], London");
        assert_eq!(scrub("delivered to 12 Main St. Apt 4 yesterday"), "delivered to [ADDRESS_1] yesterday");
        assert_eq!(scrub("order 404-1234567-1234567 was late"), "order [ORDER_1] was late");
        assert_eq!(scrub("Order #A1B2C3D4E5 never came"), "Order #[ORDER_1] never came");
        assert_eq!(scrub("order number: 1234-5678-99 arrived"), "order number: [ORDER_1] arrived");
    }

    #[test]
    fn prices_model_numbers_dates_and_quantities_survive() {
        for text in [
            "Paid $1,299.99 for it, was ₹39 elsewhere, now ₹77,990.",
            "Portronics Konnect L POR-1081 Fast Charging 3A Type-C Cable 1.2Meter",
            "Sony WH-1000XM4 vs WH-1000XM5, also the SM-G991B/DS",
            "Bought on 2023-03-16, returned 16/03/2023, again 2023-03-16T10:45:00Z",
            "Pack of 12, 500 ml, 1500 W, 4.5 stars from 13,391 ratings",
            "ISBN 978-0-306-40615-7, SKU 40615-7",
            "Version 10.0.19045.2604 of the driver",
            "I'd order another one, the order came in 2 days",
            "Fits 2 Street bikes and a 3 Lane track set",
            "size 10 order of 10 pairs",
            "Garmin 010-01769-01 Vivoactive 3 and Adams 8370-48-3700 chairs",
            "see amazon.com/dp/B0029FWGOM/ref=sr_1_1?ie=UTF8&qid=1234567890&sr=8-1",
            "SanDisk Ultra Dual 64 GB USB 3.0 Pen Drive",
            "serial 1234567890 on the box",
        ] {
            assert_eq!(scrub(text), text, "{text}");
        }
    }

    #[test]
    fn placeholders_are_stable_within_a_history_and_counted() {
        let event = |text: &str| HistoryEvent {
            kind: HistoryEventKind::Review,
            timestamp: None,
            product_id: "B01".into(),
            title: "Kettle".into(),
            price: Some(19.99),
            rating: Some(4.0),
            text: text.into(),
            category: "Home".into(),
        };
        let h = UserHistory {
            user_id: "u".into(),
            events: vec![
                event("Mail a@b.com or call 555-123-4567. Thanks, Vishal Shetty"),
                event("Again a@b.com, then c@d.org; Vishal here, 555 123 4567"),
            ],
        };
        let (s, counts) = Scrubber::default().scrub_history_with_names(&h, &["Vishal Shetty".into()]);
        assert_eq!(s.events[0].text, "Mail [EMAIL_1] or call [PHONE_1]. Thanks, [NAME_1]");
        assert_eq!(s.events[1].text, "Again [EMAIL_1], then [EMAIL_2]; [NAME_1] here, [PHONE_1]");
        assert_eq!(counts, ScrubCounts { emails: 3, phones: 2, addresses: 0, orders: 0, names: 2 });
        assert_eq!(s.events[0].price, Some(19.99));
        // Idempotent: placeholders match no pattern.
        assert_eq!(Scrubber::default().scrub_history_with_names(&s, &["Vishal Shetty".into()]).0, s);
    }

    #[test]
    fn names_match_whole_words_only() {
        let s = Scrubber::default();
        assert_eq!(s.scrub_text("Anu liked it; Anuj did not", &["Anu".into()]), "[NAME_1] liked it; Anuj did not");
        assert_eq!(
            s.scrub_text("TANYA RAO says hi, Tanya Rao says bye, Tanya too", &["Tanya Rao".into()]),
            "[NAME_1] says hi, [NAME_1] says bye, [NAME_1] too"
        );
        assert_eq!(s.scrub_text("Max volume, ask Max", &["max".into(), "Amazon Customer".into()]), "Max volume, ask Max");
        assert_eq!(s.scrub_text("The box; bought at Amazon", &["The".into(), "Amazon".into()]), "The box; bought at Amazon");
    }
}
