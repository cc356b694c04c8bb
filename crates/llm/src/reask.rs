//! Asking again for an unusable answer: the bounded loop that JSON answers,
//! agent actions and prose reports share, each with its own reading of an
//! answer.

use crate::client::LlmClient;
use crate::error::LlmError;
use crate::message::{ChatRequest, ChatResponse, Message};
use crate::wording::say;

/// What the model is told when its answer hit the token limit.
pub(crate) const CUT_OFF: &str = "the answer was cut off at the length limit; answer again, more briefly";

/// A usable answer: what was read from it, the response (its usage summed
/// over every attempt) and the times it had to be asked for again.
pub(crate) struct Usable<T> {
    pub(crate) value: T,
    pub(crate) response: ChatResponse,
    pub(crate) reasks: u32,
}

impl LlmClient {
    /// Sends `req` and reads the answer with `read`. While `read` finds a
    /// problem, the answer and the problem go back to the model with `again`
    /// (what to do instead), up to `reask_limit` times; after that it is
    /// [`LlmError::Unusable`]. `to_wire` gives the request as sent when it
    /// differs from the conversation (the text forms of tool calls); the
    /// conversation is copied only once an answer must be asked for again, so
    /// a research agent's whole history is not copied per step.
    pub(crate) async fn ask_until_usable<T>(
        &self,
        req: &ChatRequest,
        to_wire: impl Fn(&ChatRequest) -> Option<ChatRequest>,
        mut read: impl FnMut(&ChatResponse) -> Result<T, String>,
        again: &str,
    ) -> Result<Usable<T>, LlmError> {
        let mut reasked: Option<ChatRequest> = None;
        let mut usage = productresearch_record::TokenUsage::default();
        let mut reasks = 0;
        loop {
            let conversation = reasked.as_ref().unwrap_or(req);
            let wire = to_wire(conversation);
            let mut response = self.chat(wire.as_ref().unwrap_or(conversation)).await?;
            usage += response.usage;
            let problem = match read(&response) {
                Ok(value) => {
                    response.usage = usage;
                    return Ok(Usable { value, response, reasks });
                }
                Err(problem) => problem,
            };
            if reasks >= self.config().reask_limit {
                return Err(LlmError::Unusable(format!("{problem} (after {reasks} re-asks)")));
            }
            tracing::debug!(%problem, reasks, "unusable model answer; asking again");
            reasks += 1;
            let conversation = reasked.get_or_insert_with(|| req.clone());
            if let Some(answer) = echo(&response) {
                conversation.messages.push(Message::assistant(answer));
            }
            conversation.messages.push(Message::user(say("reask", serde_json::json!({"problem": problem, "again": again}))));
        }
    }
}

/// Longest unusable answer handed back in a re-ask. A longer one (a report
/// cut at the token limit, a tool result pasted into it) is left out and only
/// the problem is said: given its own 512-token answer back, the local 0.5B
/// model wrote it again byte for byte, cut at the limit again, and the
/// trajectory ended in `model_failure` (2 of 8 in two runs); it also cost
/// those tokens again in the prompt.
const ECHO_MAX_CHARS: usize = 600;

/// The bad answer as the model gave it, for the re-ask conversation; `None`
/// when it is too long to hand back ([`ECHO_MAX_CHARS`]).
fn echo(response: &ChatResponse) -> Option<String> {
    let mut text = response.content.clone().unwrap_or_default();
    for c in &response.tool_calls {
        text.push_str(&format!("\n{{\"tool\": {:?}, \"arguments\": {}}}", c.name, c.arguments));
    }
    if text.trim().is_empty() { Some("(empty answer)".into()) } else { (text.chars().count() <= ECHO_MAX_CHARS).then_some(text) }
}
