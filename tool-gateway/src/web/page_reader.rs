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
//! ([`super::html_text`]).
//!
//! The page is parsed once (into `dom_query`'s tree, which Readability
//! takes), without its scripts and styles ([`html_prune`]): one walk over it
//! collects the facts and the whole-page text before Readability, which
//! rewrites the tree, is handed the document.

use dom_query::{Document, NodeData, NodeRef};
use serde_json::Value;

use super::html_prune;
use super::html_text::{TextWalker, collapse};

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
    let document = Document::from(html_prune::prune(html));
    let PageScan { mut facts, title, text: whole } = scan(&document);
    if facts.brand.is_none() {
        facts.brand = labelled_brand(&whole);
    }
    let config = dom_smoothie::Config { text_mode: dom_smoothie::TextMode::Markdown, ..Default::default() };
    let url = url.filter(|u| u.starts_with("http://") || u.starts_with("https://"));
    let article = dom_smoothie::Readability::with_document(document, url, Some(config)).ok().and_then(|mut r| r.parse().ok());
    let (title, body) = match article {
        // A product page's "article" is often a stray block (a cookie notice,
        // a credit offer): far shorter than the page, it is not the content.
        Some(a) if a.text_content.trim().chars().count() >= MIN_ARTICLE_CHARS.max(whole.len() / MIN_ARTICLE_SHARE) => {
            let title = Some(a.title.trim().to_string()).filter(|t| !t.is_empty());
            (title, tidy_markdown(&a.text_content))
        }
        other => (other.map(|a| a.title.trim().to_string()).filter(|t| !t.is_empty()).or(title), whole),
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

/// What one walk over the untouched tree yields.
struct PageScan {
    facts: ProductFacts,
    /// `<title>` (not an SVG icon's), else the first `<h1>`.
    title: Option<String>,
    /// The whole page's cleaned text (the fallback).
    text: String,
}

/// One walk in document order: the whole-page text, the title, JSON-LD
/// products, and the first non-empty value of each microdata / meta source
/// (each source ranked as in [`TagFacts::into_facts`]).
fn scan(document: &Document) -> PageScan {
    let mut walker = TextWalker::default();
    let mut tags = TagFacts::default();
    let mut json_ld = ProductFacts::default();
    let (mut title, mut h1) = (None, None);
    let (mut svg_depth, mut brand_depth) = (0usize, 0usize);
    let first_text = |slot: &mut Option<String>, node: &NodeRef| {
        if slot.is_none() {
            *slot = Some(collapse(&node.text())).filter(|t| !t.is_empty());
        }
    };
    // An explicit traversal instead of recursion: real pages nest deeply.
    let mut node = Some(document.root());
    while let Some(current) = node {
        let mut descend = false;
        current.query(|n| match &n.data {
            NodeData::Element(el) => {
                let name: &str = &el.name.local;
                let attr = |key: &str| el.attrs.iter().find(|a| &*a.name.local == key).map(|a| &*a.value);
                walker.open(name, attr);
                match name {
                    "svg" => svg_depth += 1,
                    "title" if svg_depth == 0 => first_text(&mut title, &current),
                    "h1" => first_text(&mut h1, &current),
                    "script" if attr("type").is_some_and(|t| t.trim().eq_ignore_ascii_case("application/ld+json")) => {
                        json_ld_products(&current.text(), &mut json_ld);
                    }
                    "meta" => {
                        if let (Some(property), Some(content)) = (attr("property"), attr("content")) {
                            tags.meta(property, content);
                        }
                    }
                    _ => {}
                }
                if let Some(prop) = attr("itemprop") {
                    let value = || attr("content").map(collapse).unwrap_or_else(|| collapse(&current.text()));
                    tags.itemprop(prop, brand_depth > 0, value);
                    brand_depth += usize::from(prop == "brand");
                }
                descend = true;
            }
            NodeData::Text { contents } => walker.text(contents),
            NodeData::Document | NodeData::Fragment => descend = true,
            _ => {}
        });
        if let Some(child) = descend.then(|| current.first_child()).flatten() {
            node = Some(child);
            continue;
        }
        // Close `current` (if an element) and every ancestor this sibling step leaves.
        let mut closing = Some(current);
        node = None;
        while let Some(closed) = closing {
            closed.query(|n| {
                if let NodeData::Element(el) = &n.data {
                    let name: &str = &el.name.local;
                    walker.close(name);
                    svg_depth -= usize::from(name == "svg");
                    let is_brand = el.attrs.iter().any(|a| &*a.name.local == "itemprop" && &*a.value == "brand");
                    brand_depth -= usize::from(is_brand);
                }
            });
            if let Some(next) = closed.next_sibling() {
                node = Some(next);
                break;
            }
            closing = closed.parent();
        }
    }
    json_ld.merge(tags.into_facts());
    PageScan { facts: json_ld, title: title.or(h1), text: walker.finish() }
}

/// Labels of a spec table's brand row ("Brand: Acme", "Manufacturer : Acme").
const BRAND_LABELS: &[&str] = &["brand name", "brand", "manufacturer"];
/// A longer "value" is prose, not a brand.
const MAX_BRAND_CHARS: usize = 60;

/// The brand a page without structured brand data states in a labelled row of
/// its whole text: "Brand: X" on one line, or the label alone and X on the
/// next (a `<dt>`/`<dd>` pair).
fn labelled_brand(text: &str) -> Option<String> {
    let mut lines = text.lines().map(|l| l.trim_start_matches("- ").trim()).filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        let lower = line.to_lowercase();
        let Some(rest) = BRAND_LABELS.iter().find_map(|label| lower.strip_prefix(label)) else { continue };
        let Some(value) = rest.trim_start().strip_prefix(':') else { continue };
        // `lower` and `line` differ in length only for rare case mappings; then skip.
        let value = if lower.len() == line.len() { line[line.len() - value.len()..].trim() } else { continue };
        let value = if value.is_empty() { lines.next().unwrap_or_default() } else { value };
        if !value.is_empty() && value.chars().count() <= MAX_BRAND_CHARS {
            return Some(value.to_string());
        }
    }
    None
}

/// Facts of every JSON-LD `Product` in `script` (a `<script type="application/ld+json">`'s text).
fn json_ld_products(script: &str, facts: &mut ProductFacts) {
    if let Ok(value) = serde_json::from_str::<Value>(script.trim()) {
        let mut products = Vec::new();
        find_products(&value, &mut products);
        for product in products {
            facts.merge(json_ld_facts(product));
        }
    }
}

/// Every object whose `@type` is (or lists) `Product`, at any depth (`@graph`,
/// arrays, nested `mainEntity`).
fn find_products<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| find_products(v, out)),
        Value::Object(map) => {
            let is_product = match map.get("@type") {
                Some(Value::String(t)) => is_product_type(t),
                Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str().is_some_and(is_product_type)),
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

/// `Product`, `IndividualProduct` ...; some sites write `product`.
fn is_product_type(t: &str) -> bool {
    t.len() >= 7 && t.is_char_boundary(t.len() - 7) && t[t.len() - 7..].eq_ignore_ascii_case("product")
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

/// Microdata (`itemprop`) and Open Graph / product meta tags: the first
/// non-empty value of each, in document order.
#[derive(Default)]
struct TagFacts {
    /// `itemprop="name"` inside an `itemprop="brand"`.
    brand_name: Option<String>,
    brand_meta: Option<String>,
    brand: Option<String>,
    price_meta: Option<String>,
    og_price: Option<String>,
    price: Option<String>,
    currency_meta: Option<String>,
    og_currency: Option<String>,
    currency: Option<String>,
    availability_meta: Option<String>,
    availability: Option<String>,
    sku: Option<String>,
}

fn fill(slot: &mut Option<String>, value: impl FnOnce() -> String) {
    if slot.is_none() {
        *slot = Some(value()).filter(|v| !v.is_empty());
    }
}

impl TagFacts {
    fn meta(&mut self, property: &str, content: &str) {
        let slot = match property {
            "product:brand" => &mut self.brand_meta,
            "product:price:amount" => &mut self.price_meta,
            "og:price:amount" => &mut self.og_price,
            "product:price:currency" => &mut self.currency_meta,
            "og:price:currency" => &mut self.og_currency,
            "product:availability" => &mut self.availability_meta,
            _ => return,
        };
        fill(slot, || collapse(content));
    }

    /// An element with `itemprop="prop"`; `value` is its `content` or text.
    fn itemprop(&mut self, prop: &str, in_brand: bool, value: impl FnOnce() -> String) {
        let slot = match prop {
            "name" if in_brand => &mut self.brand_name,
            "brand" => &mut self.brand,
            "price" => &mut self.price,
            "priceCurrency" => &mut self.currency,
            "availability" => &mut self.availability,
            "sku" => &mut self.sku,
            _ => return,
        };
        fill(slot, value);
    }

    /// Meta tags and nested brand names are more precise than a microdata
    /// element's whole text, so they rank first.
    fn into_facts(self) -> ProductFacts {
        ProductFacts {
            name: None,
            brand: self.brand_name.or(self.brand_meta).or(self.brand),
            price: self.price_meta.or(self.og_price).or(self.price),
            currency: self.currency_meta.or(self.og_currency).or(self.currency),
            availability: self.availability_meta.or(self.availability).map(|a| a.rsplit('/').next().unwrap_or(&a).to_string()),
            sku: self.sku,
        }
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
    fn a_labelled_brand_row_fills_a_missing_brand() {
        assert_eq!(
            labelled_brand("# Watch\n\n- Manufacturer recommended age : 15\n- Manufacturer : CIGA Design").as_deref(),
            Some("CIGA Design")
        );
        assert_eq!(labelled_brand("Brand Outlet\n\nBrand Name:\n\nYONGLI").as_deref(), Some("YONGLI"));
        assert_eq!(labelled_brand("Brand: a brand name far too long to be one, it is a sentence of prose about brands"), None);
        let html =
            "<html><body><main><h1>Boot</h1><p>Leather boot.</p><table><tr><th>Brand:</th><td>GANT</td></tr></table></main></body></html>";
        assert_eq!(read(html, None).facts.brand.as_deref(), Some("GANT"));
    }

    #[test]
    fn microdata_fills_in() {
        let html = r#"<div itemscope itemtype="http://schema.org/Product"><span itemprop="brand">Acme</span><meta itemprop="price" content="12.50"><meta itemprop="priceCurrency" content="USD"></div>"#;
        let facts = read(html, None).facts;
        assert_eq!((facts.brand.as_deref(), facts.price.as_deref(), facts.currency.as_deref()), (Some("Acme"), Some("12.50"), Some("USD")));
    }
}
