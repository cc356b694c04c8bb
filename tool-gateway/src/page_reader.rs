//! A fetched web page → what the agent reads: the main content as
//! markdown-ish text (Mozilla Readability's algorithm, via `dom_smoothie`),
//! preceded by the product facts the page states as structured data
//! (schema.org JSON-LD, microdata, Open Graph price tags).
//!
//! Readability is built for articles: on a product page it often keeps the
//! description and loses the price, which sits in a buy box it scores as
//! chrome. Retailers state price, currency, brand and availability as
//! structured data for search engines, so those are read from there. When
//! Readability finds no article, the page's whole cleaned text is used
//! ([`crate::html_text`]).

use scraper::{Html, Selector};
use serde_json::Value;

use crate::html_text::{self, PageText};

/// Below this many characters Readability's article is taken as a miss.
const MIN_ARTICLE_CHARS: usize = 250;
/// An article shorter than 1/this of the whole page's text is taken as a miss.
const MIN_ARTICLE_SHARE: usize = 8;

/// Product facts a page states as structured data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductFacts {
    pub name: Option<String>,
    pub brand: Option<String>,
    pub price: Option<String>,
    pub currency: Option<String>,
    pub availability: Option<String>,
    pub sku: Option<String>,
}

impl ProductFacts {
    fn is_empty(&self) -> bool {
        self.price.is_none() && self.brand.is_none() && self.sku.is_none() && self.availability.is_none()
    }

    /// `key: value` lines, one block.
    fn to_block(&self) -> String {
        let mut lines = Vec::new();
        if let Some(name) = &self.name {
            lines.push(format!("Product: {name}"));
        }
        if let Some(price) = &self.price {
            lines.push(format!("Price: {price}{}", self.currency.as_ref().map(|c| format!(" {c}")).unwrap_or_default()));
        }
        for (key, value) in [("Brand", &self.brand), ("Availability", &self.availability), ("SKU", &self.sku)] {
            if let Some(value) = value {
                lines.push(format!("{key}: {value}"));
            }
        }
        lines.join("\n")
    }

    /// Fills what is still missing from `other`.
    fn merge(&mut self, other: ProductFacts) {
        let fill = |mine: &mut Option<String>, theirs: Option<String>| {
            if mine.is_none() {
                *mine = theirs;
            }
        };
        fill(&mut self.name, other.name);
        fill(&mut self.brand, other.brand);
        fill(&mut self.price, other.price);
        fill(&mut self.currency, other.currency);
        fill(&mut self.availability, other.availability);
        fill(&mut self.sku, other.sku);
    }
}

/// A page read for the agent.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadPage {
    pub title: Option<String>,
    /// Facts block (when the page has one), then the main content.
    pub text: String,
    pub facts: ProductFacts,
}

/// Reads `html` (fetched from `url`, which resolves relative links).
pub fn read(html: &str, url: Option<&str>) -> ReadPage {
    let document = Html::parse_document(html);
    let facts = product_facts(&document);
    let config = dom_smoothie::Config { text_mode: dom_smoothie::TextMode::Markdown, ..Default::default() };
    let url = url.filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    let article = dom_smoothie::Readability::new(html, url, Some(config)).ok().and_then(|mut r| r.parse().ok());
    let whole = html_text::extract_document(&document);
    let (title, body) = match article {
        // A product page's "article" is often a stray block (a cookie notice,
        // a credit offer): far shorter than the page, it is not the content.
        Some(a) if a.text_content.trim().chars().count() >= MIN_ARTICLE_CHARS.max(whole.text.len() / MIN_ARTICLE_SHARE) => {
            let title = Some(a.title.trim().to_string()).filter(|t| !t.is_empty());
            (title, tidy_markdown(&a.text_content))
        }
        other => {
            let PageText { title, text } = whole;
            (other.map(|a| a.title.trim().to_string()).filter(|t| !t.is_empty()).or(title), text)
        }
    };
    let text = if facts.is_empty() { body } else { format!("{}\n\n{body}", facts.to_block()) };
    ReadPage { title: title.or_else(|| facts.name.clone()), text, facts }
}

/// Readability's markdown with runs of blank lines collapsed to one, and
/// trailing spaces dropped.
fn tidy_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines().map(str::trim_end) {
        if line.trim().is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    out
}

/// Facts from JSON-LD first (the most complete source), then microdata and
/// meta tags for what it lacks.
fn product_facts(document: &Html) -> ProductFacts {
    let mut facts = ProductFacts::default();
    let scripts = Selector::parse(r#"script[type="application/ld+json"]"#).expect("static selector");
    for script in document.select(&scripts) {
        let text: String = script.text().collect();
        if let Ok(value) = serde_json::from_str::<Value>(text.trim()) {
            let mut products = Vec::new();
            find_products(&value, &mut products);
            for product in products {
                facts.merge(json_ld_facts(product));
            }
        }
    }
    facts.merge(tag_facts(document));
    facts
}

/// Every object whose `@type` is (or lists) `Product`, at any depth (`@graph`,
/// arrays, nested `mainEntity`).
fn find_products<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| find_products(v, out)),
        Value::Object(map) => {
            let is_product = match map.get("@type") {
                Some(Value::String(t)) => t.ends_with("Product"),
                Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str().is_some_and(|t| t.ends_with("Product"))),
                _ => false,
            };
            if is_product {
                out.push(value);
            } else {
                map.values().for_each(|v| find_products(v, out));
            }
        }
        _ => {}
    }
}

fn json_ld_facts(product: &Value) -> ProductFacts {
    let text = |v: Option<&Value>| -> Option<String> {
        match v? {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            Value::Object(o) => o.get("name").and_then(Value::as_str).map(|s| s.trim().to_string()),
            Value::Array(a) => a.first().and_then(|v| v.as_str()).map(|s| s.trim().to_string()),
            _ => None,
        }
        .filter(|s| !s.is_empty())
    };
    let offers = match product.get("offers") {
        Some(Value::Array(a)) => a.first(),
        other => other,
    };
    let offer = |key: &str| offers.and_then(|o| text(o.get(key)));
    ProductFacts {
        name: text(product.get("name")),
        brand: text(product.get("brand")),
        price: offer("price").or_else(|| offer("lowPrice")),
        currency: offer("priceCurrency"),
        availability: offer("availability").map(|a| a.rsplit('/').next().unwrap_or(&a).to_string()),
        sku: text(product.get("sku")),
    }
}

/// Microdata (`itemprop`) and Open Graph / product meta tags.
fn tag_facts(document: &Html) -> ProductFacts {
    let first = |selectors: &[&str]| -> Option<String> {
        selectors.iter().find_map(|s| {
            let selector = Selector::parse(s).expect("static selector");
            document.select(&selector).find_map(|el| {
                let value = el.value().attr("content").map(str::to_string).unwrap_or_else(|| el.text().collect::<String>());
                Some(value.split_whitespace().collect::<Vec<_>>().join(" ")).filter(|v| !v.is_empty())
            })
        })
    };
    ProductFacts {
        name: None,
        brand: first(&[r#"[itemprop="brand"] [itemprop="name"]"#, r#"meta[property="product:brand"]"#, r#"[itemprop="brand"]"#]),
        price: first(&[r#"meta[property="product:price:amount"]"#, r#"meta[property="og:price:amount"]"#, r#"[itemprop="price"]"#]),
        currency: first(&[
            r#"meta[property="product:price:currency"]"#,
            r#"meta[property="og:price:currency"]"#,
            r#"[itemprop="priceCurrency"]"#,
        ]),
        availability: first(&[r#"meta[property="product:availability"]"#, r#"[itemprop="availability"]"#])
            .map(|a| a.rsplit('/').next().unwrap_or(&a).to_string()),
        sku: first(&[r#"[itemprop="sku"]"#]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_product_facts_come_first() {
        let html = r#"<html><head><title>Deco Lamp | Shop</title>
            <script type="application/ld+json">{"@context":"https://schema.org","@graph":[{"@type":"WebPage"},{"@type":"Product","name":"Deco Lamp","brand":{"@type":"Brand","name":"Lumo"},"sku":"L-1","offers":[{"@type":"Offer","price":"34.99","priceCurrency":"GBP","availability":"https://schema.org/InStock"}]}]}</script>
            </head><body><nav>Home</nav><main><h1>Deco Lamp</h1><p>A lamp.</p></main></body></html>"#;
        let page = read(html, Some("https://shop.example/lamp"));
        assert_eq!(page.facts.price.as_deref(), Some("34.99"));
        assert!(
            page.text.starts_with("Product: Deco Lamp\nPrice: 34.99 GBP\nBrand: Lumo\nAvailability: InStock\nSKU: L-1"),
            "{}",
            page.text
        );
        assert!(page.text.contains("A lamp."));
        assert!(!page.text.contains("Home"));
    }

    #[test]
    fn microdata_fills_in() {
        let html = r#"<div itemscope itemtype="http://schema.org/Product"><span itemprop="brand">Acme</span><meta itemprop="price" content="12.50"><meta itemprop="priceCurrency" content="USD"></div>"#;
        let facts = read(html, None).facts;
        assert_eq!((facts.brand.as_deref(), facts.price.as_deref(), facts.currency.as_deref()), (Some("Acme"), Some("12.50"), Some("USD")));
    }
}
