//! The filters that decide which trajectories become training examples.
//!
//! They run in [`Filter::ORDER`]; the first that fails drops the trajectory with
//! its name and a reason, so a caller can count why data was lost. The cheap
//! checks of the record come first; the depth check needs the internalized
//! conversation and comes last.

use productresearch_record::{TerminationReason, Trajectory};
use serde::{Deserialize, Serialize};

mod calls;

use calls::{approved_calls_with_results, most_repeated_call, protocol};

use crate::internalize::{Internalized, final_report_seq};
use crate::termination::reason_name;
use crate::{content, echo, failure, grounding};

/// One filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// The record is broken: `Trajectory::validate` fails, or the step protocol is
    /// violated (an approved call not followed by its result, a result without an
    /// approved call, call arguments that are not a JSON object, a step after the
    /// approved report).
    Structure,
    /// The intent is missing or its query is empty: there is no user turn.
    NoQuery,
    /// The trajectory did not end with an approved report.
    Approved,
    /// Too few approved tool calls with results.
    MinToolCalls,
    /// A step carries a failure record (a tool result marked as an error, a
    /// recorded model or tool failure): failures are never training data.
    Failure,
    /// The agent proposed the same call (name and arguments) too often: a loop.
    RepeatedCalls,
    /// The final report stops mid-sentence, mid-table or with markup open.
    CompleteReport,
    /// The final report cites a URL no `web_visit` opened, or a product no
    /// `visit_product` opened and no `product_search` returned, or uses fewer
    /// tool results than `min_tool_calls`.
    Grounding,
    /// The final report states a price or rating no tool result gives.
    StatedFacts,
    /// Too few assistant turns in the internalized conversation.
    MinAssistantTurns,
    /// An assistant turn repeats recorded verdict feedback or uses review
    /// vocabulary.
    FeedbackEcho,
    /// Reasoning refers to a draft or attempt the example does not contain.
    InvisibleDraft,
    /// The example is longer than the chosen token bucket.
    TokenLength,
    /// The query nearly duplicates the query of an earlier kept trajectory.
    NearDuplicate,
}

impl Filter {
    /// The order the filters run in.
    pub const ORDER: [Filter; 14] = [
        Filter::Structure,
        Filter::NoQuery,
        Filter::Approved,
        Filter::MinToolCalls,
        Filter::Failure,
        Filter::RepeatedCalls,
        Filter::CompleteReport,
        Filter::Grounding,
        Filter::StatedFacts,
        Filter::MinAssistantTurns,
        Filter::FeedbackEcho,
        Filter::InvisibleDraft,
        Filter::TokenLength,
        Filter::NearDuplicate,
    ];

    /// The name reported with a drop.
    pub fn name(self) -> &'static str {
        match self {
            Filter::Structure => "structure",
            Filter::NoQuery => "no_query",
            Filter::Approved => "approved",
            Filter::MinToolCalls => "min_tool_calls",
            Filter::Failure => "failure",
            Filter::RepeatedCalls => "repeated_calls",
            Filter::CompleteReport => "complete_report",
            Filter::Grounding => "grounding",
            Filter::StatedFacts => "stated_facts",
            Filter::MinAssistantTurns => "min_assistant_turns",
            Filter::FeedbackEcho => "feedback_echo",
            Filter::InvisibleDraft => "invisible_draft",
            Filter::TokenLength => "token_length",
            Filter::NearDuplicate => "near_duplicate",
        }
    }
}

impl std::fmt::Display for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What the filters demand. Every filter but `structure` and `no_query` (without
/// which there is no example at all) can be turned off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilterConfig {
    /// Keep only trajectories whose report the supervisor approved. Off, the
    /// last report of an unapproved trajectory is its final turn.
    pub require_approval: bool,
    /// Fewest approved tool calls with results (0: off).
    pub min_tool_calls: u32,
    /// Fewest assistant turns in the internalized conversation (0: off).
    pub min_assistant_turns: u32,
    /// Drop trajectories with any failure record.
    pub drop_failures: bool,
    /// Most times one call (name + canonical arguments) may be proposed, rejected
    /// proposals included (0: off).
    pub max_identical_calls: u32,
    /// Every URL the final report cites must have been opened by `web_visit`,
    /// every product by `visit_product` or returned by `product_search`, and
    /// every price and rating it states must match a tool result.
    pub require_grounding: bool,
    /// The final report must be finished (no cut-off sentence, table or markup).
    pub require_complete_report: bool,
    /// Shortest run of words of recorded feedback that counts as an echo in an
    /// assistant turn (0: off, review vocabulary included).
    pub feedback_echo_words: u32,
    /// Drop examples whose reasoning refers to a draft they do not contain.
    pub drop_invisible_drafts: bool,
    /// Token Jaccard similarity of normalised queries at or above which a later
    /// query counts as a near duplicate (0: off).
    pub near_duplicate_jaccard: f64,
}

impl Default for FilterConfig {
    fn default() -> Self {
        Self {
            require_approval: true,
            min_tool_calls: 2,
            min_assistant_turns: 3,
            drop_failures: true,
            max_identical_calls: 2,
            require_grounding: true,
            require_complete_report: true,
            feedback_echo_words: echo::ECHO_WORDS as u32,
            drop_invisible_drafts: true,
            near_duplicate_jaccard: 0.8,
        }
    }
}

/// Why a filter dropped a trajectory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The filter.
    pub filter: Filter,
    /// What it found.
    pub reason: String,
}

impl Rejection {
    pub(crate) fn new(filter: Filter, reason: impl Into<String>) -> Self {
        Self { filter, reason: reason.into() }
    }
}

/// One filter's verdict on a kept trajectory: exported with the example
/// (lineage), so a dataset can be re-filtered with stricter thresholds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The filter.
    pub filter: Filter,
    /// What it measured (or `off`).
    pub detail: String,
}

/// The decisions so far for one trajectory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decisions(pub Vec<Decision>);

impl Decisions {
    pub(crate) fn pass(&mut self, filter: Filter, detail: impl Into<String>) {
        self.0.push(Decision { filter, detail: detail.into() });
    }
}

/// Runs the filters that look at the record itself (all but the ones needing
/// the conversation or the dataset), in order; the kept trajectory's decisions
/// come back.
pub fn screen(trajectory: &Trajectory, config: &FilterConfig) -> Result<Decisions, Rejection> {
    let mut d = Decisions::default();
    screen_into(trajectory, config, &mut d).map(|()| d)
}

/// [`screen`], recording each passed filter in `d` as it goes (so a drop can
/// tell what passed before it).
pub fn screen_into(trajectory: &Trajectory, config: &FilterConfig, d: &mut Decisions) -> Result<(), Rejection> {
    trajectory.validate().map_err(|reason| Rejection::new(Filter::Structure, reason))?;
    protocol(trajectory).map_err(|reason| Rejection::new(Filter::Structure, reason))?;
    d.pass(Filter::Structure, "ok");

    if trajectory.intent().is_none_or(|i| i.query.trim().is_empty()) {
        return Err(Rejection::new(Filter::NoQuery, "the intent has no query"));
    }
    d.pass(Filter::NoQuery, "ok");

    let termination = trajectory.termination().map(|t| reason_name(t.reason)).unwrap_or_default();
    if config.require_approval {
        match trajectory.termination() {
            Some(t) if t.reason == TerminationReason::Approved => {}
            Some(t) => {
                let detail = if t.detail.is_empty() { String::new() } else { format!(" ({})", t.detail) };
                return Err(Rejection::new(
                    Filter::Approved,
                    format!("ended with {}{detail}, not an approved report", reason_name(t.reason)),
                ));
            }
            None => {
                return Err(Rejection::new(Filter::Approved, "the trajectory has not ended"));
            }
        }
        if trajectory.final_report().is_none() {
            return Err(Rejection::new(Filter::Approved, "ended as approved but no report was approved"));
        }
        d.pass(Filter::Approved, "approved");
    } else if final_report_seq(trajectory, false).is_none() {
        return Err(Rejection::new(Filter::Approved, format!("ended with {termination} before any report")));
    } else {
        d.pass(Filter::Approved, format!("off ({termination})"));
    }

    let calls = approved_calls_with_results(trajectory);
    if calls < config.min_tool_calls {
        return Err(Rejection::new(
            Filter::MinToolCalls,
            format!("{calls} approved tool calls with results, fewer than {}", config.min_tool_calls),
        ));
    }
    d.pass(Filter::MinToolCalls, format!("{calls} >= {}", config.min_tool_calls));

    if config.drop_failures {
        if let Some(reason) = failure::first_failure(trajectory) {
            return Err(Rejection::new(Filter::Failure, reason));
        }
        d.pass(Filter::Failure, "none");
    } else {
        d.pass(Filter::Failure, "off");
    }

    if config.max_identical_calls > 0 {
        let (count, call) = most_repeated_call(trajectory);
        if count > config.max_identical_calls as usize {
            return Err(Rejection::new(
                Filter::RepeatedCalls,
                format!("{call} proposed {count} times, more than {}", config.max_identical_calls),
            ));
        }
        d.pass(Filter::RepeatedCalls, format!("at most {count} identical"));
    } else {
        d.pass(Filter::RepeatedCalls, "off");
    }

    let report = final_report_seq(trajectory, config.require_approval)
        .and_then(|seq| trajectory.steps().into_iter().find(|(e, _, _)| e.seq == seq).map(|(_, s, _)| s.text.clone()))
        .unwrap_or_default();
    if config.require_complete_report {
        let end = productresearch_llm::report_end::check(&report).map_err(|reason| Rejection::new(Filter::CompleteReport, reason))?;
        d.pass(Filter::CompleteReport, format!("ends with a {end}"));
    } else {
        d.pass(Filter::CompleteReport, "off");
    }

    if config.require_grounding {
        let evidence = grounding::Evidence::of(trajectory);
        let cited = grounding::check_with(&evidence, &report).map_err(|reason| Rejection::new(Filter::Grounding, reason))?;
        let used = grounding::check_use(&evidence, &report, config.min_tool_calls as usize)
            .map_err(|reason| Rejection::new(Filter::Grounding, reason))?;
        d.pass(Filter::Grounding, format!("{cited} citations opened by tools, {used} results used"));
        let facts = grounding::check_facts(&evidence, &report).map_err(|reason| Rejection::new(Filter::StatedFacts, reason))?;
        d.pass(Filter::StatedFacts, format!("{facts} prices and ratings match tool results"));
    } else {
        d.pass(Filter::Grounding, "off");
        d.pass(Filter::StatedFacts, "off");
    }
    Ok(())
}

/// Runs the filters on what the internalized conversation says
/// ([`Filter::FeedbackEcho`], [`Filter::InvisibleDraft`]).
pub fn content(trajectory: &Trajectory, internalized: &Internalized, config: &FilterConfig, d: &mut Decisions) -> Result<(), Rejection> {
    if config.feedback_echo_words > 0 {
        let detail = content::feedback_echo(trajectory, &internalized.messages, config.feedback_echo_words as usize)
            .map_err(|reason| Rejection::new(Filter::FeedbackEcho, reason))?;
        d.pass(Filter::FeedbackEcho, detail);
    } else {
        d.pass(Filter::FeedbackEcho, "off");
    }
    if config.drop_invisible_drafts {
        content::invisible_draft(&internalized.messages).map_err(|reason| Rejection::new(Filter::InvisibleDraft, reason))?;
        d.pass(Filter::InvisibleDraft, "no reference to an unseen draft");
    } else {
        d.pass(Filter::InvisibleDraft, "off");
    }
    Ok(())
}

/// Runs [`Filter::MinAssistantTurns`] on the internalized conversation.
pub fn depth(internalized: &Internalized, min_assistant_turns: u32, decisions: &mut Decisions) -> Result<(), Rejection> {
    let turns = internalized.assistant_turns();
    if turns < min_assistant_turns as usize {
        return Err(Rejection::new(Filter::MinAssistantTurns, format!("{turns} assistant turns, fewer than {min_assistant_turns}")));
    }
    decisions.pass(Filter::MinAssistantTurns, format!("{turns} >= {min_assistant_turns}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use productresearch_record::{EventBody, TerminationReason};

    use super::*;
    use crate::internalize::internalize;
    use crate::internalize::tests::{Script, supervised};

    /// The default filters with `min_tool_calls`, grounding off (the fixtures
    /// cite nothing a tool did not return, but most build no tool results).
    fn cfg(min_tool_calls: u32) -> FilterConfig {
        FilterConfig { min_tool_calls, ..FilterConfig::default() }
    }

    fn dropped_by(t: &Trajectory, min_tool_calls: u32) -> Option<(&'static str, String)> {
        screen(t, &cfg(min_tool_calls)).err().map(|r| (r.filter.name(), r.reason))
    }

    #[test]
    fn a_good_trajectory_passes_every_filter() {
        let t = supervised();
        let mut d = screen(&t, &cfg(3)).unwrap();
        assert_eq!(depth(&internalize(&t, "s"), 5, &mut d), Ok(()));
        let names: Vec<&str> = d.0.iter().map(|d| d.filter.name()).collect();
        assert_eq!(
            names,
            [
                "structure",
                "no_query",
                "approved",
                "min_tool_calls",
                "failure",
                "repeated_calls",
                "complete_report",
                "grounding",
                "stated_facts",
                "min_assistant_turns"
            ]
        );
        assert_eq!(d.0[3].detail, "3 >= 3");
    }

    #[test]
    fn structure_drops_a_record_that_fails_validate() {
        let mut t = supervised();
        t.events.pop(); // no termination
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "structure");
        assert!(reason.contains("termination"), "{reason}");
    }

    #[test]
    fn no_query_drops_an_empty_query() {
        let t = Script::new("t", "   ").plan("p", "", None).report("r.", None).end(TerminationReason::Approved);
        assert_eq!(dropped_by(&t, 0).unwrap().0, "no_query");
    }

    #[test]
    fn approved_drops_unapproved_endings() {
        let t = Script::new("t", "q").plan("p", "", None).report("r", Some("thin")).end(TerminationReason::RoundCap);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "approved");
        assert!(reason.contains("round_cap"), "{reason}");
        // Marked approved, but no report ever was.
        let t = Script::new("t", "q").plan("p", "", None).report("r", Some("thin")).end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "approved");
        assert!(reason.contains("no report was approved"), "{reason}");
    }

    #[test]
    fn a_truncated_call_is_dropped_as_unapproved_not_as_broken() {
        let mut s = Script::new("t", "q");
        s.plan("p", "", None).call("c1", "web_search", "{}", None);
        let t = s.end(TerminationReason::ToolFailure);
        assert_eq!(dropped_by(&t, 0).unwrap().0, "approved");
    }

    #[test]
    fn min_tool_calls_counts_approved_calls_with_results() {
        let t = supervised(); // c2, c3, c4 approved with results; c1 rejected
        assert!(screen(&t, &cfg(3)).is_ok());
        let (name, reason) = dropped_by(&t, 4).unwrap();
        assert_eq!(name, "min_tool_calls");
        assert_eq!(reason, "3 approved tool calls with results, fewer than 4");
    }

    #[test]
    fn min_assistant_turns_counts_the_internalized_turns() {
        let t = supervised(); // plan, c2, c3, c4, report
        let out = internalize(&t, "s");
        assert_eq!(depth(&out, 5, &mut Decisions::default()), Ok(()));
        let r = depth(&out, 6, &mut Decisions::default()).unwrap_err();
        assert_eq!(r.filter.name(), "min_assistant_turns");
        assert_eq!(r.reason, "5 assistant turns, fewer than 6");
    }

    #[test]
    fn the_first_failing_filter_names_the_drop() {
        // Unapproved and too shallow: the approved filter runs first.
        let t = Script::new("t", "q").plan("p", "", None).report("r", Some("x")).end(TerminationReason::Budget);
        assert_eq!(dropped_by(&t, 5).unwrap().0, "approved");
        // Broken and unapproved: structure first.
        let mut t = t;
        t.events.retain(|e| !matches!(e.body, EventBody::Verdict(_)));
        for (i, e) in t.events.iter_mut().enumerate() {
            e.seq = i as u64;
        }
        assert_eq!(dropped_by(&t, 5).unwrap().0, "structure");
        assert_eq!(Filter::ORDER.map(Filter::name)[..4], ["structure", "no_query", "approved", "min_tool_calls"]);
    }

    #[test]
    fn failure_drops_error_results_and_failure_terminations() {
        let mut s = Script::new("t", "q");
        s.plan("p", "", None).call("c1", "web_visit", r#"{"url":"https://a.example"}"#, None);
        let r = productresearch_record::ToolResult {
            call_id: "c1".into(),
            name: "web_visit".into(),
            content: "timeout".into(),
            is_error: true,
        };
        s.t.push(0, EventBody::Step(productresearch_record::Step::result(r)));
        s.t.push(0, EventBody::Verdict(productresearch_record::Verdict::approve(productresearch_record::SupervisorState::CheckToolcall)));
        let t = s.tool("c2", "web_search", r#"{"query":"x"}"#, "ok").report("r.", None).end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "failure");
        assert!(reason.contains("c1") && reason.contains("is an error"), "{reason}");
        // Error text in a result not marked as an error counts too.
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", "{}", "Error: upstream 503")
            .report("r.", None)
            .end(TerminationReason::Approved);
        assert!(dropped_by(&t, 0).unwrap().1.contains("reads as an error text"));
        // Turned off, it passes (and says so).
        let off = FilterConfig { drop_failures: false, min_tool_calls: 0, ..FilterConfig::default() };
        let d = screen(&t, &off).unwrap();
        assert!(d.0.iter().any(|d| d.filter == Filter::Failure && d.detail == "off"));
    }

    #[test]
    fn repeated_calls_drop_a_loop_but_not_one_retry() {
        let mut s = Script::new("t", "q");
        s.plan("p", "", None);
        // Proposed three times (two rejected as repeats): a loop.
        s.call("c1", "web_search", r#"{"query":"x","k":1}"#, Some("repeat")).call(
            "c2",
            "web_search",
            r#"{"k":1, "query":"x"}"#,
            Some("repeat"),
        );
        let t = s
            .tool("c3", "web_search", r#"{"query":"x","k":1}"#, "ok")
            .tool("c4", "web_visit", r#"{"url":"u"}"#, "ok")
            .report("r.", None)
            .end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "repeated_calls");
        assert!(reason.contains("3 times, more than 2"), "{reason}");
        let lenient = FilterConfig { max_identical_calls: 3, min_tool_calls: 0, ..FilterConfig::default() };
        assert!(screen(&t, &lenient).is_ok());
    }

    #[test]
    fn grounding_drops_a_report_citing_what_no_tool_returned() {
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "product_search", r#"{"query":"x"}"#, "[hp-001] Aurion Quiet 700 $329")
            .tool("c2", "web_visit", r#"{"url":"https://a.example/review"}"#, "great")
            .report("Buy [hp-001] (https://a.example/review); or [hp-999], see https://b.example/x.", None)
            .end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "grounding");
        assert_eq!(
            reason,
            "the report cites 2 that no web_visit, visit_product or product_search of this trajectory opened: hp-999, https://b.example/x"
        );
        let grounded = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "product_search", r#"{"query":"x"}"#, "[hp-001] Aurion Quiet 700 $329")
            .tool("c2", "web_visit", r#"{"url":"https://a.example/review"}"#, "great")
            .report("Buy [hp-001] (https://a.example/review).", None)
            .end(TerminationReason::Approved);
        let d = screen(&grounded, &cfg(0)).unwrap();
        assert!(d.0.iter().any(|d| d.filter == Filter::Grounding && d.detail == "2 citations opened by tools, 2 results used"));
    }

    #[test]
    fn a_url_found_by_search_but_never_visited_is_not_grounded() {
        let hits = r#"{"results":[{"url":"https://a.example/review","title":"A"},{"url":"https://b.example/x","title":"B"}]}"#;
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", r#"{"query":"x"}"#, hits)
            .tool("c2", "web_visit", r#"{"url":"https://a.example/review"}"#, r#"{"url":"https://a.example/review","content":"great"}"#)
            .report("Read https://a.example/review and https://b.example/x.", None)
            .end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "grounding");
        assert!(reason.ends_with("opened: https://b.example/x"), "{reason}");
    }

    #[test]
    fn stated_facts_drop_a_price_no_tool_gave() {
        let search = r#"{"results":[{"product_id":"hp-001","title":"Aurion","price":329,"rating":4.4}]}"#;
        let report = |line: &str| {
            Script::new("t", "Headphones under $400?")
                .plan("p", "", None)
                .tool("c1", "product_search", r#"{"query":"x"}"#, search)
                .tool("c2", "visit_product", r#"{"product_id":"hp-001"}"#, search)
                .report(line, None)
                .end(TerminationReason::Approved)
        };
        let (name, reason) = dropped_by(&report("Buy [hp-001] at $299 (rating: 4.4)."), 0).unwrap();
        assert_eq!(name, "stated_facts");
        assert!(reason.contains("price 299 for hp-001"), "{reason}");
        assert_eq!(
            dropped_by(&report("Buy [hp-001] at $329 (rating: 4.9)."), 0).unwrap().1.split(',').next(),
            Some("the report states rating 4.9 for hp-001")
        );
        // The tool's figures, and the user's own budget, pass.
        let d = screen(&report("Buy [hp-001] at $329, rated 4.4/5.\nAll within $400."), &cfg(0)).unwrap();
        assert!(d.0.iter().any(|d| d.filter == Filter::StatedFacts && d.detail.starts_with("3 prices and ratings")), "{d:?}");
    }

    #[test]
    fn complete_report_drops_a_cut_off_report() {
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", "{}", "x")
            .report("## Picks\n| Product | Price |\n|---|---|\n| Ninja | 89", None)
            .end(TerminationReason::Approved);
        let (name, reason) = dropped_by(&t, 0).unwrap();
        assert_eq!(name, "complete_report");
        assert!(reason.contains("table row"), "{reason}");
        let off = FilterConfig { require_complete_report: false, min_tool_calls: 0, ..FilterConfig::default() };
        assert!(screen(&t, &off).unwrap().0.iter().any(|d| d.filter == Filter::CompleteReport && d.detail == "off"));
    }

    #[test]
    fn approval_can_be_turned_off_and_the_last_report_ends_the_example() {
        let t = Script::new("t", "q")
            .plan("p", "", None)
            .tool("c1", "web_search", "{}", "x")
            .report("draft one", Some("thin"))
            .report("draft two.", Some("still thin"))
            .end(TerminationReason::RoundCap);
        let off = FilterConfig { require_approval: false, min_tool_calls: 0, ..FilterConfig::default() };
        assert!(screen(&t, &off).is_ok());
        let out = crate::internalize::internalize_with(&t, "s", &Default::default(), final_report_seq(&t, false), 8);
        let last = serde_json::to_value(out.messages.last().unwrap()).unwrap();
        assert_eq!((last["role"].as_str(), last["content"].as_str()), (Some("assistant"), Some("draft two.")));
        assert_eq!(out.rejections_internalized, 1);
    }
}
