//! Search keywords from a research query: the words that name the thing wanted, so the
//! simulated agent's searches hit the catalog the way a sensible model's would.

/// At most this many words, as a short search box query would have.
const MAX_WORDS: usize = 6;

/// Words that carry no product meaning in a shopping question.
#[rustfmt::skip]
const STOPWORDS: &[&str] = &[
    "a", "about", "above", "after", "all", "also", "am", "an", "and", "any", "are", "around",
    "as", "at", "be", "been", "below", "best", "between", "bought", "budget", "but", "buy", "by",
    "can", "choose", "compare", "comparing", "could", "did", "do", "does", "dollars", "each",
    "find", "for", "from", "get", "good", "had", "has", "have", "how", "i", "if", "in", "into",
    "is", "it", "its", "just", "least", "less", "like", "looking", "me", "more", "most", "my",
    "need", "new", "now", "of", "on", "one", "option", "options", "or", "other", "over", "please",
    "price", "prices", "rating", "ratings", "recommend", "recommendation", "review", "reviews",
    "should", "so", "some", "than", "that", "the", "their", "them", "then", "these", "this",
    "those", "three", "to", "two", "under", "up", "upgrade", "usd", "want", "was", "we", "were",
    "what", "when", "where", "which", "who", "why", "will", "with", "within", "without", "would",
    "you", "your",
];

/// The query's distinct content words, lowercased, in order, at most [`MAX_WORDS`].
/// Never empty: a query with no content words searches for popular products.
pub fn keywords(query: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    for raw in query.split_whitespace() {
        let word = raw.trim_matches(|c: char| !c.is_alphanumeric()).to_lowercase();
        let is_number = word.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',');
        if word.chars().count() < 2 || is_number || STOPWORDS.contains(&word.as_str()) {
            continue;
        }
        if !words.contains(&word) {
            words.push(word);
        }
        if words.len() == MAX_WORDS {
            break;
        }
    }
    if words.is_empty() { "popular products".to_owned() } else { words.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_product_words_only() {
        let query = "I bought the Sony WH-1000XM4 Wireless Headphones and now want a Headphones \
                     upgrade under 417. Which Headphones should I choose? Compare at least three \
                     options on price, ratings and reviews, and recommend one.";
        assert_eq!(keywords(query), "sony wh-1000xm4 wireless headphones");
    }

    #[test]
    fn caps_length_and_never_returns_empty() {
        assert_eq!(keywords("alpha beta gamma delta epsilon zeta eta theta").split(' ').count(), 6);
        assert_eq!(keywords("which one should I buy?"), "popular products");
    }
}
