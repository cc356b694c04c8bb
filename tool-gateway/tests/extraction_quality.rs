//! web_visit's HTML → text against the ground truth in ../shared/data/web_pages:
//! product pages (is the true price shown next to a currency? the brand?) and
//! articles (word-level F1 against the clean article body). Prints the scores
//! of the reader and of the plain whole-page converter, and fails if the
//! reader drops below the level measured when it was chosen (docs/web.md).

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;

use serde_json::Value;
use tool_gateway::web::{html_text, page_reader};

fn data(path: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/web_pages")).join(path)
}

fn gunzip(path: PathBuf) -> String {
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap()).read_to_end(&mut bytes).unwrap();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What the agent would see: the first `visit_max_chars` (default 6000).
const VISIBLE_CHARS: usize = 6000;

/// Two extractors under test: (title, text).
type Extractor = fn(&str, &str) -> (Option<String>, String);

fn reader(html: &str, url: &str) -> (Option<String>, String) {
    let page = page_reader::read(html, Some(url));
    (page.title, page.text)
}

fn whole_page(html: &str, _url: &str) -> (Option<String>, String) {
    let page = html_text::extract(html);
    (page.title, page.text)
}

/// Whether `price` (e.g. "2433") is written in `text` (as "2,433", "2433.00",
/// "£34.99" ...) with a currency marker near it.
fn shows_price(text: &str, price: &str) -> bool {
    let Ok(want) = price.trim().replace(',', "").parse::<f64>() else { return false };
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut number = String::new();
        while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == ',' || chars[i] == '.') {
            if chars[i] != ',' {
                number.push(chars[i]);
            }
            i += 1;
        }
        let number = number.trim_end_matches('.');
        if number.parse::<f64>().is_ok_and(|n| (n - want).abs() < 0.005) {
            let before: String = chars[start.saturating_sub(6)..start].iter().collect();
            let after: String = chars[i..(i + 6).min(chars.len())].iter().collect();
            let near = format!("{before} {after}").to_uppercase();
            if ["$", "£", "€", "₹", "USD", "GBP", "EUR", "CAD", "INR", "RS", "PRICE"].iter().any(|c| near.contains(c)) {
                return true;
            }
        }
    }
    false
}

fn words(text: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        *counts.entry(w.to_lowercase()).or_insert(0) += 1;
    }
    counts
}

/// Bag-of-words F1 of `got` against `want`.
fn f1(got: &str, want: &str) -> f64 {
    let (got, want) = (words(got), words(want));
    let overlap: usize = got.iter().map(|(w, n)| (*n).min(*want.get(w).unwrap_or(&0))).sum();
    let (g, w): (usize, usize) = (got.values().sum(), want.values().sum());
    if overlap == 0 {
        return 0.0;
    }
    let (p, r) = (overlap as f64 / g as f64, overlap as f64 / w as f64);
    2.0 * p * r / (p + r)
}

#[derive(Debug, Default)]
struct Scores {
    price: f64,
    brand: f64,
    article_f1: f64,
    title: f64,
}

fn score(extract: Extractor) -> Scores {
    let truth: HashMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(data("product_pages_zyte/ground-truth.json")).unwrap()).unwrap();
    let (mut priced, mut price_hits, mut branded, mut brand_hits) = (0, 0, 0, 0);
    for (key, t) in &truth {
        let html = gunzip(data(&format!("product_pages_zyte/html/{key}.html.gz")));
        let (_, text) = extract(&html, t["url"].as_str().unwrap_or(""));
        let visible: String = text.chars().take(VISIBLE_CHARS).collect();
        if let Some(price) = t["price"].as_array().and_then(|a| a.first()).and_then(Value::as_str) {
            priced += 1;
            price_hits += usize::from(shows_price(&visible, price));
        }
        if let Some(brand) = t["brand"].as_array().and_then(|a| a.first()).and_then(Value::as_str) {
            branded += 1;
            brand_hits += usize::from(visible.to_lowercase().contains(&brand.trim().to_lowercase()));
        }
    }
    let articles: HashMap<String, Value> =
        serde_json::from_str(&std::fs::read_to_string(data("review_articles_zyte/ground-truth.json")).unwrap()).unwrap();
    let mut f1s = Vec::new();
    for (key, t) in &articles {
        let html = gunzip(data(&format!("review_articles_zyte/html/{key}.html.gz")));
        let (_, text) = extract(&html, t["url"].as_str().unwrap_or(""));
        f1s.push(f1(&text, t["articleBody"].as_str().unwrap()));
    }
    let (mut titles, mut title_hits) = (0, 0);
    for name in ["engadget", "theverge", "yahoo-1", "lifehacker-working", "msn"] {
        let dir = data(&format!("review_articles_readability/{name}"));
        let html = std::fs::read_to_string(dir.join("source.html")).unwrap();
        let expected = html_text::extract(&std::fs::read_to_string(dir.join("expected.html")).unwrap()).text;
        let meta: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("expected-metadata.json")).unwrap()).unwrap();
        let (title, text) = extract(&html, "https://example.com/");
        f1s.push(f1(&text, &expected));
        titles += 1;
        title_hits += usize::from(title.is_some_and(|t| t.contains(meta["title"].as_str().unwrap().trim())));
    }
    Scores {
        price: price_hits as f64 / priced as f64,
        brand: brand_hits as f64 / branded as f64,
        article_f1: f1s.iter().sum::<f64>() / f1s.len() as f64,
        title: title_hits as f64 / titles as f64,
    }
}

/// Measured when the reader was chosen (docs/web.md); a change that loses more
/// than this margin on any score fails.
const MARGIN: f64 = 0.03;
const MEASURED: Scores = Scores { price: 0.959, brand: 0.864, article_f1: 0.827, title: 1.0 };

#[test]
fn extraction_quality_holds_on_the_ground_truth() {
    let baseline = score(whole_page);
    let got = score(reader);
    println!("whole-page converter: {baseline:.3?}");
    println!("reader (readability + structured facts): {got:.3?}");
    assert!(got.price >= MEASURED.price - MARGIN, "price recall {:.3} < {:.3}", got.price, MEASURED.price);
    assert!(got.brand >= MEASURED.brand - MARGIN, "brand recall {:.3} < {:.3}", got.brand, MEASURED.brand);
    assert!(got.article_f1 >= MEASURED.article_f1 - MARGIN, "article F1 {:.3} < {:.3}", got.article_f1, MEASURED.article_f1);
    assert!(got.title >= MEASURED.title - MARGIN, "title {:.3} < {:.3}", got.title, MEASURED.title);
}

#[test]
fn price_matching_needs_the_number_and_a_currency() {
    assert!(shows_price("Now £2,433.00 only", "2433"));
    assert!(shows_price("Price: 34.99 GBP", "34.99"));
    assert!(!shows_price("Model 2433 in stock", "2433"));
    assert!(!shows_price("£34.98", "34.99"));
}
