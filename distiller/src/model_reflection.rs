//! Reflective internalization with the model: for every rejected step of a
//! kept trajectory, the research agent's model is asked (template
//! `distiller/reflection`) to restate the rejection as its own first-person
//! reflection. The answer must not mention a supervisor, a reviewer or
//! feedback; it is asked once more with the problem named (template
//! `distiller/reflection_retry`), then the rule-based
//! rewrite ([`crate::reflection`]) takes over and the reason is counted.
//!
//! The raw transcript is the record itself and stays untouched, so a dataset
//! can be re-distilled with another model or template at any time.
//!
//! A usable reflection is kept for later requests, by trajectory, event and
//! what the model was shown (a re-run whose records were deleted reuses ids
//! with other steps): `productresearch run` distills the finished trajectories
//! again as more finish, and each pass would otherwise ask the model anew. An
//! unusable one is not kept, so an outage during an early pass does not decide
//! the final export.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use productresearch_llm::{ChatRequest, JsonSchema, LlmClient, Message};
use productresearch_prompts::{PromptRef, PromptSet};
use productresearch_record::{Decision, Step, StepKind, Trajectory};
use serde_json::{Value, json};

use crate::filter::{self, FilterConfig};
use crate::{echo, internalize, vocabulary};

/// Name of the reflection prompt template.
pub const TEMPLATE: &str = "distiller/reflection";
/// Name of the template that asks again after an unusable answer.
pub const RETRY_TEMPLATE: &str = "distiller/reflection_retry";
/// Most reflection calls in flight (fewer when the client allows fewer).
pub const MAX_IN_FLIGHT: usize = 16;
/// Name of the JSON schema of the answer (a simulated endpoint answers by it).
pub const SCHEMA_NAME: &str = "reflection";
/// Longest reflection asked for: the template asks for one to three
/// sentences, and a grammar-constrained endpoint must then close the string.
/// Without it the embedded 0.5B model ran a reflection to the token bound
/// twice, a minute and a half at the end of a run, and fell back to the rules.
pub const MAX_REFLECTION_CHARS: u32 = 400;
/// Most reflections kept; past it the store starts over, so a long-lived
/// distiller does not grow without end.
const MAX_KEPT: usize = 8192;

/// A reflection's text and the templates that asked for it.
type Reflection = (String, Vec<PromptRef>);
/// One reflection's outcome, or why none is usable.
type Outcome = Result<Reflection, String>;
/// A kept reflection's key: trajectory id, event seq, and a hash of the query,
/// step and feedback the model was shown.
type Kept = (String, u64, u64);

fn kept_key(id: &str, seq: u64, query: &str, step: &Step, feedback: &str) -> Kept {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    considered(query, step, feedback).to_string().hash(&mut h);
    (id.to_string(), seq, h.finish())
}

/// The reflections of one trajectory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrajectoryReflections {
    /// Rejected step's event seq → the model's reflection.
    pub by_seq: HashMap<u64, String>,
    /// Rejections that fell back to the rule-based rewrite, with why.
    pub fallbacks: Vec<String>,
    /// Model that wrote them.
    pub model: Option<String>,
    /// The templates the model's reflections came from (the reflection
    /// template, and the re-ask template when an answer was asked for again).
    pub prompts: Vec<PromptRef>,
}

impl TrajectoryReflections {
    /// Lineage of the example's reflections.
    pub fn lineage(&self, rejections: u32) -> Value {
        let by_model = self.by_seq.len();
        json!({
            "rejections": rejections,
            "by_model": by_model,
            "by_rules": (rejections as usize).saturating_sub(by_model),
            "model": self.model,
            "fallback_reasons": self.fallbacks,
        })
    }
}

/// Reflections per trajectory id.
pub type ReflectionTable = HashMap<String, TrajectoryReflections>;

/// Asks a model for reflections.
#[derive(Clone)]
pub struct ModelReflector {
    client: Arc<LlmClient>,
    prompts: PromptSet,
    concurrency: usize,
    /// Usable reflections by [`Kept`] key.
    kept: Arc<Mutex<HashMap<Kept, Reflection>>>,
}

impl ModelReflector {
    /// A reflector calling `client`, rendering from `prompts`.
    pub fn new(client: LlmClient, prompts: PromptSet) -> Self {
        let concurrency = client.config().max_concurrency.clamp(1, MAX_IN_FLIGHT);
        Self { client: Arc::new(client), prompts, concurrency, kept: Arc::default() }
    }

    /// Reflections for every rejected step of the trajectories the record
    /// filters keep (the others are never exported, so never worth a call).
    pub async fn reflect_all(&self, trajectories: &[Trajectory], filters: &FilterConfig) -> ReflectionTable {
        // (The lock is not held across the calls below.)
        let (jobs, mut results) = {
            let mut jobs = Vec::new();
            let mut results = Vec::new();
            let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            for t in trajectories {
                if filter::screen(t, filters).is_err() {
                    continue;
                }
                let query = t.intent().map(|i| i.query.clone()).unwrap_or_default();
                let final_seq = internalize::final_report_seq(t, filters.require_approval);
                for (event, step, verdict) in t.steps() {
                    let Some(v) = verdict.filter(|v| v.decision == Decision::Revise && Some(event.seq) != final_seq) else { continue };
                    if let Some(reflection) = kept.get(&kept_key(&t.trajectory_id, event.seq, &query, step, &v.feedback)) {
                        // Asked for by an earlier request.
                        results.push((t.trajectory_id.clone(), event.seq, Ok(reflection.clone())));
                        continue;
                    }
                    jobs.push((t.trajectory_id.clone(), event.seq, query.clone(), step.clone(), v.feedback.clone()));
                }
            }
            (jobs, results)
        };
        let asked: Vec<_> = futures::stream::iter(jobs)
            .map(|(id, seq, query, step, feedback)| async move {
                // The model call names its trajectory, as the agents' calls do.
                let trajectory = Some(std::sync::Arc::from(id.as_str()));
                let outcome = productresearch_runtime::context::with_trajectory(trajectory, self.reflect(&query, &step, &feedback)).await;
                if let Err(reason) = &outcome {
                    tracing::warn!(event = seq, %reason, "model reflection unusable; rule-based reflection used");
                }
                let key = kept_key(&id, seq, &query, &step, &feedback);
                (id, seq, outcome, key)
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        self.keep(&asked);
        results.extend(asked.into_iter().map(|(id, seq, outcome, _)| (id, seq, outcome)));
        let mut table = ReflectionTable::new();
        for (id, seq, outcome) in results {
            let entry = table.entry(id).or_default();
            entry.model = Some(self.client.model().to_string());
            match outcome {
                Ok((text, prompts)) => {
                    entry.by_seq.insert(seq, text);
                    entry.prompts.extend(prompts);
                    entry.prompts.sort();
                    entry.prompts.dedup();
                }
                Err(reason) => entry.fallbacks.push(format!("event {seq}: {reason}")),
            }
        }
        table
    }

    fn keep(&self, asked: &[(String, u64, Outcome, Kept)]) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        if kept.len() + asked.len() > MAX_KEPT {
            kept.clear();
        }
        kept.extend(asked.iter().filter_map(|(_, _, outcome, key)| Some((key.clone(), outcome.clone().ok()?))));
    }

    /// One reflection with the templates that asked for it, or why none is
    /// usable.
    pub async fn reflect(&self, query: &str, step: &Step, feedback: &str) -> Outcome {
        let rendered = self.prompts.render(TEMPLATE, considered(query, step, feedback)).map_err(|e| format!("template: {e}"))?;
        let schema = json!({
            "type": "object",
            "properties": {"reflection": {"type": "string", "minLength": 1, "maxLength": MAX_REFLECTION_CHARS}},
            "required": ["reflection"],
        });
        let mut req = ChatRequest {
            messages: vec![Message::user(rendered.text)],
            json_schema: Some(JsonSchema { name: SCHEMA_NAME.into(), schema: schema.into() }),
            max_tokens: Some(400),
            ..ChatRequest::default()
        };
        let mut prompts = vec![rendered.prompt];
        // One extra ask when the wording gives the second role away.
        for attempt in 0..2 {
            let (value, _) = self.client.chat_json(&req).await.map_err(|e| format!("model: {e}"))?;
            let text = value["reflection"].as_str().unwrap_or_default().trim().to_string();
            let Some(problem) = problem_of(&text, feedback) else { return Ok((text, prompts)) };
            if attempt == 1 {
                return Err(format!("{problem} (after one re-ask)"));
            }
            let retry = self.prompts.render(RETRY_TEMPLATE, json!({"problem": problem})).map_err(|e| format!("template: {e}"))?;
            req.messages.push(Message::assistant(value.to_string()));
            req.messages.push(Message::user(retry.text));
            prompts.push(retry.prompt);
        }
        unreachable!("the loop returns on its second attempt")
    }
}

/// What makes a model's reflection unusable in an example: empty, naming the
/// second role, copying the feedback (the `feedback_echo` filter's rule) or
/// looking back at the draft the example will not contain.
fn problem_of(text: &str, feedback: &str) -> Option<String> {
    if text.is_empty() {
        return Some("the reflection is empty".into());
    }
    if let Some(word) = vocabulary::role_word_in(text) {
        return Some(format!("the reflection mentions {word:?}"));
    }
    if let Some(run) = echo::shared_run(text, feedback, echo::ECHO_WORDS) {
        return Some(format!("the reflection copies {run:?}"));
    }
    // A run's export held "…the following features must be considered and
    // implemented in the research report:" as the whole reasoning of a step.
    if let Some(cut) = productresearch_llm::completeness::is_cut_off(text) {
        return Some(format!("the reflection is unfinished: {cut}"));
    }
    vocabulary::draft_phrase_in(text).map(|p| format!("the reflection refers to a draft ({p:?})"))
}

/// The variables of [`TEMPLATE`]: the query, which kind of step was
/// considered (`step`: plan, tool_call, tool_result or report), what it held
/// (`call` with name and arguments, `result` with name and content, or `text`;
/// long texts cut) and the feedback. The wording is the template's.
fn considered(query: &str, step: &Step, feedback: &str) -> Value {
    let kind = match step.kind {
        StepKind::Plan => "plan",
        StepKind::ToolCall => "tool_call",
        StepKind::ToolResult => "tool_result",
        StepKind::Report => "report",
    };
    let call = step.tool_call.as_ref().map(|c| json!({"name": c.name, "arguments": cut(&c.arguments)}));
    let result = step.tool_result.as_ref().filter(|_| call.is_none()).map(|r| json!({"name": r.name, "content": cut(&r.content)}));
    json!({"step": kind, "query": query, "call": call, "result": result, "text": cut(&step.text), "feedback": feedback})
}

/// `text` cut to what the model needs to see of a draft (long tool results).
fn cut(text: &str) -> String {
    const MAX: usize = 2000;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use productresearch_llm::EndpointConfig;
    use productresearch_sim_llm::{FaultKind, FaultRule, SimConfig, Trigger};

    use super::*;
    use crate::internalize::tests::supervised;

    fn client(base_url: String, reask_limit: u32) -> LlmClient {
        let mut e = EndpointConfig::new(base_url, "qwen3-4b");
        e.reask_limit = reask_limit;
        e.max_retries = 0;
        LlmClient::new(e).unwrap()
    }

    #[tokio::test]
    async fn every_rejection_is_restated_by_the_model_in_the_first_person() {
        let sim = productresearch_sim_llm::spawn_local(SimConfig::default()).await.unwrap();
        let reflector = ModelReflector::new(client(sim.base_url(), 1), PromptSet::builtin());
        let t = supervised();
        let table = reflector.reflect_all(std::slice::from_ref(&t), &FilterConfig::default()).await;
        let mine = &table["traj-1"];
        // Plan, call and round-1 report were rejected: three calls, three reflections.
        assert_eq!((mine.by_seq.len(), mine.fallbacks.len(), sim.requests()), (3, 0, 3));
        assert_eq!(sim.answers_by_trajectory()["traj-1"].count, 3, "each reflection call names its trajectory");
        assert_eq!(mine.prompts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [TEMPLATE], "no answer was asked for again");
        for text in mine.by_seq.values() {
            assert!(text.starts_with("Before I go on, I make sure"), "{text}");
            assert_eq!(problem_of(text, "x"), None, "{text}");
        }
        // The plan's critique, restated (the model saw the feedback text).
        let plan_seq = t.steps()[0].0.seq;
        assert!(mine.by_seq[&plan_seq].contains("warranty"), "{}", mine.by_seq[&plan_seq]);

        // Exported: the model's words lead the turns, and the example validates.
        let opts = crate::DistillOptions::from_config(&crate::Config::default()).unwrap();
        let out = crate::distill(std::slice::from_ref(&t), &[], &opts, &table).unwrap();
        let v = &out.examples[0].value;
        assert_eq!(v["messages"][2]["reasoning_content"].as_str().unwrap().split("\n\n").next(), Some(mine.by_seq[&plan_seq].as_str()));
        assert_eq!(
            (v["meta"]["reflections"]["by_model"].as_u64(), v["meta"]["reflections"]["model"].as_str()),
            (Some(3), Some("qwen3-4b"))
        );
        assert!(v["meta"]["prompts"][TEMPLATE].as_str().is_some_and(|h| h.len() == 64));

        // Distilled again (as `run` does while the batch goes on): the kept
        // reflections, no new call.
        let again = reflector.reflect_all(std::slice::from_ref(&t), &FilterConfig::default()).await;
        assert_eq!((&again["traj-1"], sim.requests()), (mine, 3));
        // The same id and events with other feedback (a re-run after its
        // records were deleted) are asked for anew.
        let mut other = t.clone();
        for e in &mut other.events {
            if let productresearch_record::EventBody::Verdict(v) = &mut e.body
                && v.decision == Decision::Revise
            {
                v.feedback.push_str(" Compare the warranties too.");
            }
        }
        reflector.reflect_all(std::slice::from_ref(&other), &FilterConfig::default()).await;
        assert_eq!(sim.requests(), 6, "a kept reflection answered other steps");
        sim.shutdown().await;
    }

    #[test]
    fn copied_or_backward_looking_answers_are_unusable() {
        let feedback = "The plan does not say how the candidates will be compared against each other.";
        let copied = "I see that the plan does not say how the candidates will be compared.";
        assert!(problem_of(copied, feedback).unwrap().contains("copies"));
        assert!(problem_of("Looking back at my draft, I missed warranties.", feedback).unwrap().contains("draft"));
        assert!(problem_of("The feedback wants warranties.", feedback).unwrap().contains("feedback"));
        assert_eq!(problem_of("I will compare the candidates on price, rating and warranty first.", feedback), None);
        let dangling = "To make the Samsung Galaxy M13 a good phone, the following features must be considered and implemented in the research report:";
        assert!(problem_of(dangling, feedback).unwrap().contains("unfinished"));
    }

    #[tokio::test]
    async fn an_unusable_answer_falls_back_to_the_rules_with_the_reason_counted() {
        let faults = vec![FaultRule { trigger: Trigger::EveryNth(1), kind: FaultKind::GarbledContent }];
        let sim = productresearch_sim_llm::spawn_local(SimConfig { faults, ..SimConfig::default() }).await.unwrap();
        let reflector = ModelReflector::new(client(sim.base_url(), 0), PromptSet::builtin());
        let t = supervised();
        let table = reflector.reflect_all(std::slice::from_ref(&t), &FilterConfig::default()).await;
        let mine = &table["traj-1"];
        assert!(mine.by_seq.is_empty());
        assert_eq!(mine.fallbacks.len(), 3);
        assert!(mine.fallbacks.iter().all(|f| f.contains("model:")), "{:?}", mine.fallbacks);
        // Not kept: a later request (the final pass of a run) asks again.
        let asked = sim.requests();
        reflector.reflect_all(std::slice::from_ref(&t), &FilterConfig::default()).await;
        assert_eq!(sim.requests(), asked + 3, "an unusable reflection was kept");
        let opts = crate::DistillOptions::from_config(&crate::Config::default()).unwrap();
        let out = crate::distill(&[t], &[], &opts, &table).unwrap();
        let meta = &out.examples[0].value["meta"]["reflections"];
        assert_eq!((meta["by_model"].as_u64(), meta["by_rules"].as_u64()), (Some(0), Some(3)));
        assert_eq!(meta["fallback_reasons"].as_array().unwrap().len(), 3);
        sim.shutdown().await;
    }

    /// An OpenAI-compatible endpoint on loopback that answers each chat
    /// request with the next of `answers` (the reflection texts) and keeps
    /// the request bodies.
    async fn scripted(answers: Vec<&'static str>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = bodies.clone();
        let answers = std::sync::Arc::new(std::sync::Mutex::new(answers.into_iter()));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (seen, answers) = (seen.clone(), answers.clone());
                tokio::spawn(async move {
                    let mut stream = BufReader::new(stream);
                    loop {
                        let mut length = 0;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        stream.read_exact(&mut body).await.unwrap();
                        seen.lock().unwrap().push(serde_json::from_slice::<Value>(&body).unwrap());
                        let text = answers.lock().unwrap().next().unwrap_or("");
                        let reply = json!({
                            "id": "r", "object": "chat.completion", "created": 0, "model": "qwen3-4b",
                            "choices": [{"index": 0, "finish_reason": "stop",
                                "message": {"role": "assistant", "content": json!({"reflection": text}).to_string()}}],
                            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
                        })
                        .to_string();
                        let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", reply.len());
                        if stream.get_mut().write_all(format!("{head}{reply}").as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, bodies)
    }

    #[tokio::test]
    async fn an_answer_naming_the_review_is_asked_for_again_with_the_retry_template() {
        let (url, bodies) = scripted(vec!["The supervisor wants warranties compared.", "I will compare the warranty terms first."]).await;
        let reflector = ModelReflector::new(client(url, 0), PromptSet::builtin());
        let step = Step::text(StepKind::Plan, "1. search", productresearch_record::TokenUsage::default(), "m");
        let (text, prompts) = reflector.reflect("Which blender?", &step, "Compare warranties.").await.unwrap();
        assert_eq!(text, "I will compare the warranty terms first.");
        assert_eq!(prompts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), [TEMPLATE, RETRY_TEMPLATE]);
        let bodies = bodies.lock().unwrap();
        assert_eq!(bodies.len(), 2);
        let asked = &bodies[0]["response_format"]["json_schema"]["schema"]["properties"]["reflection"];
        assert_eq!(asked["maxLength"], MAX_REFLECTION_CHARS, "a bounded reflection: {asked}");
        let expected =
            PromptSet::builtin().render(RETRY_TEMPLATE, json!({"problem": "the reflection mentions \"supervisor\""})).unwrap().text;
        assert_eq!(bodies[1]["messages"].as_array().unwrap().last().unwrap()["content"].as_str(), Some(expected.as_str()));
        assert!(expected.starts_with("the reflection mentions \"supervisor\". Write it again as your own forethought"), "{expected}");
    }

    #[test]
    fn the_template_words_the_considered_step() {
        let set = PromptSet::builtin();
        let render = |step: &Step| set.render(TEMPLATE, considered("Which blender?", step, "Too vague.")).unwrap().text;
        let t = supervised();
        let steps: Vec<Step> = t.steps().into_iter().map(|(_, s, _)| s.clone()).collect();
        let plan = render(&steps[0]);
        assert!(plan.starts_with("You are a shopping research agent working on this research query:\nWhich blender?\n\nYou considered this research plan:\n1. search blenders\n\nIt would not"), "{plan}");
        assert!(render(&steps[2]).contains("You considered this tool call:\nweb_search({\"query\":\"blender\"})\n\n"));
        let result = steps.iter().find(|s| s.kind == StepKind::ToolResult).unwrap();
        assert!(render(result).contains("You considered this tool result you accepted:\nproduct_search returned: 1. Ninja BN701 $89\n\n"));
        assert!(plan.contains("makes sense without the considered research plan: it will not be shown"), "{plan}");
    }
}
