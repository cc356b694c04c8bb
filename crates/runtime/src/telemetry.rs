//! Tracing set-up shared by every binary.
//!
//! Spans are created with `tracing`; an OpenTelemetry layer gives each span a W3C
//! trace context so that it can be propagated on gRPC hops (see [`crate::client`]
//! and [`crate::server`]). Exporting spans is configured elsewhere; without an
//! exporter the context still propagates, which is what keeps one trace per
//! trajectory across processes.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde::{Deserialize, Serialize};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Logging and tracing settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `RUST_LOG`-style filter for log output.
    pub log_filter: String,
    /// Emit logs as JSON lines instead of text.
    pub json_logs: bool,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self { log_filter: "info".into(), json_logs: false }
    }
}

/// Keeps the tracer provider alive; shuts it down (flushing) on drop.
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.provider.shutdown();
    }
}

/// Installs the global subscriber for a process named `service_name`. Logs go
/// to stderr so that stdout stays free for a CLI's output. `RUST_LOG`, when set,
/// overrides `config.log_filter`.
pub fn init(service_name: &'static str, config: &TelemetryConfig) -> TelemetryGuard {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let provider = SdkTracerProvider::builder().build();
    let tracer = provider.tracer(service_name);
    opentelemetry::global::set_tracer_provider(provider.clone());

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log_filter));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false);
    let fmt = if config.json_logs { fmt.json().boxed() } else { fmt.boxed() };
    // The OTel layer gets its own filter: the log filter must not decide which
    // spans exist (RUST_LOG=warn would otherwise remove every span and break
    // propagation).
    let otel = tracing_opentelemetry::layer().with_tracer(tracer).with_filter(EnvFilter::new("info"));
    let _ = tracing_subscriber::registry().with(fmt.with_filter(filter)).with(otel).try_init();
    TelemetryGuard { provider }
}

/// W3C trace id (hex) of the current span, or `None` when it has no valid context.
pub fn current_trace_id() -> Option<String> {
    use opentelemetry::trace::TraceContextExt;
    let cx = tracing::Span::current().context();
    let sc = cx.span().span_context().clone();
    sc.is_valid().then(|| sc.trace_id().to_string())
}

/// Writes the current span's trace context into HTTP/gRPC headers.
pub fn inject(headers: &mut http::HeaderMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut HeaderInjector(headers));
}

/// Makes `span` a child of the trace context found in `headers` (if any).
pub fn set_parent_from(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    use opentelemetry::trace::TraceContextExt;
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

struct HeaderInjector<'a>(&'a mut http::HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (http::HeaderName::from_bytes(key.as_bytes()), http::HeaderValue::from_str(&value)) {
            self.0.insert(name, value);
        }
    }
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
