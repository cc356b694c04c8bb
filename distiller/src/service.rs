//! The gRPC edge: proto types are converted here and go no further.

use productresearch_proto::common::v1 as common;
use productresearch_proto::distiller::v1 as pb;
use productresearch_proto::distiller::v1::distiller_service_server::DistillerService;
use productresearch_record::{Rubric, ToolSpec, Trajectory};
use productresearch_runtime::failure::{self, FailureKind};
use tonic::{Request, Response, Status};

use crate::distillation::{DistillOptions, Distilled, distill};
use crate::error::Error;
use crate::filter::Filter;
use crate::judge::ModelJudge;
use crate::model_reflection::{ModelReflector, ReflectionTable};

/// The distiller's gRPC service.
pub struct DistillerApi {
    defaults: DistillOptions,
    reflector: Option<ModelReflector>,
    judge: Option<ModelJudge>,
}

impl DistillerApi {
    /// A service whose requests start from `defaults`, with the rule-based
    /// reflections and no judge.
    pub fn new(defaults: DistillOptions) -> Self {
        Self { defaults, reflector: None, judge: None }
    }

    /// The same, asking `reflector` for reflections.
    pub fn with_reflector(mut self, reflector: Option<ModelReflector>) -> Self {
        self.reflector = reflector;
        self
    }

    /// The same, judging with `judge`.
    pub fn with_judge(mut self, judge: Option<ModelJudge>) -> Self {
        self.judge = judge;
        self
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
        let mut opts = self.defaults.clone().with_overrides(req.min_assistant_turns, req.min_tool_calls);
        if !req.tool_snapshot.is_empty() {
            opts.tool_snapshot = Some(req.tool_snapshot);
        }

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
                    passed: Vec::new(),
                }),
            }
        }
        let received = trajectories.len() + undecodable.len();
        let reflections = match &self.reflector {
            Some(r) => r.reflect_all(&trajectories, &opts.filters).await,
            None => ReflectionTable::new(),
        };

        // Rewriting, validating and tokenizing a large batch is CPU work: keep it
        // off the async workers.
        let Distilled { examples, drops } = tokio::task::spawn_blocking(move || distill(&trajectories, &tools, &opts, &reflections))
            .await
            .map_err(|e| Error::Task(e.to_string()))??;

        let drops: Vec<pb::Drop> = undecodable
            .into_iter()
            .chain(drops.into_iter().map(|d| pb::Drop {
                trajectory_id: d.trajectory_id,
                filter: d.filter.name().into(),
                reason: d.reason,
                passed: d.passed.iter().map(|p| format!("{}: {}", p.filter, p.detail)).collect(),
            }))
            .collect();
        tracing::info!(received, exported = examples.len(), dropped = drops.len(), "distilled");
        Ok(Response::new(pb::DistillResponse {
            examples: examples.iter().map(|e| pb::SftExample { trajectory_id: e.trajectory_id.clone(), json: e.json() }).collect(),
            drops,
        }))
    }

    async fn judge(&self, request: Request<pb::JudgeRequest>) -> Result<Response<pb::JudgeResponse>, Status> {
        // Scores must come from a judge model; a made-up number would poison
        // every evaluation that reads it.
        let Some(judge) = &self.judge else {
            return Err(failure::status(FailureKind::Config, "no judge model configured: set [judge] in the distiller config"));
        };
        let req = request.into_inner();
        let rubric = req.rubric.ok_or_else(|| failure::status(FailureKind::InvalidInput, "rubric is required"))?;
        let rubric = Rubric::try_from(rubric).map_err(|e| failure::status(FailureKind::InvalidInput, format!("rubric: {e}")))?;
        if req.target_report.trim().is_empty() || req.reference_report.trim().is_empty() {
            return Err(failure::status(FailureKind::InvalidInput, "target_report and reference_report must not be empty"));
        }
        let j = judge.judge(&req.query, &rubric, &req.target_report, &req.reference_report).await.map_err(|e| failure::to_status(&e))?;
        let s = &j.score;
        Ok(Response::new(pb::JudgeResponse {
            overall: s.overall,
            dimensions: s
                .dimensions
                .iter()
                .map(|d| pb::DimensionScore {
                    dimension: common::Dimension::from(d.dimension) as i32,
                    target: d.target,
                    reference: d.reference,
                    relative: d.relative,
                    weight: d.weight,
                })
                .collect(),
            usage: Some(j.usage.into()),
            target: s.target,
            reference: s.reference,
            model: j.model,
            attempts: j.attempts,
            fallback_criteria: s.matches.fallbacks() as u32,
        }))
    }
}
