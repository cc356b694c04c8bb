//! Names of the mesh's own span attributes (`productresearch.*`), in one
//! place: the services that set them and the trace report that reads them
//! back use these constants, so a name cannot drift between writer and
//! reader (the trajectory id once went by three names). docs/telemetry.md
//! lists what each means.

/// The trajectory a span belongs to (trajectory, round, step, tool spans).
pub const TRAJECTORY_ID: &str = "productresearch.trajectory.id";
/// The report round (1-based) of a round or verdict span.
pub const ROUND: &str = "productresearch.round";
/// The step's seq in the trajectory record.
pub const STEP_INDEX: &str = "productresearch.step.index";
/// `plan`, `tool_call`, `tool_result` or `report`.
pub const STEP_KIND: &str = "productresearch.step.kind";
/// How the trajectory ended (`approved`, `max_rounds`, …).
pub const TERMINATION_REASON: &str = "productresearch.termination.reason";
/// The supervisor state that judged a step (`check_plan`, …).
pub const SUPERVISOR_STATE: &str = "productresearch.supervisor.state";
/// `approve` or `revise`.
pub const VERDICT: &str = "productresearch.verdict";
/// The supervisor's score of a report, when it gives one.
pub const VERDICT_SCORE: &str = "productresearch.verdict.score";
/// The gRPC service a `grpc.server` span's server runs
/// (`productresearch.research_agent.v1.ResearchAgentService`), whatever the
/// method called (health checks too).
pub const SERVER_SERVICE: &str = "productresearch.server.service";
