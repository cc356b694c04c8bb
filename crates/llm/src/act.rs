//! One agent action (tool calls or a report) in whichever [`ToolMode`] the
//! endpoint needs, validated, with a bounded re-ask when the answer is unusable.

use std::sync::Arc;

use productresearch_record::{TokenUsage, ToolCall, ToolSpec};
use serde_json::json;

use crate::client::LlmClient;
use crate::config::ToolMode;
use crate::error::LlmError;
use crate::message::{ChatRequest, ChatResponse, JsonSchema, Message};
use crate::reask::{CUT_OFF, Usable};
use crate::text_tools::{self, Offer, Parsed};
use crate::wording::say;

/// What the model decided.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Call these tools, in order.
    Calls(Vec<ToolCall>),
    /// The final report.
    Report(String),
}

/// An action with what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    /// The action.
    pub action: Action,
    /// Text that came with a call (the model's reasoning), if any.
    pub reasoning: String,
    /// Tokens spent, re-asks included.
    pub usage: TokenUsage,
    /// Model that answered.
    pub model: String,
    /// Times the answer had to be asked for again.
    pub reasks: u32,
}

impl LlmClient {
    /// Asks for the next action given native-form `req.messages` and `req.tools`.
    /// `tool_choice: None` means only a report is acceptable. Calls are checked
    /// against their tool's schema; an unusable answer is sent back with the
    /// error up to `reask_limit` times, then it is [`LlmError::Unusable`] —
    /// never passed on as a call or as text.
    ///
    /// In [`ToolMode::JsonSchema`] the grammar-constrained answer only
    /// decides between a call and the report; the report itself is then
    /// asked for as free text ([`LlmClient::report_in_prose`]): inside a JSON
    /// string a small model cannot write a newline, so its Markdown report
    /// ends at the first heading.
    pub async fn act(&self, req: &ChatRequest) -> Result<Acted, LlmError> {
        if self.config().tool_mode != ToolMode::JsonSchema {
            return self.act_once(req).await;
        }
        let offer = Offer::of(req.callable.as_deref().unwrap_or(&req.tools), req.tool_choice.as_ref());
        if offer == Offer::ReportOnly {
            return self.report_in_prose(req, offer).await;
        }
        let decided = self.act_once(req).await?;
        if !matches!(decided.action, Action::Report(_)) {
            return Ok(decided);
        }
        let mut report = self.report_in_prose(req, offer).await?;
        report.usage += decided.usage;
        report.reasks += decided.reasks;
        Ok(report)
    }

    /// The final report as free Markdown, after the same conversation (and
    /// the same system message, so the endpoint's prompt cache holds) plus a
    /// request to write it. An answer cut at the token limit keeps its whole
    /// part (the limit is the client's own bound); an unusable one is asked
    /// for again up to `reask_limit` times.
    async fn report_in_prose(&self, req: &ChatRequest, offer: Offer) -> Result<Acted, LlmError> {
        let mut messages = text_tools::to_text_form(&req.messages, &req.tools, ToolMode::JsonSchema, offer, self.report_chars(req));
        let write_report = say("write_report", json!({}));
        messages.push(Message::user(write_report.clone()));
        let request =
            ChatRequest { messages, max_tokens: req.max_tokens, prose: true, temperature: req.temperature, ..ChatRequest::default() };
        // The last answer allowed keeps any whole part: a trajectory whose
        // report is cut twice used to end in `model_failure` (a 0.5B model
        // pasting a tool result in a code block that the cut left open, 4 of
        // 12 trajectories in one stop's runs), where a short whole report
        // goes to the supervisor, whose checks send it back with feedback.
        let (mut answers, last) = (0, self.config().reask_limit + 1);
        let read = |response: &ChatResponse| {
            answers += 1;
            prose_report(response, answers >= last)
        };
        let usable = self.ask_until_usable(&request, |_| None, read, &write_report).await?;
        let Usable { value: report, response, reasks } = usable;
        Ok(Acted { action: Action::Report(report), reasoning: String::new(), usage: response.usage, model: response.model, reasks })
    }

    /// The report length the text forms tell the model to stay under: one
    /// value for the choice and the report, so the system message (and the
    /// endpoint's prompt cache) does not change between them.
    fn report_chars(&self, req: &ChatRequest) -> Option<u32> {
        let config = self.config();
        req.max_tokens
            .or(config.prose_max_tokens)
            .or(config.max_tokens)
            .filter(|_| config.tool_mode != ToolMode::Native)
            .map(text_tools::report_chars)
    }

    /// One answer in the endpoint's tool mode, asked again while unusable.
    async fn act_once(&self, req: &ChatRequest) -> Result<Acted, LlmError> {
        let mode = self.config().tool_mode;
        let callable = req.callable.as_deref().unwrap_or(&req.tools);
        let offer = Offer::of(callable, req.tool_choice.as_ref());
        let report_chars = self.report_chars(req);
        let tools: Vec<(&ToolSpec, Arc<jsonschema::Validator>)> = callable
            .iter()
            .map(|t| {
                let v = self
                    .validators
                    .get_shared(&t.parameters)
                    .map_err(|e| LlmError::Config(format!("tool {} has an invalid schema: {e}", t.name)))?;
                Ok((t, v))
            })
            .collect::<Result<_, LlmError>>()?;
        let first_id = req.messages.iter().map(|m| m.tool_calls.len()).sum::<usize>();
        // The text forms are made from the conversation as it is at each
        // attempt (re-asks included); native endpoints get it as it is.
        let to_wire = |conversation: &ChatRequest| match mode {
            ToolMode::Native => None,
            ToolMode::JsonSchema | ToolMode::Lenient => Some(ChatRequest {
                messages: text_tools::to_text_form(&conversation.messages, &req.tools, mode, offer, report_chars),
                tools: Default::default(),
                callable: None,
                tool_choice: None,
                json_schema: (mode == ToolMode::JsonSchema)
                    .then(|| JsonSchema { name: "action".into(), schema: text_tools::action_schema(callable, offer).into() }),
                max_tokens: req.max_tokens,
                prose: false,
                temperature: req.temperature,
            }),
        };
        let read = |response: &ChatResponse| interpret(response, mode, offer, &tools, first_id);
        let usable = self.ask_until_usable(req, to_wire, read, &say("again_action", json!({}))).await?;
        let Usable { value: (action, reasoning), response, reasks } = usable;
        Ok(Acted { action, reasoning, usage: response.usage, model: response.model, reasks })
    }
}

/// A free-text answer as a report: the whole part of one cut at the token
/// limit, the text of a `{"report": ...}` object a model wrote out of habit.
/// The whole part of a cut answer must be at least half of it unless it is
/// the `last` answer allowed.
fn prose_report(response: &ChatResponse, last: bool) -> Result<String, String> {
    let content = response.content.clone().unwrap_or_default();
    let text = match text_tools::parse(&content, ToolMode::Lenient) {
        Ok(Parsed::Report(text)) => text,
        Ok(Parsed::Call { .. }) => return Err("no tool may be called now; write the final report".into()),
        Err(problem) => return Err(problem),
    };
    let text = crate::report_end::unfence(&text).into_owned();
    let text = if response.finish_reason.as_deref() == Some("length") {
        let whole = if last { crate::report_end::whole_part(&text, 0) } else { crate::report_end::trim(&text) };
        whole.ok_or_else(|| CUT_OFF.to_string())?
    } else if crate::report_end::check(&text).is_err() || crate::completeness::is_cut_off(&text).is_some() {
        // The model stopped on its own but left its last block unfinished (a
        // quote whose `**` never closes, a heading with nothing under it):
        // 360 tokens of a good report were sent back for that one line and
        // the redraft was worse. Its whole part is its own words, as for a cut
        // answer; when less than half is whole, the supervisor sends it back.
        crate::report_end::trim(&text).unwrap_or(text)
    } else {
        text
    };
    if text.trim().is_empty() {
        return Err("the answer is empty".into());
    }
    if let Some(cut) = crate::completeness::is_cut_off(&text) {
        return Err(format!("the report is incomplete: {cut}; write the whole report again"));
    }
    Ok(text)
}

/// Reads one answer into an action, or says what is wrong with it.
fn interpret(
    response: &ChatResponse,
    mode: ToolMode,
    offer: Offer,
    tools: &[(&ToolSpec, Arc<jsonschema::Validator>)],
    first_id: usize,
) -> Result<(Action, String), String> {
    if response.finish_reason.as_deref() == Some("length") {
        return Err(CUT_OFF.into());
    }
    let content = response.content.clone().unwrap_or_default();
    let (calls, reasoning) = if !response.tool_calls.is_empty() {
        (response.tool_calls.clone(), content)
    } else if content.trim().is_empty() {
        return Err("the answer is empty".into());
    } else {
        // Native endpoints with small models often write the call as text.
        let text_mode = if mode == ToolMode::Native { ToolMode::Lenient } else { mode };
        match text_tools::parse(&content, text_mode)? {
            Parsed::Report(_) if !offer.report() => {
                return Err("call a tool now: the report comes once the tools have given the evidence".into());
            }
            Parsed::Report(report) => {
                let report = crate::report_end::unfence(&report).into_owned();
                // A report cut off or garbled on the way is asked for again.
                if let Some(cut) = crate::completeness::is_cut_off(&report) {
                    return Err(format!("the report is incomplete: {cut}; write the whole report again"));
                }
                return Ok((Action::Report(report), String::new()));
            }
            Parsed::Call { name, arguments, prose } => {
                let call = ToolCall { id: format!("call_{first_id}"), name, arguments: arguments.to_string() };
                (vec![call], prose)
            }
        }
    };
    if !offer.calls() {
        return Err("no tool may be called now; write the final report".into());
    }
    for call in &calls {
        text_tools::validate_call(call, tools)?;
    }
    Ok((Action::Calls(calls), reasoning))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped(content: &str) -> ChatResponse {
        ChatResponse {
            content: Some(content.into()),
            tool_calls: Vec::new(),
            usage: Default::default(),
            finish_reason: Some("stop".into()),
            model: "m".into(),
        }
    }

    #[test]
    fn a_report_that_stopped_on_a_broken_last_block_keeps_its_whole_part() {
        let whole = "## Backpacks\n\n### Tranzit Commuter 22L\n\n- **Price:** $119.00\n- **Rating:** 4.6\n- Fits a 16-inch laptop; stays dry in rain.";
        let broken = format!("{whole}\n\n**Reviews:**\n- **Insert takes half the space; remove it for normal trips.\"");
        assert_eq!(prose_report(&stopped(&broken), false).unwrap(), whole);
        assert_eq!(prose_report(&stopped(whole), false).unwrap(), whole);
        // Mostly broken: passed on as written, for the supervisor to send back.
        let short = "Buy it.\n\n- **Insert takes half the space; remove it for normal trips and long runs alike.";
        assert_eq!(prose_report(&stopped(short), false).unwrap(), short);
        // Wrapped in a fence it never closes (CI's real-model run ended a trajectory on this).
        assert_eq!(prose_report(&stopped(&format!("```markdown\n{whole}")), false).unwrap(), whole);
    }

    #[test]
    fn a_report_cut_inside_a_pasted_result_keeps_its_whole_part_on_the_last_answer() {
        // The shape of a real 0.5B report cut at 512 tokens: a tool result
        // pasted in a code block that the cut left open, in its first half.
        let whole = "# Research Report: USB Cables\n\n## Introduction\nThe report looks at common uses of USB cables.";
        let cut = format!(
            "{whole}\n\n## Step 1\n\n- **Tool Result**:\n  ```json\n  {{\"results\":[{{\"product_id\":\"B0994GFWBH\",\"title\":\"Lapster 1.5 mtr USB 2.0 Type A Male to USB A Male Cable for computer and laptop\",\"price\":139.0,\"rating\":4.0}},{{\"product_id\":\"B09NJN8L25\",\"title\":\"FLiX Beetel USB to Micro USB PVC Data Sync\""
        );
        let response = ChatResponse { finish_reason: Some("length".into()), ..stopped(&cut) };
        assert_eq!(prose_report(&response, false).unwrap_err(), CUT_OFF);
        assert_eq!(prose_report(&response, true).unwrap(), whole);
        // With nothing whole, even the last answer is unusable.
        let response = ChatResponse { finish_reason: Some("length".into()), ..stopped("```json\n{\"results\": [") };
        assert_eq!(prose_report(&response, true).unwrap_err(), CUT_OFF);
    }
}
