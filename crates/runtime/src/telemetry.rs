//! Tracing and metrics set-up shared by every binary.
//!
//! Spans are created with `tracing`; an OpenTelemetry layer gives each span a W3C
//! trace context that is propagated on gRPC hops (see [`crate::client`] and
//! [`crate::server`]), so a trajectory is one trace across processes. Export:
//!
//! - OTLP over gRPC when `telemetry.otlp_endpoint` or the standard
//!   `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set
//!   (headers from `OTEL_EXPORTER_OTLP_HEADERS`, sampling from `OTEL_TRACES_SAMPLER`);
//! - OTLP JSON lines into `telemetry.traces_file` (see [`jsonl`]), spans and metrics.
//!
//! Without either the context still propagates. [`TelemetryGuard`] flushes
//! both on drop: spans ended before it drops are exported.
//! [`genai`] builds the spans of the GenAI semantic conventions and [`metrics`]
//! records the mesh's metrics.

pub mod attributes;
pub mod genai;
pub mod jsonl;
pub mod metrics;
pub mod per_service;

use std::path::PathBuf;
use std::time::Duration;

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanExporter};
use serde::{Deserialize, Serialize};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Logging, tracing and metrics settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// `RUST_LOG`-style filter for log output.
    pub log_filter: String,
    /// Emit logs as JSON lines instead of text.
    pub json_logs: bool,
    /// OTLP JSON-lines file for spans and metrics (empty: none).
    pub traces_file: Option<PathBuf>,
    /// OTLP/gRPC endpoint (e.g. `http://127.0.0.1:4317`); the standard
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` also turns OTLP export on.
    pub otlp_endpoint: Option<String>,
    /// Attach (truncated) prompts, completions and tool payloads to spans.
    /// Off by default: spans carry sizes and sha256 only.
    pub capture_content: bool,
    /// Cap of a captured payload and of any free-text attribute, in bytes.
    pub content_max_bytes: usize,
    /// How often metrics are exported, in milliseconds (and once at shutdown).
    pub metrics_interval_ms: u64,
    /// Spans waiting for each exporter; past it the SDK drops spans. The
    /// queue is reserved up front (about 370 bytes a span): the 65,536 it
    /// once was cost every process 24 MiB before its first span. 8,192
    /// (3 MiB) dropped none at 1,000 trajectories in flight
    /// (docs/benchmarks.md, "Memory as five processes").
    pub max_queued_spans: usize,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            log_filter: "info".into(),
            json_logs: false,
            traces_file: None,
            otlp_endpoint: None,
            capture_content: false,
            content_max_bytes: genai::DEFAULT_CONTENT_MAX_BYTES,
            metrics_interval_ms: 10_000,
            max_queued_spans: 8_192,
        }
    }
}

impl TelemetryConfig {
    /// The OTLP endpoint in force: the config's, else the standard env vars'
    /// (the exporter reads those itself).
    fn otlp(&self) -> Option<Option<String>> {
        if let Some(e) = self.otlp_endpoint.as_ref().filter(|e| !e.is_empty()) {
            return Some(Some(e.clone()));
        }
        let set = |v: &str| std::env::var(v).is_ok_and(|s| !s.is_empty());
        (set("OTEL_EXPORTER_OTLP_ENDPOINT") || set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")).then_some(None)
    }

    fn file(&self) -> Option<&PathBuf> {
        self.traces_file.as_ref().filter(|p| !p.as_os_str().is_empty())
    }
}

/// Keeps the tracer and meter providers alive; shuts them down (flushing
/// every ended span and a last metrics collection) on drop.
pub struct TelemetryGuard {
    tracer: SdkTracerProvider,
    meter: SdkMeterProvider,
}

impl TelemetryGuard {
    /// Exports every span ended so far and the current metrics.
    pub fn flush(&self) {
        let _ = self.tracer.force_flush();
        let _ = self.meter.force_flush();
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        let _ = self.tracer.shutdown();
        let _ = self.meter.shutdown();
    }
}

/// Why telemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The traces file cannot be opened.
    #[error("telemetry.traces_file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The OTLP exporter cannot be built (bad endpoint or headers).
    #[error("otlp exporter: {0}")]
    Otlp(String),
}

/// Installs the global subscriber for a process named `service_name`. Logs go
/// to stderr so that stdout stays free for a CLI's output. `RUST_LOG`, when set,
/// overrides `config.log_filter`. A traces file or OTLP endpoint that cannot be
/// set up is reported on stderr and skipped: telemetry never stops the work
/// (use [`try_init`] to fail instead).
pub fn init(service_name: &'static str, config: &TelemetryConfig) -> TelemetryGuard {
    init_services(service_name, &[], config)
}

/// [`init`] for a process that runs several services of the mesh
/// (`productresearch run`): each span is exported with its own service's
/// name (`research-agent`, ...) as the resource `service.name`, spans of none
/// with `process_name` (see [`per_service`]).
pub fn init_services(process_name: &'static str, services: &'static [&'static str], config: &TelemetryConfig) -> TelemetryGuard {
    match try_init_services(process_name, services, config) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("warning: telemetry export disabled: {e}");
            let plain = TelemetryConfig { traces_file: None, otlp_endpoint: None, ..config.clone() };
            // SAFETY of the fallback: without a file or endpoint nothing can fail.
            try_init_with(process_name, services, &plain, false).expect("telemetry without exporters")
        }
    }
}

/// [`init`], failing when an exporter cannot be set up.
pub fn try_init(service_name: &'static str, config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    try_init_with(service_name, &[], config, true)
}

/// [`init_services`], failing when an exporter cannot be set up.
pub fn try_init_services(
    process_name: &'static str,
    services: &'static [&'static str],
    config: &TelemetryConfig,
) -> Result<TelemetryGuard, TelemetryError> {
    try_init_with(process_name, services, config, true)
}

/// A batch processor exporting through `build`'s exporter, or with several
/// `services`, through one of its exporters per service.
fn span_processor<E, Err>(
    services: &'static [&'static str],
    max_queued: usize,
    mut build: impl FnMut() -> Result<E, Err>,
) -> Result<BatchSpanProcessor, Err>
where
    E: SpanExporter + 'static,
{
    let queue = max_queued.max(512);
    let batch = BatchConfigBuilder::default().with_max_queue_size(queue).with_max_export_batch_size(512).build();
    Ok(match services {
        [] => BatchSpanProcessor::builder(build()?).with_batch_config(batch).build(),
        _ => BatchSpanProcessor::builder(per_service::PerServiceExporter::new(services, build)?).with_batch_config(batch).build(),
    })
}

fn try_init_with(
    service_name: &'static str,
    services: &'static [&'static str],
    config: &TelemetryConfig,
    use_env_otlp: bool,
) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    genai::set_content_policy(config.capture_content, config.content_max_bytes);
    let resource = Resource::builder().with_service_name(service_name).build();
    let mut tracer = SdkTracerProvider::builder().with_resource(resource.clone());
    let mut meter = SdkMeterProvider::builder().with_resource(resource);
    let interval = Duration::from_millis(config.metrics_interval_ms.max(100));
    if !services.is_empty() {
        // Before the exporting processors: it tags the span they export.
        tracer = tracer.with_span_processor(per_service::ServiceTagger::new(services));
    }

    if let Some(path) = config.file() {
        let file = jsonl::JsonLinesFile::open(path).map_err(|source| TelemetryError::File { path: path.clone(), source })?;
        let spans = span_processor(services, config.max_queued_spans, || {
            Ok::<_, std::convert::Infallible>(jsonl::JsonLinesSpanExporter::new(file.clone()))
        });
        tracer = tracer.with_span_processor(spans.unwrap_or_else(|never| match never {}));
        meter = meter.with_reader(PeriodicReader::builder(jsonl::JsonLinesMetricExporter::new(file)).with_interval(interval).build());
    }
    if let Some(endpoint) = config.otlp().filter(|e| use_env_otlp || e.is_some()) {
        use opentelemetry_otlp::WithExportConfig;
        let spans = || {
            let builder = opentelemetry_otlp::SpanExporter::builder().with_tonic();
            let builder = match &endpoint {
                Some(e) => builder.with_endpoint(e.clone()),
                None => builder,
            };
            builder.build().map_err(|e| TelemetryError::Otlp(e.to_string()))
        };
        let mut metrics = opentelemetry_otlp::MetricExporter::builder().with_tonic();
        if let Some(e) = &endpoint {
            metrics = metrics.with_endpoint(e.clone());
        }
        let metrics = metrics.build().map_err(|e| TelemetryError::Otlp(e.to_string()))?;
        tracer = tracer.with_span_processor(span_processor(services, config.max_queued_spans, spans)?);
        meter = meter.with_reader(PeriodicReader::builder(metrics).with_interval(interval).build());
    }
    let tracer = tracer.build();
    let meter = meter.build();
    opentelemetry::global::set_tracer_provider(tracer.clone());
    opentelemetry::global::set_meter_provider(meter.clone());

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log_filter));
    // Colours only on a terminal: a log file, a pod's log or a CI capture
    // would otherwise hold the escape codes.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(false).with_ansi(ansi);
    let fmt = if config.json_logs { fmt.json().boxed() } else { fmt.boxed() };
    // The OTel layer gets its own filter: the log filter must not decide which
    // spans exist (RUST_LOG=warn would otherwise remove every span and break
    // propagation).
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer.tracer(service_name))
        // Per span these cost a clock read on every poll (busy/idle time), a
        // thread-name copy and five attributes nobody reads (file, line,
        // module, thread, target); the context activation on every poll
        // serves code that reads `opentelemetry::Context::current()`, and
        // none here does (propagation reads the span's own context).
        .with_tracked_inactivity(false)
        .with_threads(false)
        .with_location(false)
        .with_target(false)
        .with_context_activation(false)
        .with_filter(EnvFilter::new("info"));
    let _ = tracing_subscriber::registry().with(fmt.with_filter(filter)).with(otel).try_init();
    Ok(TelemetryGuard { tracer, meter })
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

/// The W3C `traceparent` value of `span`, for carrying its context inside a
/// message (a stream sends many messages under one set of headers); `None`
/// when the span has no valid context (telemetry not set up, span disabled).
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
    carrier.remove("traceparent")
}

/// Makes `span` a child of the W3C `traceparent` value (from [`traceparent`]).
/// Call it before the span is entered. Returns false, leaving the span's
/// parent as it is, when the value is empty or not a valid context.
pub fn set_parent_from_traceparent(span: &tracing::Span, traceparent: &str) -> bool {
    use opentelemetry::trace::TraceContextExt;
    if traceparent.is_empty() {
        return false;
    }
    let carrier = std::collections::HashMap::from([("traceparent".to_string(), traceparent.to_string())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    parent.span().span_context().is_valid() && span.set_parent(parent).is_ok()
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
