//! What the client itself tells a model — the text form of tool use (tool
//! catalog, tool results), re-asks, the request for the prose report — as the
//! built-in templates `llm/*` (docs/prompts.md). They are the protocol the
//! answer parsers (here and in the simulated model) rely on, so they are not
//! overridden per deployment: the built-ins always render with the variables
//! given here (every template is rendered by this module's tests).

use productresearch_prompts::PromptSet;
use serde::Serialize;

/// Renders the built-in template `llm/<name>` with `vars`.
pub(crate) fn say(name: &str, vars: impl Serialize) -> String {
    let name = format!("llm/{name}");
    match PromptSet::builtin().render(&name, vars) {
        Ok(rendered) => rendered.text,
        // Unreachable with the built-ins and this module's variables (tested).
        Err(e) => panic!("built-in template {name} does not render: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use productresearch_record::ToolSpec;
    use serde_json::json;

    use super::*;
    use crate::config::ToolMode;
    use crate::message::{Message, ToolChoice};
    use crate::text_tools::{Offer, to_text_form};

    fn tools() -> Vec<ToolSpec> {
        vec![
            ToolSpec {
                name: "product_search".into(),
                description: "Search the catalog.\nReturns ids.".into(),
                parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}).into(),
            },
            ToolSpec {
                name: "visit_product".into(),
                description: "Open one product.".into(),
                parameters: json!({"type": "object"}).into(),
            },
        ]
    }

    fn system(mode: ToolMode, offer: Offer, report_chars: Option<u32>) -> String {
        to_text_form(&[Message::system("sys")], &tools(), mode, offer, report_chars)[0].content.clone().unwrap()
    }

    // The texts the code wrote inline before they were templates, byte for byte.
    #[test]
    fn the_tool_catalog_is_the_former_inline_text() {
        let [search, visit] = [0, 1].map(|i| tools()[i].parameters.to_string());
        let head = format!(
            "sys\n\nAvailable tools (JSON schemas):\n- product_search: {search}\n- visit_product: {visit}\nTool descriptions:\n\
             - product_search: Search the catalog. Returns ids.\n- visit_product: Open one product.\n"
        );
        let cases = [
            (
                ToolMode::Lenient,
                Offer::ReportOnly,
                Some(1200),
                "Do not call a tool now: write the final report. Keep the report under 200 words.",
            ),
            (
                ToolMode::JsonSchema,
                Offer::CallOnly,
                Some(1200),
                "Answer with exactly one JSON object {\"tool\": \"<name>\", \"arguments\": {...}} to call one tool: gather evidence before the report.",
            ),
            (
                ToolMode::Lenient,
                Offer::CallOnly,
                None,
                "Call one tool now: answer with one JSON object {\"tool\": \"<name>\", \"arguments\": {...}} and nothing else. Gather evidence before the report.",
            ),
            (
                ToolMode::JsonSchema,
                Offer::CallOrReport,
                Some(600),
                "Answer with exactly one JSON object: {\"tool\": \"<name>\", \"arguments\": {...}} to call one tool, or {\"report\": \"\"} once you \
                 have the evidence for the final report (you are then asked to write it). Keep the report under 100 words.",
            ),
            (
                ToolMode::Lenient,
                Offer::CallOrReport,
                None,
                "To call a tool, answer with one JSON object {\"tool\": \"<name>\", \"arguments\": {...}} and nothing else. When you are done, \
                 answer with the final report in Markdown, without JSON.",
            ),
        ];
        for (mode, offer, chars, instruction) in cases {
            assert_eq!(system(mode, offer, chars), format!("{head}{instruction}"), "{mode:?} {offer:?}");
        }
        assert_eq!(Offer::of(&tools(), Some(&ToolChoice::Required)), Offer::CallOnly);
    }

    #[test]
    fn results_reasks_and_the_report_request_are_the_former_inline_texts() {
        let calls = vec![productresearch_record::ToolCall { id: "call_0".into(), name: "product_search".into(), arguments: "{}".into() }];
        let messages = [Message::assistant_calls(None, calls), Message::tool("call_0", "1. Ninja BN701 $89\n")];
        let text = to_text_form(&messages, &tools(), ToolMode::Lenient, Offer::CallOrReport, None);
        // The simulated model finds results by this start.
        assert_eq!(text[1].content.as_deref(), Some("Tool result for product_search (call_0):\n1. Ninja BN701 $89\n"));
        assert_eq!(
            say("reask", json!({"problem": "the answer is empty", "again": say("again_json", json!({}))})),
            "Your last answer could not be used: the answer is empty. Answer again with one JSON object that matches the schema."
        );
        assert_eq!(say("again_action", json!({})), "Answer again, following the required format exactly.");
        assert_eq!(
            say("write_report", json!({})),
            "Write the final report now, in Markdown (not JSON), from the tool results above. Name each product with its price and \
             rating in your own words; say what you found, not the steps you took or the tools you called; do not copy the \
             tools' JSON, your plan or these instructions."
        );
    }
}
