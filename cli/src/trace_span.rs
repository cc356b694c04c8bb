//! One span as the trace report reads it, whichever source it came from: an
//! OTLP JSON file ([`crate::trace_report`]) or a trace backend's API
//! ([`crate::trace_backend`]).

use std::collections::HashMap;

/// One span, reduced to what the report reads.
#[derive(Debug, Clone, Default)]
pub struct SpanRow {
    /// Trace id (hex).
    pub trace_id: String,
    /// Span id (hex).
    pub span_id: String,
    /// Parent span id (hex; empty for a root).
    pub parent: String,
    /// Span name.
    pub name: String,
    /// Duration in seconds.
    pub seconds: f64,
    /// String attributes.
    pub strings: HashMap<String, String>,
    /// Numeric attributes.
    pub numbers: HashMap<String, f64>,
}
