//! Catalogs in someone else's schema: a field mapping says which of their
//! fields is our `product_id`, `title`, `description` ... (`id=sku,
//! title=input_title, specs=attributes`), given on the command line
//! (`productresearch catalog index --map`) or in the gateway config
//! (`catalog_fields`). Paths may be dotted (`details.brand`); a mapped
//! `specs` object may nest (`{"scores": {"grip": 4}}` becomes the spec
//! `scores.grip: 4`). Fields left unmapped are read by our own names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::formats::json_object;
use super::product::{Product, Review, Specs};

/// Our fields a mapping can name, in the order they are shown.
const TARGETS: [&str; 13] = [
    "id",
    "title",
    "brand",
    "category",
    "price",
    "currency",
    "rating",
    "rating_count",
    "description",
    "features",
    "specs",
    "reviews",
    "url",
];

/// Which source field fills each of our fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldMapping {
    /// (our field, their field path), in the order given.
    pairs: Vec<(&'static str, String)>,
}

impl FieldMapping {
    /// The source path for our field `target` (`id` for `product_id`): the
    /// mapped one, else our own name.
    fn source(&self, target: &str) -> String {
        match self.pairs.iter().find(|(t, _)| *t == target) {
            Some((_, path)) => path.clone(),
            None if target == "id" => "product_id".into(),
            None => target.into(),
        }
    }

    /// Converts one JSONL line; every problem names the field it is about.
    pub fn product(&self, line: &str) -> Result<Product, String> {
        let record = json_object(line)?;
        let field = |target: &str| {
            let path = self.source(target);
            let value = lookup(&record, &path).filter(|v| !v.is_null()).cloned();
            Field { target: if target == "id" { "product_id" } else { target }.into(), path, value }
        };
        let product = Product {
            product_id: field("id").required()?.text()?,
            title: field("title").required()?.text()?,
            brand: field("brand").optional(Field::text)?,
            category: field("category").optional(Field::category)?,
            price: field("price").optional(Field::number)?,
            currency: field("currency").optional(Field::text)?,
            rating: field("rating").optional(Field::number)?,
            rating_count: field("rating_count").optional(Field::number)?.map(|n| n as u64),
            description: field("description").optional(Field::text)?,
            features: field("features").optional(Field::texts)?.unwrap_or_default(),
            specs: field("specs").optional(Field::specs)?.unwrap_or_default(),
            reviews: field("reviews").optional(Field::reviews)?.unwrap_or_default(),
            url: field("url").optional(Field::text)?,
        };
        product.checked()
    }

    /// A mapping for a record in another schema, guessed from its field
    /// names, for the error that tells the user what to write.
    pub fn suggest(record: &Map<String, Value>) -> FieldMapping {
        let keys: Vec<&str> = record.keys().map(String::as_str).collect();
        let find = |accept: &dyn Fn(&str) -> bool| keys.iter().copied().find(|k| accept(&k.to_ascii_lowercase()));
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        let mut add = |target: &'static str, key: Option<&str>| {
            // A field already under our name needs no entry.
            let ours = if target == "id" { "product_id" } else { target };
            if let Some(key) = key.filter(|k| *k != ours && !pairs.iter().any(|(_, used)| used == k)) {
                pairs.push((target, key.to_owned()));
            }
        };
        add("id", find(&|k| matches!(k, "id" | "sku" | "asin" | "gtin" | "ean") || k.ends_with("_id") || k.ends_with("id")));
        add("title", find(&|k| k.contains("title") || k.contains("name")));
        add("brand", find(&|k| k.contains("brand") || k.contains("manufacturer")));
        add("category", find(&|k| k.contains("categ")));
        add("price", find(&|k| k.contains("price")));
        add("description", find(&|k| k.contains("desc")));
        let object = |k: &str| record.get(k).is_some_and(Value::is_object);
        add("specs", keys.iter().copied().find(|k| object(k)));
        add("url", find(&|k| k.contains("url") || k == "link"));
        FieldMapping { pairs }
    }
}

/// One of our fields as found in a record.
struct Field {
    target: String,
    path: String,
    value: Option<Value>,
}

impl Field {
    fn required(self) -> Result<Field, String> {
        match self.value {
            Some(_) => Ok(self),
            None => Err(format!("missing field `{}` (for {})", self.path, self.target)),
        }
    }

    fn optional<T>(self, convert: fn(&Field) -> Result<T, String>) -> Result<Option<T>, String> {
        if self.value.is_none() { Ok(None) } else { convert(&self).map(Some) }
    }

    fn value(&self) -> &Value {
        self.value.as_ref().unwrap_or(&Value::Null)
    }

    fn wrong(&self, expected: &str) -> String {
        format!("field `{}` (for {}): expected {expected}, got {}", self.path, self.target, json_type(self.value()))
    }

    fn text(&self) -> Result<String, String> {
        match self.value() {
            Value::String(s) => Ok(s.trim().to_owned()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(self.wrong("a string")),
        }
    }

    fn number(&self) -> Result<f64, String> {
        let number = match self.value() {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        number.filter(|n| n.is_finite()).ok_or_else(|| self.wrong("a number"))
    }

    /// A path string, or a list of levels joined as `A > B`.
    fn category(&self) -> Result<String, String> {
        match self.value() {
            Value::Array(levels) => Ok(levels.iter().filter_map(scalar_text).collect::<Vec<_>>().join(" > ")),
            _ => self.text(),
        }
    }

    fn texts(&self) -> Result<Vec<String>, String> {
        match self.value() {
            Value::Array(items) => Ok(items.iter().filter_map(scalar_text).collect()),
            Value::String(s) => Ok(vec![s.trim().to_owned()]),
            _ => Err(self.wrong("a list of strings")),
        }
    }

    fn specs(&self) -> Result<Specs, String> {
        let Value::Object(map) = self.value() else {
            return Err(self.wrong("an object"));
        };
        let mut pairs = Vec::new();
        flatten("", map, &mut pairs);
        Ok(Specs(pairs))
    }

    fn reviews(&self) -> Result<Vec<Review>, String> {
        serde_json::from_value(self.value().clone()).map_err(|e| format!("field `{}` (for reviews): {e}", self.path))
    }
}

/// Nested objects as dotted keys; lists of scalars joined with commas.
fn flatten(prefix: &str, map: &Map<String, Value>, out: &mut Vec<(String, String)>) {
    for (key, value) in map {
        let key = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            Value::Object(inner) => flatten(&key, inner, out),
            Value::Array(items) => out.push((key, items.iter().filter_map(scalar_text).collect::<Vec<_>>().join(", "))),
            Value::Null => {}
            other => out.push((key, scalar_text(other).unwrap_or_default())),
        }
    }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `a.b.c` inside nested objects; a key that itself contains dots wins.
fn lookup<'a>(record: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(value) = record.get(path) {
        return Some(value);
    }
    let (head, rest) = path.split_once('.')?;
    match record.get(head)? {
        Value::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

/// A JSON value's type as an error message names it ("a string").
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl FromStr for FieldMapping {
    type Err = String;

    /// `id=sku, title=input_title, specs=attributes` (`product_id=` works for `id=`).
    fn from_str(text: &str) -> Result<FieldMapping, String> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((ours, theirs)) = part.split_once('=') else {
                return Err(format!("field mapping entry \"{part}\" is not ours=theirs (e.g. title=input_title)"));
            };
            let ours = ours.trim();
            let ours = if ours == "product_id" { "id" } else { ours };
            let Some(target) = TARGETS.iter().copied().find(|t| *t == ours) else {
                return Err(format!("field mapping names unknown field \"{ours}\" (ours are: {})", TARGETS.join(", ")));
            };
            let theirs = theirs.trim();
            if theirs.is_empty() {
                return Err(format!("field mapping gives no source field for \"{target}\""));
            }
            if pairs.iter().any(|(t, _)| *t == target) {
                return Err(format!("field mapping names \"{target}\" twice"));
            }
            pairs.push((target, theirs.to_owned()));
        }
        if pairs.is_empty() {
            return Err("field mapping is empty (e.g. id=sku,title=name)".into());
        }
        Ok(FieldMapping { pairs })
    }
}

impl fmt::Display for FieldMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.pairs.iter().map(|(ours, theirs)| format!("{ours}={theirs}")).collect();
        f.write_str(&parts.join(","))
    }
}

/// In config files the mapping is the same one-line string as on the
/// command line.
impl Serialize for FieldMapping {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FieldMapping {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOREIGN: &str = r#"{"id": 8812, "input_title": "Café Crème Espresso Beans 1 kg", "input_description": "Dark roast from Brazil.", "attributes": {"scores": {"body": 4, "acidity": 2}, "origin": "Brazil", "notes": ["cocoa", "nut"]}, "price": "14.90"}"#;

    #[test]
    fn a_mapping_reads_a_foreign_record() {
        let mapping: FieldMapping = "id=id, title=input_title, description=input_description, specs=attributes".parse().unwrap();
        let p = mapping.product(FOREIGN).unwrap();
        assert_eq!(p.product_id, "8812");
        assert_eq!(p.title, "Café Crème Espresso Beans 1 kg");
        assert_eq!(p.description.as_deref(), Some("Dark roast from Brazil."));
        // Unmapped fields are read by our own names.
        assert_eq!(p.price, Some(14.9));
        let specs: Vec<(&str, &str)> = p.specs.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        // serde_json's objects are sorted by key.
        assert_eq!(specs, [("notes", "cocoa, nut"), ("origin", "Brazil"), ("scores.acidity", "2"), ("scores.body", "4")]);
        assert_eq!(mapping.to_string(), "id=id,title=input_title,description=input_description,specs=attributes");
    }

    #[test]
    fn every_problem_names_its_field() {
        let mapping: FieldMapping = "id=sku,title=name,specs=attributes,rating=stars".parse().unwrap();
        let cases = [
            (r#"{"name": "x"}"#, "missing field `sku` (for product_id)"),
            (r#"{"sku": [1], "name": "x"}"#, "field `sku` (for product_id): expected a string, got an array"),
            (r#"{"sku": "1", "name": "x", "attributes": "red"}"#, "field `attributes` (for specs): expected an object, got a string"),
            (r#"{"sku": "1", "name": "x", "stars": "five"}"#, "field `stars` (for rating): expected a number, got a string"),
            (r#"{"sku": "1", "name": "x", "stars": 7}"#, "rating must be between 0 and 5, got 7"),
        ];
        for (line, want) in cases {
            assert_eq!(mapping.product(line).unwrap_err(), want, "{line}");
        }
        let nested: FieldMapping = "id=sku,title=info.name,brand=info.maker".parse().unwrap();
        let p = nested.product(r#"{"sku": "a", "info": {"name": "Grinder", "maker": "Baratza"}}"#).unwrap();
        assert_eq!((p.title.as_str(), p.brand.as_deref()), ("Grinder", Some("Baratza")));
    }

    #[test]
    fn bad_mappings_are_refused_with_the_fix() {
        for (text, want) in [
            ("id=sku,colour=c", "unknown field \"colour\" (ours are: id, title, brand"),
            ("id", "\"id\" is not ours=theirs"),
            ("id=a,id=b", "names \"id\" twice"),
            ("title=", "no source field for \"title\""),
            ("", "field mapping is empty"),
        ] {
            let err = text.parse::<FieldMapping>().unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
        let m: FieldMapping = serde_json::from_str(r#""product_id=sku,title=name""#).unwrap();
        assert_eq!(m.to_string(), "id=sku,title=name");
    }

    #[test]
    fn a_mapping_is_suggested_from_field_names() {
        let record = json_object(FOREIGN).unwrap();
        assert_eq!(FieldMapping::suggest(&record).to_string(), "id=id,title=input_title,description=input_description,specs=attributes");
    }
}
