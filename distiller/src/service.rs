//! The gRPC edge: proto types are converted here and go no further.

use productresearch_proto::distiller::v1 as pb;
use productresearch_proto::distiller::v1::distiller_service_server::DistillerService;
use productresearch_record::{ToolSpec, Trajectory};
use tonic::{Request, Response, Status};

use crate::distillation::{DistillOptions, Distilled, distill};
use crate::error::Error;
use crate::filter::Filter;

/// Fully qualified name of the service, as health and reflection report it.
pub const SERVICE_NAME: &str = "productresearch.distiller.v1.DistillerService";

/// The distiller's gRPC service.
pub struct DistillerApi {
    defaults: DistillOptions,
}

impl DistillerApi {
    /// A service whose requests start from `defaults`.
    pub fn new(defaults: DistillOptions) -> Self {
        Self { defaults }
    }
}

#[tonic::async_trait]
impl DistillerService for DistillerApi {
    async fn distill(&self, request: Request<pb::DistillRequest>) -> Result<Response<pb::DistillResponse>, Status> {
        let req = request.into_inner();
        let tools = req
            .tools
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                let name = t.name.clone();
                ToolSpec::try_from(t).map_err(|e| Error::InvalidRequest(format!("tools[{i}] ({name}): {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let opts = self.defaults.clone().with_overrides(req.min_assistant_turns, req.min_tool_calls);

        // A trajectory that does not decode is one bad record, not a bad request:
        // it is dropped like any other broken structure and the rest go on.
        let mut undecodable = Vec::new();
        let mut trajectories = Vec::with_capacity(req.trajectories.len());
        for t in req.trajectories {
            let id = t.trajectory_id.clone();
            match Trajectory::try_from(t) {
                Ok(t) => trajectories.push(t),
                Err(e) => undecodable.push(pb::Drop {
                    trajectory_id: id,
                    filter: Filter::Structure.name().into(),
                    reason: format!("cannot decode: {e}"),
                }),
            }
        }
        let received = trajectories.len() + undecodable.len();

        // Rewriting and validating a large batch is CPU work: keep it off the
        // async workers.
        let Distilled { examples, drops } =
            tokio::task::spawn_blocking(move || distill(trajectories, &tools, &opts)).await.map_err(|e| Error::Task(e.to_string()))??;

        let drops: Vec<pb::Drop> = undecodable
            .into_iter()
            .chain(drops.into_iter().map(|d| pb::Drop { trajectory_id: d.trajectory_id, filter: d.filter.name().into(), reason: d.reason }))
            .collect();
        tracing::info!(received, exported = examples.len(), dropped = drops.len(), "distilled");
        Ok(Response::new(pb::DistillResponse {
            examples: examples.into_iter().map(|e| pb::SftExample { trajectory_id: e.trajectory_id, json: e.json }).collect(),
            drops,
        }))
    }

    async fn judge(&self, _request: Request<pb::JudgeRequest>) -> Result<Response<pb::JudgeResponse>, Status> {
        // Scores must come from a judge model; a made-up number would poison
        // every evaluation that reads it.
        Err(Status::unimplemented("the RACE judge is not available in this version"))
    }
}

#[cfg(test)]
mod tests {
    use productresearch_proto::distiller::v1::distiller_service_server::DistillerServiceServer;
    use tonic::server::NamedService;

    use super::*;

    #[test]
    fn service_name_matches_the_proto() {
        assert_eq!(SERVICE_NAME, <DistillerServiceServer<DistillerApi> as NamedService>::NAME);
    }
}
