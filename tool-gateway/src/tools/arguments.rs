//! A tool's arguments: parsed from the model's JSON and checked against the
//! tool's JSON schema, with messages that tell the agent what to change.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ToolDefinition;
use crate::catalog::field_mapping::json_type;
use crate::error::Error;
use crate::outcome::ToolError;

/// A tool's argument schema, compiled.
pub struct ArgumentSchema {
    definition: ToolDefinition,
    validator: jsonschema::Validator,
}

impl ArgumentSchema {
    pub fn new(definition: &ToolDefinition) -> Result<ArgumentSchema, Error> {
        let validator = jsonschema::validator_for(&definition.parameters)
            .map_err(|e| Error::ToolSchema { tool: definition.name, reason: e.to_string() })?;
        Ok(ArgumentSchema { definition: definition.clone(), validator })
    }

    /// Parses and validates the call's arguments (as JSON text), with
    /// messages that tell the agent what to change.
    pub fn check(&self, arguments_json: &str) -> Result<Value, ToolError> {
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
        Ok(value)
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

/// Checked arguments as the tool's own type.
pub fn decode<T: DeserializeOwned>(arguments: Value) -> Result<T, ToolError> {
    serde_json::from_value(arguments).map_err(|e| ToolError::invalid(format!("arguments: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ToolErrorKind;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Args {
        query: String,
        #[serde(default)]
        limit: Option<f64>,
    }

    fn schema() -> ArgumentSchema {
        ArgumentSchema::new(&ToolDefinition {
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
        let e = schema().check(json).and_then(decode::<Args>).unwrap_err();
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
        let args: Args = decode(schema().check(r#"{"query": "x", "limit": 3.0}"#).unwrap()).unwrap();
        assert_eq!((args.query.as_str(), args.limit), ("x", Some(3.0)));
    }
}
