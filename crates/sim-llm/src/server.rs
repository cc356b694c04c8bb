//! The HTTP server: routes, request pacing and fault injection, and the handle tests hold.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::completion::envelope;
use crate::config::{FaultKind, SimConfig};
use crate::error::ApiError;
use crate::usage::completion_tokens;
use crate::wire::{ChatRequest, ModelCard, ModelList};
use crate::{fault, roles};

/// Long agent conversations carry whole product pages; axum's 2 MB default is too small.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The header a mesh names each request's trajectory in (the runtime's
/// `context::TRAJECTORY_HEADER`; the simulator stands alone, so it is repeated).
const TRAJECTORY_HEADER: &str = "x-trajectory-id";

/// State shared by all requests.
struct Sim {
    config: SimConfig,
    /// Chat-completion requests so far; also each request's index for fault triggers.
    requests: AtomicU64,
    /// Nanoseconds of nominal answer time (latency + decode) over all answers:
    /// what a model-bound ideal is made of.
    answer_nanos: AtomicU64,
    /// Answers per trajectory named in the request's `x-trajectory-id`.
    answers_by_trajectory: Mutex<HashMap<String, Answers>>,
    /// Cancels in-flight delays too, so shutdown never waits out a `Timeout` fault.
    stopping: CancellationToken,
    /// The configured rate limit's state.
    limiter: Mutex<Bucket>,
    /// Requests being answered now (for `rate_limit.max_concurrent`).
    in_progress: AtomicU64,
    /// Requests refused with 429 by the rate limit.
    rate_limited: AtomicU64,
    /// Requests refused with 401 (wrong key) or 404 (model not served).
    refused: AtomicU64,
}

/// A token bucket holding one second's worth of requests.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    refilled: Instant,
}

/// Holds one place of `rate_limit.max_concurrent` while a request is answered.
struct InProgress<'a>(&'a AtomicU64);

impl Drop for InProgress<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Sim {
    /// Admits a request under the rate limit, or says how long to wait. The
    /// place it holds is given back when the guard drops.
    fn admit(&self) -> Result<InProgress<'_>, ApiError> {
        let guard = InProgress(&self.in_progress);
        let now_in_progress = self.in_progress.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(limit) = &self.config.rate_limit else { return Ok(guard) };
        let refuse = |error: ApiError| {
            self.rate_limited.fetch_add(1, Ordering::SeqCst);
            Err(error)
        };
        if let Some(max) = limit.max_concurrent
            && now_in_progress > max
        {
            return refuse(ApiError::TooManyConcurrent(max));
        }
        if let Some(rate) = limit.requests_per_sec {
            let mut bucket = self.limiter.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            bucket.tokens = (bucket.tokens + (now - bucket.refilled).as_secs_f64() * rate).min(rate.max(1.0));
            bucket.refilled = now;
            if bucket.tokens < 1.0 {
                // Retry-After is whole seconds; round the wait for the next token up.
                return refuse(ApiError::RateLimited { retry_after_secs: ((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64 });
            }
            bucket.tokens -= 1.0;
        }
        Ok(guard)
    }

    /// Answers 401 to a wrong key and 404 to a model not served, when configured.
    fn authorize(&self, headers: &HeaderMap, model: &str) -> Result<(), ApiError> {
        let refusal = self.refusal(headers, model);
        if refusal.is_some() {
            self.refused.fetch_add(1, Ordering::SeqCst);
        }
        refusal.map_or(Ok(()), Err)
    }

    fn refusal(&self, headers: &HeaderMap, model: &str) -> Option<ApiError> {
        if let Some(key) = &self.config.api_key {
            let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
            if sent != Some(key.as_str()) {
                return Some(ApiError::Unauthorized);
            }
        }
        if self.config.strict_model && model != self.config.model {
            return Some(ApiError::ModelNotFound(model.to_owned()));
        }
        None
    }

    /// Waits until `deadline`. Deadlines rather than durations: the time the
    /// simulator itself spends parsing and composing a reply falls inside the
    /// model's nominal latency, as a real server's compute does, instead of
    /// being added to it (a thousand replies composed at once on two cores
    /// would otherwise read as the caller's overhead).
    async fn pause_until(&self, deadline: Instant) -> Result<(), ApiError> {
        if deadline <= Instant::now() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => Ok(()),
            () = self.stopping.cancelled() => Err(ApiError::ShuttingDown),
        }
    }
}

/// The answers given for one trajectory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Answers {
    pub count: u64,
    /// Their nominal time (latency + decode), summed.
    pub time: Duration,
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Sim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim").field("requests", &self.requests).finish_non_exhaustive()
    }
}

impl SimHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The OpenAI base URL clients are configured with, e.g. `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Chat-completion requests received so far, faulted and malformed ones included.
    pub fn requests(&self) -> u64 {
        self.sim.requests.load(Ordering::SeqCst)
    }

    /// Nominal time of all answers so far: the configured latency plus decode
    /// time of each one, i.e. what the model alone cost its callers.
    pub fn answer_time(&self) -> Duration {
        Duration::from_nanos(self.sim.answer_nanos.load(Ordering::SeqCst))
    }

    /// Answers per trajectory, for requests that named one in `x-trajectory-id`.
    pub fn answers_by_trajectory(&self) -> HashMap<String, Answers> {
        self.sim.answers_by_trajectory.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Requests refused with 429 by the configured rate limit.
    pub fn rate_limited(&self) -> u64 {
        self.sim.rate_limited.load(Ordering::SeqCst)
    }

    /// Requests refused with 401 (wrong key) or 404 (model not served).
    pub fn refused(&self) -> u64 {
        self.sim.refused.load(Ordering::SeqCst)
    }

    /// Stops accepting, cancels pending delays and waits for the server to finish.
    pub async fn shutdown(mut self) {
        self.sim.stopping.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.sim.stopping.cancel();
    }
}

/// Serves on the given listener until the handle is dropped or `shutdown()` is called.
pub async fn spawn(config: SimConfig, listener: TcpListener) -> std::io::Result<SimHandle> {
    config.validate()?;
    let addr = listener.local_addr()?;
    let sim = Arc::new(Sim {
        limiter: Mutex::new(Bucket { tokens: burst(&config), refilled: Instant::now() }),
        config,
        requests: AtomicU64::new(0),
        answer_nanos: AtomicU64::new(0),
        answers_by_trajectory: Mutex::default(),
        stopping: CancellationToken::new(),
        in_progress: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    });
    let app = router(Arc::clone(&sim));
    let stopping = sim.stopping.clone();
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(stopping.cancelled_owned()).await;
        if let Err(e) = served {
            tracing::error!(error = %e, "sim-llm server stopped with an error");
        }
    });
    tracing::info!(%addr, "sim-llm serving");
    Ok(SimHandle { addr, sim, task: Some(task) })
}

/// A full bucket: one second's worth of requests.
fn burst(config: &SimConfig) -> f64 {
    config.rate_limit.and_then(|l| l.requests_per_sec).map_or(0.0, |r| r.max(1.0))
}

/// Binds `127.0.0.1:0` and spawns.
pub async fn spawn_local(config: SimConfig) -> std::io::Result<SimHandle> {
    spawn(config, listen(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?).await
}

/// Binds `addr` with an accept queue as deep as real model servers keep
/// (uvicorn, under vLLM, asks for 2048). Tokio's `bind` asks for 128: a
/// thousand agents connecting at once overflowed it, and every dropped SYN
/// cost its client a second before the retry.
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(2048)
}

fn router(sim: Arc<Sim>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .route("/health", get(health))
        .fallback(|uri: Uri| async move { ApiError::NotFound(uri.path().to_owned()) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(sim)
}

async fn health() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

async fn models(State(sim): State<Arc<Sim>>) -> Json<ModelList> {
    Json(ModelList {
        object: "list",
        data: vec![ModelCard { id: sim.config.model.clone(), object: "model", owned_by: "sim", context_length: sim.config.context_length }],
    })
}

/// The body is taken raw so a bad one gets OpenAI's 400 shape rather than axum's.
async fn chat_completions(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    // Counted before anything can fail, so triggers see every request.
    let index = sim.requests.fetch_add(1, Ordering::SeqCst);
    let arrived = Instant::now();
    // A rate limiter answers at once, before the model sees the request.
    let _admitted = sim.admit()?;
    let fault = fault::select(&sim.config.faults, index);
    tracing::debug!(index, ?fault, "chat completion");
    let first_token = arrived + sim.config.latency(index);
    sim.pause_until(first_token).await?;

    // Status faults come before validation, as a rate limiter in front of a real API does.
    match fault {
        Some(FaultKind::RateLimited { retry_after_secs }) => {
            return Err(ApiError::RateLimited { retry_after_secs: *retry_after_secs });
        }
        Some(FaultKind::Unavailable { retry_after_secs }) => {
            return Err(ApiError::Unavailable { retry_after_secs: *retry_after_secs });
        }
        Some(FaultKind::ServerError) => return Err(ApiError::ServerError),
        Some(FaultKind::Timeout { delay_ms }) => sim.pause_until(first_token + Duration::from_millis(*delay_ms)).await?,
        _ => {}
    }

    let request = parse(&body)?;
    sim.authorize(&headers, &request.model)?;
    let mut reply = roles::answer(&request, &sim.config);
    match fault {
        Some(FaultKind::GarbledContent) => reply = fault::garble(reply),
        Some(FaultKind::CutOff) => reply = fault::cut_off(reply),
        _ => {}
    }
    let mut answer_at = first_token;
    if let Some(tps) = sim.config.tokens_per_sec {
        // Capped at a day, which is forever here and cannot overflow an Instant.
        let decode =
            Duration::try_from_secs_f64(completion_tokens(&reply) as f64 / tps).unwrap_or(Duration::MAX).min(Duration::from_secs(86_400));
        answer_at = first_token + decode;
        sim.pause_until(answer_at).await?;
    }
    let nominal = answer_at - arrived;
    sim.answer_nanos.fetch_add(u64::try_from(nominal.as_nanos()).unwrap_or(u64::MAX), Ordering::SeqCst);
    if let Some(trajectory) = headers.get(TRAJECTORY_HEADER).and_then(|v| v.to_str().ok()) {
        let mut tally = sim.answers_by_trajectory.lock().unwrap_or_else(|p| p.into_inner());
        let answers = tally.entry(trajectory.to_owned()).or_default();
        answers.count += 1;
        answers.time += nominal;
    }
    let completion = envelope(index, &request, reply);
    if fault == Some(&FaultKind::MalformedJson) {
        let whole = serde_json::to_string(&completion).unwrap_or_default();
        let headers = [(header::CONTENT_TYPE, "application/json")];
        return Ok((headers, fault::malform(&whole)).into_response());
    }
    Ok(Json(completion).into_response())
}

fn parse(body: &[u8]) -> Result<ChatRequest, ApiError> {
    let request: ChatRequest =
        serde_json::from_slice(body).map_err(|e| ApiError::InvalidRequest(format!("invalid chat completion request body: {e}")))?;
    if request.messages.is_empty() {
        return Err(ApiError::InvalidRequest("'messages' must contain at least one message".into()));
    }
    Ok(request)
}
