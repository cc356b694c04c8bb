//! What tool results found: product ids (with title, price, rating) and URLs. Tool results
//! are JSON text from the tool gateway; plain text is scanned as a fallback so a gateway
//! that returns prose still leads somewhere.

use serde_json::Value;

/// A catalog product as seen in tool results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Product {
    pub id: String,
    pub title: Option<String>,
    pub price: Option<String>,
    pub rating: Option<String>,
}

/// The first product id in a tool result.
pub fn first_product_id(text: &str) -> Option<String> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => products_in(&value).into_iter().next().map(|p| p.id),
        Err(_) => scan_product_ids(text).into_iter().next(),
    }
}

/// The first URL in a tool result.
pub fn first_url(text: &str) -> Option<String> {
    urls_in_text(text).into_iter().next()
}

/// Every product across tool results, first sighting first; later sightings fill in
/// fields the earlier ones lacked (a product page has more than a search hit).
pub fn products(texts: &[String]) -> Vec<Product> {
    let mut all: Vec<Product> = Vec::new();
    let found = texts.iter().flat_map(|text| match serde_json::from_str::<Value>(text) {
        Ok(value) => products_in(&value),
        Err(_) => scan_product_ids(text).into_iter().map(|id| Product { id, ..Product::default() }).collect(),
    });
    for product in found {
        match all.iter_mut().find(|p| p.id == product.id) {
            Some(known) => {
                known.title = known.title.take().or(product.title);
                known.price = known.price.take().or(product.price);
                known.rating = known.rating.take().or(product.rating);
            }
            None => all.push(product),
        }
    }
    all
}

/// The pages a `web_visit` opened, in order: results that are one page (a
/// top-level `url` with the page's text), not a list of search hits nor a
/// catalog product (its listing's `url` was never read as a page).
pub fn visited_pages(texts: &[String]) -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for text in texts {
        let Ok(Value::Object(page)) = serde_json::from_str::<Value>(text) else { continue };
        if let (Some(Value::String(url)), None, None) = (page.get("url"), page.get("results"), page.get("product_id"))
            && !all.contains(url)
        {
            all.push(url.clone());
        }
    }
    all
}

fn urls_in_text(text: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => {
            let mut found = Vec::new();
            walk(&value, &mut |object| {
                if let Some(Value::String(url)) = object.get("url") {
                    found.push(url.clone());
                }
            });
            found
        }
        Err(_) => scan_urls(text),
    }
}

/// Visits every JSON object, parents before children, arrays in order.
fn walk(value: &Value, visit: &mut impl FnMut(&serde_json::Map<String, Value>)) {
    match value {
        Value::Object(object) => {
            visit(object);
            object.values().for_each(|v| walk(v, visit));
        }
        Value::Array(items) => items.iter().for_each(|v| walk(v, visit)),
        _ => {}
    }
}

fn products_in(value: &Value) -> Vec<Product> {
    let mut found = Vec::new();
    walk(value, &mut |object| {
        if let Some(id) = object.get("product_id").and_then(scalar) {
            found.push(Product {
                id,
                title: object.get("title").or_else(|| object.get("name")).and_then(scalar),
                price: object.get("price").and_then(scalar),
                rating: object.get("rating").and_then(scalar),
            });
        }
    });
    found
}

/// A string or number as text; anything else is not a usable field.
fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `product_id: X`, `product_id=X` or `"product_id": "X"` in prose.
fn scan_product_ids(text: &str) -> Vec<String> {
    text.match_indices("product_id")
        .filter_map(|(at, key)| {
            let rest = text[at + key.len()..].trim_start_matches(['"', ' ']);
            let rest = rest.strip_prefix([':', '='])?.trim_start_matches(['"', ' ']);
            let id: String = rest.chars().take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
            let id = id.trim_end_matches('.').to_owned();
            (!id.is_empty()).then_some(id)
        })
        .collect()
}

fn scan_urls(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | '(' | ')'))
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(|w| w.trim_end_matches(['.', ',', ';', ':', '\'', ']']).to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_search_results_in_order_and_merges_sightings() {
        let search =
            r#"{"results":[{"product_id":"B01","title":"One","price":19.5,"rating":4.5},{"product_id":"B02","title":"Two"}],"total":2}"#;
        let page = r#"{"product_id":"B02","title":"Two full","price":30,"rating":4}"#;
        assert_eq!(first_product_id(search).as_deref(), Some("B01"));
        let all = products(&[search.to_owned(), page.to_owned()]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].title.as_deref(), Some("Two"));
        assert_eq!(all[1].price.as_deref(), Some("30"));
        assert_eq!(all[0].price.as_deref(), Some("19.5"));
    }

    #[test]
    fn falls_back_to_scanning_prose() {
        assert_eq!(first_product_id("Found product_id: B0X-1. Nice.").as_deref(), Some("B0X-1"));
        assert_eq!(first_url("see (https://a.example/x), then").as_deref(), Some("https://a.example/x"));
        let web = r#"{"results":[{"url":"https://r.example/1","title":"t","snippet":"s"},{"url":"https://r.example/2"}]}"#;
        assert_eq!(first_product_id("nothing here"), None);
        let page = r#"{"url":"https://r.example/1","title":"t","content":"c"}"#;
        let product = r#"{"product_id":"B01","url":"https://shop.example/p/b01","title":"One"}"#;
        assert_eq!(visited_pages(&[web.to_owned(), page.to_owned(), product.to_owned(), page.to_owned()]), ["https://r.example/1"]);
    }
}
