//! How many tokens an endpoint's context holds.

use serde_json::Value;

use crate::client::LlmClient;

impl LlmClient {
    /// The context window in tokens: the configured `context_length`, else what
    /// the endpoint reports (`/v1/models`: `context_length`, vLLM's
    /// `max_model_len`, llama.cpp's `meta.n_ctx_train`; llama.cpp `/props`:
    /// `n_ctx`), asked once and cached. `None` when nobody says.
    pub async fn context_length(&self) -> Option<u32> {
        if let Some(n) = self.config().context_length {
            return Some(n);
        }
        *self.context_cache().get_or_init(|| self.discover_context_length()).await
    }

    async fn discover_context_length(&self) -> Option<u32> {
        let base = self.config().base_url.trim_end_matches('/').to_string();
        if let Some(models) = self.get_json(&format!("{base}/models")).await {
            let entries = models.get("data").and_then(Value::as_array).cloned().unwrap_or_default();
            let entry = entries.iter().find(|m| m.get("id").and_then(Value::as_str) == Some(self.model())).or(entries.first());
            if let Some(n) = entry.and_then(|m| {
                m.get("context_length")
                    .or_else(|| m.get("max_model_len"))
                    .or_else(|| m.pointer("/meta/n_ctx"))
                    .or_else(|| m.pointer("/meta/n_ctx_train"))
                    .and_then(Value::as_u64)
            }) {
                return u32::try_from(n).ok();
            }
        }
        let root = base.strip_suffix("/v1").unwrap_or(&base);
        let props = self.get_json(&format!("{root}/props")).await?;
        props
            .pointer("/default_generation_settings/n_ctx")
            .or_else(|| props.get("n_ctx"))
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    }
}
