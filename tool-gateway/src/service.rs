//! The gRPC face of the gateway: the only place proto types appear.

use std::sync::Arc;

use productresearch_proto::tool_gateway::v1 as pb;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_server::ToolGatewayService;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::error::Error;
use crate::gateway::Gateway;
use crate::outcome::{ToolErrorKind, ToolOutcome};
use crate::tools::ToolDefinition;

/// `ToolGatewayService` over a [`Gateway`].
pub struct ToolGatewayApi {
    gateway: Arc<Gateway>,
}

impl ToolGatewayApi {
    pub fn new(gateway: Arc<Gateway>) -> Self {
        ToolGatewayApi { gateway }
    }
}

#[tonic::async_trait]
impl ToolGatewayService for ToolGatewayApi {
    async fn list_tools(&self, _request: Request<pb::ListToolsRequest>) -> Result<Response<pb::ListToolsResponse>, Status> {
        let tools = self.gateway.definitions().into_iter().map(definition_to_proto).collect();
        Ok(Response::new(pb::ListToolsResponse { tools, snapshot_id: self.gateway.snapshot_id().to_string() }))
    }

    async fn call_tool(&self, request: Request<pb::CallToolRequest>) -> Result<Response<pb::CallToolResponse>, Status> {
        let pb::CallToolRequest { name, arguments_json, trajectory_id } = request.into_inner();
        // Arguments and results stay out of the span: they can be large, and the
        // trajectory record already holds them.
        let span = tracing::info_span!(
            "execute_tool",
            otel.name = %format_args!("execute_tool {name}"),
            gen_ai.operation.name = "execute_tool",
            gen_ai.tool.name = %name,
            { productresearch_runtime::telemetry::attributes::TRAJECTORY_ID } = %trajectory_id,
            tool.is_error = tracing::field::Empty,
            tool.error_kind = tracing::field::Empty,
        );
        let gateway = Arc::clone(&self.gateway);
        // Its own task, so a panic in a tool is an internal error, not a dead
        // connection; CPU-heavy steps inside move to blocking threads.
        let outcome = tokio::spawn(async move { gateway.call(&name, &arguments_json).await }.instrument(span.clone()))
            .await
            .map_err(|e| Error::Task(e.to_string()))?;
        span.record("tool.is_error", outcome.is_error());
        if let Some(kind) = outcome.error {
            span.record("tool.error_kind", format!("{kind:?}"));
            span.in_scope(|| tracing::info!(kind = ?kind, message = %outcome.content, "tool call failed"));
        }
        Ok(Response::new(outcome_to_proto(outcome)))
    }
}

fn definition_to_proto(d: ToolDefinition) -> pb::ToolDefinition {
    pb::ToolDefinition { name: d.name.to_string(), description: d.description, parameters_json_schema: d.parameters.to_string() }
}

fn outcome_to_proto(outcome: ToolOutcome) -> pb::CallToolResponse {
    let error_kind = match outcome.error {
        None => pb::ToolErrorKind::Unspecified,
        Some(ToolErrorKind::UnknownTool) => pb::ToolErrorKind::UnknownTool,
        Some(ToolErrorKind::InvalidArguments) => pb::ToolErrorKind::InvalidArguments,
        Some(ToolErrorKind::NotFound) => pb::ToolErrorKind::NotFound,
        Some(ToolErrorKind::Backend) => pb::ToolErrorKind::Backend,
        Some(ToolErrorKind::Policy) => pb::ToolErrorKind::Policy,
    };
    pb::CallToolResponse { is_error: outcome.error.is_some(), content: outcome.content, error_kind: error_kind as i32 }
}
