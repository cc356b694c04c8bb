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
use super::html_text::{TextWalker, collapse, decode_entities, is_consent_notice, is_review_list};
use super::{brand, price};

/// Below this many characters Readability's article is taken as a miss.
const MIN_ARTICLE_CHARS: usize = 250;
/// An article shorter than 1/this of the whole page's text is taken as a miss.
const MIN_ARTICLE_SHARE: usize = 8;

/// Product facts a page states as structured data.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProductFacts {
    pub name: Option<String>,
    pub brand: Option<String>,
    /// The selling price; after [`read`], normalised (`26.00`).
    pub price: Option<String>,
    /// The list (recommended, crossed-out) price, when the page tells it apart.
    pub list_price: Option<String>,
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
        for (label, amount) in [("Price", &self.price), ("List price", &self.list_price)] {
            if let Some(amount) = amount {
                lines.push(format!("{label}: {amount}{}", self.currency.as_ref().map(|c| format!(" {c}")).unwrap_or_default()));
            }
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
        // A selling price and its list price come from the same source.
        if self.price.is_none() {
            self.list_price = other.list_price;
        }
        fill(&mut self.price, other.price);
        fill(&mut self.currency, other.currency);
        fill(&mut self.availability, other.availability);
        fill(&mut self.sku, other.sku);
    }

    /// Entities decoded, brand checked ([`brand::clean`]), prices as an
    /// amount and an ISO currency ([`price::parse`]).
    fn normalise(mut self) -> ProductFacts {
        let decode = |v: Option<String>| v.map(|v| collapse(&decode_entities(&v))).filter(|v| !v.is_empty());
        self.name = decode(self.name);
        self.sku = decode(self.sku);
        self.availability = decode(self.availability);
        self.brand = decode(self.brand).and_then(|b| brand::clean(&b, self.name.as_deref()));
        let currency = self.currency.clone();
        let parse = |v: &Option<String>| v.as_deref().and_then(|v| price::parse(v, currency.as_deref()));
        let (selling, list) = (parse(&self.price), parse(&self.list_price));
        if let Some(selling) = &selling {
            self.currency = selling.currency.clone();
        }
        // Displayed with its currency (which decides the decimals), kept without.
        let amount = |p: price::Price| p.display().split(' ').next().unwrap_or_default().to_owned();
        self.price = selling.map(amount);
        // A "list price" no higher than the selling price tells nothing.
        self.list_price = list.filter(|l| self.price.is_some() && l.amount > 0.0).map(amount).filter(|l| Some(l) != self.price.as_ref());
        self
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
    // Only a product page's reviews are not its content: a review article's are.
    let product_page = is_product_page(html);
    let (PageScan { facts, title, text: whole }, not_content) = scan(&document, product_page);
    let mut facts = facts.normalise();
    if facts.brand.is_none() {
        facts.brand = labelled_brand(&whole).and_then(|b| brand::clean(&b, facts.name.as_deref()));
    }
    // Readability must not take a consent notice or the review list for the
    // content (both are long runs of prose on product pages).
    for node in not_content {
        node.remove_from_parent();
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
    let body = decode_entities(&body);
    let text = if facts.is_empty() { body } else { format!("{}\n\n{body}", facts.to_block()) };
    ReadPage { title: title.or_else(|| facts.name.clone()), text, facts }
}

/// Whether the page states a product as structured data (schema.org or
/// Open Graph), judged on the source before parsing.
fn is_product_page(html: &str) -> bool {
    let lower = html.to_ascii_lowercase();
    ["schema.org/product", "\"product\"", "typeof=\"product\"", "og:type\" content=\"product", "product:price:amount"]
        .iter()
        .any(|m| lower.contains(m))
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
/// (each source ranked as in [`TagFacts::into_facts`]); and the elements
/// that are never the main content (consent notices, and a product page's
/// reviews), found in the same walk: matched by CSS selectors instead, they
/// cost a tenth of the reader's time.
fn scan(document: &Document, product_page: bool) -> (PageScan, Vec<NodeRef<'_>>) {
    let mut walker = if product_page { TextWalker::without_reviews() } else { TextWalker::default() };
    let mut tags = TagFacts::default();
    let mut json_ld = ProductFacts::default();
    let (mut title, mut h1) = (None, None);
    let (mut svg_depth, mut brand_depth, mut struck_depth) = (0usize, 0usize, 0usize);
    let mut not_content = Vec::new();
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
                if is_consent_notice(&attr) || (product_page && is_review_list(&attr)) {
                    not_content.push(current);
                }
                walker.open(name, attr);
                match name {
                    "svg" => svg_depth += 1,
                    "del" | "s" | "strike" => struck_depth += 1,
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
                // Microdata `itemprop`, or RDFa `property` (`schema:price`).
                if let Some(prop) = attr("itemprop").or_else(|| attr("property").map(rdfa_term)) {
                    let value = || attr("content").map(collapse).unwrap_or_else(|| collapse(&current.text()));
                    let list = struck_depth > 0 || attr("class").is_some_and(is_list_price_class);
                    tags.itemprop(prop, Context { in_brand: brand_depth > 0, list_price: list }, value);
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
                    struck_depth -= usize::from(matches!(name, "del" | "s" | "strike"));
                    let is_brand =
                        el.attrs.iter().any(|a| matches!(&*a.name.local, "itemprop" | "property") && rdfa_term(&a.value) == "brand");
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
    (PageScan { facts: json_ld, title: title.or(h1), text: walker.finish() }, not_content)
}

/// An RDFa term without its vocabulary prefix (`schema:price` → `price`).
fn rdfa_term(property: &str) -> &str {
    property.strip_prefix("schema:").or_else(|| property.strip_prefix("s:")).unwrap_or(property)
}

/// Classes shops give a crossed-out or recommended price.
fn is_list_price_class(class: &str) -> bool {
    let class = class.to_ascii_lowercase();
    ["old", "was", "list", "strike", "regular", "rrp", "uvp", "msrp", "before", "crossed"].iter().any(|m| class.contains(m))
}

/// Labels of a spec table's brand row ("Brand: Acme", "Manufacturer : Acme",
/// "Marke" / "Bosch"), in the languages of the shops read.
const BRAND_LABELS: &[&str] = &[
    "brand name",
    "brand",
    "manufacturer",
    "marke",
    "hersteller",
    "marque",
    "fabricant",
    "marca",
    "fabricante",
    "produttore",
    "merk",
    "fabrikant",
    "marka",
    "producent",
    "značka",
    "výrobce",
    "varumärke",
    "tillverkare",
];
/// A longer "value" is prose, not a brand.
const MAX_BRAND_CHARS: usize = 60;

/// The brand a page without structured brand data states in a labelled row of
/// its whole text: "Brand: X" on one line, or the label alone and X on the
/// next (a `<dt>`/`<dd>` pair).
fn labelled_brand(text: &str) -> Option<String> {
    let mut lines = text.lines().map(|l| l.trim_start_matches("- ").trim()).filter(|l| !l.is_empty());
    while let Some(line) = lines.next() {
        let lower = line.to_lowercase();
        let Some(label) = BRAND_LABELS.iter().find(|label| lower.starts_with(*label)) else { continue };
        // `lower` and `line` differ in length only for rare case mappings; then skip.
        if lower.len() != line.len() {
            continue;
        }
        let Some(rest) = line.get(label.len()..) else { continue };
        // "Label: value", the label alone (its value on the next line), or
        // "Label Value" from a table row, when the value is a short name.
        let value = match rest.trim_start().strip_prefix(':') {
            Some(value) => value.trim(),
            None if rest.is_empty() => rest,
            // (Not for English "Brand": "Brand Outlet" is a common link.)
            None if rest.starts_with(' ') && *label != "brand" && is_short_name(rest.trim()) => rest.trim(),
            None => continue,
        };
        let value = if value.is_empty() { lines.next().unwrap_or_default() } else { value };
        if !value.is_empty() && value.chars().count() <= MAX_BRAND_CHARS {
            return Some(value.to_string());
        }
    }
    None
}

/// A capitalised name of at most three words ("Mondial", "Bosch Professional").
fn is_short_name(text: &str) -> bool {
    text.chars().next().is_some_and(|c| c.is_uppercase() || c.is_ascii_digit()) && text.split_whitespace().count() <= 3
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
        Some(Value::Array(a)) => a.iter().find(|o| o.get("price").or_else(|| o.get("lowPrice")).is_some()).or(a.first()),
        other => other,
    };
    let offer = |key: &str| offers.and_then(|o| text(o.get(key)));
    // priceSpecification tells the list (strike-through) price apart.
    let specs: Vec<&Value> = match offers.and_then(|o| o.get("priceSpecification")) {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let is_list = |s: &&Value| {
        s.get("priceType")
            .and_then(Value::as_str)
            .is_some_and(|t| ["ListPrice", "StrikethroughPrice", "MSRP", "SRP"].iter().any(|l| t.ends_with(l)))
    };
    let spec_price = |list: bool| specs.iter().find(|s| is_list(s) == list).and_then(|s| text(s.get("price")));
    // Each brand candidate is checked on its own, so a placeholder here lets
    // another source's brand through.
    let name = text(product.get("name"));
    let brand = text(product.get("brand")).and_then(|b| brand::clean(&decode_entities(&b), name.as_deref()));
    ProductFacts {
        name,
        brand,
        price: offer("price").or_else(|| offer("lowPrice")).or_else(|| spec_price(false)),
        list_price: spec_price(true),
        currency: offer("priceCurrency").or_else(|| specs.first().and_then(|s| text(s.get("priceCurrency")))),
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
    /// `itemprop="name"` outside a brand: the product's (the first one).
    name: Option<String>,
    og_title: Option<String>,
    og_is_product: bool,
    price_meta: Option<String>,
    list_price_meta: Option<String>,
    list_price: Option<String>,
    og_price: Option<String>,
    price: Option<String>,
    currency_meta: Option<String>,
    og_currency: Option<String>,
    currency: Option<String>,
    availability_meta: Option<String>,
    availability: Option<String>,
    sku: Option<String>,
}

/// Where a microdata or RDFa property sits.
struct Context {
    in_brand: bool,
    /// Inside `<del>`/`<s>` or an element with a list-price class.
    list_price: bool,
}

fn fill(slot: &mut Option<String>, value: impl FnOnce() -> String) {
    if slot.is_none() {
        *slot = Some(value()).filter(|v| !v.is_empty());
    }
}

impl TagFacts {
    fn meta(&mut self, property: &str, content: &str) {
        if property == "og:type" {
            self.og_is_product |= content.trim().to_ascii_lowercase().starts_with("product");
            return;
        }
        let slot = match property {
            "og:title" => &mut self.og_title,
            "product:brand" => &mut self.brand_meta,
            "product:sale_price:amount" => &mut self.price_meta,
            "product:price:amount" if self.price_meta.is_some() => &mut self.list_price_meta,
            "product:price:amount" => &mut self.price_meta,
            "product:original_price:amount" | "og:price:standard_amount" => &mut self.list_price_meta,
            "og:price:amount" => &mut self.og_price,
            "product:price:currency" => &mut self.currency_meta,
            "og:price:currency" => &mut self.og_currency,
            "product:availability" => &mut self.availability_meta,
            _ => return,
        };
        fill(slot, || collapse(content));
    }

    /// An element with `itemprop="prop"`; `value` is its `content` or text.
    fn itemprop(&mut self, prop: &str, at: Context, value: impl FnOnce() -> String) {
        let slot = match prop {
            "name" if at.in_brand => &mut self.brand_name,
            "name" => &mut self.name,
            "brand" => &mut self.brand,
            "price" if at.list_price => &mut self.list_price,
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
        let clean = |b: Option<String>| b.and_then(|b| brand::clean(&decode_entities(&b), None));
        let (price, list_price) = match (self.price_meta, self.og_price, self.price) {
            (Some(meta), _, _) => (Some(meta), self.list_price_meta),
            (None, Some(og), _) => (Some(og), self.list_price_meta),
            (None, None, price) => (price.or(self.list_price.clone()), self.list_price.or(self.list_price_meta)),
        };
        ProductFacts {
            name: self.name.or(self.og_title.filter(|_| self.og_is_product)),
            brand: clean(self.brand_name).or(clean(self.brand_meta)).or(clean(self.brand)),
            price,
            list_price,
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
