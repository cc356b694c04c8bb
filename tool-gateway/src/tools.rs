//! What a tool is to the agent: a name, a description, a JSON schema for its
//! arguments, and an outcome that is either content or an error the agent can
//! act on.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;

/// A tool as the model sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDefinition {
    pub name: &'static str,
    /// What the tool does and returns, written for the model.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// Why a tool call failed (mirrors the API's `ToolErrorKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolErrorKind {
    /// No tool of that name.
    UnknownTool,
    /// The arguments do not match the tool's schema.
    InvalidArguments,
    /// The product or page asked for does not exist.
    NotFound,
    /// The backend failed or is not configured.
    Backend,
    /// The fetch policy refused the request.
    Policy,
}

/// The result of one tool call: content for the agent, or an error message for
/// it (`error` set).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    pub content: String,
    pub error: Option<ToolErrorKind>,
}

impl ToolOutcome {
    pub fn ok(content: String) -> Self {
        ToolOutcome { content, error: None }
    }

    pub fn is_error(&self) -> bool {
        self.error.is_some()
    }
}

/// A failed tool call, on its way to becoming a [`ToolOutcome`].
#[derive(Debug, Clone, PartialEq)]
pub struct ToolError {
    pub kind: ToolErrorKind,
    pub message: String,
}

impl ToolError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ToolError { kind: ToolErrorKind::InvalidArguments, message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ToolError { kind: ToolErrorKind::NotFound, message: message.into() }
    }

    /// A backend failure: logged in full here, reported briefly to the agent,
    /// which can only try something else.
    pub fn backend(tool: &str, e: &Error) -> Self {
        tracing::error!(tool, error = %e, "tool backend failed");
        ToolError { kind: ToolErrorKind::Backend, message: format!("{tool} failed: {e}") }
    }
}

impl ToolError {
    pub fn into_outcome(self) -> ToolOutcome {
        ToolOutcome { content: self.message, error: Some(self.kind) }
    }
}

impl From<Result<String, ToolError>> for ToolOutcome {
    fn from(result: Result<String, ToolError>) -> Self {
        match result {
            Ok(content) => ToolOutcome::ok(content),
            Err(e) => ToolOutcome { content: e.message, error: Some(e.kind) },
        }
    }
}

/// A tool definition with its compiled argument schema.
pub struct Tool {
    pub definition: ToolDefinition,
    validator: jsonschema::Validator,
}

impl Tool {
    pub fn new(definition: ToolDefinition) -> Result<Tool, Error> {
        let validator = jsonschema::validator_for(&definition.parameters)
            .map_err(|e| Error::ToolSchema { tool: definition.name, reason: e.to_string() })?;
        Ok(Tool { definition, validator })
    }

    /// Parses and validates the call's arguments, with messages that tell the
    /// agent what to change.
    pub fn arguments<T: DeserializeOwned>(&self, arguments_json: &str) -> Result<T, ToolError> {
        // Models often send nothing for "no arguments"; let the schema say what is missing.
        let value: Value = if arguments_json.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(arguments_json).map_err(|e| ToolError::invalid(format!("arguments are not valid JSON: {e}")))?
        };
        if !value.is_object() {
            return Err(ToolError::invalid(format!("arguments must be a JSON object, got {}", json_type(&value))));
        }
        let problems: Vec<String> = self.validator.iter_errors(&value).map(|e| self.describe(&e)).collect();
        if !problems.is_empty() {
            return Err(ToolError::invalid(problems.join("; ")));
        }
        serde_json::from_value(value).map_err(|e| ToolError::invalid(format!("arguments: {e}")))
    }

    fn describe(&self, error: &jsonschema::ValidationError<'_>) -> String {
        use jsonschema::error::ValidationErrorKind as Kind;
        match error.kind() {
            Kind::Required { property } => format!("missing required argument {property}"),
            Kind::AdditionalProperties { unexpected } => {
                let unexpected: Vec<String> = unexpected.iter().map(|p| format!("\"{p}\"")).collect();
                let noun = if unexpected.len() == 1 { "argument" } else { "arguments" };
                format!("unknown {noun} {}; {} accepts: {}", unexpected.join(", "), self.definition.name, self.argument_names())
            }
            _ => {
                let path = error.instance_path().as_str().trim_start_matches('/').replace('/', ".");
                if path.is_empty() { error.to_string() } else { format!("argument \"{path}\": {error}") }
            }
        }
    }

    fn argument_names(&self) -> String {
        self.definition.parameters["properties"]
            .as_object()
            .map(|props| props.keys().map(String::as_str).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Args {
        query: String,
        #[serde(default)]
        limit: Option<f64>,
    }

    fn tool() -> Tool {
        Tool::new(ToolDefinition {
            name: "demo",
            description: "demo".into(),
            parameters: json!({
                "type": "object",
                "properties": {
                    "query": {"type": "string", "minLength": 1},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 20}
                },
                "required": ["query"],
                "additionalProperties": false
            }),
        })
        .unwrap()
    }

    fn invalid(json: &str) -> String {
        let e = tool().arguments::<Args>(json).unwrap_err();
        assert_eq!(e.kind, ToolErrorKind::InvalidArguments);
        e.message
    }

    #[test]
    fn messages_say_what_to_change() {
        assert_eq!(invalid("{}"), "missing required argument \"query\"");
        assert_eq!(invalid(""), "missing required argument \"query\"");
        assert_eq!(invalid(r#"{"query": "x", "max": 3}"#), "unknown argument \"max\"; demo accepts: limit, query");
        let m = invalid(r#"{"query": "x", "limit": 50}"#);
        assert!(m.starts_with("argument \"limit\": 50 is greater than the maximum of 20"), "{m}");
        let m = invalid(r#"{"query": 7}"#);
        assert!(m.starts_with("argument \"query\": 7 is not of type \"string\""), "{m}");
        assert!(invalid("[1]").contains("must be a JSON object, got an array"));
        assert!(invalid("{query").starts_with("arguments are not valid JSON"));
    }

    #[test]
    fn valid_arguments_parse() {
        let args: Args = tool().arguments(r#"{"query": "x", "limit": 3.0}"#).unwrap();
        assert_eq!((args.query.as_str(), args.limit), ("x", Some(3.0)));
    }
}
