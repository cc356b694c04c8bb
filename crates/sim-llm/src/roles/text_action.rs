//! Research agent acting through the text form (see `text_form`): the native script's step,
//! written as a JSON action when a response schema constrains the reply, else the way
//! small local models write calls into free text.

use std::io;

use serde::Serialize;
use serde_json::ser::{Formatter, Serializer};
use serde_json::{Map, Value, json};

use super::arguments::violate;
use super::research::{self, Action, Call, offered_tool};
use super::{Reply, report};
use crate::config::{SimConfig, TextToolStyle};
use crate::text_form::{RETRY_PREFIX, TextForm};
use crate::wire::ChatRequest;

/// The text form's call object; a struct, so `tool` is written before `arguments`.
#[derive(Serialize)]
struct ToolAction<'a> {
    tool: &'a str,
    arguments: &'a Map<String, Value>,
}

/// The Qwen/Hermes call object, which names the tool under `name`.
#[derive(Serialize)]
struct NamedCall<'a> {
    name: &'a str,
    arguments: &'a Map<String, Value>,
}

pub fn answer(request: &ChatRequest, config: &SimConfig, form: &TextForm) -> Reply {
    let text = match research::act(request, config, &form.tools) {
        Action::Report => {
            let report = report::write(request);
            if form.json { json!({ "report": report }).to_string() } else { report }
        }
        Action::Call(mut call) => {
            if config.invalid_first_action && first_action(request) {
                let parameters = offered_tool(&form.tools, &call.name).and_then(|t| t.parameters.as_ref());
                call.arguments = violate(call.arguments, parameters);
            }
            let action = ToolAction { tool: &call.name, arguments: &call.arguments };
            if form.json { serde_json::to_string(&action).unwrap_or_default() } else { lenient(&call, config.text_tool_style) }
        }
    };
    Reply::Content(text)
}

/// Nothing has been run yet and the client has not re-asked: the one answer
/// `invalid_first_action` spoils, so each conversation takes the re-ask path exactly once.
fn first_action(request: &ChatRequest) -> bool {
    request.tool_call_turns() == 0 && !request.any_user_text_starts_with(RETRY_PREFIX)
}

fn lenient(call: &Call, style: TextToolStyle) -> String {
    let action = ToolAction { tool: &call.name, arguments: &call.arguments };
    match style {
        TextToolStyle::Fenced => format!("{}\n```json\n{}\n```", intention(&call.name), spaced(&action)),
        TextToolStyle::Tagged => {
            let named = NamedCall { name: &call.name, arguments: &call.arguments };
            format!("<tool_call>\n{}\n</tool_call>", spaced(&named))
        }
        TextToolStyle::Bare => spaced(&action),
    }
}

/// The sentence a chatty model puts before its call.
fn intention(tool: &str) -> String {
    match tool {
        "product_search" => "I will search the catalog first.".to_owned(),
        "visit_product" => "The first result looks promising, so I will open its product page.".to_owned(),
        "web_search" => "Next I will look for independent reviews on the web.".to_owned(),
        "web_visit" => "I will read the most relevant review.".to_owned(),
        other => format!("I will use the {other} tool."),
    }
}

/// JSON with the separators of Python's `json.dumps` (`", "` and `": "`), which is how small
/// models trained on Python-written data print it; compact JSON stays for the strict mode.
fn spaced(value: &impl Serialize) -> String {
    let mut out = Vec::new();
    if value.serialize(&mut Serializer::with_formatter(&mut out, Spaced)).is_err() {
        return String::new();
    }
    String::from_utf8(out).unwrap_or_default()
}

struct Spaced;

impl Formatter for Spaced {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call {
        let Value::Object(arguments) = json!({"query": "kettle", "tags": ["a", "b"]}) else { unreachable!() };
        Call { name: "product_search".to_owned(), arguments }
    }

    #[test]
    fn each_style_writes_the_call_its_way() {
        let fenced = lenient(&call(), TextToolStyle::Fenced);
        assert_eq!(
            fenced,
            "I will search the catalog first.\n```json\n\
             {\"tool\": \"product_search\", \"arguments\": {\"query\": \"kettle\", \"tags\": [\"a\", \"b\"]}}\n```"
        );
        let tagged = lenient(&call(), TextToolStyle::Tagged);
        assert!(tagged.starts_with("<tool_call>\n{\"name\": \"product_search\", \"arguments\": {"), "{tagged}");
        assert!(tagged.ends_with("}\n</tool_call>"), "{tagged}");
        let bare: Value = serde_json::from_str(&lenient(&call(), TextToolStyle::Bare)).unwrap();
        assert_eq!(bare, json!({"tool": "product_search", "arguments": {"query": "kettle", "tags": ["a", "b"]}}));
    }
}
