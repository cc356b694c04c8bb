//! Deterministic checks of Check Toolcall: they decide without a model call,
//! before a bad call costs anything.

use std::collections::{HashMap, HashSet};

use productresearch_record::{ToolCall, ToolSpec};

/// The tools' argument schemas and the calls already approved in one trajectory.
pub struct CallChecker {
    validators: HashMap<String, jsonschema::Validator>,
    seen: HashSet<(String, String)>,
}

impl CallChecker {
    /// A checker for the tools in `specs`. A tool whose schema does not compile
    /// is still callable; its arguments are then only checked to be an object.
    pub fn new(specs: &[ToolSpec]) -> Self {
        let validators = specs
            .iter()
            .map(|s| {
                let v = jsonschema::validator_for(&s.parameters).unwrap_or_else(|e| {
                    tracing::warn!(tool = %s.name, error = %e, "tool schema does not compile; its arguments are checked for shape only");
                    jsonschema::validator_for(&serde_json::json!({"type": "object"})).expect("trivial schema compiles")
                });
                (s.name.clone(), v)
            })
            .collect();
        Self { validators, seen: HashSet::new() }
    }

    /// Feedback when the call must be revised, `None` when it passes.
    pub fn check(&self, call: &ToolCall) -> Option<String> {
        let Some(validator) = self.validators.get(&call.name) else {
            let mut names: Vec<&str> = self.validators.keys().map(String::as_str).collect();
            names.sort();
            return Some(format!("There is no tool named \"{}\"; use one of: {}.", call.name, names.join(", ")));
        };
        let args: serde_json::Value = match serde_json::from_str(&call.arguments) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => return Some(format!("The arguments of {} must be one JSON object; got {:?}.", call.name, truncate(&call.arguments, 200))),
        };
        let errors: Vec<String> = validator.iter_errors(&args).take(3).map(|e| e.to_string()).collect();
        if !errors.is_empty() {
            return Some(format!("The arguments of {} do not match its schema: {}.", call.name, errors.join("; ")));
        }
        if self.seen.contains(&key(&call.name, &args)) {
            return Some(format!(
                "You already called {} with exactly these arguments; use that result, or change the arguments to learn something new.",
                call.name
            ));
        }
        None
    }

    /// Remembers an approved call, so an exact repeat is caught.
    pub fn record(&mut self, call: &ToolCall) {
        if let Ok(args) = serde_json::from_str::<serde_json::Value>(&call.arguments) {
            self.seen.insert(key(&call.name, &args));
        }
    }
}

/// Name plus canonical arguments (serde_json objects sort their keys), so
/// `{"a":1,"b":2}` and `{ "b": 2, "a": 1 }` are the same call.
fn key(name: &str, args: &serde_json::Value) -> (String, String) {
    (name.to_string(), args.to_string())
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checker() -> CallChecker {
        CallChecker::new(&[ToolSpec {
            name: "product_search".into(),
            description: "d".into(),
            parameters: json!({"type": "object", "properties": {"query": {"type": "string", "minLength": 1}, "limit": {"type": "integer", "maximum": 20}}, "required": ["query"]}),
        }])
    }

    fn call(name: &str, args: &str) -> ToolCall {
        ToolCall { id: "c".into(), name: name.into(), arguments: args.into() }
    }

    #[test]
    fn unknown_tool_names_the_known_ones() {
        let f = checker().check(&call("web_serch", "{}")).unwrap();
        assert!(f.contains("web_serch") && f.contains("product_search"), "{f}");
    }

    #[test]
    fn schema_violations_are_explained() {
        let c = checker();
        assert!(c.check(&call("product_search", "{\"limit\": 3}")).unwrap().contains("query"));
        assert!(c.check(&call("product_search", "{\"query\": \"x\", \"limit\": 99}")).unwrap().contains("schema"));
        assert!(c.check(&call("product_search", "[1]")).unwrap().contains("one JSON object"));
        assert!(c.check(&call("product_search", "{\"query\": \"x\"}")).is_none());
    }

    #[test]
    fn exact_repeats_are_caught_regardless_of_key_order() {
        let mut c = checker();
        c.record(&call("product_search", "{\"query\": \"x\", \"limit\": 3}"));
        assert!(c.check(&call("product_search", "{ \"limit\": 3, \"query\": \"x\" }")).unwrap().contains("already called"));
        assert!(c.check(&call("product_search", "{\"query\": \"y\", \"limit\": 3}")).is_none());
    }
}
