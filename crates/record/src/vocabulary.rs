//! Words an exported example must not use: the ones that give the second role
//! away, and the ones that point at a draft the example does not contain.
//! The distiller's content filters look for them, the rewriting of
//! reflections removes them, and the validator checks the reasoning once more;
//! the supervisor sends back a plan or report that uses them, so it never
//! approves what the distiller drops.

/// Words that would reveal the second role if they appeared in an example's
/// reasoning (matched case-insensitively anywhere, so `Supervisory` counts too).
pub const ROLE_WORDS: [&str; 3] = ["supervisor", "reviewer", "feedback"];

/// Phrases that only a transcript with a reviewer would contain, matched
/// case-insensitively in assistant content and reasoning. Bare "reviewer" and
/// "feedback" are not here: product reports quote reviewers and customer
/// feedback (the reasoning's stricter word list is [`ROLE_WORDS`]).
pub const REVIEW_PHRASES: &[&str] = &[
    "supervisor",
    "## revisions",
    "revisions –",
    "revisions -",
    "addressed:",
    "feedback said",
    "feedback says",
    "per the feedback",
    "feedback on my",
    "feedback on your",
    "your feedback",
    "the critique",
    "reviewer's feedback",
    "the reviewer asked",
    "the reviewer wants",
    "revision request",
    "as requested in the review",
];

/// Names of an earlier draft or attempt of the agent's own.
pub const EARLIER_DRAFTS: &[&str] = &[
    "previous draft",
    "earlier draft",
    "first draft",
    "previous version",
    "earlier version",
    "previous attempt",
    "earlier attempt",
    "last attempt",
    "first attempt",
    "second attempt",
];

/// Phrases that point at an earlier draft or attempt of the agent's own
/// (with [`EARLIER_DRAFTS`], the draft vocabulary).
pub const DRAFT_PHRASES: &[&str] = &[
    "looking back at my",
    "my draft",
    "the draft",
    "i was about to make",
    "i revised",
    "i have revised",
    "i've revised",
    "revised report",
    "revised plan",
    "this revision",
    "my revision",
    "unlike before",
];

/// The first [`ROLE_WORDS`] entry `text` contains, ignoring case.
pub fn role_word_in(text: &str) -> Option<&'static str> {
    let lower = text.to_ascii_lowercase();
    ROLE_WORDS.into_iter().find(|w| lower.contains(w))
}

/// The first [`REVIEW_PHRASES`] entry `text` contains, ignoring case.
pub fn review_phrase_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    REVIEW_PHRASES.iter().copied().find(|p| lower.contains(p))
}

/// The first [`DRAFT_PHRASES`] or [`EARLIER_DRAFTS`] entry `text` contains,
/// ignoring case.
pub fn draft_phrase_in(text: &str) -> Option<&'static str> {
    let lower = text.to_lowercase();
    DRAFT_PHRASES.iter().chain(EARLIER_DRAFTS).copied().find(|p| lower.contains(p))
}

/// How often the words and phrases of the three lists occur in `text`.
pub fn count_in(text: &str) -> usize {
    let lower = text.to_lowercase();
    ROLE_WORDS.iter().chain(REVIEW_PHRASES).chain(DRAFT_PHRASES).chain(EARLIER_DRAFTS).map(|p| lower.matches(p).count()).sum()
}

/// The first word or phrase of any of the three lists in `text`.
pub fn any_in(text: &str) -> Option<&'static str> {
    role_word_in(text).or_else(|| review_phrase_in(text)).or_else(|| draft_phrase_in(text))
}
