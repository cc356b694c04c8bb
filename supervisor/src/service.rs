//! gRPC edge of the supervisor: Synthesize and SynthesizeBatch.

use std::pin::Pin;

use futures::Stream;
use productresearch_proto::common::v1 as pb;
use productresearch_proto::supervisor::v1::supervisor_service_server::SupervisorService;
use productresearch_proto::supervisor::v1::{
    BatchItemFailure, BatchProgress, Caps as PbCaps, SynthesizeBatchRequest, SynthesizeBatchResponse, SynthesizeRequest,
    SynthesizeResponse, synthesize_batch_response, synthesize_response,
};
use productresearch_record::UserHistory;
use productresearch_runtime::failure::{self, FailureKind};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::batch::{self, BatchEvent};
use crate::caps::Caps;
use crate::machine::Supervisor;
use crate::mesh::Mesh;
use crate::scheduler::Scheduler;

/// Events buffered towards a slow caller before the work waits for it.
const OUTBOX: usize = 64;

/// The SupervisorService implementation.
pub struct Service<M> {
    supervisor: Supervisor<M>,
    scheduler: Scheduler,
    batch_concurrency: usize,
}

impl<M: Mesh> Service<M> {
    /// Wraps a supervisor; `scheduler` bounds trajectories in flight across all calls.
    pub fn new(supervisor: Supervisor<M>, scheduler: Scheduler, batch_concurrency: usize) -> Self {
        Self { supervisor, scheduler, batch_concurrency }
    }

    /// The server's caps with the request's over them; a share over 100 percent is refused.
    fn caps(&self, caps: Option<PbCaps>) -> Result<Caps, Status> {
        let caps = self.supervisor.caps().overridden_by(caps.unwrap_or_default());
        caps.validate().map_err(Status::invalid_argument)?;
        Ok(caps)
    }
}

type Events<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

fn history(h: Option<pb::UserHistory>) -> Result<UserHistory, Status> {
    let h = UserHistory::try_from(h.ok_or_else(|| failure::status(FailureKind::InvalidInput, "history is required"))?)
        .map_err(|e| failure::status(FailureKind::InvalidInput, format!("invalid history: {e}")))?;
    h.validate().map_err(|e| failure::status(FailureKind::InvalidInput, e))?;
    Ok(h)
}

#[tonic::async_trait]
impl<M: Mesh> SupervisorService for Service<M> {
    type SynthesizeStream = Events<SynthesizeResponse>;
    type SynthesizeBatchStream = Events<SynthesizeBatchResponse>;

    async fn synthesize(&self, request: Request<SynthesizeRequest>) -> Result<Response<Self::SynthesizeStream>, Status> {
        let request = request.into_inner();
        let caps = self.caps(request.caps)?;
        let history = history(request.history)?;
        let supervisor = self.supervisor.clone();
        let scheduler = self.scheduler.clone();
        let (out, rx) = mpsc::channel(OUTBOX);
        productresearch_runtime::context::spawn(async move {
            let _slot = tokio::select! {
                slot = scheduler.admit() => slot,
                _ = out.closed() => return,
            };
            let (events, mut inbox) = mpsc::channel::<productresearch_record::TrajectoryEvent>(OUTBOX);
            let forward = {
                let out = out.clone();
                async move {
                    while let Some(event) = inbox.recv().await {
                        let msg = SynthesizeResponse { event: Some(synthesize_response::Event::Record(event.into())) };
                        // A gone caller closes the inbox, which cancels the trajectory.
                        if out.send(Ok(msg)).await.is_err() {
                            return;
                        }
                    }
                }
            };
            // A caller that goes away stops the trajectory at once (its log
            // then simply ends; the recorded steps stay).
            let (result, ()) = tokio::select! {
                done = async { tokio::join!(supervisor.synthesize(history, caps, Some(events)), forward) } => done,
                _ = out.closed() => return,
            };
            let last = match result {
                Ok(t) => Ok(SynthesizeResponse { event: Some(synthesize_response::Event::Trajectory(t.into())) }),
                Err(e) => Err(Status::from(e)),
            };
            let _ = out.send(last).await;
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn synthesize_batch(&self, request: Request<SynthesizeBatchRequest>) -> Result<Response<Self::SynthesizeBatchStream>, Status> {
        let request = request.into_inner();
        let caps = self.caps(request.caps)?;
        let concurrency = if request.concurrency == 0 { self.batch_concurrency } else { request.concurrency as usize };
        let mut histories = Vec::with_capacity(request.histories.len());
        let mut early_failures = Vec::new();
        for h in request.histories {
            let user_id = h.user_id.clone();
            match history(Some(h)) {
                Ok(h) => histories.push(h),
                Err(s) => early_failures.push(BatchItemFailure { user_id, reason: s.message().to_string() }),
            }
        }
        let supervisor = self.supervisor.clone();
        let scheduler = self.scheduler.clone();
        let (out, rx) = mpsc::channel(OUTBOX);
        productresearch_runtime::context::spawn(async move {
            let failed_early = early_failures.len() as u32;
            for f in early_failures {
                if out.send(Ok(SynthesizeBatchResponse { event: Some(synthesize_batch_response::Event::Failure(f)) })).await.is_err() {
                    return;
                }
            }
            let (events, mut inbox) = mpsc::channel(OUTBOX);
            let work = batch::run(supervisor, scheduler, histories, caps, concurrency, events);
            let forward = async move {
                while let Some(event) = inbox.recv().await {
                    let event = match event {
                        BatchEvent::Progress(p) => synthesize_batch_response::Event::Progress(BatchProgress {
                            total: p.total + failed_early,
                            done: p.done + failed_early,
                            running: p.running,
                            failed: p.failed + failed_early,
                            usage: Some(p.usage.into()),
                        }),
                        BatchEvent::Trajectory(t) => synthesize_batch_response::Event::Trajectory((*t).into()),
                        BatchEvent::Failure { user_id, reason } => {
                            synthesize_batch_response::Event::Failure(BatchItemFailure { user_id, reason })
                        }
                        BatchEvent::Halted(reason) => {
                            let _ = out.send(Err(failure::status(FailureKind::Endpoint, reason))).await;
                            return;
                        }
                    };
                    if out.send(Ok(SynthesizeBatchResponse { event: Some(event) })).await.is_err() {
                        return;
                    }
                }
            };
            tokio::join!(work, forward);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}
