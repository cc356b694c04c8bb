//! The chat-completions client.

use std::sync::Arc;
use std::time::Duration;

use productresearch_record::{TokenUsage, ToolCall};
use productresearch_runtime::context;
use tracing::{debug, warn};

use crate::backoff;
use crate::breaker::Breaker;
use crate::config::EndpointConfig;
use crate::error::LlmError;
use crate::limiter::{Limiter, Load};
use crate::message::{ChatRequest, ChatResponse};
use crate::transport::{Answer, Failure, Transport};
use crate::validators::Validators;
use crate::wire;

/// Longest part of an error body kept in an error message.
const BODY_EXCERPT: usize = 300;

/// A client for one endpoint as configured for one role. Cheap to clone.
#[derive(Clone)]
pub struct LlmClient {
    http: reqwest::Client,
    config: Arc<EndpointConfig>,
    url: Arc<str>,
    /// How requests to `url` travel (parsed once, not per model call).
    transport: Transport,
    /// `Authorization: Bearer <key>`, built once (marked sensitive).
    authorization: Option<reqwest::header::HeaderValue>,
    api_key: Option<Arc<str>>,
    /// Adaptive concurrency of the endpoint, shared by all clones.
    limiter: Arc<Limiter>,
    /// Stops calling an endpoint that refuses every call.
    breaker: Arc<Breaker>,
    context: Arc<tokio::sync::OnceCell<Option<u32>>>,
    /// `gen_ai.agent.name` of this client's chat spans (empty: not set).
    agent: &'static str,
    pub(crate) validators: Arc<Validators>,
}

impl std::fmt::Debug for LlmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The API key is deliberately left out.
        f.debug_struct("LlmClient").field("url", &self.url).field("model", &self.config.model).finish()
    }
}

impl LlmClient {
    /// Builds a client; reads the API key from the configured env var.
    pub fn new(config: EndpointConfig) -> Result<Self, LlmError> {
        config.validate("llm").map_err(LlmError::Config)?;
        let api_key = match &config.api_key_env {
            Some(var) => Some(
                std::env::var(var)
                    .map_err(|_| LlmError::Config(format!("environment variable {var} (llm.api_key_env) is not set")))?
                    .into(),
            ),
            None => None,
        };
        let (timeout, connect_timeout) = (Duration::from_secs(config.timeout_secs), Duration::from_secs(config.timeout_secs.min(10)));
        let http = productresearch_runtime::http::client_builder()
            .timeout(timeout)
            .connect_timeout(connect_timeout)
            .build()
            .map_err(|e| LlmError::Config(format!("http client: {e}")))?;
        let url: Arc<str> = format!("{}/chat/completions", config.base_url.trim_end_matches('/')).into();
        let transport = Transport::new(&url, http.clone(), timeout, connect_timeout)
            .map_err(|e| LlmError::Config(format!("llm.base_url {:?}: {e}", config.base_url)))?;
        let authorization = match &api_key {
            Some(key) => {
                let mut value = reqwest::header::HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| LlmError::Config("the API key holds characters an HTTP header cannot carry".into()))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let limiter = Arc::new(Limiter::new(config.max_concurrency, Duration::from_secs(config.timeout_secs), config.adaptive_concurrency));
        let breaker = Arc::new(Breaker::new(config.breaker_threshold, Duration::from_secs(config.breaker_cooldown_secs)));
        Ok(Self {
            http,
            config: Arc::new(config),
            url,
            transport,
            authorization,
            api_key,
            limiter,
            breaker,
            context: Arc::default(),
            agent: "",
            validators: Arc::default(),
        })
    }

    /// The same client, naming `agent` (`gen_ai.agent.name`) on its chat spans
    /// and metrics.
    pub fn for_agent(mut self, agent: &'static str) -> Self {
        self.agent = agent;
        self
    }

    /// The model name this client sends.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    /// The endpoint configuration.
    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Calls the endpoint currently takes at once (the adaptive limit).
    pub fn concurrency_limit(&self) -> usize {
        self.limiter.limit()
    }

    /// The role named in errors: the agent, or "model" when unnamed.
    fn role(&self) -> &'static str {
        if self.agent.is_empty() { "model" } else { self.agent }
    }

    pub(crate) fn context_cache(&self) -> &tokio::sync::OnceCell<Option<u32>> {
        &self.context
    }

    /// GET `url` as JSON with the client's key; `None` on any failure (used
    /// for optional discovery only).
    pub(crate) async fn get_json(&self, url: &str) -> Option<serde_json::Value> {
        let mut request = self.http.get(url);
        if let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        let response = request.send().await.ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// One chat completion, retried on transient failures, in a `chat <model>`
    /// span of the GenAI conventions (payloads as sizes and hashes).
    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        use productresearch_runtime::telemetry::{genai, metrics};
        use tracing::Instrument;
        let span = genai::chat_span(self.agent, &self.config.model);
        let started = std::time::Instant::now();
        let result = self.chat_with_retries(req, &span).instrument(span.clone()).await;
        let elapsed = started.elapsed();
        match &result {
            Ok(resp) => {
                let text = resp.content.as_deref().unwrap_or_default();
                let calls = if resp.tool_calls.is_empty() { String::new() } else { format!("{:?}", resp.tool_calls) };
                genai::record_payload(&span, genai::Payload::Response, &format!("{text}{calls}"), Some("gen_ai.output.messages"));
                genai::record_chat_response(
                    &span,
                    &resp.model,
                    resp.usage.prompt_tokens,
                    resp.usage.completion_tokens,
                    resp.finish_reason.as_deref(),
                );
                let tokens = Some((resp.usage.prompt_tokens, resp.usage.completion_tokens));
                metrics::gen_ai_operation("chat", self.agent, &self.config.model, elapsed, tokens, None);
            }
            Err(e) => {
                genai::record_error(&span, e.kind());
                metrics::gen_ai_operation("chat", self.agent, &self.config.model, elapsed, None, Some(e.kind()));
            }
        }
        result
    }

    async fn chat_with_retries(&self, req: &ChatRequest, span: &tracing::Span) -> Result<ChatResponse, LlmError> {
        let body = self.body(req)?;
        // The request as sent (messages, tools, schema): size and hash, content only when captured.
        productresearch_runtime::telemetry::genai::record_payload(
            span,
            productresearch_runtime::telemetry::genai::Payload::Request,
            std::str::from_utf8(&body).unwrap_or_default(),
            Some("gen_ai.input.messages"),
        );
        // The first attempt sends this body; a retry writes it again from
        // `req` (the caller holds that anyway), so no copy is kept while a
        // call waits for its answer.
        let mut body = Some(body);
        let base = Duration::from_millis(self.config.backoff_base_ms);
        let max = Duration::from_millis(self.config.backoff_max_ms);
        let mut attempt = 0u32;
        loop {
            span.record("productresearch.attempts", i64::from(attempt) + 1);
            if let Some(broken) = self.breaker.check(self.role(), &self.url) {
                return Err(broken);
            }
            // A place under the endpoint's adaptive limit per attempt, not
            // across the backoff: a waiting retry holds no capacity.
            let permit = self.limiter.acquire().await;
            let result = match body.take().map_or_else(|| self.body(req), Ok) {
                Ok(body) => self.attempt(body).await,
                Err(e) => Err(e),
            };
            permit.done(match &result {
                Err(e @ LlmError::Status { status: 429 | 503, .. }) => Load::Refused(e.retry_after()),
                Err(LlmError::Timeout(_)) => Load::TimedOut,
                _ => Load::Served,
            });
            if let Some(broken) = self.breaker.record(&result.as_ref().map(|_| ()), self.role(), &self.url) {
                return Err(broken);
            }
            match result {
                Ok(resp) => return Ok(resp),
                Err(err) if err.is_transient() && attempt < self.config.max_retries => {
                    let wait = backoff::delay(attempt, base, max, err.retry_after());
                    warn!(model = %self.config.model, attempt = attempt + 1, wait_ms = wait.as_millis() as u64, error = %err, "model call failed; retrying");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Err(err) if err.is_transient() => {
                    return Err(LlmError::Exhausted { attempts: attempt + 1, last: Box::new(err) });
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// `req` as the endpoint's JSON.
    fn body(&self, req: &ChatRequest) -> Result<bytes::Bytes, LlmError> {
        let body = serde_json::to_vec(&wire::request(&self.config, req))
            .map_err(|e| LlmError::Config(format!("request not serialisable: {e}")))?;
        Ok(body.into())
    }

    async fn attempt(&self, body: bytes::Bytes) -> Result<ChatResponse, LlmError> {
        // Which trajectory pays for this call, for the model gateway's logs.
        let trajectory = context::trajectory().and_then(|id| reqwest::header::HeaderValue::from_str(&id).ok());
        let answer = self.transport.post(body, self.authorization.as_ref(), trajectory).await.map_err(|failure| match failure {
            Failure::Timeout => LlmError::Timeout(Duration::from_secs(self.config.timeout_secs)),
            // Only the URL and the error kind: a request body may hold user data.
            Failure::Connect(message) => LlmError::Connect { url: self.url.to_string(), message },
        })?;
        let Answer { status, retry_after, body: bytes } = answer;
        if !(200..300).contains(&status) {
            return Err(LlmError::Status { status, body: excerpt(&String::from_utf8_lossy(&bytes)), retry_after });
        }
        let wire: wire::WireResponse = serde_json::from_slice(&bytes)
            .map_err(|e| LlmError::Malformed(format!("{e}; body starts {:?}", excerpt(&String::from_utf8_lossy(&bytes)))))?;
        let choice = wire.choices.into_iter().next().ok_or_else(|| LlmError::Malformed("no choices".into()))?;
        let tool_calls = choice
            .message
            .tool_calls
            .into_iter()
            .enumerate()
            .map(|(i, c)| ToolCall {
                id: if c.id.is_empty() { format!("call_{i}") } else { c.id },
                name: c.function.name,
                arguments: match c.function.arguments {
                    serde_json::Value::String(s) => s,
                    serde_json::Value::Null => "{}".into(),
                    other => other.to_string(),
                },
            })
            .collect();
        let usage =
            wire.usage.map(|u| TokenUsage { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }).unwrap_or_default();
        debug!(model = %wire.model, prompt_tokens = usage.prompt_tokens, completion_tokens = usage.completion_tokens, "model call done");
        Ok(ChatResponse {
            content: choice.message.content.filter(|c| !c.trim().is_empty()),
            tool_calls,
            usage,
            finish_reason: choice.finish_reason,
            model: if wire.model.is_empty() { self.config.model.clone() } else { wire.model },
        })
    }
}

/// The start of `s`, for error messages.
pub(crate) fn excerpt(s: &str) -> String {
    let mut end = s.len().min(BODY_EXCERPT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
