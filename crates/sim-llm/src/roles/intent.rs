//! User agent: a persona, a shopping query and a grading rubric derived from the purchase
//! history, so each history yields its own, stable research task.

use serde_json::{Value, json};

use super::history::{self, HistoryItem};
use crate::wire::ChatRequest;

/// Used when the history names no category.
const FALLBACK_CATEGORY: &str = "product";

/// What the task is built from.
struct Profile {
    category: String,
    last_title: Option<String>,
    /// 1.5 × the highest price paid, rounded: room for an upgrade.
    budget: Option<u64>,
    items: usize,
    first_review: Option<String>,
}

impl Profile {
    fn from_history(items: &[HistoryItem]) -> Self {
        let max_price = items.iter().filter_map(|i| i.price).fold(None, |max: Option<f64>, p| Some(max.map_or(p, |m| m.max(p))));
        Self {
            category: most_frequent_category(items).unwrap_or(FALLBACK_CATEGORY).to_owned(),
            last_title: items.last().map(|i| i.title.clone()),
            budget: max_price.map(|p| (1.5 * p).round() as u64),
            items: items.len(),
            first_review: items.iter().find_map(|i| i.review.clone()),
        }
    }
}

/// The leaf category seen most often; ties go to the one seen first.
fn most_frequent_category(items: &[HistoryItem]) -> Option<&str> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for leaf in items.iter().filter_map(HistoryItem::leaf_category) {
        match counts.iter_mut().find(|(c, _)| *c == leaf) {
            Some((_, n)) => *n += 1,
            None => counts.push((leaf, 1)),
        }
    }
    // max_by_key returns the last maximum; reversing makes the first one win.
    counts.into_iter().rev().max_by_key(|&(_, n)| n).map(|(c, _)| c)
}

pub fn answer(request: &ChatRequest) -> Value {
    let history_text = request.user_texts().collect::<Vec<_>>().join("\n");
    let profile = Profile::from_history(&history::parse(&history_text));
    let mut intent = json!({
        "persona": persona(&profile),
        "query": query(&profile),
        "rubric": rubric(&profile),
    });
    if let Some((min, max)) = requested_follow_ups(request) {
        intent["follow_ups"] = follow_ups(&profile, min, max);
    }
    if let Some(schema) = request.response_format.as_ref().and_then(|f| f.json_schema.as_ref()).and_then(|s| s.schema.as_ref()) {
        fit_strings(&mut intent, schema);
    }
    intent
}

/// Cuts every string to its schema's `maxLength`, as a grammar-constrained
/// endpoint does (long catalog titles in the persona and query otherwise
/// break the bounds the user agent sets).
fn fit_strings(value: &mut Value, schema: &Value) {
    match value {
        Value::String(s) => {
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && s.chars().count() > max as usize
            {
                *s = s.chars().take(max as usize).collect::<String>().trim_end().to_owned();
            }
        }
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if let Some(sub) = schema.pointer(&format!("/properties/{key}")) {
                    fit_strings(v, sub);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter_mut().enumerate() {
                let sub = schema.get("prefixItems").and_then(|p| p.get(i)).or_else(|| schema.get("items"));
                if let Some(sub) = sub {
                    fit_strings(v, sub);
                }
            }
        }
        _ => {}
    }
}

/// The item bounds of `follow_ups` when the request's schema asks for them
/// (the user agent's multi-turn mode); `None` in single-turn mode.
fn requested_follow_ups(request: &ChatRequest) -> Option<(usize, usize)> {
    let schema = request.response_format.as_ref()?.json_schema.as_ref()?.schema.as_ref()?;
    let spec = schema.get("properties")?.get("follow_ups")?;
    let bound = |key: &str, default: u64| spec.get(key).and_then(Value::as_u64).unwrap_or(default) as usize;
    Some((bound("minItems", 0), bound("maxItems", 3)))
}

/// Up to three turns, one per kind of shift, each a single question.
fn follow_ups(p: &Profile, min: usize, max: usize) -> Value {
    let c = &p.category;
    let turns = [
        (
            "narrow",
            match p.budget {
                Some(b) => format!("Of those, which {c} under {} has the best reviews?", (b as f64 * 0.8).round() as u64),
                None => format!("Of those, which {c} has the best reviews for reliability?"),
            },
        ),
        (
            "change_constraint",
            match p.budget {
                Some(b) => format!("What if I could spend up to {}: which {c} would you pick then?", (b as f64 * 1.5).round() as u64),
                None => format!("What if durability mattered more than price: which {c} would you pick then?"),
            },
        ),
        ("broaden", format!("Are there other brands of {c} worth considering that you left out?")),
    ];
    let n = max.min(turns.len()).max(min.min(turns.len()));
    Value::Array(turns.iter().take(n).map(|(shift, message)| json!({"shift": shift, "message": message})).collect())
}

fn persona(p: &Profile) -> String {
    let Some(last) = &p.last_title else {
        return "A first-time online shopper with no purchase history who wants clear, \
                well-evidenced advice."
            .to_owned();
    };
    let mut persona = format!("A shopper who mostly buys {} items ({} in their history, most recently the {last})", p.category, p.items);
    if let Some(budget) = p.budget {
        persona.push_str(&format!(" and will spend up to {budget} on an upgrade"));
    }
    persona.push('.');
    if let Some(review) = &p.first_review {
        persona.push_str(&format!(" They once wrote: \"{review}\"."));
    }
    persona
}

fn query(p: &Profile) -> String {
    let c = &p.category;
    let ask = format!(
        "Which {c} should I choose? Compare at least three options on price, ratings and reviews, \
         and recommend one."
    );
    match (&p.last_title, p.budget) {
        (Some(last), Some(budget)) => {
            format!("I bought the {last} and now want a {c} upgrade under {budget}. {ask}")
        }
        (Some(last), None) => format!("I bought the {last} and now want a {c} upgrade. {ask}"),
        (None, _) => format!("I want to buy a new {c}. {ask}"),
    }
}

fn criterion(criterion: String, explanation: String, weight: f64) -> Value {
    json!({ "criterion": criterion, "explanation": explanation, "weight": weight })
}

/// Four dimensions weighted 0.3/0.3/0.2/0.2, each with criteria weighted to sum to 1.
fn rubric(p: &Profile) -> Value {
    let c = &p.category;
    let past = p.last_title.as_deref().unwrap_or("their past purchases");
    let budget_criterion = match p.budget {
        Some(budget) => criterion(
            format!("Keeps every recommended {c} under {budget}"),
            format!("The user set a budget of {budget} for the new {c}."),
            0.5,
        ),
        None => criterion(format!("Considers what each {c} costs"), format!("The user wants value for money on the new {c}."), 0.5),
    };
    json!({ "dimensions": [
        { "dimension": "comprehensiveness", "weight": 0.3, "criteria": [
            criterion(format!("Covers at least three {c} options"),
                format!("The user asked to compare at least three {c} options."), 0.4),
            criterion(format!("Reports price, rating and reviews for each {c}"),
                "The user named price, ratings and reviews as the comparison axes.".into(), 0.4),
            criterion(format!("Cites a product id for each {c} mentioned"),
                "Claims must be traceable to catalog evidence.".into(), 0.2),
        ]},
        { "dimension": "depth", "weight": 0.3, "criteria": [
            criterion(format!("Explains the trade-offs between the {c} options"),
                format!("A good answer says why one {c} beats another, not just that it does."), 0.5),
            criterion(format!("Relates the {c} choice to the user's history"),
                format!("The user already owns the {past} and wants an upgrade over it."), 0.5),
        ]},
        { "dimension": "instruction_following", "weight": 0.2, "criteria": [
            budget_criterion,
            criterion(format!("Recommends exactly one {c}"),
                "The user asked for a single recommendation.".into(), 0.5),
        ]},
        { "dimension": "readability", "weight": 0.2, "criteria": [
            criterion(format!("Presents the {c} comparison in a clear structure"),
                "Headings or a list make the options easy to scan.".into(), 0.6),
            criterion(format!("States the final {c} recommendation plainly"),
                "The user should not have to infer the answer.".into(), 0.4),
        ]},
    ]})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<HistoryItem> {
        history::parse(text)
    }

    #[test]
    fn most_frequent_category_wins_ties_by_first_seen() {
        let h = items(
            "- [purchase] A (category: X > Mugs)\n- [purchase] B (category: Y > Kettles)\n\
             - [purchase] C (category: Y > Kettles)\n- [purchase] D (category: X > Mugs)",
        );
        assert_eq!(most_frequent_category(&h), Some("Mugs"));
    }

    #[test]
    fn query_names_last_title_category_and_budget() {
        let h = items(
            "- [purchase] Old Headphones (category: Electronics > Headphones, price: 100)\n\
             - [purchase] Sony WH-1000XM4 (category: Electronics > Headphones, price: 278.0, rating: 5): great",
        );
        let q = query(&Profile::from_history(&h));
        assert!(q.starts_with("I bought the Sony WH-1000XM4 and now want a Headphones upgrade under 417."), "{q}");
    }

    #[test]
    fn follow_ups_come_only_when_the_schema_asks_and_respect_its_bounds() {
        let request = |schema: Value| -> ChatRequest {
            serde_json::from_value(json!({
                "model": "m",
                "messages": [{"role": "user", "content": "- [purchase] Kettle (category: Home > Kettles, price: 40)"}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "intent", "schema": schema}}
            }))
            .unwrap()
        };
        assert!(answer(&request(json!({"properties": {}}))).get("follow_ups").is_none());
        let turns = answer(&request(json!({"properties": {"follow_ups": {"minItems": 2, "maxItems": 3}}})))["follow_ups"].clone();
        let shifts: Vec<&str> = turns.as_array().unwrap().iter().map(|t| t["shift"].as_str().unwrap()).collect();
        assert_eq!(shifts, ["narrow", "change_constraint", "broaden"]);
        assert!(turns.as_array().unwrap().iter().all(|t| t["message"].as_str().unwrap().matches('?').count() == 1));
        let two = answer(&request(json!({"properties": {"follow_ups": {"minItems": 2, "maxItems": 2}}})))["follow_ups"].clone();
        assert_eq!(two.as_array().unwrap().len(), 2);
    }
}
