//! Which tools the agent is offered for its next call, with which arguments.
//!
//! A visit opens something a search returned: `visit_product` a `product_id`,
//! `web_visit` a `url`. The offered schema names the targets found so far and
//! not yet opened (an `enum`), and a visit tool with nothing to open is not
//! offered. Small models otherwise open ids they made up or copied from the
//! prompt, or the same page again and again; a grammar-constrained endpoint
//! now cannot, and any model is told exactly what it may open. The narrowed
//! schema is a subset of the gateway's, so every call it admits is one the
//! gateway and the supervisor accept.
//!
//! A tool whose last call was refused as a repeat of an executed one is not
//! offered for the next call: a small model otherwise proposes the same call
//! until the rejections end the trajectory.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use productresearch_record::{ToolCall, ToolSpec};
use serde_json::{Value, json};

/// Argument names that refer to something a tool result returned under the
/// same key.
const REFERENCES: [&str; 2] = ["product_id", "url"];
/// Most targets named in one offered schema (the newest found first).
const MAX_TARGETS: usize = 16;
/// Bound on free-text arguments that have none: a grammar-constrained endpoint
/// cannot ramble in a search query until its token limit.
const MAX_TEXT_CHARS: u32 = 200;

/// What tool results returned and what calls opened, per reference key.
#[derive(Debug, Default, Clone)]
pub struct Grounding {
    /// Targets in the order they were first found.
    found: HashMap<&'static str, Vec<String>>,
    opened: HashMap<&'static str, BTreeSet<String>>,
    /// Calls executed, as (tool, arguments).
    executed: Vec<(String, Value)>,
    /// The tool left out of the next offer after a refused repeat.
    resting: Option<String>,
}

impl Grounding {
    /// Notes the targets a tool result names (JSON results only; an error
    /// message or plain text names none).
    pub fn saw_result(&mut self, content: &str) {
        let Ok(value) = serde_json::from_str::<Value>(content) else { return };
        let mut found = Vec::new();
        collect(&value, &mut found);
        for (key, target) in found {
            let list = self.found.entry(key).or_default();
            if !list.contains(&target) {
                list.push(target);
            }
        }
    }

    /// Notes an approved call and the targets it opens.
    pub fn saw_call(&mut self, call: &ToolCall) {
        self.resting = None;
        let Ok(value) = serde_json::from_str::<Value>(&call.arguments) else { return };
        self.executed.push((call.name.clone(), value.clone()));
        let Value::Object(args) = value else { return };
        for key in REFERENCES {
            if let Some(target) = args.get(key).and_then(Value::as_str) {
                self.opened.entry(key).or_default().insert(target.trim().to_string());
            }
        }
    }

    /// Notes a refused call: a repeat of an executed call rests its tool.
    pub fn saw_refusal(&mut self, call: &ToolCall) {
        let args = serde_json::from_str::<Value>(&call.arguments).ok();
        if self.executed.iter().any(|(name, executed)| *name == call.name && Some(executed) == args.as_ref()) {
            self.resting = Some(call.name.clone());
        }
    }

    /// The tools to offer: visit tools narrowed to the targets still to open
    /// (left out when there are none), a resting tool left out. Only the
    /// narrowed schemas are copied; the rest are the shared set's.
    pub fn offer(&self, tools: &ToolSet) -> Vec<ToolSpec> {
        tools.bounded.iter().filter(|s| self.resting.as_deref() != Some(s.name.as_str())).filter_map(|spec| self.narrow(spec)).collect()
    }

    fn narrow(&self, spec: &ToolSpec) -> Option<ToolSpec> {
        let mut spec = spec.clone();
        for key in references(&spec.parameters) {
            let targets = self.to_open(key);
            if targets.is_empty() {
                return None;
            }
            Arc::make_mut(&mut spec.parameters)["properties"][key]["enum"] = json!(targets);
        }
        Some(spec)
    }

    /// Targets found under `key` and not opened yet, newest first.
    fn to_open(&self, key: &str) -> Vec<&str> {
        let opened = self.opened.get(key);
        self.found
            .get(key)
            .into_iter()
            .flatten()
            .rev()
            .filter(|t| !opened.is_some_and(|o| o.contains(t.as_str())))
            .take(MAX_TARGETS)
            .map(String::as_str)
            .collect()
    }
}

/// A tool list as the sessions use it, built once per list and shared by
/// every session: as the model is told about it, and as callable before a
/// session narrows its visits (free-text arguments bounded). Bounding per
/// request copied every schema, a tenth of the agent's memory at 1,000
/// trajectories in flight.
#[derive(Debug, Clone)]
pub struct ToolSet {
    told: Arc<[ToolSpec]>,
    /// What `told` adds to every request, in characters (for the context
    /// fit; counting means writing out every schema, so it is done here once).
    told_chars: usize,
    bounded: Arc<[ToolSpec]>,
}

impl ToolSet {
    /// The list as the model is told about it.
    pub fn told(&self) -> &Arc<[ToolSpec]> {
        &self.told
    }

    /// The characters [`ToolSet::told`] adds to every request.
    pub fn told_chars(&self) -> usize {
        self.told_chars
    }
}

impl From<Arc<[ToolSpec]>> for ToolSet {
    fn from(told: Arc<[ToolSpec]>) -> Self {
        let bounded = told.iter().map(bound).collect();
        Self { told_chars: crate::context::tool_chars(&told), told, bounded }
    }
}

impl From<Vec<ToolSpec>> for ToolSet {
    fn from(told: Vec<ToolSpec>) -> Self {
        Arc::<[ToolSpec]>::from(told).into()
    }
}

/// `spec` with its free-text arguments bounded (the references, narrowed per
/// request, aside).
fn bound(spec: &ToolSpec) -> ToolSpec {
    let mut spec = spec.clone();
    let references = references(&spec.parameters);
    if let Some(properties) = Arc::make_mut(&mut spec.parameters).get_mut("properties").and_then(Value::as_object_mut) {
        for (name, schema) in properties.iter_mut() {
            if !references.contains(&name.as_str()) && is_free_text(schema) {
                schema["maxLength"] = json!(MAX_TEXT_CHARS);
            }
        }
    }
    spec
}

/// The reference keys `parameters` requires: what a visit opens.
fn references(parameters: &Value) -> Vec<&'static str> {
    let required = parameters.get("required").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let properties = parameters.get("properties").and_then(Value::as_object);
    REFERENCES.into_iter().filter(|key| required.iter().any(|r| r == key) && properties.is_some_and(|p| p.contains_key(*key))).collect()
}

/// A string argument with no bound of its own.
fn is_free_text(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("string")
        && schema.get("enum").is_none()
        && schema.get("const").is_none()
        && schema.get("maxLength").is_none()
}

/// Every `(key, value)` in `value` whose key is a reference and value a
/// non-empty string, at any depth. The `url` of an object that has a
/// `product_id` is that product's page: it is opened with `visit_product`,
/// and `web_visit` would fetch a catalog's page (offline, a shop that does
/// not exist), fail, and end the trajectory on a tool error.
fn collect(value: &Value, out: &mut Vec<(&'static str, String)>) {
    match value {
        Value::Object(map) => {
            let product = map.get("product_id").and_then(Value::as_str).is_some_and(|id| !id.trim().is_empty());
            for (k, v) in map {
                match (REFERENCES.iter().find(|r| *r == k), v) {
                    (Some(&"url"), Value::String(_)) if product => {}
                    (Some(key), Value::String(s)) if !s.trim().is_empty() => out.push((key, s.trim().to_string())),
                    _ => collect(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, reference: Option<&str>) -> ToolSpec {
        let mut properties = json!({"query": {"type": "string", "minLength": 1}, "limit": {"type": "integer"}});
        let mut required = vec!["query"];
        if let Some(r) = reference {
            properties = json!({r: {"type": "string", "minLength": 1}, "goal": {"type": "string"}});
            required = vec![r];
        }
        ToolSpec {
            name: name.into(),
            description: String::new(),
            parameters: json!({"type": "object", "properties": properties, "required": required}).into(),
        }
    }

    fn specs() -> ToolSet {
        ToolSet::from(vec![
            spec("product_search", None),
            spec("visit_product", Some("product_id")),
            spec("web_search", None),
            spec("web_visit", Some("url")),
        ])
    }

    fn names(offered: &[ToolSpec]) -> Vec<&str> {
        offered.iter().map(|s| s.name.as_str()).collect()
    }

    fn call(name: &str, arguments: Value) -> ToolCall {
        ToolCall { id: "c".into(), name: name.into(), arguments: arguments.to_string() }
    }

    #[test]
    fn visits_are_offered_only_once_a_search_found_something() {
        let mut g = Grounding::default();
        assert_eq!(names(&g.offer(&specs())), ["product_search", "web_search"]);
        g.saw_result("no product with id \"x\"; use an id returned by product_search");
        g.saw_result(r#"{"results":[]}"#);
        assert_eq!(names(&g.offer(&specs())), ["product_search", "web_search"]);
        g.saw_result(r#"{"results":[{"product_id":"hp-001","price":1},{"product_id":"hp-002"}]}"#);
        let offered = g.offer(&specs());
        assert_eq!(names(&offered), ["product_search", "visit_product", "web_search"]);
        assert_eq!(offered[1].parameters["properties"]["product_id"]["enum"], json!(["hp-002", "hp-001"]));
    }

    #[test]
    fn a_products_page_is_not_offered_to_web_visit() {
        let mut g = Grounding::default();
        g.saw_result(r#"{"product_id":"rs-009","title":"Trail shoe","url":"https://shop.example/p/rs-009","reviews":[]}"#);
        assert_eq!(names(&g.offer(&specs())), ["product_search", "visit_product", "web_search"]);
        g.saw_result(r#"{"results":[{"url":"https://reviews.example/shoes","title":"Best trail shoes"}]}"#);
        let offered = g.offer(&specs());
        let web_visit = offered.iter().find(|s| s.name == "web_visit").unwrap();
        assert_eq!(web_visit.parameters["properties"]["url"]["enum"], json!(["https://reviews.example/shoes"]));
    }

    #[test]
    fn what_was_opened_is_not_offered_again() {
        let mut g = Grounding::default();
        g.saw_result(r#"{"results":[{"url":"https://a.example/x","title":"A"},{"url":"https://b.example/y"}]}"#);
        g.saw_call(&call("web_visit", json!({"url": "https://b.example/y"})));
        let offered = g.offer(&specs());
        assert_eq!(
            offered.iter().find(|s| s.name == "web_visit").unwrap().parameters["properties"]["url"]["enum"],
            json!(["https://a.example/x"])
        );
        g.saw_call(&call("web_visit", json!({"url": "https://a.example/x", "goal": "price"})));
        assert_eq!(names(&g.offer(&specs())), ["product_search", "web_search"]);
    }

    #[test]
    fn a_refused_repeat_rests_its_tool_until_the_next_approved_call() {
        let mut g = Grounding::default();
        let search = call("product_search", json!({"query": "kettle", "limit": 5}));
        g.saw_call(&search);
        g.saw_refusal(&call("product_search", json!({"query": "other kettle"})));
        assert_eq!(names(&g.offer(&specs())), ["product_search", "web_search"], "a refusal that is no repeat rests nothing");
        g.saw_refusal(&call("product_search", json!({"limit": 5, "query": "kettle"})));
        assert_eq!(names(&g.offer(&specs())), ["web_search"]);
        g.saw_call(&call("web_search", json!({"query": "kettle review"})));
        assert_eq!(names(&g.offer(&specs())), ["product_search", "web_search"]);
    }

    #[test]
    fn free_text_arguments_are_bounded_and_the_rest_kept() {
        let offered = Grounding::default().offer(&specs());
        let props = &offered[0].parameters["properties"];
        assert_eq!(props["query"]["maxLength"], MAX_TEXT_CHARS);
        assert_eq!(props["query"]["minLength"], 1);
        assert!(props["limit"].get("maxLength").is_none());
    }

    #[test]
    fn an_offer_copies_only_the_schemas_it_narrows() {
        let tools = specs();
        let mut g = Grounding::default();
        g.saw_result(r#"{"results":[{"product_id":"hp-001"}]}"#);
        let (first, second) = (g.offer(&tools), g.offer(&tools));
        let search = |o: &[ToolSpec]| o.iter().find(|s| s.name == "product_search").unwrap().parameters.clone();
        assert!(Arc::ptr_eq(&search(&first), &search(&second)), "a bounded schema is shared, not copied per offer");
        let visit = |o: &[ToolSpec]| o.iter().find(|s| s.name == "visit_product").unwrap().parameters.clone();
        assert!(!Arc::ptr_eq(&visit(&first), &visit(&second)));
        assert!(tools.told()[0].parameters["properties"]["query"].get("maxLength").is_none(), "what the model is told is unchanged");
    }

    #[test]
    fn the_narrowed_schema_admits_only_found_targets() {
        let mut g = Grounding::default();
        g.saw_result(r#"{"results":[{"product_id":"hp-001"}]}"#);
        let visit = g.offer(&specs()).into_iter().find(|s| s.name == "visit_product").unwrap();
        let validator = jsonschema::validator_for(&visit.parameters).unwrap();
        assert!(validator.is_valid(&json!({"product_id": "hp-001"})));
        assert!(!validator.is_valid(&json!({"product_id": "hp-999"})));
    }
}
