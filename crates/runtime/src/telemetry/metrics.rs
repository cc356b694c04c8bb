//! The mesh's metrics: GenAI client metrics (token usage, operation duration)
//! and the mesh's own counters (tokens per role and round, verdicts,
//! trajectories in flight and ended). Instruments are created on first use
//! from the global meter provider that [`super::init`] installs.

use std::sync::OnceLock;
use std::time::Duration;

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};

struct Instruments {
    token_usage: Histogram<u64>,
    operation_duration: Histogram<f64>,
    tokens: Counter<u64>,
    verdicts: Counter<u64>,
    in_flight: UpDownCounter<i64>,
    trajectories: Counter<u64>,
}

fn instruments() -> &'static Instruments {
    static I: OnceLock<Instruments> = OnceLock::new();
    I.get_or_init(|| {
        let meter = opentelemetry::global::meter("productresearch");
        Instruments {
            token_usage: meter
                .u64_histogram("gen_ai.client.token.usage")
                .with_unit("{token}")
                .with_description("Tokens per model call, by token type")
                .with_boundaries(vec![1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0])
                .build(),
            operation_duration: meter
                .f64_histogram("gen_ai.client.operation.duration")
                .with_unit("s")
                .with_description("Duration of model calls and tool executions")
                .with_boundaries(vec![0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92, 300.0])
                .build(),
            tokens: meter
                .u64_counter("productresearch.tokens")
                .with_unit("{token}")
                .with_description("Tokens spent per role and round")
                .build(),
            verdicts: meter.u64_counter("productresearch.verdicts").with_description("Verdicts by supervisor state and decision").build(),
            in_flight: meter
                .i64_up_down_counter("productresearch.trajectories.in_flight")
                .with_description("Trajectories being synthesized")
                .build(),
            trajectories: meter
                .u64_counter("productresearch.trajectories")
                .with_description("Trajectories ended, by termination reason")
                .build(),
        }
    })
}

/// One model call or tool execution: its duration and (for chat) its tokens.
pub fn gen_ai_operation(
    operation: &str,
    agent: &str,
    model_or_tool: &str,
    elapsed: Duration,
    tokens: Option<(u64, u64)>,
    error: Option<&str>,
) {
    let i = instruments();
    let mut attrs = vec![KeyValue::new("gen_ai.operation.name", operation.to_string())];
    if operation == "chat" {
        attrs.push(KeyValue::new("gen_ai.request.model", model_or_tool.to_string()));
    } else {
        attrs.push(KeyValue::new("gen_ai.tool.name", model_or_tool.to_string()));
    }
    if !agent.is_empty() {
        attrs.push(KeyValue::new("gen_ai.agent.name", agent.to_string()));
    }
    if let Some(e) = error {
        attrs.push(KeyValue::new("error.type", e.to_string()));
    }
    i.operation_duration.record(elapsed.as_secs_f64(), &attrs);
    if let Some((input, output)) = tokens {
        let mut with_type = attrs.clone();
        with_type.push(KeyValue::new("gen_ai.token.type", "input"));
        i.token_usage.record(input, &with_type);
        with_type.pop();
        with_type.push(KeyValue::new("gen_ai.token.type", "output"));
        i.token_usage.record(output, &with_type);
    }
}

/// Tokens `role` spent in `round` (round 0: before the research started).
pub fn tokens(role: &str, round: u32, input: u64, output: u64) {
    let i = instruments();
    for (kind, n) in [("input", input), ("output", output)] {
        if n > 0 {
            i.tokens.add(
                n,
                &[
                    KeyValue::new("gen_ai.agent.name", role.to_string()),
                    KeyValue::new("productresearch.round", round as i64),
                    KeyValue::new("gen_ai.token.type", kind),
                ],
            );
        }
    }
}

/// One verdict.
pub(crate) fn verdict(state: &str, decision: &str) {
    instruments().verdicts.add(
        1,
        &[
            KeyValue::new("productresearch.supervisor.state", state.to_string()),
            KeyValue::new("productresearch.verdict", decision.to_string()),
        ],
    );
}

/// A trajectory started: in flight until [`trajectory_ended`].
pub fn trajectory_started() {
    instruments().in_flight.add(1, &[]);
}

/// A trajectory ended with `reason`.
pub fn trajectory_ended(reason: &str) {
    let i = instruments();
    i.in_flight.add(-1, &[]);
    i.trajectories.add(1, &[KeyValue::new("productresearch.termination.reason", reason.to_string())]);
}
