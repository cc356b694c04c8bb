//! One batch end to end over gRPC: histories → supervisor (streaming) →
//! trajectories on disk → distiller → SFT file.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, anyhow};
use productresearch_proto::distiller::v1::DistillRequest;
use productresearch_proto::distiller::v1::distiller_service_client::DistillerServiceClient;
use productresearch_proto::supervisor::v1::supervisor_service_client::SupervisorServiceClient;
use productresearch_proto::supervisor::v1::{BatchProgress, Caps as PbCaps, SynthesizeBatchRequest, synthesize_batch_response};
use productresearch_proto::tool_gateway::v1::ListToolsRequest;
use productresearch_proto::tool_gateway::v1::tool_gateway_service_client::ToolGatewayServiceClient;
use productresearch_record::{Trajectory, UserHistory};
use productresearch_runtime::client::{ClientConfig, channel};
use supervisor::Caps;

/// Files a run writes into its output folder.
pub const TRAJECTORIES_FILE: &str = "trajectories.jsonl";
/// The SFT examples (OpenAI chat format with tool_calls).
pub const SFT_FILE: &str = "sft.jsonl";
/// Why each dropped trajectory was dropped.
pub const DROPS_FILE: &str = "drops.jsonl";

/// What a batch produced.
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Finished trajectories, in the order they finished.
    pub trajectories: Vec<Trajectory>,
    /// Histories that could not start (user id, reason).
    pub failures: Vec<(String, String)>,
}

/// How the batch client rides out a restarting supervisor.
#[derive(Debug, Clone, Copy)]
pub struct Reconnect {
    /// How long the supervisor may stay unreachable (failed connections or
    /// broken streams without a trajectory received in between) before the
    /// batch fails: longer than a pod restart.
    pub patience: Duration,
    /// First wait; doubled per attempt up to `max_wait`.
    pub wait: Duration,
    /// Longest wait.
    pub max_wait: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self { patience: Duration::from_secs(600), wait: Duration::from_millis(200), max_wait: Duration::from_secs(5) }
    }
}

/// Runs `histories` through the supervisor at `supervisor_url`, appending each
/// trajectory to `<out>/trajectories.jsonl` as soon as it ends (so an
/// interrupted run keeps what it finished) and calling `on_progress` on every
/// progress event and `on_trajectory` for each trajectory.
///
/// A broken stream (the supervisor restarted) is re-opened with the histories
/// not yet finished; the supervisor resumes their trajectories from its
/// records. Each trajectory id is written once, however often it arrives.
pub async fn synthesize(
    supervisor_url: &str,
    histories: Vec<UserHistory>,
    caps: Caps,
    concurrency: usize,
    out: &Path,
    on_progress: impl FnMut(&BatchProgress),
    on_trajectory: impl FnMut(&Trajectory),
) -> anyhow::Result<BatchOutcome> {
    synthesize_with(supervisor_url, histories, caps, concurrency, out, Reconnect::default(), on_progress, on_trajectory).await
}

/// [`synthesize`] with an explicit reconnect policy.
#[allow(clippy::too_many_arguments)]
pub async fn synthesize_with(
    supervisor_url: &str,
    histories: Vec<UserHistory>,
    caps: Caps,
    concurrency: usize,
    out: &Path,
    reconnect: Reconnect,
    mut on_progress: impl FnMut(&BatchProgress),
    mut on_trajectory: impl FnMut(&Trajectory),
) -> anyhow::Result<BatchOutcome> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create output folder {}", out.display()))?;
    let path = out.join(TRAJECTORIES_FILE);
    let mut file = std::fs::File::create(&path).with_context(|| format!("cannot write {}", path.display()))?;
    let client =
        SupervisorServiceClient::new(channel("supervisor", &ClientConfig::single(supervisor_url))?).max_decoding_message_size(usize::MAX);
    let total = histories.len() as u32;
    let mut pending = histories;
    let mut seen = HashSet::new();
    let mut outcome = BatchOutcome::default();
    let mut failures_in_a_row = 0u32;
    let mut broken_since = None;
    while !pending.is_empty() {
        let before = (outcome.trajectories.len(), outcome.failures.len());
        // What finished in earlier attempts, so progress counts the whole batch.
        let finished = before.0 as u32 + before.1 as u32;
        let failed_before = outcome.failures.len() as u32 + outcome.trajectories.iter().filter(|t| !t.approved()).count() as u32;
        let request = SynthesizeBatchRequest {
            histories: pending.iter().cloned().map(Into::into).collect(),
            caps: Some(PbCaps::from(caps)),
            concurrency: concurrency as u32,
        };
        let broke = match client.clone().synthesize_batch(request).await {
            Err(s) if s.code() == tonic::Code::FailedPrecondition => return Err(anyhow!("batch stopped: {}", s.message())),
            Err(s) => anyhow!("supervisor: {} ({:?})", s.message(), s.code()),
            Ok(stream) => {
                let mut stream = stream.into_inner();
                loop {
                    let msg = match stream.message().await {
                        Ok(Some(msg)) => msg,
                        Ok(None) => break anyhow!("supervisor ended the batch stream early"),
                        // A broken model endpoint: every trajectory would fail alike.
                        Err(s) if s.code() == tonic::Code::FailedPrecondition => return Err(anyhow!("batch stopped: {}", s.message())),
                        Err(s) => break anyhow!("supervisor stream broke: {} ({:?})", s.message(), s.code()),
                    };
                    match msg.event {
                        Some(synthesize_batch_response::Event::Progress(mut p)) => {
                            p.total = total;
                            p.done += finished;
                            p.failed += failed_before;
                            on_progress(&p);
                        }
                        Some(synthesize_batch_response::Event::Trajectory(t)) => {
                            let t = Trajectory::try_from(t).map_err(|e| anyhow!("supervisor sent an invalid trajectory: {e}"))?;
                            take(&mut pending, &t.user_id);
                            if !seen.insert(t.trajectory_id.clone()) {
                                continue;
                            }
                            // One write per line: serde_json writes a File piece by
                            // piece, a syscall per string, which cost more CPU than
                            // the whole mesh at 1,000 trajectories in flight.
                            let mut line = serde_json::to_vec(&t)?;
                            line.push(b'\n');
                            file.write_all(&line)?;
                            on_trajectory(&t);
                            outcome.trajectories.push(t);
                        }
                        Some(synthesize_batch_response::Event::Failure(f)) => {
                            take(&mut pending, &f.user_id);
                            outcome.failures.push((f.user_id, f.reason));
                        }
                        None => {}
                    }
                }
            }
        };
        if pending.is_empty() {
            break;
        }
        if (outcome.trajectories.len(), outcome.failures.len()) != before {
            failures_in_a_row = 0;
            broken_since = None;
        }
        failures_in_a_row += 1;
        let since = *broken_since.get_or_insert_with(std::time::Instant::now);
        if since.elapsed() >= reconnect.patience {
            return Err(broke.context(format!(
                "{} trajectories unfinished; the supervisor stayed unreachable for {}s",
                pending.len(),
                since.elapsed().as_secs()
            )));
        }
        let wait = reconnect.wait.saturating_mul(1 << failures_in_a_row.min(10)).min(reconnect.max_wait);
        tracing::warn!(error = %broke, pending = pending.len(), wait_ms = wait.as_millis() as u64, "batch stream broke; reconnecting");
        tokio::time::sleep(wait).await;
    }
    file.sync_all()?;
    Ok(outcome)
}

/// Removes one pending history of `user_id`.
fn take(pending: &mut Vec<UserHistory>, user_id: &str) {
    if let Some(i) = pending.iter().position(|h| h.user_id == user_id) {
        pending.swap_remove(i);
    }
}

/// What distillation produced.
#[derive(Debug, Default)]
pub struct DistillOutcome {
    /// Path of the SFT file.
    pub sft_path: PathBuf,
    /// Examples written.
    pub examples: usize,
    /// (trajectory id, filter, reason) of each dropped trajectory.
    pub drops: Vec<(String, String, String)>,
}

/// Where and how a batch is distilled.
#[derive(Debug, Clone)]
pub struct DistillTo {
    /// The distiller's URL.
    pub distiller_url: String,
    /// The tool gateway's URL (the tool schemas each example lists).
    pub gateway_url: String,
    /// The distiller's `min_assistant_turns` filter.
    pub min_assistant_turns: u32,
    /// The distiller's `min_tool_calls` filter.
    pub min_tool_calls: u32,
    /// Folder of `sft.jsonl` and `drops.jsonl`.
    pub out: PathBuf,
    /// The tool snapshot the trajectories were made with (empty for live
    /// tools), for each example's lineage.
    pub tool_snapshot: String,
}

impl DistillTo {
    /// Distills `trajectories` and writes `<out>/sft.jsonl` and
    /// `<out>/drops.jsonl`, each atomically (temp file, then rename).
    pub async fn distill(&self, trajectories: &[Trajectory]) -> anyhow::Result<DistillOutcome> {
        let tools = ToolGatewayServiceClient::new(channel("tool-gateway", &ClientConfig::single(&self.gateway_url))?)
            .list_tools(ListToolsRequest {})
            .await
            .map_err(|s| anyhow!("tool-gateway: {}", s.message()))?
            .into_inner()
            .tools;
        let request = DistillRequest {
            trajectories: trajectories.iter().cloned().map(Into::into).collect(),
            min_assistant_turns: self.min_assistant_turns,
            min_tool_calls: self.min_tool_calls,
            tools,
            tool_snapshot: self.tool_snapshot.clone(),
        };
        let response = DistillerServiceClient::new(channel("distiller", &ClientConfig::single(&self.distiller_url))?)
            .max_decoding_message_size(usize::MAX)
            .max_encoding_message_size(usize::MAX)
            .distill(request)
            .await
            .map_err(|s| anyhow!("distiller: {}", s.message()))?
            .into_inner();
        let sft_path = self.out.join(SFT_FILE);
        write_atomically(&sft_path, response.examples.iter().map(|e| e.json.clone()))?;
        let drops: Vec<_> = response.drops.into_iter().map(|d| (d.trajectory_id, d.filter, d.reason)).collect();
        write_atomically(
            &self.out.join(DROPS_FILE),
            drops
                .iter()
                .map(|(id, filter, reason)| serde_json::json!({"trajectory_id": id, "filter": filter, "reason": reason}).to_string()),
        )?;
        Ok(DistillOutcome { sft_path, examples: response.examples.len(), drops })
    }
}

/// Distills `trajectories` with the distiller at `distiller_url` (tool schemas
/// from the gateway at `gateway_url`) into `out`: [`DistillTo::distill`] with
/// live tools.
pub async fn distill(
    distiller_url: &str,
    gateway_url: &str,
    trajectories: &[Trajectory],
    min_assistant_turns: u32,
    min_tool_calls: u32,
    out: &Path,
) -> anyhow::Result<DistillOutcome> {
    let to = DistillTo {
        distiller_url: distiller_url.into(),
        gateway_url: gateway_url.into(),
        min_assistant_turns,
        min_tool_calls,
        out: out.into(),
        tool_snapshot: String::new(),
    };
    to.distill(trajectories).await
}

fn write_atomically(path: &Path, lines: impl Iterator<Item = String>) -> anyhow::Result<()> {
    let tmp = path.with_extension("jsonl.tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).with_context(|| format!("cannot write {}", tmp.display()))?);
    for line in lines {
        file.write_all(line.as_bytes())?;
        file.write_all(b"\n")?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot move {} into place", path.display()))?;
    Ok(())
}
