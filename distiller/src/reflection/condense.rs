//! Condensing reasoning until it repeats no run of the recorded feedback.
//!
//! The rule-based rewrite changes the person and the mood of a feedback
//! sentence, not its middle: "add a step that compares price, rating and
//! review evidence" survives it word for word, and a run of that many feedback
//! words drops the example (the `feedback_echo` filter). So each run left is
//! broken where it costs the least meaning, at the rightmost place that can
//! take the change, so one change breaks every overlapping run it reaches:
//!
//! 1. a word with a plain synonym (`compares` → `weighs`); each word changes
//!    at most once;
//! 2. a filler dropped (`the`, `a`, `very`);
//! 3. a noun with a near synonym (`price` → `cost`);
//! 4. a list comma read as `and` (`price, rating` → `price and rating`);
//! 5. a function word dropped (`of`, `that`);
//! 6. any other word dropped; names, numbers, identifiers and quoted text
//!    last of all.
//!
//! Each step uses up a word's one synonym or a comma, or removes a word, so
//! the loop ends, and it ends only when no run is left. A change that would
//! bring in review or draft vocabulary is passed over while another exists.

use productresearch_record::words::{hash_word, runs};

use super::lexicon::{FILLERS, FUNCTION_WORDS, NEAR_SYNONYMS, SYNONYMS};
use super::text::{capitalize, match_case};
use crate::echo::Echo;
use crate::vocabulary;

/// `text` with every run `echo` bans broken (see the module docs); text
/// without such a run comes back unchanged.
pub fn condense(text: &str, echo: &Echo) -> String {
    if echo.is_empty() || echo.find(text).is_none() {
        return text.to_string();
    }
    let mut tokens = Tokens::of(text);
    while let Some(window) = tokens.first_run(echo) {
        let before = vocabulary::count_in(&tokens.render());
        let changes = tokens.changes(&window);
        // The first change that brings no review or draft word in, else the
        // first at all (every change makes progress, so the loop ends).
        let chosen = changes
            .iter()
            .map(|&change| {
                let mut next = tokens.clone();
                next.apply(change);
                next
            })
            .find(|next| vocabulary::count_in(&next.render()) <= before);
        tokens = match chosen {
            Some(next) => next,
            None => {
                let mut next = tokens.clone();
                next.apply(changes[0]);
                next
            }
        };
    }
    tokens.render()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    /// Replace the word at this token with its synonym.
    Synonym(usize, &'static str),
    /// Drop the word at this token.
    Drop(usize),
    /// Read the comma separator at this token as `and`.
    And(usize),
}

#[derive(Debug, Clone)]
struct Token {
    text: String,
    word: bool,
    /// A name, a number or quoted text: changed last of all.
    kept: bool,
    /// Already replaced (or inserted): never replaced again.
    spent: bool,
    /// Opens a sentence.
    initial: bool,
}

#[derive(Debug, Clone)]
struct Tokens(Vec<Token>);

impl Tokens {
    /// Words (letters and digits, as [`productresearch_record::words::Words::alphanumeric`] counts them) and
    /// the separators between them.
    fn of(text: &str) -> Self {
        let mut tokens: Vec<Token> = Vec::new();
        for c in text.chars() {
            let word = c.is_alphanumeric();
            match tokens.last_mut() {
                Some(t) if t.word == word => t.text.push(c),
                _ => tokens.push(Token { text: c.to_string(), word, kept: false, spent: false, initial: false }),
            }
        }
        let (mut quoted, mut nested, mut initial) = (false, 0usize, true);
        for t in &mut tokens {
            if !t.word {
                for c in t.text.chars() {
                    match c {
                        '"' | '`' => quoted = !quoted,
                        '“' => quoted = true,
                        '”' => quoted = false,
                        '[' | '{' => nested += 1,
                        ']' | '}' => nested = nested.saturating_sub(1),
                        '.' | '!' | '?' | ':' | '\n' => initial = true,
                        _ => {}
                    }
                }
                continue;
            }
            let capital_inside = t.text.chars().skip(1).any(char::is_uppercase);
            let capital = t.text.chars().next().is_some_and(char::is_uppercase);
            t.kept = quoted
                || nested > 0
                || t.text == "I"
                || t.text.chars().any(|c| c.is_ascii_digit())
                || capital_inside
                || (capital && !initial);
            t.initial = initial;
            initial = false;
        }
        // Words joined without a space (`product_search`, `product-id`,
        // `don't`, a URL) are one name: kept.
        for i in 1..tokens.len().saturating_sub(1) {
            if !tokens[i].word && !tokens[i].text.contains(char::is_whitespace) {
                tokens[i - 1].kept = true;
                tokens[i + 1].kept = true;
            }
        }
        Self(tokens)
    }

    fn render(&self) -> String {
        self.0.iter().map(|t| t.text.as_str()).collect()
    }

    /// Token indices of the first run of words `echo` bans.
    fn first_run(&self, echo: &Echo) -> Option<Vec<usize>> {
        let n = echo.run_words();
        let words: Vec<usize> = (0..self.0.len()).filter(|&i| self.0[i].word).collect();
        let hashes: Vec<u64> = words.iter().map(|&i| hash_word(&self.0[i].text)).collect();
        runs(&hashes, n).position(|run| echo.bans_run(run)).map(|s| words[s..s + n].to_vec())
    }

    /// The changes that break the run of words at `window`, best first.
    fn changes(&self, window: &[usize]) -> Vec<Change> {
        let lower = |i: usize| self.0[i].text.to_lowercase();
        let free = |i: &&usize| !self.0[**i].kept;
        let mut out = Vec::new();
        let synonyms = |table: &[(&str, &'static str)]| {
            window
                .iter()
                .rev()
                .filter(free)
                .filter(|i| !self.0[**i].spent)
                .filter(|&&i| !(lower(i) == "each" && self.next_word(i).is_some_and(|n| n == "of" || n == "other")))
                .filter_map(|&i| table.iter().find(|(w, _)| *w == lower(i)).map(|&(_, synonym)| Change::Synonym(i, synonym)))
                .collect::<Vec<_>>()
        };
        out.extend(synonyms(SYNONYMS));
        out.extend(window.iter().rev().filter(free).filter(|i| FILLERS.contains(&lower(**i).as_str())).map(|&i| Change::Drop(i)));
        out.extend(synonyms(NEAR_SYNONYMS));
        let commas = window.windows(2).rev().filter(|pair| pair[1] == pair[0] + 2 && self.0[pair[0] + 1].text.trim() == ",");
        out.extend(commas.filter(|pair| !self.0[pair[0]].kept || !self.0[pair[1]].kept).map(|pair| Change::And(pair[0] + 1)));
        out.extend(window.iter().rev().filter(free).filter(|i| FUNCTION_WORDS.contains(&lower(**i).as_str())).map(|&i| Change::Drop(i)));
        out.extend(window.iter().rev().filter(free).map(|&i| Change::Drop(i)));
        out.extend(window.iter().rev().map(|&i| Change::Drop(i)));
        out
    }

    /// The word after the word at `i`, lowercase.
    fn next_word(&self, i: usize) -> Option<String> {
        self.0[i + 1..].iter().find(|t| t.word).map(|t| t.text.to_lowercase())
    }

    fn apply(&mut self, change: Change) {
        match change {
            Change::Synonym(i, synonym) => {
                let t = &mut self.0[i];
                t.text = match_case(&t.text, synonym);
                t.spent = true;
            }
            Change::And(i) => {
                self.0[i].text = " ".into();
                let and = Token { text: "and".into(), word: true, kept: false, spent: true, initial: false };
                let space = Token { text: " ".into(), word: false, kept: false, spent: false, initial: false };
                self.0.splice(i + 1..i + 1, [and, space]);
            }
            Change::Drop(i) => self.drop_word(i),
        }
    }

    /// Removes the word at `i` and merges the separators around it: the one
    /// with punctuation wins (`price, rating.` → `price.`), and a sentence
    /// keeps its capital.
    fn drop_word(&mut self, i: usize) {
        let gone = self.0.remove(i);
        let prev = i.checked_sub(1).filter(|&p| !self.0[p].word);
        let next = Some(i).filter(|&n| n < self.0.len() && !self.0[n].word);
        match (prev, next) {
            (Some(p), Some(n)) => {
                let (a, b) = (self.0[p].text.clone(), self.0[n].text.clone());
                self.0[p].text = if a.trim().is_empty() {
                    b
                } else if b.trim().is_empty() {
                    a
                } else {
                    // Both hold punctuation: brackets and quotes stay, a comma
                    // before the next mark goes (`price, rating.` → `price.`).
                    let gap = if b.ends_with(char::is_whitespace) || n + 1 == self.0.len() { "" } else { " " };
                    format!("{}{}{gap}", a.trim_end().trim_end_matches([',', ';', ':']), b.trim_start())
                };
                self.0.remove(n);
            }
            (None, Some(n)) => self.0[n].text = self.0[n].text.trim_start().to_string(),
            (Some(p), None) => self.0[p].text = self.0[p].text.trim_end().to_string(),
            (None, None) => {}
        }
        if gone.initial
            && let Some(next) = self.0.iter_mut().skip(i.saturating_sub(1)).find(|t| t.word)
        {
            next.initial = true;
            if gone.text.starts_with(char::is_uppercase) {
                next.text = capitalize(&next.text);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::echo::ECHO_WORDS;

    fn echo(feedback: &[&str]) -> Echo {
        Echo::of_texts(feedback, [], ECHO_WORDS)
    }

    #[test]
    fn a_run_is_broken_by_one_synonym_where_it_reaches_every_overlap() {
        let feedback =
            "The plan does not say how the candidates will be compared; add a step that compares price, rating and review evidence.";
        let lesson = "I should add a step that compares price, rating and review evidence.";
        assert_eq!(condense(lesson, &echo(&[feedback])), "I should add a step that weighs price, rating and review evidence.");
    }

    #[test]
    fn text_without_a_run_is_untouched() {
        let text = "Step 1:\n- check prices\n\nI compare the two blenders, then write.";
        assert_eq!(condense(text, &echo(&["Compare the two blenders on price and noise, then write the report."])), text);
    }

    #[test]
    fn names_numbers_and_quotes_are_kept_while_other_words_can_change() {
        let feedback = "The Oakhaven Slim 15L Canvas Laptop Backpack costs 59 and the Urbanite Minimal 18L Laptop Backpack costs 45.";
        let text = "I keep in mind that the Oakhaven Slim 15L Canvas Laptop Backpack costs 59 and the Urbanite Minimal 18L Laptop Backpack costs 45.";
        let out = condense(text, &echo(&[feedback]));
        assert_eq!(echo(&[feedback]).find(&out), None, "{out}");
        for name in ["Oakhaven Slim 15L Canvas Laptop Backpack", "Urbanite Minimal 18L Laptop Backpack", "59", "45"] {
            assert!(out.contains(name), "{name} lost: {out}");
        }
    }

    #[test]
    fn when_nothing_else_is_left_words_go_until_no_run_remains() {
        // Eight names in a row: no synonym, filler or comma to take.
        let feedback = "Oakhaven Urbanite Tranzit Nomad Aurion Ninja Oster Vitamix";
        let out = condense(&format!("I weigh {feedback} today."), &echo(&[feedback]));
        assert_eq!(echo(&[feedback]).find(&out), None, "{out}");
        assert!(out.starts_with("I weigh Oakhaven"), "{out}");
    }

    #[test]
    fn a_list_comma_reads_as_and_before_an_item_is_lost() {
        let feedback = "Compare battery life, weight, comfort, noise cancelling, charging time, codec and fit.";
        let out =
            condense("I should weigh battery life, weight, comfort, noise cancelling, charging time, codec and fit.", &echo(&[feedback]));
        assert_eq!(out, "I should weigh battery life, weight, comfort, noise cancelling and charging time, codec and fit.");
    }

    #[test]
    fn a_dropped_word_leaves_clean_punctuation_and_capitals() {
        let mut t = Tokens::of("The price, rating. Then go");
        let rating = t.0.iter().position(|x| x.text == "rating").unwrap();
        t.drop_word(rating);
        assert_eq!(t.render(), "The price. Then go");
        let mut t = Tokens::of("The price is fine.");
        t.drop_word(0);
        assert_eq!(t.render(), "Price is fine.");
        let mut t = Tokens::of("nothing under (it) here");
        let it = t.0.iter().position(|x| x.text == "it").unwrap();
        t.drop_word(it);
        assert_eq!(t.render(), "nothing under () here");
    }

    #[test]
    fn synonyms_bring_in_no_review_or_draft_word() {
        for (word, synonym) in SYNONYMS.iter().chain(NEAR_SYNONYMS) {
            assert_eq!(vocabulary::any_in(synonym), None, "{word} -> {synonym}");
            assert_ne!(word, synonym);
            assert_eq!(*word, word.to_lowercase());
        }
    }

    /// Pseudo-random feedback built from the words the changes use (synonyms
    /// and what they replace, fillers, function words, names, numbers, commas),
    /// with a second feedback that is the first after its synonyms: every
    /// change can make a new run, and still none is left.
    #[test]
    fn no_run_survives_adversarial_feedback() {
        let mut pool: Vec<&str> = SYNONYMS.iter().chain(NEAR_SYNONYMS).flat_map(|(a, b)| [*a, *b]).collect();
        pool.extend(FILLERS);
        pool.extend(FUNCTION_WORDS);
        pool.extend(["Oakhaven", "Tranzit", "119", "bp-001", "product_search", "\"quoted words\"", "I", "you", "my"]);
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % bound
        };
        for case in 0..400 {
            let len = 8 + next(60);
            let mut words: Vec<String> = (0..len).map(|_| pool[next(pool.len())].to_string()).collect();
            for w in words.iter_mut() {
                if next(6) == 0 {
                    w.push(',');
                }
            }
            let first = words.join(" ");
            let swapped: Vec<String> = first
                .split(' ')
                .map(|w| SYNONYMS.iter().chain(NEAR_SYNONYMS).find(|(a, _)| *a == w).map_or(w.to_string(), |(_, b)| b.to_string()))
                .collect();
            let second = swapped.join(" ");
            let echo = Echo::of_texts(&[&first, &second], [], 2 + case % 7);
            let text = format!("Before I write the report, I keep in mind that {first}.");
            let out = condense(&text, &echo);
            assert_eq!(echo.find(&out), None, "case {case}: {text:?} -> {out:?}");
        }
    }
}
