//! One product of the catalog in our generic JSONL schema (see
//! docs/catalogs.md): what every format converts to, what the index and the
//! tools read.

use std::fmt;

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// One product of the catalog.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Product {
    /// Unique within all loaded catalogs.
    pub product_id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand: Option<String>,
    /// A path such as `Electronics > Audio > Headphones`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// ISO 4217 code, e.g. `USD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Average rating, 0 to 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Bullet points ("about this item"), in the seller's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
    #[serde(default, skip_serializing_if = "Specs::is_empty")]
    pub specs: Specs,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<Review>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One customer review of a product.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Review {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
}

/// Specification key/value pairs in the order the source gave them (sellers put
/// the important ones first, so the order is worth keeping). Numbers and booleans
/// are accepted and kept as their JSON text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Specs(pub Vec<(String, String)>);

impl Specs {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `key: value` lines, for full-text indexing.
    pub fn to_text(&self) -> String {
        self.0.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join("\n")
    }
}

impl<'de> Deserialize<'de> for Specs {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpecsVisitor;
        impl<'de> Visitor<'de> for SpecsVisitor {
            type Value = Specs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Specs, E> {
                Ok(Specs::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Specs, A::Error> {
                let mut pairs = Vec::new();
                while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
                    let value = match value {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Number(n) => n.to_string(),
                        serde_json::Value::Bool(b) => b.to_string(),
                        _ => {
                            return Err(de::Error::custom(format!("spec \"{key}\" must be a string")));
                        }
                    };
                    pairs.push((key, value));
                }
                Ok(Specs(pairs))
            }
        }
        deserializer.deserialize_any(SpecsVisitor)
    }
}

impl Serialize for Specs {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl Product {
    /// Parses one JSONL line; the error is the reason the line is rejected.
    pub fn from_json_line(line: &str) -> Result<Product, String> {
        // serde would read a struct from a JSON array too; a product line is an object.
        if !line.trim_start().starts_with('{') {
            return Err("line is not a JSON object".into());
        }
        // The path names the field of a type error ("rating: invalid type ...");
        // serde_json alone says only what was wrong.
        let product: Product = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(line)).map_err(|e| {
            let path = e.path().to_string();
            let reason = json_reason(e.inner());
            if path == "." || e.inner().is_syntax() || e.inner().is_eof() { reason } else { format!("field `{path}`: {reason}") }
        })?;
        product.checked()
    }

    /// The product if it passes [`Self::check`], else the reason it does not.
    pub(crate) fn checked(self) -> Result<Product, String> {
        self.check()?;
        Ok(self)
    }

    /// Checks what serde cannot: non-blank ids and titles, plausible numbers.
    fn check(&self) -> Result<(), String> {
        if self.product_id.trim().is_empty() {
            return Err("product_id is empty".into());
        }
        if self.title.trim().is_empty() {
            return Err("title is empty".into());
        }
        if let Some(price) = self.price
            && !(price.is_finite() && price >= 0.0)
        {
            return Err(format!("price must be a non-negative number, got {price}"));
        }
        if let Some(rating) = self.rating
            && !(0.0..=5.0).contains(&rating)
        {
            return Err(format!("rating must be between 0 and 5, got {rating}"));
        }
        Ok(())
    }
}

/// serde_json's message without its position: every line is "line 1", and the
/// caller names the real line.
fn json_reason(e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = match message.rsplit_once(" at line ") {
        Some((head, _)) => head.to_string(),
        None => message,
    };
    if e.is_syntax() || e.is_eof() { format!("invalid JSON: {message} (column {})", e.column()) } else { message }
}
