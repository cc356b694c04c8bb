//! Check Plan's and Check Report's deterministic checks: echoes of the
//! instructions or the feedback, cut-off, looping, unfinished or thin texts,
//! reports on too few tool results.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use productresearch_record::echo::FeedbackRuns;
use productresearch_record::words::{self, RunSet, Words};
use productresearch_record::{ToolSpec, Trajectory, grounding, vocabulary};
use serde_json::Value;

use super::{Feedback, cut_off, degenerate};
use crate::caps::Caps;

/// Deterministic checks of plans and reports, run before the model's verdict:
/// what the distiller would drop, or what is not an answer at all, is sent
/// back with concrete feedback instead of being left to a small model's
/// judgement.
///
/// The guards' thresholds come with each check (`Caps`: a request may set
/// them). Why the defaults: six words in the same order (`echo_words`) do not
/// appear in a report by chance ("start by writing a research plan as ...").
/// A plan is an echo only when half its word runs (`plan_echo_percent`) are
/// instruction runs: a real plan names what a tool does in the tool list's
/// own words ("visit the product's full record by product_id") and ends
/// with a step that copies the report instructions. The 1.5B model's plans
/// were sent back for that, one run or a quarter of the runs at a time,
/// while their other steps were the plan; and when plans became lists of
/// steps, half of a 0.5B plan's four steps named tools that way, and the
/// plan was sent back three times for it. A report is an echo when a
/// tenth of its word runs are (`report_echo_percent`): a small model's echo
/// is the instructions' sentences (half its runs, or a whole paragraph at
/// the end), while a 1.5B model's real 400-word report that restated its
/// plan held one run ("visit the product's full record by product_id").
#[derive(Debug)]
pub struct TextChecker {
    /// Approved tool calls with results a report needs (the distiller's
    /// `min_tool_calls`; 0: off).
    min_tool_calls: u32,
    /// The words of each literal text of the research agent's prompt
    /// templates, hashed ([`Words`]).
    instructions: Vec<Vec<u64>>,
    /// The words of each description in the tool list the agent reads
    /// ([`TextChecker::with_tools`]): checked in reports only.
    tool_texts: Vec<Vec<u64>>,
    /// The tools' names, lowercase ([`TextChecker::with_tools`]).
    tool_names: Vec<String>,
    /// Word n-grams by (n, tool texts included), built on first use.
    runs: Mutex<HashMap<(usize, bool), Arc<RunSet>>>,
}

/// The word hashes of `text`.
fn word_hashes(text: &str) -> Vec<u64> {
    Words::alphanumeric(text).hashes().to_vec()
}

impl TextChecker {
    /// Checks against the research agent's templates in `prompts`; a report
    /// needs `min_tool_calls` approved tool calls with results.
    pub fn new(prompts: &productresearch_prompts::PromptSet, min_tool_calls: u32) -> Self {
        let mut instructions = Vec::new();
        for (reference, _) in prompts.list() {
            if !reference.name.starts_with("research_agent/") {
                continue;
            }
            let Some(source) = prompts.source(&reference.name) else { continue };
            // Only literal text: n-grams never span a `{{ placeholder }}` or a `{% tag %}`.
            instructions.extend(literal_segments(source).into_iter().map(word_hashes));
        }
        Self { min_tool_calls, instructions, tool_texts: Vec::new(), tool_names: Vec::new(), runs: Mutex::default() }
    }

    /// The same checks, with reports also checked against the descriptions
    /// of `tools` (each tool's and each argument's): the agent reads them in
    /// every request, and a 0.5B report that restated them nearly word for
    /// word ("headings as "#" lines, list items as "- " lines") and never
    /// answered its query passed every other guard and was exported. Plans
    /// are not: a real plan names what a tool does in the tool's own words.
    pub fn with_tools(&self, tools: &[ToolSpec]) -> Self {
        let tool_texts = tools.iter().flat_map(descriptions).map(word_hashes).filter(|w| !w.is_empty()).collect();
        let tool_names = tools.iter().map(|t| t.name.to_lowercase()).collect();
        Self {
            min_tool_calls: self.min_tool_calls,
            instructions: self.instructions.clone(),
            tool_texts,
            tool_names,
            runs: Mutex::default(),
        }
    }

    /// The instructions' word runs of `n` words, with the tool texts' when
    /// `tools`.
    fn instruction_runs(&self, n: usize, tools: bool) -> Arc<RunSet> {
        let mut runs = self.runs.lock().expect("instruction runs lock");
        runs.entry((n, tools))
            .or_insert_with(|| {
                let texts = self.instructions.iter().chain(tools.then_some(&self.tool_texts).into_iter().flatten());
                Arc::new(texts.flat_map(|w| words::runs(w, n)).collect())
            })
            .clone()
    }

    /// Feedback when a plan must be revised, `None` when it may go to the model.
    pub fn plan(&self, text: &str, caps: &Caps) -> Option<Feedback> {
        let echo = (caps.plan_echo_percent > 0).then(|| self.plan_echo(text, caps.echo_words, caps.plan_echo_percent)).flatten();
        echo.or_else(|| cut_off(text))
            .or_else(|| degenerate(text, caps))
            .or_else(|| (self.min_tool_calls > 0).then(|| looks_back("plan", text)).flatten())
    }

    /// Feedback when a report must be revised: `results` approved tool calls
    /// with results so far, `calls_left` tool calls the caps still allow,
    /// `trajectory` the record before the report (its feedback must not be
    /// repeated).
    pub fn report(&self, text: &str, results: u32, calls_left: u32, trajectory: &Trajectory, caps: &Caps) -> Option<Feedback> {
        // A report cannot be asked for calls the caps no longer allow.
        let needed = self.min_tool_calls.min(results + calls_left);
        if results < needed {
            return Some(Feedback::too_few_results(results, needed));
        }
        self.report_echo(text, caps.echo_words, caps.report_echo_percent)
            .or_else(|| echoed_feedback(text, trajectory, caps.echo_words))
            .or_else(|| raw_json(text, caps.raw_json_keys))
            .or_else(|| self.narrated_tools(text, caps.report_tool_names))
            .or_else(|| cut_off(text))
            .or_else(|| degenerate(text, caps))
            // The distiller's own rules for a report, where the supervisor
            // serves a distiller (its `min_tool_calls` is set).
            .or_else(|| {
                (self.min_tool_calls > 0)
                    .then(|| looks_back("report", text).or_else(|| unfinished(text)).or_else(|| thin(text, caps.min_report_words)))
                    .flatten()
            })
    }

    /// What `text` shares with the agent's own instructions (and the tool
    /// texts, when `tools`) in runs of `n` words (0: off), `None` when nothing.
    fn echo(&self, text: &str, n: u32, tools: bool) -> Option<Echo> {
        if n == 0 {
            return None;
        }
        let instructions = self.instruction_runs(n as usize, tools);
        let words = Words::alphanumeric(text);
        let mut echo = Echo { first: String::new(), echoed: 0, runs: 0, longest: 0 };
        let mut streak = 0;
        for (i, run) in words.runs(n as usize).enumerate() {
            echo.runs += 1;
            if instructions.contains(&run) {
                if echo.echoed == 0 {
                    echo.first = words.run_text(i, n as usize);
                }
                echo.echoed += 1;
                streak += 1;
                echo.longest = echo.longest.max(streak + n as usize - 1);
            } else {
                streak = 0;
            }
        }
        (echo.echoed > 0).then_some(echo)
    }

    /// Feedback when `report` cites a product or page, or states a price or
    /// rating, that no approved tool call of `trajectory` returned, or uses
    /// fewer results than the distiller keeps examples with: the
    /// distiller's grounding rule, where the supervisor serves a distiller.
    pub fn grounding(&self, trajectory: &Trajectory, report: &str) -> Option<Feedback> {
        if self.min_tool_calls == 0 {
            return None;
        }
        let evidence = grounding::Evidence::of(trajectory);
        let checked = grounding::check_with(&evidence, report).and_then(|_| grounding::check_facts(&evidence, report));
        if let Err(why) = checked {
            return Some(Feedback::ungrounded(&why));
        }
        grounding::check_use(&evidence, report, self.min_tool_calls as usize).err().map(|why| Feedback::unused_results(&why))
    }

    /// Feedback when at least `min_percent` of a report's word runs of `n`
    /// words repeat the instructions (0: any one run), or one echoed stretch
    /// reaches `2n` words: a sentence of the instructions copied whole ("Call
    /// the tools one at a time, at least two calls ...", which a 0.5B report
    /// reprinted as its plan and got approved at 6 % of its runs).
    fn report_echo(&self, report: &str, n: u32, min_percent: u32) -> Option<Feedback> {
        let echo = self.echo(report, n, true)?;
        let share = echo.echoed * 100 >= min_percent as usize * echo.runs;
        (share || echo.longest >= 2 * n as usize).then(|| Feedback::echoed_instructions("report", &echo.first))
    }

    /// Feedback when a report names `min_names` (0: off) or more of the tools
    /// (`product_search`, any case): it narrates the research instead of
    /// reporting it. Two of run 56's three exported 0.5B reports were their
    /// steps retold ("#### Step 1: Search the Product Catalog - **Tool:**
    /// Product search ... **Tool:** Visit_product"), which teaches a student to
    /// write a log, not a report. One name is a report's own ("the
    /// product_search results list no other model"); plain words ("a web
    /// search") are English, not narration.
    fn narrated_tools(&self, report: &str, min_names: u32) -> Option<Feedback> {
        if min_names == 0 {
            return None;
        }
        let lower = report.to_lowercase();
        let named: Vec<&str> = self.tool_names.iter().filter(|name| names_identifier(&lower, name)).map(String::as_str).collect();
        (named.len() >= min_names as usize).then(|| Feedback::narrated_tools(&named))
    }

    /// Feedback when at least `min_percent` of a plan's word runs of `n`
    /// words repeat the instructions (the templates only).
    fn plan_echo(&self, plan: &str, n: u32, min_percent: u32) -> Option<Feedback> {
        let echo = self.echo(plan, n, false)?;
        (echo.echoed * 100 >= min_percent as usize * echo.runs).then(|| Feedback::echoed_instructions("plan", &echo.first))
    }
}

/// A text's echo of the instructions in runs of `n` words.
struct Echo {
    /// The first echoed run.
    first: String,
    /// Runs echoed, and runs in the text.
    echoed: usize,
    runs: usize,
    /// Words in the longest stretch of consecutive echoed runs.
    longest: usize,
}

/// Whether `text` has `name` as a whole identifier (not inside a longer one
/// such as `my_product_search_v2`).
fn names_identifier(text: &str, name: &str) -> bool {
    let part = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(name).any(|(at, _)| !text[..at].ends_with(part) && !text[at + name.len()..].starts_with(part))
}

/// The descriptions in a tool's definition: its own and its arguments'.
fn descriptions(tool: &ToolSpec) -> Vec<&str> {
    let arguments = tool.parameters.get("properties").and_then(Value::as_object).into_iter().flat_map(|p| p.values());
    std::iter::once(tool.description.as_str())
        .chain(arguments.filter_map(|schema| schema.get("description").and_then(Value::as_str)))
        .collect()
}

/// The parts of a template outside `{{ }}`, `{% %}` and `{# #}`.
fn literal_segments(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(open) = rest.find(['{']) {
        let close = match rest[open..].chars().nth(1) {
            Some('{') => "}}",
            Some('%') => "%}",
            Some('#') => "#}",
            _ => {
                out.push(&rest[..open + 1]);
                rest = &rest[open + 1..];
                continue;
            }
        };
        out.push(&rest[..open]);
        rest = rest[open..].find(close).map_or("", |end| &rest[open + end + 2..]);
    }
    out.push(rest);
    out
}

/// Feedback when a report repeats feedback it was given (small models echo
/// the last message they read) in a run of `n` words (0: off). The rule is
/// the distiller's (`productresearch_record::echo`): feedback quotes the step
/// it sends back ("cites ... https://www.amazon.com/dp/B07Q7X5ZLQ") and the
/// products it names, and a report that keeps those words repeats itself or
/// the tools, not the feedback. Without it a run's report was told two rounds
/// in a row that it "repeats the feedback ("https www amazon com dp
/// b07q7x5zlq")" about its own citation. Only rejections count: they are
/// what the agent is sent back with.
fn echoed_feedback(report: &str, trajectory: &Trajectory, n: u32) -> Option<Feedback> {
    if n == 0 {
        return None;
    }
    let query = trajectory.intent().map(|i| i.query.as_str());
    let results = trajectory.steps().into_iter().filter_map(|(_, step, _)| step.tool_result.as_ref().map(|r| r.content.as_str()));
    let given = FeedbackRuns::of(trajectory, n as usize, |v| !v.approved(), query.into_iter().chain(results));
    given.find(report).map(|run| Feedback::echoed_feedback(&run))
}

/// Feedback when a report pastes a tool's raw JSON: `max_keys` (0: off) or
/// more JSON object keys (`"product_id":`). A 0.5B model's report was
/// approved with a whole `product_search` result pasted in as its last
/// section; a report in Markdown has none ("**Price**: $99" is no key).
fn raw_json(report: &str, max_keys: u32) -> Option<Feedback> {
    if max_keys == 0 {
        return None;
    }
    let keys = json_keys(report);
    (keys.len() >= max_keys as usize).then(|| Feedback::raw_json(&keys[..keys.len().min(3)]))
}

/// The JSON object keys in `text`: a quoted identifier (letters, digits,
/// `_`, `-`) followed by a colon, as `"product_id":` or `"price" :`.
fn json_keys(text: &str) -> Vec<&str> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        let key = &after[..close];
        let identifier = !key.is_empty() && key.len() <= 40 && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if identifier && after[close + 1..].trim_start_matches([' ', '\t']).starts_with(':') {
            keys.push(key);
            rest = &after[close + 1..];
        } else {
            // The closing quote may open the next key ("a","b":).
            rest = &after[close..];
        }
    }
    keys
}

/// Feedback when a plan or report (`what`) uses the distiller's draft or
/// review vocabulary: "Here is the revised report" answers feedback that the
/// example will not show, so the distiller drops it (`invisible_draft`,
/// `feedback_echo`). A 0.5B model's round-2 report said it and was approved.
fn looks_back(what: &str, text: &str) -> Option<Feedback> {
    vocabulary::draft_phrase_in(text).or_else(|| vocabulary::review_phrase_in(text)).map(|p| Feedback::looks_back(what, p))
}

/// Feedback when a report fails the distiller's rule for a finished report
/// (it ends on a heading, a bare phrase, an unclosed bracket): one rule, so
/// the supervisor never approves a report the distiller drops.
fn unfinished(report: &str) -> Option<Feedback> {
    productresearch_llm::report_end::check(report).err().map(|why| Feedback::unfinished(&why.to_string()))
}

/// Feedback when a report has fewer than `min_words` words (0: off): fewer
/// cannot compare products with their prices and evidence.
fn thin(report: &str, min_words: u32) -> Option<Feedback> {
    let n = report.split_whitespace().count();
    (n < min_words as usize).then(|| Feedback::thin(n, min_words))
}

#[cfg(test)]
mod tests {
    use super::*;
    use productresearch_record::TerminationReason;
    use productresearch_record::fixtures::Script;

    #[test]
    fn text_guards_follow_their_settings() {
        let t = texts(2);
        let echo_plan = "Now carry out your plan: call the tools one at a time.";
        assert!(t.plan(echo_plan, &Caps::default()).is_some());
        assert!(t.plan(echo_plan, &Caps { plan_echo_percent: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(t.plan(echo_plan, &Caps { echo_words: 0, ..Caps::default() }).is_none(), "0 switches it off");
        let echo_report = format!("{REPORT}\n\nNow carry out your plan: call the tools one at a time.");
        assert!(t.report(&echo_report, 2, 0, &before(), &Caps::default()).unwrap().text().contains("repeats your instructions"));
        assert!(t.report(&echo_report, 2, 0, &before(), &Caps { echo_words: 0, ..Caps::default() }).is_none());
        // Longer runs: the echoed sentence has 12 words, a run of 13 takes in the report's own.
        let any_run = Caps { report_echo_percent: 0, ..Caps::default() };
        assert!(t.report(&echo_report, 2, 0, &before(), &Caps { echo_words: 12, ..any_run }).is_some());
        assert!(t.report(&echo_report, 2, 0, &before(), &Caps { echo_words: 13, ..any_run }).is_none());
        // The share: 7 of the report's 51 runs are the echoed sentence's; but
        // the 12-word sentence is copied whole (twice `echo_words`).
        assert!(t.report(&echo_report, 2, 0, &before(), &Caps { report_echo_percent: 14, ..Caps::default() }).is_some());
        assert!(t.report(&echo_report, 2, 0, &before(), &Caps { report_echo_percent: 14, echo_words: 7, ..Caps::default() }).is_none());
        let echo = format!("The report has only 24 words; answer the query. {REPORT}");
        assert!(t.report(&echo, 2, 0, &given(), &Caps { echo_words: 0, ..Caps::default() }).is_none());

        let short = "The Aurion Quiet 700 [hp-001] is the best pick at $329.99.";
        assert!(t.report(short, 2, 0, &before(), &Caps::default()).unwrap().text().contains("at least 30"));
        assert!(t.report(short, 2, 0, &before(), &Caps { min_report_words: 10, ..Caps::default() }).is_none());
        assert!(t.report(short, 2, 0, &before(), &Caps { min_report_words: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(
            t.report(short, 2, 0, &before(), &Caps { min_report_words: 12, ..Caps::default() }).unwrap().text().contains("at least 12")
        );
    }

    /// A record with nothing before the report.
    fn before() -> Trajectory {
        Trajectory::new("t", "u")
    }

    /// A record where a short report was sent back.
    fn given() -> Trajectory {
        Script::new("t", "q")
            .report("Buy it.", Some("The report has only 24 words; answer the query in at least 30 words."))
            .end(TerminationReason::Approved)
    }

    #[test]
    fn feedback_quoting_the_agents_own_words_is_not_repeated_by_keeping_them() {
        let t = texts(2);
        let cited = "See https://www.amazon.com/dp/B07Q7X5ZLQ for the Aurion.";
        let feedback = "The report cites 1 that no tool opened: https://www.amazon.com/dp/B07Q7X5ZLQ. Cite only what the tools opened.";
        let record = Script::new("t", "q").report(cited, Some(feedback)).end(TerminationReason::Approved);
        let kept = format!("{REPORT}\n\n{cited}");
        assert!(t.report(&kept, 2, 0, &record, &Caps::default()).is_none());
        // The feedback's own words still count.
        let echoed = format!("{REPORT}\n\nCite only what the tools opened, as asked.");
        assert!(t.report(&echoed, 2, 0, &record, &Caps::default()).unwrap().text().contains("repeats the feedback"));
        // A run the agent took up only after the feedback is the feedback's.
        let later =
            Script::new("t", "q").report("Buy it.", Some(feedback)).report(cited, Some("Write more.")).end(TerminationReason::Approved);
        assert!(t.report(&kept, 2, 0, &later, &Caps::default()).unwrap().text().contains("repeats the feedback"));
        // A title the feedback quoted from a tool result is the tools' words.
        let title = "Aurion Quiet 700 Wireless Noise Cancelling Headphones";
        let named = Script::new("t", "q")
            .tool("c1", "product_search", r#"{"query":"x"}"#, &format!(r#"{{"results":[{{"product_id":"hp-001","title":"{title}"}}]}}"#))
            .report("Buy it.", Some(&format!("Name the product you recommend: {title}.")))
            .end(TerminationReason::Approved);
        assert!(t.report(&format!("{REPORT}\n\nThe {title} [hp-001]."), 2, 0, &named, &Caps::default()).is_none());
    }

    fn texts(min_tool_calls: u32) -> TextChecker {
        TextChecker::new(&productresearch_prompts::PromptSet::builtin(), min_tool_calls)
    }

    const REPORT: &str = "## Recommendation\n\nFor a commuter under $300 the Aurion Quiet 700 [hp-001] is the pick: adaptive noise \
        cancelling and 30 hours of battery at $329.99, folding flat for a work bag.\n\n- Aurion Quiet 700 [hp-001], $329.99\n\
        - https://example.com/review-aurion";

    #[test]
    fn a_report_needs_the_distillers_tool_results_unless_the_caps_forbid_more() {
        let t = texts(2);
        assert!(t.report(REPORT, 0, 8, &before(), &Caps::default()).unwrap().text().contains("no tool results"));
        let one = t.report(REPORT, 1, 8, &before(), &Caps::default()).unwrap().text();
        assert!(one.contains("1 tool result") && one.contains("at least 2"), "{one}");
        assert!(t.report(REPORT, 2, 6, &before(), &Caps::default()).is_none());
        // One call left under the cap: asking for two would only loop.
        assert!(t.report(REPORT, 1, 0, &before(), &Caps::default()).is_none());
        assert!(texts(0).report(REPORT, 0, 8, &before(), &Caps::default()).is_none());
    }

    #[test]
    fn a_text_that_looks_back_at_a_draft_or_a_review_is_sent_back() {
        let t = texts(2);
        let caps = Caps::default();
        // The round-2 report the distiller dropped as `invisible_draft`.
        let revised = format!("Here is the revised report.\n\n{REPORT}");
        let f = t.report(&revised, 2, 6, &before(), &caps).unwrap().text();
        assert!(f.contains("says \"revised report\"") && f.contains("first answer"), "{f}");
        let per = format!("{REPORT}\n\nPer the feedback, each pick now has its price.");
        assert!(t.report(&per, 2, 6, &before(), &caps).unwrap().text().contains("\"per the feedback\""));
        // Customers' feedback is what a report is about.
        assert!(t.report(&format!("{REPORT}\n\nCustomer feedback praises how flat it folds."), 2, 6, &before(), &caps).is_none());
        let plan = "Revised plan: 1. Search the catalog for quiet kettles under $60. 2. Open the top three.";
        assert!(t.plan(plan, &caps).unwrap().text().contains("The plan says \"revised plan\""));
        // Without a distiller to serve, the words are the agent's own business.
        assert!(texts(0).report(&revised, 2, 6, &before(), &caps).is_none());
        assert!(texts(0).plan(plan, &caps).is_none());
    }

    #[test]
    fn echoed_instructions_are_sent_back() {
        let t = texts(0);
        let echo = "Here is the final report in Markdown:\n\n### Start by writing a research plan as JSON {\"plan\": \"...\"}: the numbered steps.";
        let f = t.report(echo, 3, 5, &before(), &Caps::default()).unwrap().text();
        assert!(f.contains("repeats your instructions") && f.contains("start by writing a research plan"), "{f}");
        let plan = "Now carry out your plan: call the tools one at a time.";
        assert!(t.plan(plan, &Caps::default()).unwrap().text().contains("repeats your instructions"));
        assert!(
            t.plan("1. Search the catalog for quiet kettles under $60. 2. Open the top three. 3. Compare noise reviews.", &Caps::default())
                .is_none()
        );
        // A real plan (the 1.5B model's) that names a tool in the tool list's words.
        let named = "1. Search the product catalog for semi-automatic espresso machines with steam wand, built-in grinder, and under 600 \
                     dollars. 2. Visit the product's full record by product_id for the three best. 3. Use web_search to find reviews and \
                     buying guides. 4. Read one page by url from the reviews. 5. Compare price, grinder quality and steam power.";
        assert!(t.plan(named, &Caps::default()).is_none(), "{:?}", t.plan(named, &Caps::default()));
        // Its plans end with a step that copies the report instructions; the other steps are the plan.
        let copied_end = "1. Search the product catalog for water-resistant laptop backpacks for a 16-inch laptop under $50.\n\
                          2. Visit the product's full record by product_id.\n3. Read one review and one buying guide.\n\
                          4. Compare the products on price and water resistance.\n5. Select the best value for the budget.\n\
                          6. Write the final report in Markdown, recommend concrete products, citing each by the product_id.";
        assert!(t.plan(copied_end, &Caps::default()).is_none(), "2 of 6 steps echo");
        // A 0.5B plan written as a list of steps, two of four in the tool list's words (run 35).
        let listed = "1. Search the product catalog for hearing aids and hearing aids for women.\n\
                      2. Visit the product's full record by product_id for hearing aids and hearing aids for women.\n\
                      3. Search web pages such as reviews and buying guides for hearing aids and hearing aids for women.\n\
                      4. Read one page by url for hearing aids and hearing aids for women.";
        assert!(t.plan(listed, &Caps::default()).is_none(), "{:?}", t.plan(listed, &Caps::default()));
        let f = t.plan(copied_end, &Caps { plan_echo_percent: 15, ..Caps::default() }).unwrap().text();
        assert!(f.contains("product s full record by product"), "{f}");
        assert!(t.report(named, 3, 5, &before(), &Caps::default()).is_none(), "2 of its 60 runs: a report's own words");
        let any_run = Caps { report_echo_percent: 0, ..Caps::default() };
        assert!(t.report(named, 3, 5, &before(), &any_run).unwrap().text().contains("repeats your instructions"));
        assert!(t.report(REPORT, 3, 5, &before(), &Caps::default()).is_none(), "{:?}", t.report(REPORT, 3, 5, &before(), &Caps::default()));
    }

    #[test]
    fn a_sentence_of_the_instructions_copied_whole_is_an_echo_in_any_report() {
        let t = texts(0);
        // A 0.5B report reprinted its instructions as its plan; 20 of its runs
        // in 300 are under the 10 % share.
        let own = (0..270).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ") + ".";
        let report = format!(
            "{REPORT}\n\n## Research Plan\n\n1. Call the tools one at a time, at least two calls (search, then open what it \
             found). Only then write the final report, from what the tools returned.\n\n{own}"
        );
        let f = t.report(&report, 3, 5, &before(), &Caps::default()).unwrap().text();
        assert!(f.contains("repeats your instructions") && f.contains("call the tools one at a"), "{f}");
        // Ten words in a row are not yet a sentence copied whole.
        let short = format!("{REPORT}\n\nI will call the tools one at a time, at least two calls. {own}");
        assert!(
            t.report(&short, 3, 5, &before(), &Caps::default()).is_none(),
            "{:?}",
            t.report(&short, 3, 5, &before(), &Caps::default()).map(|f| f.text())
        );
    }

    #[test]
    fn a_report_pasting_a_tools_raw_json_is_sent_back() {
        let t = texts(0);
        // The tail of a 0.5B report that was approved before this check.
        let pasted = format!(
            "{REPORT}\n\n## Tools\n\nReturns JSON {{\"results\":[{{\"product_id\":\"hp-001\",\"title\":\"Aurion Quiet 700\",\
             \"price\":329.99}}],\"total\":10}}"
        );
        let f = t.report(&pasted, 3, 5, &before(), &Caps::default()).unwrap().text();
        assert!(f.contains("raw JSON") && f.contains(r#""results": "product_id": "title":"#), "{f}");
        assert!(t.report(&pasted, 3, 5, &before(), &Caps { raw_json_keys: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(t.report(&pasted, 3, 5, &before(), &Caps { raw_json_keys: 6, ..Caps::default() }).is_none(), "5 keys");
        // Markdown facts and quoted reviews are no keys.
        let markdown = format!("{REPORT}\n\n- **Price**: $99.0\n- **Title**: \"Zero mess\"\n- \"Quiet\": says one review: \"quiet\": yes");
        assert_eq!(json_keys(&markdown), ["Quiet", "quiet"]);
        assert!(t.report(&markdown, 3, 5, &before(), &Caps::default()).is_none());
        assert_eq!(json_keys(r#"{"a":1,"b" : "x","c d":2,"e":"f","g":{}}"#), ["a", "b", "e", "g"]);
    }

    #[test]
    fn reports_that_restate_the_tool_list_are_sent_back_plans_that_name_tools_are_not() {
        let web_visit = ToolSpec {
            name: "web_visit".into(),
            description: "Read a web page (a url from web_search) as clean text: headings as \"#\" lines, list items as \"- \" lines, \
                          paragraphs separated by blank lines."
                .into(),
            parameters: serde_json::json!({"type": "object", "properties": {
                "url": {"type": "string", "description": "An http or https URL returned by web_search."},
                "goal": {"type": "string", "description": "What you need to learn from this page for the research query."}
            }})
            .into(),
        };
        let t = texts(0);
        let with_tools = t.with_tools(std::slice::from_ref(&web_visit));
        // A run-34 report's opening: the tool's description, nearly word for word.
        let restated = format!(
            "## Plan\n\n1. web_visit: read a web page as clean text, headings as \"#\" lines, list items as \"- \" lines, paragraphs separated by blank lines.\n\n{REPORT}"
        );
        assert!(t.report(&restated, 3, 5, &before(), &Caps::default()).is_none(), "the templates alone do not hold it");
        let f = with_tools.report(&restated, 3, 5, &before(), &Caps::default()).unwrap().text();
        assert!(f.contains("repeats your instructions") && f.contains("as clean text headings as lines"), "{f}");
        let argument = format!("{REPORT}\n\nI read what you need to learn from this page for the research query.");
        assert!(
            with_tools.report(&argument, 3, 5, &before(), &Caps { report_echo_percent: 0, ..Caps::default() }).is_some(),
            "argument descriptions too"
        );
        assert!(with_tools.report(REPORT, 3, 5, &before(), &Caps::default()).is_none());
        let plan = "1. Search reviews.\n2. Read a web page as clean text, headings as lines, list items as lines, paragraphs separated by blank lines.";
        assert!(with_tools.plan(plan, &Caps::default()).is_none(), "plans are checked against the templates only");
    }

    #[test]
    fn reports_that_retell_their_steps_by_tool_name_are_sent_back() {
        let tool = |name: &str| ToolSpec { name: name.into(), description: String::new(), parameters: serde_json::json!({}).into() };
        let tools: Vec<ToolSpec> = ["product_search", "visit_product", "web_search", "web_visit"].into_iter().map(tool).collect();
        let t = texts(0).with_tools(&tools);
        // Run 56's exported 0.5B report, its steps retold (names in any case).
        let retold = format!(
            "{REPORT}\n\n#### Step 1: Search the Product Catalog\n- **Tool:** Product search\n\n#### Step 2: Visit the Product's Full Record\n\
             - **Tool:** Visit_product\n- **Product_id:** B09QS8V5N8\n\n#### Step 3: Web Search\n- **Tool:** Web_search"
        );
        let f = t.report(&retold, 3, 5, &before(), &Caps::default()).unwrap().text();
        assert!(f.contains("names the tools (visit_product, web_search)") && f.contains("without naming the tools"), "{f}");
        assert!(t.report(&retold, 3, 5, &before(), &Caps { report_tool_names: 0, ..Caps::default() }).is_none(), "0 switches it off");
        assert!(t.report(&retold, 3, 5, &before(), &Caps { report_tool_names: 3, ..Caps::default() }).is_none(), "two names");
        // One name, plain words, and a name inside a longer identifier are a report's own.
        let own =
            format!("{REPORT}\n\nThe product_search results list no quieter model; a web search found one review. See my_web_visit_v2.");
        assert!(t.report(&own, 3, 5, &before(), &Caps::default()).is_none());
        assert!(texts(0).report(&retold, 3, 5, &before(), &Caps::default()).is_none(), "no tool list, no names to find");
    }

    #[test]
    fn cut_off_answers_are_sent_back() {
        assert!(
            cut_off("The Aurion Quiet 700 is the best choice for a commuter because its battery lasts")
                .unwrap()
                .text()
                .contains("mid-sentence")
        );
        assert!(cut_off("Prices:\n- Aurion [hp-001] $329.99,").unwrap().text().contains("mid-sentence"));
        assert!(cut_off("Compare the Aurion and").unwrap().text().contains("cut off"));
        assert!(cut_off("```json\n{\"a\": 1}").unwrap().text().contains("code block"));
        assert!(cut_off("## Sources\n- https://example.com/a\n- Aurion Quiet 700 [hp-001] at $329.99").is_none());
        assert!(cut_off(REPORT).is_none());
        assert!(cut_off("report v1").is_none(), "short texts are not judged by their end");
        assert!(
            texts(0)
                .report("Buy the Aurion [hp-001] since it is quiet, light and folds flat for the", 2, 0, &before(), &Caps::default())
                .is_some()
        );
    }

    #[test]
    fn a_report_citing_what_no_tool_returned_or_using_no_result_is_sent_back() {
        let search = r#"{"results":[{"product_id":"hp-001","title":"Aurion Quiet 700","price":329.99,"rating":4.7}]}"#;
        let mut script = productresearch_record::fixtures::Script::new("t", "quiet headphones");
        script.tool("c1", "product_search", r#"{"query":"quiet headphones"}"#, search);
        let record =
            r#"{"product_id":"hp-001","title":"Aurion Quiet 700","reviews":[{"text":"The cancelling is superb on long flights."}]}"#;
        script.tool("c2", "visit_product", r#"{"product_id":"hp-001"}"#, record);
        let t = texts(2);
        assert!(t.grounding(&script.t, "Buy the Aurion Quiet 700 [hp-001] at $329.99 (4.7/5).").is_none());
        let invented = t.grounding(&script.t, "Buy the Aurion [hp-001] or the Halcyon [hp-009].").unwrap().text();
        assert!(invented.contains("not grounded") && invented.contains("hp-009"), "{invented}");
        let price = t.grounding(&script.t, "Buy the Aurion Quiet 700 [hp-001] at $299.").unwrap().text();
        assert!(price.contains("299"), "{price}");
        let generic = t.grounding(&script.t, "Quiet headphones help on flights. Pick a comfortable pair.").unwrap().text();
        assert!(generic.contains("does not use the research") && generic.contains("uses 0 of the 2"), "{generic}");
        assert!(texts(0).grounding(&script.t, "Buy [hp-009].").is_none(), "without a distiller to serve, the model judges");
    }

    // What the distiller would drop, and what is no answer at all, never reaches the model's verdict.
    #[test]
    fn thin_unfinished_and_feedback_echoing_reports_are_sent_back() {
        let t = texts(2);
        assert!(t.report("Visit_product", 2, 0, &before(), &Caps::default()).unwrap().text().contains("unfinished"));
        let heading = format!("{REPORT}\n\n## Noise Cancelling Headphones: Common Issues");
        assert!(t.report(&heading, 2, 0, &before(), &Caps::default()).unwrap().text().contains("ends with a heading"));
        let short = "The Aurion Quiet 700 [hp-001] is the best pick at $329.99.";
        assert!(t.report(short, 2, 0, &before(), &Caps::default()).unwrap().text().contains("only 11 words"));
        assert!(
            texts(0).report(short, 2, 0, &before(), &Caps::default()).is_none(),
            "without a distiller to serve, a short report goes to the model"
        );
        let echo = format!("The report has only 24 words; answer the query. {REPORT}");
        assert!(t.report(&echo, 2, 0, &given(), &Caps::default()).unwrap().text().contains("repeats the feedback"));
        assert!(t.report(REPORT, 2, 0, &given(), &Caps::default()).is_none());
    }
}
