//! gRPC edge of the user agent: the only place proto types appear.

use productresearch_proto::user_agent::v1::user_agent_service_server::UserAgentService;
use productresearch_proto::user_agent::v1::{InferIntentRequest, InferIntentResponse};
use productresearch_record::UserHistory;
use productresearch_runtime::failure::{self, FailureKind};
use tonic::{Request, Response, Status};
use tracing::instrument;

use crate::infer::IntentInferrer;

/// The UserAgentService implementation.
pub struct Service {
    inferrer: IntentInferrer,
}

impl Service {
    /// Wraps an inferrer.
    pub fn new(inferrer: IntentInferrer) -> Self {
        Self { inferrer }
    }
}

#[tonic::async_trait]
impl UserAgentService for Service {
    #[instrument(name = "invoke_agent user-agent", skip_all, fields(gen_ai.operation.name = "invoke_agent", gen_ai.agent.name = "user-agent"))]
    async fn infer_intent(&self, request: Request<InferIntentRequest>) -> Result<Response<InferIntentResponse>, Status> {
        let history = request.into_inner().history.ok_or_else(|| failure::status(FailureKind::InvalidInput, "history is required"))?;
        let history =
            UserHistory::try_from(history).map_err(|e| failure::status(FailureKind::InvalidInput, format!("invalid history: {e}")))?;
        let inferred = self.inferrer.infer(&history).await?;
        Ok(Response::new(InferIntentResponse {
            intent: Some(inferred.intent.into()),
            usage: Some(inferred.usage.into()),
            model: inferred.model,
            prompts: productresearch_record::convert::prompts_to_pb(inferred.prompts),
        }))
    }
}
