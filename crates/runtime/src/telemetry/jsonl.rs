//! The offline exporter: OTLP JSON lines. Each line is one OTLP/JSON request
//! body, `ExportTraceServiceRequest` (key `resourceSpans`) or
//! `ExportMetricsServiceRequest` (key `resourceMetrics`), exactly what an OTLP/HTTP
//! JSON receiver accepts, so a file can be replayed into any backend and read by
//! `productresearch trace report`.
//!
//! Spans and metrics share one file through one writer; every export call ends
//! with a flush, so what the SDK handed over is on disk when it returns.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// One JSON-lines file shared by the span and the metric exporter.
#[derive(Clone, Debug)]
pub struct JsonLinesFile {
    out: Arc<Mutex<BufWriter<File>>>,
}

impl JsonLinesFile {
    /// Opens `path` for appending (creating its folder), so several runs into
    /// one output folder keep each other's traces.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self { out: Arc::new(Mutex::new(BufWriter::new(file))) })
    }

    fn write_line(&self, value: &impl serde::Serialize) -> OTelSdkResult {
        let line = serde_json::to_vec(value).map_err(|e| OTelSdkError::InternalFailure(format!("otlp json: {e}")))?;
        let mut out = self.out.lock().map_err(|_| OTelSdkError::InternalFailure("trace file writer poisoned".into()))?;
        out.write_all(&line)
            .and_then(|_| out.write_all(b"\n"))
            .and_then(|_| out.flush())
            .map_err(|e| OTelSdkError::InternalFailure(format!("writing the trace file: {e}")))
    }
}

/// Span exporter writing one `ExportTraceServiceRequest` per batch.
#[derive(Debug)]
pub struct JsonLinesSpanExporter {
    file: JsonLinesFile,
    resource: ResourceAttributesWithSchema,
}

impl JsonLinesSpanExporter {
    /// An exporter into `file`.
    pub fn new(file: JsonLinesFile) -> Self {
        Self { file, resource: ResourceAttributesWithSchema::default() }
    }
}

impl SpanExporter for JsonLinesSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        if batch.is_empty() {
            return Ok(());
        }
        let request = ExportTraceServiceRequest { resource_spans: group_spans_by_resource_and_scope(batch, &self.resource) };
        self.file.write_line(&request)
    }

    fn set_resource(&mut self, resource: &opentelemetry_sdk::Resource) {
        self.resource = resource.into();
    }
}

/// Metric exporter writing one `ExportMetricsServiceRequest` per collection.
#[derive(Debug)]
pub struct JsonLinesMetricExporter {
    file: JsonLinesFile,
}

impl JsonLinesMetricExporter {
    /// An exporter into `file`.
    pub fn new(file: JsonLinesFile) -> Self {
        Self { file }
    }
}

impl PushMetricExporter for JsonLinesMetricExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        self.file.write_line(&ExportMetricsServiceRequest::from(metrics))
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        // Cumulative: the last line of a run holds the run's totals.
        Temporality::Cumulative
    }
}
