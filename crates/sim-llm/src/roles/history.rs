//! The user agent's purchase history, as rendered into its prompt:
//! `- [purchase] Title (category: A > B, price: 278.0, rating: 5): review text`,
//! where the parenthesized fields and the review may each be missing.

/// One history line.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HistoryItem {
    pub kind: String,
    pub title: String,
    /// Full category path as written, e.g. `Electronics > Headphones`.
    pub category: Option<String>,
    pub price: Option<f64>,
    pub rating: Option<String>,
    pub review: Option<String>,
}

impl HistoryItem {
    /// The most specific category: the last `>` segment.
    pub fn leaf_category(&self) -> Option<&str> {
        let category = self.category.as_deref()?;
        let leaf = category.rsplit('>').next().unwrap_or(category).trim();
        (!leaf.is_empty()).then_some(leaf)
    }
}

const FIELD_KEYS: [&str; 3] = ["category:", "price:", "rating:"];

/// Every history line in `text`, in order; other lines are ignored.
pub fn parse(text: &str) -> Vec<HistoryItem> {
    text.lines().filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<HistoryItem> {
    let rest = line.trim().strip_prefix("- [")?;
    let (kind, rest) = rest.split_once(']')?;
    let rest = rest.trim();
    let mut item = HistoryItem { kind: kind.trim().to_owned(), ..HistoryItem::default() };

    // Titles may hold parentheses of their own ("Headphones (Black)"), so the field block
    // is the first " (" that opens with a known key.
    let fields_start =
        rest.match_indices(" (").map(|(i, _)| i).find(|&i| FIELD_KEYS.iter().any(|k| rest[i + 2..].trim_start().starts_with(k)));
    let after_title = match fields_start {
        Some(start) => {
            item.title = rest[..start].trim().to_owned();
            let inner_and_tail = &rest[start + 2..];
            // The block ends at "): " before a review, or at a final ")".
            let (inner, tail) = match inner_and_tail.find("):") {
                Some(end) => (&inner_and_tail[..end], &inner_and_tail[end + 2..]),
                None => (inner_and_tail.strip_suffix(')').unwrap_or(inner_and_tail), ""),
            };
            read_fields(inner, &mut item);
            tail
        }
        None => match rest.split_once(": ") {
            Some((title, review)) => {
                item.title = title.trim().to_owned();
                review
            }
            None => {
                item.title = rest.trim_end_matches(':').trim().to_owned();
                ""
            }
        },
    };
    let review = after_title.trim();
    item.review = (!review.is_empty()).then(|| review.to_owned());
    (!item.title.is_empty()).then_some(item)
}

/// Splits `category: A, B > C, price: 1.0, rating: 5` at the keys, not at commas, since
/// category names contain commas ("Clothing, Shoes & Jewelry").
fn read_fields(inner: &str, item: &mut HistoryItem) {
    let mut starts: Vec<(usize, &str)> = FIELD_KEYS
        .iter()
        .filter_map(|key| {
            inner
                .match_indices(key)
                .map(|(i, _)| i)
                .find(|&i| i == 0 || inner[..i].ends_with(", ") || inner[..i].ends_with(' '))
                .map(|i| (i, *key))
        })
        .collect();
    starts.sort_unstable();
    for (n, &(start, key)) in starts.iter().enumerate() {
        let end = starts.get(n + 1).map_or(inner.len(), |&(next, _)| next);
        let value = inner[start + key.len()..end].trim().trim_end_matches(',').trim();
        match key {
            "category:" => item.category = Some(value.to_owned()),
            "price:" => item.price = value.trim_start_matches('$').parse().ok(),
            _ => item.rating = Some(value.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_line() {
        let items = parse(
            "Your history:\n- [purchase] Sony WH-1000XM4 Wireless Headphones (category: Electronics > Headphones, price: 278.0, rating: 5): great noise cancelling\n",
        );
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(item.kind, "purchase");
        assert_eq!(item.title, "Sony WH-1000XM4 Wireless Headphones");
        assert_eq!(item.leaf_category(), Some("Headphones"));
        assert_eq!(item.price, Some(278.0));
        assert_eq!(item.rating.as_deref(), Some("5"));
        assert_eq!(item.review.as_deref(), Some("great noise cancelling"));
    }

    #[test]
    fn partial_lines_and_parenthesized_titles() {
        let items = parse(
            "- [review] Running Shoe (Blue) (category: Clothing, Shoes & Jewelry > Shoes)\n\
             - [purchase] Plain Mug\n\
             - [purchase] Kettle: boils fast\n\
             - not a history line",
        );
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].title, "Running Shoe (Blue)");
        assert_eq!(items[0].category.as_deref(), Some("Clothing, Shoes & Jewelry > Shoes"));
        assert_eq!(items[0].price, None);
        assert_eq!(items[1].title, "Plain Mug");
        assert_eq!(items[2].title, "Kettle");
        assert_eq!(items[2].review.as_deref(), Some("boils fast"));
    }
}
