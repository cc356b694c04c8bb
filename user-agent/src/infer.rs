//! History → intent: one schema-constrained call, checked, re-asked with the
//! validation error when the answer is not usable (bounded).

use productresearch_histories::privacy::Scrubber;
use productresearch_llm::{ChatRequest, JsonSchema, LlmClient, Message};
use productresearch_prompts::{PromptRef, PromptSet};
use productresearch_record::{Intent, TokenUsage, UserHistory};

use crate::error::Error;
use crate::prompt::{self, FollowUpRange};
use crate::validate;

/// An inferred intent with what it cost.
#[derive(Debug, Clone)]
pub struct Inferred {
    /// The validated intent.
    pub intent: Intent,
    /// Tokens spent (every attempt).
    pub usage: TokenUsage,
    /// Model that answered.
    pub model: String,
    /// Prompt templates used.
    pub prompts: Vec<PromptRef>,
}

/// How the inferrer asks.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// Also ask for follow-up turns (multi-turn mode).
    pub follow_ups: Option<FollowUpRange>,
    /// Re-asks after an answer that parses but fails validation.
    pub max_reasks: u32,
}

impl Default for InferOptions {
    fn default() -> Self {
        Self { follow_ups: None, max_reasks: 2 }
    }
}

/// Infers intents with one model.
#[derive(Debug, Clone)]
pub struct IntentInferrer {
    llm: LlmClient,
    prompts: PromptSet,
    options: InferOptions,
    /// The intent's JSON Schema for these options, built once: a thousand
    /// trajectories starting together each sent it, and each held a copy
    /// while it waited for the model.
    schema: std::sync::Arc<serde_json::Value>,
}

impl IntentInferrer {
    /// An inferrer using `llm`, the built-in prompts and the default options.
    pub fn new(llm: LlmClient) -> Self {
        let options = InferOptions::default();
        Self { llm, prompts: PromptSet::builtin(), schema: prompt::intent_schema(options.follow_ups).into(), options }
    }

    /// Uses these prompt templates.
    pub fn with_prompts(mut self, prompts: PromptSet) -> Self {
        self.prompts = prompts;
        self
    }

    /// Uses these options.
    pub fn with_options(mut self, options: InferOptions) -> Self {
        self.schema = prompt::intent_schema(options.follow_ups).into();
        self.options = options;
        self
    }

    /// Infers and validates one intent. The history's free text is scrubbed of
    /// personal data first (the loaders do it too; this guards direct callers).
    pub async fn infer(&self, history: &UserHistory) -> Result<Inferred, Error> {
        history.validate().map_err(Error::InvalidHistory)?;
        let history = Scrubber::default().scrub_history(history);
        let bad_prompt = |e: productresearch_prompts::PromptError| Error::Config(e.to_string());
        let system = prompt::system(&self.prompts, self.options.follow_ups).map_err(bad_prompt)?;
        let user = prompt::render_history(&self.prompts, &history).map_err(bad_prompt)?;
        let mut prompts = vec![system.prompt, user.prompt];
        let mut request = ChatRequest {
            messages: vec![Message::system(system.text), Message::user(user.text)],
            json_schema: Some(JsonSchema { name: "intent".into(), schema: self.schema.clone() }),
            // An endpoint capped below the bounded intent's length gets room for it.
            max_tokens: self.llm.config().max_tokens.map(|t| t.max(prompt::INTENT_MAX_TOKENS)),
            ..ChatRequest::default()
        };
        let mut usage = TokenUsage::default();
        let mut reasks = 0;
        loop {
            let (value, response) = self.llm.chat_json(&request).await?;
            usage += response.usage;
            let answer = value.to_string();
            let checked = validate::intent(value, self.options.follow_ups)
                .and_then(|intent| crate::budget::check(&intent.query, &history).map(|()| intent));
            match checked {
                Ok(intent) => return Ok(Inferred { intent, usage, model: response.model, prompts }),
                Err(problem) if reasks < self.options.max_reasks => {
                    reasks += 1;
                    let retry = prompt::retry(&self.prompts, &problem).map_err(bad_prompt)?;
                    if !prompts.contains(&retry.prompt) {
                        prompts.push(retry.prompt);
                    }
                    request.messages.push(Message::assistant(answer));
                    request.messages.push(Message::user(retry.text));
                }
                Err(problem) => return Err(Error::InvalidIntent(format!("{problem} (after {reasks} re-asks)"))),
            }
        }
    }
}

/// Parses and validates the model's JSON in single-turn mode (see
/// [`validate::intent`]).
pub fn parse_intent(value: serde_json::Value) -> Result<Intent, Error> {
    validate::intent(value, None).map_err(Error::InvalidIntent)
}

/// The follow-up range used when multi-turn mode is on.
pub const FOLLOW_UPS: FollowUpRange = FollowUpRange { min: 2, max: 3 };
