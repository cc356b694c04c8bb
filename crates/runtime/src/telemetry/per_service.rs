//! One process, several services (`productresearch run`): each span is
//! exported under the resource `service.name` of the service that made it, so
//! a trace backend splits a run by service as it would separate processes.
//!
//! Two parts, because tracing-opentelemetry starts every span on one tracer:
//!
//! - [`ServiceTagger`], a span processor, decides each span's service when it
//!   starts and tags it ([`SERVICE_ATTRIBUTE`]): the agent it names
//!   (`gen_ai.agent.name`: the GenAI spans of [`super::genai`] are made in the
//!   runtime crate for a service, so a span's target does not tell), else the
//!   service a gRPC server span's server runs (`productresearch.server.service`,
//!   `productresearch.tool_gateway.v1.…` → `tool-gateway`, health checks
//!   included), else its
//!   in-process parent's service (a model call or a tool call span of the
//!   shared crates belongs to the step it runs in). A span of none (the CLI's
//!   own) keeps the process's resource.
//! - [`PerServiceExporter`] wraps one exporter per service, each with that
//!   service's resource, and sends every span through its service's exporter
//!   without the tag.
//!
//! Span and trace ids are untouched, so parent/child links across services
//! stay as they are.

use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry::trace::{SpanId, TraceContextExt};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};

/// Span attribute that carries a span's service from [`ServiceTagger`] to
/// [`PerServiceExporter`], which removes it.
pub const SERVICE_ATTRIBUTE: &str = "productresearch.internal.service";

/// The service of `name` among `services`, as an agent names it
/// (`tool-gateway`) or a proto package (`tool_gateway`).
fn known(services: &[&'static str], name: &str) -> Option<&'static str> {
    services.iter().copied().find(|s| s.len() == name.len() && s.bytes().zip(name.bytes()).all(|(a, b)| a == b || (a, b) == (b'-', b'_')))
}

/// The service a span names itself: its agent, or the proto package of the
/// service its server runs.
fn own_service(services: &[&'static str], attributes: &[KeyValue]) -> Option<&'static str> {
    let text = |key: &str| {
        attributes.iter().find(|kv| kv.key.as_str() == key).and_then(|kv| match &kv.value {
            Value::String(s) => Some(s.as_str().to_string()),
            _ => None,
        })
    };
    let by_agent = text("gen_ai.agent.name").and_then(|a| known(services, &a));
    by_agent.or_else(|| {
        // "productresearch.<package>.v1.<Service>"
        let server = text(super::attributes::SERVER_SERVICE)?;
        known(services, server.split('.').nth(1)?)
    })
}

/// Tags each span with its service (see the module docs).
#[derive(Debug)]
pub struct ServiceTagger {
    services: &'static [&'static str],
    /// Services of the spans started and not yet ended, for their children.
    open: Mutex<HashMap<SpanId, &'static str>>,
}

impl ServiceTagger {
    /// A tagger for the services named in `services` (`research-agent`, ...).
    pub fn new(services: &'static [&'static str]) -> Self {
        Self { services, open: Mutex::default() }
    }
}

impl SpanProcessor for ServiceTagger {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        use opentelemetry::trace::Span as _;
        let own = span.exported_data().and_then(|d| own_service(self.services, &d.attributes));
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let parent = cx.span().span_context().span_id();
        let Some(service) = own.or_else(|| open.get(&parent).copied()) else { return };
        span.set_attribute(KeyValue::new(SERVICE_ATTRIBUTE, service));
        open.insert(span.span_context().span_id(), service);
    }

    fn on_end(&self, span: SpanData) {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).remove(&span.span_context.span_id());
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: std::time::Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// One exporter per service (see the module docs); spans without a service
/// go through the process's own.
#[derive(Debug)]
pub struct PerServiceExporter<E> {
    process: E,
    services: Vec<(&'static str, E)>,
}

impl<E: SpanExporter> PerServiceExporter<E> {
    /// Builds the process's exporter and one per service with `build`.
    pub fn new<Err>(services: &[&'static str], mut build: impl FnMut() -> Result<E, Err>) -> Result<Self, Err> {
        let process = build()?;
        let services = services.iter().map(|&s| build().map(|e| (s, e))).collect::<Result<_, _>>()?;
        Ok(Self { process, services })
    }
}

impl<E> PerServiceExporter<E> {
    /// The process's exporter, then the services' in order.
    fn all(&self) -> impl Iterator<Item = &E> {
        std::iter::once(&self.process).chain(self.services.iter().map(|(_, e)| e))
    }
}

impl<E: SpanExporter> SpanExporter for PerServiceExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut groups: Vec<Vec<SpanData>> = (0..=self.services.len()).map(|_| Vec::new()).collect();
        for mut span in batch {
            let tag = span.attributes.iter().position(|kv| kv.key.as_str() == SERVICE_ATTRIBUTE);
            let service = tag.map(|i| span.attributes.swap_remove(i).value);
            let slot = service.and_then(|v| self.services.iter().position(|(s, _)| v.as_str() == *s)).map_or(0, |i| i + 1);
            groups[slot].push(span);
        }
        let mut result = Ok(());
        for (exporter, group) in self.all().zip(groups).filter(|(_, g)| !g.is_empty()) {
            // One service's failure must not keep the others' spans back.
            if let Err(e) = exporter.export(group).await {
                result = Err(e);
            }
        }
        result
    }

    fn shutdown_with_timeout(&self, timeout: std::time::Duration) -> OTelSdkResult {
        self.all().map(|e| e.shutdown_with_timeout(timeout)).fold(Ok(()), OTelSdkResult::and)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.all().map(|e| e.force_flush()).fold(Ok(()), OTelSdkResult::and)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.process.set_resource(resource);
        for (service, e) in &mut self.services {
            let attributes = resource.iter().map(|(k, v)| KeyValue::new(k.clone(), v.clone()));
            e.set_resource(&Resource::builder_empty().with_attributes(attributes).with_service_name(*service).build());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVICES: &[&str] = &["user-agent", "research-agent", "tool-gateway"];

    #[test]
    fn a_span_names_its_service_by_agent_or_grpc_package() {
        assert_eq!(own_service(SERVICES, &[KeyValue::new("target", "productresearch_llm::client")]), None);
        let step = vec![
            KeyValue::new("target", "productresearch_runtime::telemetry::genai"),
            KeyValue::new("gen_ai.agent.name", "research-agent"),
        ];
        assert_eq!(own_service(SERVICES, &step), Some("research-agent"));
        let server = |service: &'static str| {
            vec![
                KeyValue::new("target", "productresearch_runtime::server"),
                KeyValue::new("rpc.method", "/grpc.health.v1.Health/Check"),
                KeyValue::new("productresearch.server.service", service),
            ]
        };
        assert_eq!(own_service(SERVICES, &server("productresearch.tool_gateway.v1.ToolGatewayService")), Some("tool-gateway"));
        assert_eq!(own_service(SERVICES, &server("")), None);
        assert_eq!(known(SERVICES, "user-agent"), Some("user-agent"));
        assert_eq!(known(SERVICES, "user_agents"), None);
    }
}
