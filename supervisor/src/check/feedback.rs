//! The feedback of a deterministic verdict as a template (`supervisor/feedback/*`,
//! see docs/prompts.md): the research agent's model reads it, so it is a
//! prompt like the model verdicts' and can be overridden the same way.
//! Numbers are formatted here, so a template needs no float formatting.

use productresearch_prompts::{PromptError, PromptRef, PromptSet};
use serde_json::{Value, json};

/// Folder of the feedback templates.
const FOLDER: &str = "supervisor/feedback";

/// Which feedback template and its variables, rendered by the session with
/// the supervisor's prompts.
#[derive(Debug, Clone, PartialEq)]
pub struct Feedback {
    /// Template name under [`FOLDER`].
    name: &'static str,
    vars: Value,
    /// Feedback on a part (one argument of a call) that this one wraps as `feedback`.
    inner: Option<Box<Feedback>>,
}

/// A rendered feedback text and the templates it came from (outermost first).
#[derive(Debug, Clone, PartialEq)]
pub struct Said {
    /// What the agent is told.
    pub text: String,
    /// The templates, for the verdict's lineage.
    pub prompts: Vec<PromptRef>,
}

impl Feedback {
    fn new(name: &'static str, vars: Value) -> Self {
        Self { name, vars, inner: None }
    }

    /// The template's name, e.g. `supervisor/feedback/near_repeat`.
    pub fn template(&self) -> String {
        format!("{FOLDER}/{}", self.name)
    }

    /// Renders the feedback (and what it wraps) with `prompts`.
    pub fn render(&self, prompts: &PromptSet) -> Result<Said, PromptError> {
        let mut vars = self.vars.clone();
        let mut refs = Vec::new();
        if let Some(inner) = &self.inner {
            let said = inner.render(prompts)?;
            vars["feedback"] = Value::String(said.text);
            refs = said.prompts;
        }
        let rendered = prompts.render(&self.template(), vars)?;
        refs.insert(0, rendered.prompt);
        Ok(Said { text: rendered.text, prompts: refs })
    }

    /// The built-in text (tests).
    #[cfg(test)]
    pub fn text(&self) -> String {
        self.render(&PromptSet::builtin()).expect("built-in feedback renders").text
    }

    /// A call to a tool the gateway does not have; `tools`: the known ones.
    pub fn unknown_tool(tool: &str, tools: &[&str]) -> Self {
        Self::new("unknown_tool", json!({"tool": tool, "tools": tools.join(", ")}))
    }

    /// Arguments that are not one JSON object; `got`: their start.
    pub fn arguments_not_object(tool: &str, got: &str) -> Self {
        Self::new("arguments_not_object", json!({"tool": tool, "got": format!("{got:?}")}))
    }

    /// Arguments that break the tool's schema.
    pub fn arguments_schema(tool: &str, errors: &[String]) -> Self {
        Self::new("arguments_schema", json!({"tool": tool, "errors": errors.join("; ")}))
    }

    /// A call with exactly the arguments of an approved one.
    pub fn exact_repeat(tool: &str) -> Self {
        Self::new("exact_repeat", json!({"tool": tool}))
    }

    /// A call asking nearly the same as an approved one; `words`: their content words.
    pub fn near_repeat(tool: &str, words: &[&str]) -> Self {
        Self::new("near_repeat", json!({"tool": tool, "words": words.join(" ")}))
    }

    /// `inner` is about one of the call's arguments.
    pub fn in_arguments(tool: &str, inner: Feedback) -> Self {
        Self { inner: Some(Box::new(inner)), ..Self::new("in_arguments", json!({"tool": tool})) }
    }

    /// A text that repeats itself; `share`: of its 4-grams, 0 to 1.
    pub fn degenerate(share: f64) -> Self {
        Self::new("degenerate", json!({"percent": format!("{:.0}", share * 100.0)}))
    }

    /// A text with `run` of `letter` in a row.
    pub fn char_run(letter: char, run: usize) -> Self {
        Self::new("char_run", json!({"char": letter.to_string(), "run": run}))
    }

    /// A `what` (plan or report) that repeats the instructions' `run`.
    pub fn echoed_instructions(what: &str, run: &str) -> Self {
        Self::new("echoed_instructions", json!({"what": what, "run": run}))
    }

    /// A report on `results` tool results where `needed` are asked for.
    pub fn too_few_results(results: u32, needed: u32) -> Self {
        Self::new("too_few_results", json!({"results": results, "needed": needed}))
    }

    /// A text cut off, and `why`.
    pub fn cut_off(why: &str) -> Self {
        Self::new("cut_off", json!({"why": why}))
    }

    /// A report that repeats its feedback's `run`.
    pub fn echoed_feedback(run: &str) -> Self {
        Self::new("echoed_feedback", json!({"run": run}))
    }

    /// A call of `tool` proposed `times` times already with the same
    /// arguments: the proposal that ends the trajectory as a loop.
    pub fn repeated_proposal(tool: &str, times: u32) -> Self {
        Self::new("loop", json!({"tool": tool, "times": times}))
    }

    /// A plan or report (`what`) whose `phrase` names an earlier draft or a
    /// review, which the distiller's example will not show.
    pub fn looks_back(what: &str, phrase: &str) -> Self {
        Self::new("looks_back", json!({"what": what, "phrase": phrase}))
    }

    /// A report the distiller's rule finds unfinished, and `why`.
    pub fn unfinished(why: &str) -> Self {
        Self::new("unfinished", json!({"why": why}))
    }

    /// A report of `words` words where `min_words` are asked for.
    pub fn thin(words: usize, min_words: u32) -> Self {
        Self::new("thin", json!({"words": words, "min_words": min_words}))
    }

    /// A report citing or stating what no tool returned, and `why`.
    pub fn ungrounded(why: &str) -> Self {
        Self::new("ungrounded", json!({"why": why}))
    }

    /// A report that uses too few of the tool results, and `why`.
    pub fn unused_results(why: &str) -> Self {
        Self::new("unused_results", json!({"why": why}))
    }

    /// A report pasting a tool's raw JSON; `keys`: the first keys found.
    pub fn raw_json(keys: &[&str]) -> Self {
        let keys: Vec<String> = keys.iter().map(|k| format!("\"{k}\":")).collect();
        Self::new("raw_json", json!({"keys": keys.join(" ")}))
    }

    /// A report that narrates its research, naming `tools`.
    pub fn narrated_tools(tools: &[&str]) -> Self {
        Self::new("narrated_tools", json!({"tools": tools.join(", ")}))
    }

    /// A tool result that is the tool's `error`.
    pub fn tool_failed(tool: &str, error: &str) -> Self {
        Self::new("tool_failed", json!({"tool": tool, "error": error}))
    }

    /// An empty tool result.
    pub fn tool_empty(tool: &str) -> Self {
        Self::new("tool_empty", json!({"tool": tool}))
    }

    /// A visit of a `key` (`target`) no result listed; `search`: the tool
    /// that lists them, `offered`: some it did list.
    pub fn unlisted_target(tool: &str, key: &str, target: &str, search: &str, offered: &[&str]) -> Self {
        Self::new("unlisted_target", json!({"tool": tool, "key": key, "target": target, "search": search, "offered": offered.join(", ")}))
    }
}

/// Renders every feedback template once with sample values, so a broken
/// override fails at start (one line naming the template).
pub fn check_templates(prompts: &PromptSet) -> Result<(), PromptError> {
    for feedback in samples() {
        feedback.render(prompts)?;
    }
    Ok(())
}

/// One of each feedback.
fn samples() -> Vec<Feedback> {
    vec![
        Feedback::unknown_tool("t", &["a", "b"]),
        Feedback::arguments_not_object("t", "[1]"),
        Feedback::arguments_schema("t", &["e".into()]),
        Feedback::exact_repeat("t"),
        Feedback::near_repeat("t", &["w"]),
        Feedback::in_arguments("t", Feedback::degenerate(0.6)),
        Feedback::char_run('0', 20),
        Feedback::echoed_instructions("plan", "r"),
        Feedback::too_few_results(0, 2),
        Feedback::cut_off("w"),
        Feedback::echoed_feedback("r"),
        Feedback::unfinished("w"),
        Feedback::narrated_tools(&["a", "b"]),
        Feedback::looks_back("report", "p"),
        Feedback::repeated_proposal("t", 2),
        Feedback::thin(3, 30),
        Feedback::ungrounded("w"),
        Feedback::raw_json(&["k"]),
        Feedback::unused_results("w"),
        Feedback::tool_failed("t", "e"),
        Feedback::tool_empty("t"),
        Feedback::unlisted_target("t", "url", "u", "s", &["v"]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    // The texts the code wrote inline before they were templates, byte for byte.
    #[test]
    fn the_templates_say_what_the_code_said() {
        let tool = "product_search";
        let got = "[1, 2]";
        let errors = vec!["\"query\" is a required property".to_string(), "99 is greater than the maximum of 20".to_string()];
        let share = 0.7234;
        let expected = [
            (
                Feedback::unknown_tool("web_serch", &["product_search", "web_search"]),
                format!("There is no tool named \"{}\"; use one of: {}.", "web_serch", "product_search, web_search"),
            ),
            (Feedback::arguments_not_object(tool, got), format!("The arguments of {} must be one JSON object; got {:?}.", tool, got)),
            (
                Feedback::arguments_schema(tool, &errors),
                format!("The arguments of {} do not match its schema: {}.", tool, errors.join("; ")),
            ),
            (
                Feedback::exact_repeat(tool),
                format!(
                    "You already called {} with exactly these arguments; use that result, or change the arguments to learn something new.",
                    tool
                ),
            ),
            (
                Feedback::near_repeat(tool, &["headphone", "noise"]),
                format!(
                    "This {} call asks nearly the same as an earlier one (same content words: {}); use that result, or search for something different.",
                    tool, "headphone noise"
                ),
            ),
            (
                Feedback::degenerate(share),
                format!(
                    "The text repeats itself ({:.0}% of its phrases occur more than once); write it again without the repetition.",
                    share * 100.0
                ),
            ),
            (
                Feedback::in_arguments(tool, Feedback::degenerate(0.5)),
                format!(
                    "The arguments of {tool}: {}",
                    "The text repeats itself (50% of its phrases occur more than once); write it again without the repetition."
                ),
            ),
            (
                Feedback::echoed_instructions("plan", "call the tools one at a time"),
                format!(
                    "The {what} repeats your instructions (\"{}\") instead of carrying them out; write only the {what} itself.",
                    "call the tools one at a time",
                    what = "plan"
                ),
            ),
            (
                Feedback::cut_off("it ends mid-sentence"),
                format!("The text is cut off ({}); write it again, shorter, and finish it.", "it ends mid-sentence"),
            ),
            (
                Feedback::echoed_feedback("the report has only 24 words"),
                format!(
                    "The report repeats the feedback (\"{}\") instead of acting on it; write the report itself: the products, their prices and the evidence.",
                    "the report has only 24 words"
                ),
            ),
            (
                Feedback::unfinished("it ends with a heading"),
                format!(
                    "The report is unfinished ({}); write the whole report and end it with a complete sentence.",
                    "it ends with a heading"
                ),
            ),
            (
                Feedback::thin(11, 30),
                format!(
                    "The report has only {} words; answer the query in at least {}: recommend products by their [product_id] \
                 with prices and the evidence the tool results gave.",
                    11, 30
                ),
            ),
            (
                Feedback::tool_failed("web_visit", "url is not allowed: 10.0.0.1"),
                format!(
                    "{} failed ({}); fix the arguments or use another tool before relying on it.",
                    "web_visit", "url is not allowed: 10.0.0.1"
                ),
            ),
            (Feedback::tool_empty("web_visit"), format!("{} returned nothing; change the arguments or use another tool.", "web_visit")),
        ];
        for (feedback, text) in expected {
            assert_eq!(feedback.text(), text, "{}", feedback.template());
        }
        for (results, have) in [(0, "no tool results".to_string()), (1, "1 tool result".to_string()), (3, "3 tool results".to_string())] {
            let needed = 4;
            assert_eq!(
                Feedback::too_few_results(results, needed).text(),
                format!(
                    "The report rests on {have}; a report needs at least {needed}. Call the tools first (product_search, then \
                     visit_product or web_search on what it returns) and write the report from their results."
                )
            );
        }
    }

    #[test]
    fn every_feedback_template_renders_and_is_recorded() {
        check_templates(&PromptSet::builtin()).unwrap();
        let said = Feedback::in_arguments("t", Feedback::degenerate(0.6)).render(&PromptSet::builtin()).unwrap();
        let names: Vec<&str> = said.prompts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["supervisor/feedback/in_arguments", "supervisor/feedback/degenerate"]);
    }

    #[test]
    fn an_override_changes_the_feedback_and_a_broken_one_fails_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(FOLDER);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("exact_repeat.j2"), "Same {{ tool }} call again.").unwrap();
        let prompts = PromptSet::load(Some(dir.path())).unwrap();
        assert_eq!(Feedback::exact_repeat("web_search").render(&prompts).unwrap().text, "Same web_search call again.");
        std::fs::write(folder.join("exact_repeat.j2"), "Same {{ tool_name }} call again.").unwrap();
        let err = check_templates(&PromptSet::load(Some(dir.path())).unwrap()).unwrap_err().to_string();
        assert!(err.contains("supervisor/feedback/exact_repeat"), "{err}");
    }
}
