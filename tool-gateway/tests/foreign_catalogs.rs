//! A catalog in someone else's schema, as a new user brings one: refused
//! with the mapping to write, read with it, searched without accents and
//! filtered on fields it lacks with a note saying so.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tool_gateway::catalog::index_folder;
use tool_gateway::catalog::{Catalog, FieldMapping};
use tool_gateway::{Config, Gateway};

/// Offers as a product-matching data set has them: integer ids, their own
/// field names, nested attribute scores, no prices.
const OFFERS: &[&str] = &[
    r#"{"id": 101, "input_title": "Café Crème Espresso Beans 1 kg", "input_description": "Dark roast, notes of cocoa.", "attributes": {"scores": {"body": 4, "acidity": 2}, "origin": "Brazil"}}"#,
    r#"{"id": 102, "input_title": "Thé Vert Sencha 100 g", "input_description": "Japanese green tea.", "attributes": {"scores": {"body": 1, "acidity": 3}, "origin": "Japan"}}"#,
    r#"{"id": 103, "input_title": "Moka Pot 6 Cups", "input_description": "Aluminium stovetop espresso maker.", "attributes": {"material": "aluminium"}}"#,
];

fn write_offers(dir: &Path) -> PathBuf {
    let path = dir.join("offers.jsonl");
    std::fs::write(&path, OFFERS.join("\n")).unwrap();
    path
}

#[test]
fn a_foreign_file_is_refused_with_the_mapping_to_write() {
    let dir = tempfile::tempdir().unwrap();
    let offers = write_offers(dir.path());
    let err = Catalog::load(std::slice::from_ref(&offers)).unwrap_err().to_string();
    assert!(err.contains("not in the generic catalog schema"), "{err}");
    assert!(err.contains(r#"--map "id=id,title=input_title,description=input_description,specs=attributes""#), "{err}");
    assert!(!err.contains('\n'), "{err}");
    // The index build stops before writing anything.
    let out = dir.path().join("index");
    assert!(index_folder::build(&[(offers, None)], None, &out, &mut |_, _| {}).is_err());
    assert!(!out.exists());
}

#[test]
fn a_type_error_names_its_field() {
    let mut catalog = Catalog::default();
    let report = catalog.add_jsonl(Path::new("c.jsonl"), &br#"{"product_id": 7, "title": "x"}"#[..]).unwrap();
    assert_eq!(report.rejected[0].reason, "field `product_id`: invalid type: integer `7`, expected a string");
    let report = catalog.add_jsonl(Path::new("c.jsonl"), &br#"{"product_id": "a", "title": "x", "rating": "good"}"#[..]).unwrap();
    assert!(report.rejected[0].reason.starts_with("field `rating`: invalid type: string \"good\""), "{:?}", report.rejected);
}

#[tokio::test]
async fn a_mapped_catalog_is_searched_without_accents_and_says_what_filters_cannot_do() {
    let dir = tempfile::tempdir().unwrap();
    let offers = write_offers(dir.path());
    let mapping: FieldMapping = "id=id,title=input_title,description=input_description,specs=attributes".parse().unwrap();
    let out = dir.path().join("index");
    let (manifest, report) = index_folder::build(&[(offers, None)], Some(&mapping), &out, &mut |_, _| {}).unwrap();
    assert_eq!((manifest.products, report.rejected.len()), (3, 0));
    assert_eq!(manifest.sources[0].format.to_string(), "mapped");

    let config = Config { catalogs: vec![out], web_corpus: None, live_fetch: false, ..Config::default() };
    let gateway = Gateway::load(&config).unwrap();
    let search = |args: Value| {
        let gateway = &gateway;
        async move {
            let outcome = gateway.call("product_search", &args.to_string()).await;
            assert!(!outcome.is_error(), "{outcome:?}");
            serde_json::from_str::<Value>(&outcome.content).unwrap()
        }
    };
    let cafe = search(json!({"query": "cafe creme"})).await;
    assert_eq!(cafe["results"][0]["product_id"], "101", "{cafe}");
    assert!(cafe.get("notes").is_none(), "{cafe}");
    let the = search(json!({"query": "THE VERT"})).await;
    assert_eq!(the["results"][0]["product_id"], "102", "{the}");

    let priced = search(json!({"query": "espresso", "max_price": 20})).await;
    assert_eq!(priced["notes"][0], "no product in this catalog has a price, so min_price/max_price matches nothing; search without it");
    // Nothing matched with the filter, so what the keywords match comes back, and the note says so.
    assert_eq!(priced["total"], 2, "both espresso products: {priced}");
    assert_eq!(priced["notes"][1], "no product matches the keywords with max_price 20; these results ignore those filters");

    let visit = gateway.call("visit_product", r#"{"product_id": "101"}"#).await;
    let page: Value = serde_json::from_str(&visit.content).unwrap();
    assert_eq!(page["specs"]["scores.body"], "4", "{page}");
}
