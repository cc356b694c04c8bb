//! A brand as structured data states it, or nothing: template placeholders
//! (`$metabrand`, `{{brand}}`), labels ("Ver mais artigos da Marca:
//! Roborock", "Marke: Bosch"), "no brand" words and a product's own name are
//! not brands, and the agent is better off without one than misled.

/// Longer values are sentences or product names, not brands.
const MAX_WORDS: usize = 5;
const MAX_CHARS: usize = 40;

/// Values that say there is no brand, in the languages shops write.
const NO_BRAND: &[&str] = &[
    "brand",
    "generic",
    "generico",
    "genérico",
    "generique",
    "générique",
    "unbranded",
    "no brand",
    "nobrand",
    "sin marca",
    "ohne marke",
    "sans marque",
    "senza marca",
    "sem marca",
    "bez marki",
    "marca",
    "marke",
    "marque",
    "merk",
    "marka",
    "n/a",
    "na",
    "none",
    "null",
    "undefined",
    "unknown",
    "-",
    "other",
    "others",
    "otros",
    "autre",
    "andere",
];

/// `raw` as a brand, or `None` when it is not one; `product_name` is the
/// page's product name, which a brand must not simply repeat.
pub fn clean(raw: &str, product_name: Option<&str>) -> Option<String> {
    let value = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if is_placeholder(&value) {
        return None;
    }
    // A label before the brand: keep what follows its last colon.
    let value = match value.rsplit_once(':') {
        Some((_, after)) => after.trim().to_owned(),
        None => value,
    };
    let value = value.trim_matches(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '|' | '-' | '·' | '»')).to_owned();
    let lower = value.to_lowercase();
    if value.is_empty() || NO_BRAND.contains(&lower.as_str()) || value.chars().count() > MAX_CHARS || value.split(' ').count() > MAX_WORDS {
        return None;
    }
    if !value.chars().any(char::is_alphanumeric) {
        return None;
    }
    if product_name.is_some_and(|name| name.trim().to_lowercase() == lower && value.split(' ').count() > 1) {
        return None;
    }
    Some(value)
}

/// Unfilled template variables: `$metabrand`, `${brand}`, `{{ brand }}`,
/// `%BRAND%`, `[brand]`, `<%= brand %>`.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    (v.starts_with('$') && v.len() > 1 && v[1..].chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '{' | '}' | '.')))
        || v.contains("{{")
        || v.contains("}}")
        || v.contains("${")
        || v.contains("<%")
        || (v.starts_with('%') && v.ends_with('%') && v.len() > 2)
        || (v.starts_with('[') && v.ends_with(']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_brands_pass() {
        let cases = [
            ("Roborock", Some("Roborock")),
            ("  Bosch ", Some("Bosch")),
            ("Ver mais artigos da Marca: Roborock", Some("Roborock")),
            ("Marke: Bosch", Some("Bosch")),
            ("$metabrand", None),
            ("{{ product.brand }}", None),
            ("%BRAND%", None),
            ("Generic", None),
            ("Sin marca", None),
            ("Marca", None),
            ("Brand", None),
            ("De'Longhi", Some("De'Longhi")),
            ("Dr. Oetker", Some("Dr. Oetker")),
            ("Mehr Produkte von dieser Marke anzeigen und vergleichen", None),
            ("-", None),
        ];
        for (raw, want) in cases {
            assert_eq!(clean(raw, None).as_deref(), want, "{raw}");
        }
        assert_eq!(clean("Roborock S8 Pro Ultra", Some("Roborock S8 Pro Ultra")), None);
        assert_eq!(clean("Lumo", Some("Lumo")).as_deref(), Some("Lumo"));
    }
}
