//! The exported SFT example: one JSON object per kept trajectory, in the OpenAI
//! chat format with tool calls, so common SFT trainers read it as is.
//!
//! ```json
//! {"messages": [...],
//!  "tools": [{"type": "function", "function": {"name", "description", "parameters"}}],
//!  "meta": {"trajectory_id", "user_id", "trace_id", "models": {...}, "termination": "approved",
//!           "rounds": N, "tool_calls": N, "rejections_internalized": N}}
//! ```

use productresearch_record::{ToolSpec, Trajectory};
use serde_json::{Value, json};

use crate::internalize::Internalized;
use crate::termination::reason_name;

/// The example of `trajectory` given its internalized conversation and the
/// tools the agent had (exported with it so the model trains on the schemas it
/// saw).
pub fn example(trajectory: &Trajectory, internalized: &Internalized, tools: &[ToolSpec]) -> Value {
    let tools: Vec<Value> = tools
        .iter()
        .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}))
        .collect();
    json!({
        "messages": internalized.messages,
        "tools": tools,
        "meta": {
            "trajectory_id": trajectory.trajectory_id,
            "user_id": trajectory.user_id,
            "trace_id": trajectory.trace_id,
            "models": trajectory.models,
            "termination": trajectory.termination().map(|t| reason_name(t.reason)),
            "rounds": internalized.rounds,
            "tool_calls": internalized.tool_calls,
            "rejections_internalized": internalized.rejections_internalized,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::internalize::internalize;
    use crate::internalize::tests::supervised;

    #[test]
    fn example_has_messages_tools_and_meta() {
        let t = supervised();
        let tools = [ToolSpec {
            name: "product_search".into(),
            description: "Search the catalog".into(),
            parameters: json!({"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}).into(),
        }];
        let v = example(&t, &internalize(&t, "SYS"), &tools);
        assert_eq!(v["messages"].as_array().unwrap().len(), 10);
        assert_eq!(
            v["tools"],
            json!([{"type": "function", "function": {"name": "product_search", "description": "Search the catalog",
                "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}])
        );
        assert_eq!(
            v["meta"],
            json!({
                "trajectory_id": "traj-1",
                "user_id": "user-1",
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "models": {"research-agent": "qwen3-4b"},
                "termination": "approved",
                "rounds": 2,
                "tool_calls": 3,
                "rejections_internalized": 3,
            })
        );
    }
}
