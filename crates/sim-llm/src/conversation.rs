//! Reading a request as a conversation: which messages say what. The roles only look at
//! requests through these questions, so the agents' prompt contract lives in one place
//! (with `text_form` for tool use written as text).

use crate::wire::{ChatRequest, Content, Message};

/// How the caller constrained tool use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    Auto,
    None,
    Required,
    /// Must call this function.
    Function(String),
}

impl Message {
    /// The message's text; parts are joined by newlines, absent content is empty.
    pub fn text(&self) -> String {
        match &self.content {
            None => String::new(),
            Some(Content::Text(text)) => text.clone(),
            Some(Content::Parts(parts)) => parts.iter().filter_map(|p| p.text.as_deref()).collect::<Vec<_>>().join("\n"),
        }
    }

    pub fn has_tool_calls(&self) -> bool {
        self.role == "assistant" && self.tool_calls.as_ref().is_some_and(|c| !c.is_empty())
    }
}

impl ChatRequest {
    fn texts_of<'a>(&'a self, role: &'a str) -> impl Iterator<Item = String> + 'a {
        self.messages.iter().filter(move |m| m.role == role).map(Message::text)
    }

    pub fn user_texts(&self) -> impl Iterator<Item = String> + '_ {
        self.texts_of("user")
    }

    pub fn first_user_text(&self) -> Option<String> {
        self.user_texts().next()
    }

    pub fn last_user_text(&self) -> Option<String> {
        self.user_texts().last()
    }

    /// Tool results in conversation order, native or in the text form.
    pub fn tool_texts(&self) -> Vec<String> {
        self.messages.iter().filter_map(Message::tool_output).collect()
    }

    pub fn last_tool_text(&self) -> Option<String> {
        self.messages.iter().rev().find_map(Message::tool_output)
    }

    /// Assistant turns that called tools: how far along the research script is. A call the
    /// client answered with a re-ask was refused, not run, so it is no step of the script.
    pub fn tool_call_turns(&self) -> usize {
        let refused = |i: usize| self.messages[i + 1..].iter().find(|m| m.role != "assistant").is_some_and(Message::is_retry);
        self.messages.iter().enumerate().filter(|&(i, m)| m.calls_tools() && !refused(i)).count()
    }

    /// Individual tool calls so far, which numbers the next call id.
    pub fn tool_calls_so_far(&self) -> usize {
        self.messages.iter().filter_map(|m| m.tool_calls.as_ref()).map(Vec::len).sum()
    }

    /// The `response_format.json_schema.name`, which tells the roles apart.
    pub fn schema_name(&self) -> Option<&str> {
        let format = self.response_format.as_ref()?;
        format.json_schema.as_ref().map(|s| s.name.as_str())
    }

    /// True when the caller asked for JSON output of any kind; `{"type":"text"}`
    /// constrains nothing, so it counts as no format.
    pub fn wants_json(&self) -> bool {
        self.response_format.as_ref().is_some_and(|f| f.kind != "text")
    }

    pub fn offered_tools(&self) -> &[crate::wire::ToolDef] {
        self.tools.as_deref().unwrap_or_default()
    }

    pub fn tool_choice(&self) -> ToolChoice {
        match &self.tool_choice {
            Some(serde_json::Value::String(mode)) => match mode.as_str() {
                "none" => ToolChoice::None,
                "required" => ToolChoice::Required,
                _ => ToolChoice::Auto,
            },
            Some(object @ serde_json::Value::Object(_)) => {
                object.pointer("/function/name").and_then(|n| n.as_str()).map_or(ToolChoice::Auto, |n| ToolChoice::Function(n.to_owned()))
            }
            _ => ToolChoice::Auto,
        }
    }

    /// The research agent's task: the `Research query:` line of the first user message
    /// (any user message as a fallback), else the first user message itself.
    pub fn research_query(&self) -> String {
        self.first_user_text()
            .and_then(|t| line_value(&t, "Research query:"))
            .or_else(|| self.user_lines_after("Research query:").into_iter().next())
            .filter(|q| !q.is_empty())
            .or_else(|| self.first_user_text().map(|t| t.trim().to_owned()))
            .unwrap_or_default()
    }

    /// Whether any user message has a line starting with `prefix`.
    pub fn any_user_line_starts_with(&self, prefix: &str) -> bool {
        self.user_texts().any(|t| t.lines().any(|l| l.trim_start().starts_with(prefix)))
    }

    /// Text of every user line starting with `prefix` (prefix removed), in order.
    pub fn user_lines_after(&self, prefix: &str) -> Vec<String> {
        self.user_texts().flat_map(|t| lines_after(&t, prefix)).collect()
    }
}

/// The rest of the first line of `text` that starts with `prefix`, trimmed.
pub fn line_value(text: &str, prefix: &str) -> Option<String> {
    lines_after(text, prefix).into_iter().next()
}

/// The rest of every line of `text` that starts with `prefix`, trimmed.
pub fn lines_after(text: &str, prefix: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.trim_start().strip_prefix(prefix)).map(|rest| rest.trim().to_owned()).collect()
}
