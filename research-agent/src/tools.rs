//! The agent's view of the tool gateway: a small trait it owns, with a gRPC
//! implementation, so the session logic is testable without a network.

use std::future::Future;

use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_proto::tool_gateway::v1::{CallToolRequest, ListToolsRequest};
use productresearch_record::{ToolResult, ToolSpec};
use productresearch_runtime::client::MeshChannel;

/// A tool gateway.
pub trait Tools: Send + Sync + 'static {
    /// The tools on offer.
    fn list(&self) -> impl Future<Output = Result<Vec<ToolSpec>, String>> + Send;
    /// Executes one call. `Ok` holds what the agent sees (which may be a tool
    /// error such as a bad argument); `Err` means the gateway itself failed.
    fn call(
        &self,
        trajectory_id: &str,
        call_id: &str,
        name: &str,
        arguments: &str,
    ) -> impl Future<Output = Result<ToolResult, String>> + Send;
}

/// [`Tools`] over gRPC.
#[derive(Clone)]
pub struct GrpcTools {
    client: ToolGatewayServiceClient<MeshChannel>,
}

impl GrpcTools {
    /// Wraps a channel to the gateway.
    pub fn new(channel: MeshChannel) -> Self {
        Self { client: ToolGatewayServiceClient::new(channel) }
    }
}

impl Tools for GrpcTools {
    async fn list(&self) -> Result<Vec<ToolSpec>, String> {
        let tools = self
            .client
            .clone()
            .list_tools(ListToolsRequest {})
            .await
            .map_err(|s| format!("tool gateway: {}", s.message()))?
            .into_inner()
            .tools;
        tools.into_iter().map(|t| ToolSpec::try_from(t).map_err(|e| format!("tool gateway sent a bad tool definition: {e}"))).collect()
    }

    async fn call(&self, trajectory_id: &str, call_id: &str, name: &str, arguments: &str) -> Result<ToolResult, String> {
        let request =
            CallToolRequest { name: name.to_string(), arguments_json: arguments.to_string(), trajectory_id: trajectory_id.to_string() };
        let response = self
            .client
            .clone()
            .call_tool(request)
            .await
            .map_err(|s| format!("tool gateway: {} ({:?})", s.message(), s.code()))?
            .into_inner();
        Ok(ToolResult { call_id: call_id.to_string(), name: name.to_string(), content: response.content, is_error: response.is_error })
    }
}
