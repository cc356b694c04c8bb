//! ShoppingBench Lazada product JSONL (`shared/data/shoppingbench_lazada/products_from_web_simpleqa.jsonl`).
//!
//! Prices are PHP. `short_description` is `;`-separated bullets (kept as
//! features), `specification` is `k:v;k:v`; SKU options, attributes, services
//! and the sold count become specs so they are searchable and shown.

use serde_json::Value;

use super::{json_object, opt_f64, opt_str, required_str};
use crate::catalog::product::{Product, Specs};

pub fn product(line: &str) -> Result<Product, String> {
    let map = json_object(line)?;
    let product_id = required_str(&map, "product_id")?;
    let title = required_str(&map, "title")?;
    let mut specs: Vec<(String, String)> = opt_str(&map, "specification")
        .map(|s| {
            s.split(';')
                .filter_map(|pair| pair.split_once(':'))
                .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
                .filter(|(k, v)| !k.is_empty() && !v.is_empty())
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(attributes)) = map.get("attributes") {
        for (name, values) in attributes {
            let values: Vec<String> = match values {
                Value::Array(a) => a.iter().map(scalar).collect(),
                other => vec![scalar(other)],
            };
            if !specs.iter().any(|(k, _)| k.eq_ignore_ascii_case(name)) && !values.is_empty() {
                specs.push((name.replace('_', " "), values.join(", ")));
            }
        }
    }
    if let Some(Value::Object(options)) = map.get("sku_options") {
        let options: Vec<String> = options
            .values()
            .filter_map(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| format!("{k} {}", scalar(v))).collect::<Vec<_>>().join(" / "))
            .collect();
        if !options.is_empty() {
            specs.push(("Options".into(), options.join("; ")));
        }
    }
    if let Some(Value::Array(service)) = map.get("service") {
        let service: Vec<String> = service.iter().map(scalar).collect();
        if !service.is_empty() {
            specs.push(("Service".into(), service.join(", ")));
        }
    }
    if let Some(sold) = opt_f64(&map, "sold_count") {
        specs.push(("Sold".into(), format!("{sold}")));
    }
    if let Some(shop) = opt_str(&map, "shop_id") {
        specs.push(("Shop id".into(), shop));
    }
    Product {
        brand: opt_str(&map, "brand").filter(|b| !b.eq_ignore_ascii_case("no brand")),
        category: opt_str(&map, "category"),
        price: opt_f64(&map, "price"),
        currency: Some("PHP".into()),
        rating: None,
        rating_count: None,
        description: opt_str(&map, "description"),
        features: opt_str(&map, "short_description")
            .map(|s| s.split(';').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default(),
        specs: Specs(specs),
        reviews: Vec::new(),
        url: opt_str(&map, "product_url"),
        product_id,
        title,
    }
    .checked()
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_a_product() {
        let line = r#"{"product_id": "3706669986", "shop_id": "3450032", "brand": "HEART STRING", "category": "Media > Musical Instruments", "title": "Violin Bow", "short_description": "Warm tone.;Strong stick.;", "description": "Enter the store", "specification": "model:Violin Bow;brand:heart string", "price": 256.0, "sold_count": 2, "sku_options": {"1": {"size": "1/4"}}, "attributes": {"brand": ["heart string"], "music_function": ["tuning"]}, "product_url": "https://www.lazada.com.ph/products/-i3706669986.html", "service": ["COD"]}"#;
        let p = product(line).unwrap();
        assert_eq!((p.price, p.currency.as_deref(), p.brand.as_deref()), (Some(256.0), Some("PHP"), Some("HEART STRING")));
        assert_eq!(p.features, vec!["Warm tone.", "Strong stick."]);
        let keys: Vec<&str> = p.specs.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["model", "brand", "music function", "Options", "Service", "Sold", "Shop id"]);
        assert!(product(r#"{"product_id": "1", "title": "x", "price": -3}"#).unwrap_err().contains("price"));
    }
}
