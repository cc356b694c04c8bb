//! What makes an intent usable downstream, checked without a model: the
//! rubric normalised (each weight group sums to 1), and the query one concrete
//! question the four tools can answer. Each error is phrased as feedback the
//! model can act on when it is re-asked.

use productresearch_record::{Intent, IntentShift};

use crate::prompt::FollowUpRange;

/// Longest query accepted; a longer one is not "one concrete question".
const MAX_QUERY_CHARS: usize = 1_500;
/// Fewest words of a concrete query ("best laptop?" says nothing about the user).
const MIN_QUERY_WORDS: usize = 6;
/// Fewest criteria per rubric dimension (the paper's rubrics have several).
const MIN_CRITERIA: usize = 2;
/// Longest follow-up message.
const MAX_FOLLOW_UP_CHARS: usize = 500;

/// Requests the four tools (product_search, visit_product, web_search,
/// web_visit) cannot serve: account, order and transaction actions.
const OUT_OF_SCOPE: [(&str, &str); 10] = [
    ("track my order", "tracking an order"),
    ("my order status", "looking up an order"),
    ("cancel my order", "cancelling an order"),
    ("place an order", "placing an order"),
    ("buy it for me", "buying for the user"),
    ("add to cart", "changing a cart"),
    ("add it to my cart", "changing a cart"),
    ("my refund", "handling a refund"),
    ("my account", "reading the user's account"),
    ("delivery status", "looking up a delivery"),
];

/// Parses the model's JSON into an intent and checks it. With `follow_ups`
/// the answer must carry that many follow-up turns; without, any are dropped.
pub fn intent(value: serde_json::Value, follow_ups: Option<FollowUpRange>) -> Result<Intent, String> {
    let intent: Intent = serde_json::from_value(value).map_err(|e| format!("the JSON is not an intent: {e}"))?;
    let persona = intent.persona.trim().to_string();
    if persona.is_empty() {
        return Err("persona is empty".into());
    }
    let query = query(&intent.query)?;
    let rubric = intent.rubric.normalized().map_err(|e| e.to_string())?;
    if let Some(thin) = rubric.dimensions.iter().find(|d| d.criteria.len() < MIN_CRITERIA) {
        return Err(format!(
            "rubric dimension {} has {} criterion; give {MIN_CRITERIA} to 3 criteria per dimension, each a distinct check of the answer",
            thin.dimension.name(),
            thin.criteria.len()
        ));
    }
    let follow_ups = match follow_ups {
        None => Vec::new(),
        Some(range) => {
            let n = intent.follow_ups.len();
            if n < range.min || n > range.max {
                return Err(format!("give {} to {} follow_ups, not {n}", range.min, range.max));
            }
            let mut turns = Vec::with_capacity(n);
            for (i, f) in intent.follow_ups.into_iter().enumerate() {
                let message = follow_up(&f.message).map_err(|e| format!("follow_ups[{i}]: {e}"))?;
                turns.push(productresearch_record::FollowUp { shift: f.shift, message });
            }
            // A sequence that only ever narrows is not the intent shift the mode is for.
            if n >= 3 && turns.iter().all(|t| t.shift == turns[0].shift) {
                let name = shift_name(turns[0].shift);
                return Err(format!("the follow_ups all {name}; vary the shifts (narrow, broaden, change_constraint)"));
            }
            turns
        }
    };
    Ok(Intent { persona, query, rubric, follow_ups })
}

/// The query, trimmed, if it is one concrete question the tools can answer.
pub fn query(raw: &str) -> Result<String, String> {
    let q = raw.trim();
    if q.is_empty() {
        return Err("query is empty".into());
    }
    if q.chars().count() > MAX_QUERY_CHARS {
        return Err(format!("query is longer than {MAX_QUERY_CHARS} characters; ask one focused question"));
    }
    single_question(q).map_err(|e| format!("query {e}"))?;
    let words = q.split_whitespace().count();
    if words < MIN_QUERY_WORDS {
        return Err(format!(
            "query has {words} words; make it concrete: the product type and the shopper's constraints (budget, use, must-haves)"
        ));
    }
    let lower = q.to_lowercase();
    if let Some((_, what)) = OUT_OF_SCOPE.iter().find(|(p, _)| lower.contains(p)) {
        return Err(format!(
            "query asks for {what}, which the research tools (product_search, visit_product, web_search, web_visit) cannot do; \
             ask a product research question instead"
        ));
    }
    Ok(q.to_string())
}

fn follow_up(raw: &str) -> Result<String, String> {
    let m = raw.trim();
    if m.is_empty() {
        return Err("message is empty".into());
    }
    if m.chars().count() > MAX_FOLLOW_UP_CHARS {
        return Err(format!("message is longer than {MAX_FOLLOW_UP_CHARS} characters"));
    }
    single_question(m).map_err(|e| format!("message {e}"))?;
    Ok(m.to_string())
}

/// One question: at most one `?`, and not a list of questions on several lines.
fn single_question(text: &str) -> Result<(), String> {
    let marks = text.matches('?').count();
    if marks > 1 {
        return Err(format!("asks {marks} questions; ask exactly one"));
    }
    let list_lines = text.lines().filter(|l| is_list_item(l.trim_start())).count();
    if list_lines > 1 {
        return Err("is a list of items; ask exactly one question in prose".into());
    }
    Ok(())
}

fn is_list_item(line: &str) -> bool {
    line.starts_with("- ") || line.starts_with("* ") || {
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        digits > 0 && matches!(line[digits..].chars().next(), Some('.') | Some(')'))
    }
}

fn shift_name(s: IntentShift) -> &'static str {
    match s {
        IntentShift::Narrow => "narrow",
        IntentShift::Broaden => "broaden",
        IntentShift::ChangeConstraint => "change a constraint",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const Q: &str = "Which quiet electric kettle under 60 should I buy for a small office?";

    fn dims(w: f64) -> serde_json::Value {
        json!(
            ["comprehensiveness", "depth", "instruction_following", "readability"]
                .iter()
                .map(|d| json!({"dimension": d, "weight": w, "criteria": [{"criterion": "c", "explanation": "e", "weight": 2.0}, {"criterion": "d", "explanation": "e", "weight": 6.0}]}))
                .collect::<Vec<_>>()
        )
    }

    fn answer(query: &str) -> serde_json::Value {
        json!({"persona": "p", "query": query, "rubric": {"dimensions": dims(25.0)}})
    }

    #[test]
    fn weights_are_normalised_per_group() {
        let i = intent(answer(&format!("  {Q} ")), None).unwrap();
        assert_eq!(i.query, Q);
        assert!((i.rubric.dimensions.iter().map(|d| d.weight).sum::<f64>() - 1.0).abs() < 1e-9);
        for d in &i.rubric.dimensions {
            assert!((d.criteria.iter().map(|c| c.weight).sum::<f64>() - 1.0).abs() < 1e-9);
            assert!((d.criteria[0].weight - 0.25).abs() < 1e-9);
        }
    }

    #[test]
    fn empty_query_and_bad_rubric_are_rejected() {
        assert!(intent(answer("  "), None).is_err());
        let three = json!({"persona": "p", "query": Q, "rubric": {"dimensions": [dims(1.0)[0], dims(1.0)[1], dims(1.0)[2]]}});
        assert!(intent(three, None).unwrap_err().contains("four dimensions"));
        assert!(intent(json!({"persona": "p", "query": Q}), None).is_err());
        let zero = json!({"persona": "p", "query": Q, "rubric": {"dimensions": dims(0.0)}});
        assert!(intent(zero, None).unwrap_err().contains("weight"));
        let mut thin = dims(1.0);
        thin[1]["criteria"] = json!([{"criterion": "c", "explanation": "e", "weight": 1.0}]);
        let one = intent(json!({"persona": "p", "query": Q, "rubric": {"dimensions": thin}}), None).unwrap_err();
        assert!(one.contains("depth has 1 criterion") && one.contains("2 to 3"), "{one}");
    }

    #[test]
    fn the_query_must_be_one_concrete_answerable_question() {
        let two = intent(answer("Which kettle is quietest? And which one boils fastest for tea?"), None).unwrap_err();
        assert!(two.contains("2 questions"), "{two}");
        let list = intent(answer("Compare these kettles for me:\n1. Kettle A for tea\n2. Kettle B for coffee"), None).unwrap_err();
        assert!(list.contains("list"), "{list}");
        let vague = intent(answer("best kettle?"), None).unwrap_err();
        assert!(vague.contains("concrete"), "{vague}");
        let order = intent(answer("Can you track my order of the kettle I bought last week please?"), None).unwrap_err();
        assert!(order.contains("tracking an order") && order.contains("product_search"), "{order}");
        // A statement with a request and one question is one question.
        assert!(intent(answer("I own a loud kettle. Which quiet kettle under 60 should I get? Compare three."), None).is_ok());
    }

    #[test]
    fn follow_ups_are_checked_when_asked_for_and_dropped_otherwise() {
        let range = Some(FollowUpRange { min: 2, max: 3 });
        let with = |turns: serde_json::Value| {
            let mut a = answer(Q);
            a["follow_ups"] = turns;
            a
        };
        let good = with(json!([
            {"shift": "narrow", "message": "Which of those has a keep-warm mode?"},
            {"shift": "change_constraint", "message": "What if my budget were 90 instead?"}
        ]));
        let i = intent(good.clone(), range).unwrap();
        assert_eq!(i.follow_ups.len(), 2);
        assert_eq!(i.follow_ups[1].shift, IntentShift::ChangeConstraint);
        assert!(intent(good, None).unwrap().follow_ups.is_empty());
        let one = with(json!([{"shift": "narrow", "message": "Which is quietest?"}]));
        assert!(intent(one, range).unwrap_err().contains("2 to 3 follow_ups"));
        let two_questions = with(json!([
            {"shift": "narrow", "message": "Which is quietest? Which is cheapest?"},
            {"shift": "broaden", "message": "Any other brands?"}
        ]));
        assert!(intent(two_questions, range).unwrap_err().contains("follow_ups[0]"));
        let same = with(json!([
            {"shift": "narrow", "message": "Only steel ones?"},
            {"shift": "narrow", "message": "Only 1.7 l ones?"},
            {"shift": "narrow", "message": "Only white ones?"}
        ]));
        assert!(intent(same, range).unwrap_err().contains("vary the shifts"));
        let bad_shift = with(json!([{"shift": "sideways", "message": "x?"}, {"shift": "narrow", "message": "y?"}]));
        assert!(intent(bad_shift, range).is_err());
    }
}
