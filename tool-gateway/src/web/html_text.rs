//! HTML → clean text for the agent.
//!
//! The agent pays for every token of a page, so chrome (navigation, headers,
//! footers, scripts, forms, sidebars) is dropped and what stays keeps just enough
//! structure to read: headings as `#` lines (one `#` per level), list items as
//! `- ` lines, other blocks as paragraphs separated by blank lines.

use ego_tree::iter::Edge;
use scraper::{Html, Node, Selector};

/// A page reduced to its title and readable text.
#[derive(Debug, Clone, PartialEq)]
pub struct PageText {
    /// From `<title>`, else the first `<h1>`.
    pub title: Option<String>,
    /// Blocks separated by blank lines (consecutive list items by one newline).
    pub text: String,
}

/// Elements whose whole subtree is noise for a reader.
const DROPPED: &[&str] = &[
    "head", "script", "style", "noscript", "nav", "header", "footer", "aside", "form", "svg", "iframe", "template", "button", "select",
    "canvas", "dialog", "object", "embed",
];

/// Elements that start and end a block of text.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "blockquote",
    "body",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "hr",
    "html",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "thead",
    "tfoot",
    "tr",
    "ul",
    "br",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
];

/// Extracts the title and clean text of an HTML document.
pub fn extract(html: &str) -> PageText {
    extract_document(&Html::parse_document(html))
}

/// [`extract`] of an already parsed document.
pub fn extract_document(document: &Html) -> PageText {
    let mut walker = TextWalker::default();
    // An explicit traversal instead of recursion: real pages nest deeply enough
    // to matter for a worker thread's stack.
    for edge in document.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(el) => walker.open(el.name(), |name| el.attr(name)),
                Node::Text(text) => walker.text(text),
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(el) = node.value() {
                    walker.close(el.name());
                }
            }
        }
    }
    PageText { title: title(document), text: walker.finish() }
}

/// The text conversion fed by any tree walk (open / text / close in document
/// order), so a reader holding another parser's tree needs no second parse.
#[derive(Default)]
pub(crate) struct TextWalker {
    blocks: Blocks,
    /// Counts open dropped elements; while positive everything is skipped. A
    /// counter, not a flag, because dropped elements nest (a <form> in a <nav>).
    dropped_depth: usize,
    /// Also drop review lists (the page reader's fallback text: a product
    /// page's reviews are never its content).
    drop_reviews: bool,
}

impl TextWalker {
    /// A walker that also drops review lists.
    pub(crate) fn without_reviews() -> TextWalker {
        TextWalker { drop_reviews: true, ..TextWalker::default() }
    }

    /// An element opens; `attr` reads its attributes.
    pub(crate) fn open<'a>(&mut self, name: &str, attr: impl Fn(&str) -> Option<&'a str>) {
        if self.dropped_depth > 0 || (self.drop_reviews && is_review_list(&attr)) || is_dropped(name, &attr) {
            self.dropped_depth += 1;
            return;
        }
        self.blocks.open(name);
    }

    pub(crate) fn text(&mut self, text: &str) {
        if self.dropped_depth == 0 {
            self.blocks.push_text(text);
        }
    }

    pub(crate) fn close(&mut self, name: &str) {
        if self.dropped_depth > 0 {
            self.dropped_depth -= 1;
            return;
        }
        self.blocks.close(name);
    }

    pub(crate) fn finish(self) -> String {
        self.blocks.finish()
    }
}

fn is_dropped<'a>(name: &str, attr: &impl Fn(&str) -> Option<&'a str>) -> bool {
    DROPPED.contains(&name)
        || attr("hidden").is_some()
        || attr("aria-hidden") == Some("true")
        || attr("role").is_some_and(|r| matches!(r, "navigation" | "banner" | "contentinfo"))
        || is_consent_notice(attr)
}

/// A cookie or consent notice, by its id or class.
pub(crate) fn is_consent_notice<'a>(attr: &impl Fn(&str) -> Option<&'a str>) -> bool {
    [attr("id"), attr("class")].into_iter().flatten().any(is_consent_marker)
}

/// A review list or review (a product page's reviews are never its content).
pub(crate) fn is_review_list<'a>(attr: &impl Fn(&str) -> Option<&'a str>) -> bool {
    attr("itemprop") == Some("review")
        || attr("data-hook") == Some("review")
        || [attr("id"), attr("class")].into_iter().flatten().any(|v| v.to_ascii_lowercase().contains("review"))
}

/// Ids and classes of cookie and consent notices (the common consent
/// platforms' included): a page's longest text block in many shops, never
/// its content.
const CONSENT_MARKERS: &[&str] = &["cookie", "consent", "gdpr", "onetrust", "didomi", "usercentrics", "cookiebot", "cmp-"];

fn is_consent_marker(value: &str) -> bool {
    let value = value.to_ascii_lowercase();
    CONSENT_MARKERS.iter().any(|m| value.contains(m))
}

/// `text` with HTML entities decoded (`Elo&iacute;sa` → `Eloísa`, `&amp;`
/// → `&`): structured data and some shops' markup hold them encoded once
/// more than the parser undoes.
pub fn decode_entities(text: &str) -> String {
    let has_entity = text.match_indices('&').any(|(i, _)| {
        let rest = &text[i + 1..];
        let end = rest.find(';').filter(|&e| e > 0 && e <= 32);
        end.is_some_and(|e| rest[..e].chars().all(|c| c.is_ascii_alphanumeric() || c == '#'))
    });
    if !has_entity {
        return text.to_owned();
    }
    // Parsed as the text of an element: `<` escaped so nothing becomes a tag.
    let fragment = Html::parse_fragment(&text.replace('<', "&lt;"));
    fragment.root_element().text().collect()
}

/// The document's `<title>` (not an SVG icon's), else its first `<h1>`.
fn title(document: &Html) -> Option<String> {
    let text = |el: scraper::ElementRef<'_>| collapse(&el.text().collect::<String>());
    let in_svg = |el: &scraper::ElementRef<'_>| el.ancestors().any(|a| a.value().as_element().is_some_and(|e| e.name() == "svg"));
    let titles = Selector::parse("title").expect("static selector");
    let h1 = Selector::parse("h1").expect("static selector");
    document
        .select(&titles)
        .filter(|el| !in_svg(el))
        .map(text)
        .find(|t| !t.is_empty())
        .or_else(|| document.select(&h1).map(text).find(|t| !t.is_empty()))
}

/// Whitespace runs (including non-breaking spaces) become one space.
pub(crate) fn collapse(text: &str) -> String {
    text.split(|c: char| c.is_whitespace()).filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BlockKind {
    Paragraph,
    Heading(usize),
    ListItem,
}

/// Accumulates inline text and cuts it into blocks at block boundaries.
#[derive(Default)]
struct Blocks {
    done: Vec<(BlockKind, String)>,
    current: String,
    /// What the text being accumulated belongs to; the innermost open heading or
    /// list item (a paragraph otherwise).
    kinds: Vec<BlockKind>,
}

impl Blocks {
    fn open(&mut self, name: &str) {
        if !BLOCKS.contains(&name) {
            // Table cells are inline here, but their text must not run together.
            if matches!(name, "td" | "th") {
                self.current.push(' ');
            }
            return;
        }
        self.flush();
        match heading_level(name) {
            Some(level) => self.kinds.push(BlockKind::Heading(level)),
            None if name == "li" => self.kinds.push(BlockKind::ListItem),
            None => {}
        }
    }

    fn close(&mut self, name: &str) {
        if !BLOCKS.contains(&name) {
            if matches!(name, "td" | "th") {
                self.current.push(' ');
            }
            return;
        }
        self.flush();
        if heading_level(name).is_some() || name == "li" {
            self.kinds.pop();
        }
    }

    fn push_text(&mut self, text: &str) {
        self.current.push_str(text);
    }

    fn flush(&mut self) {
        let text = collapse(&self.current);
        self.current.clear();
        if text.is_empty() {
            return;
        }
        let kind = self.kinds.last().copied().unwrap_or(BlockKind::Paragraph);
        self.done.push((kind, text));
    }

    fn finish(mut self) -> String {
        self.flush();
        let mut out = String::new();
        let mut previous: Option<BlockKind> = None;
        for (kind, text) in &self.done {
            if let Some(prev) = previous {
                // List items of one list stay together; everything else is a paragraph.
                out.push_str(if prev == BlockKind::ListItem && *kind == BlockKind::ListItem { "\n" } else { "\n\n" });
            }
            match kind {
                BlockKind::Heading(level) => {
                    out.push_str(&"#".repeat(*level));
                    out.push(' ');
                }
                BlockKind::ListItem => out.push_str("- "),
                BlockKind::Paragraph => {}
            }
            out.push_str(text);
            previous = Some(*kind);
        }
        out
    }
}

fn heading_level(name: &str) -> Option<usize> {
    match name {
        "h1" => Some(1),
        "h2" => Some(2),
        "h3" => Some(3),
        "h4" => Some(4),
        "h5" => Some(5),
        "h6" => Some(6),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html>
<html><head><title>  Best   Headphones
 2026 </title><style>body { color: red }</style><script>var x = "tracking";</script></head>
<body>
<header><a href="/">Reviews Example</a><nav><ul><li>Home</li><li>Deals</li></ul></nav></header>
<main>
  <h1>The best headphones</h1>
  <p>We tested <b>twelve</b> pairs
     over   three weeks.</p>
  <p>Our pick is the <a href="/x">Sony</a>.</p>
  <h2>What to look for</h2>
  <ul><li>Comfort</li><li>Battery <em>life</em></li></ul>
  <div hidden>Secret promo</div>
  <table><tr><th>Model</th><th>Price</th></tr><tr><td>Aurion</td><td>$199</td></tr></table>
  <script>document.write("ad")</script>
  <noscript>Enable JavaScript</noscript>
  <form><input name="q"><button>Subscribe</button></form>
</main>
<aside>Related: other stuff</aside>
<footer><p>© 2026 Reviews Example</p></footer>
</body></html>"#;

    #[test]
    fn drops_chrome_and_keeps_structure() {
        let page = extract(PAGE);
        assert_eq!(page.title.as_deref(), Some("Best Headphones 2026"));
        assert_eq!(
            page.text,
            "# The best headphones\n\n\
             We tested twelve pairs over three weeks.\n\n\
             Our pick is the Sony.\n\n\
             ## What to look for\n\n\
             - Comfort\n\
             - Battery life\n\n\
             Model Price\n\n\
             Aurion $199"
        );
        for noise in ["tracking", "Home", "Deals", "Secret", "document.write", "Enable JavaScript", "Subscribe", "Related", "©"] {
            assert!(!page.text.contains(noise), "{noise} leaked into {:?}", page.text);
        }
    }

    #[test]
    fn title_falls_back_to_the_first_h1() {
        let page = extract("<html><body><svg><title>icon</title></svg><h1>Espresso  guide</h1><p>Text</p></body></html>");
        assert_eq!(page.title.as_deref(), Some("Espresso guide"));
    }

    #[test]
    fn nested_list_content_stays_in_order() {
        let page = extract("<ul><li>One<ul><li>Inner</li></ul></li><li>Two</li></ul>");
        assert_eq!(page.text, "- One\n- Inner\n- Two");
    }

    /// A real article page (Engadget, from Mozilla Readability's test fixtures) with
    /// the expected title and a sentence of the body from their ground truth.
    #[test]
    fn extracts_a_real_article() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/web_pages/review_articles_readability/engadget");
        let dir = std::path::Path::new(dir);
        if !dir.exists() {
            println!("skipped: {} is absent", dir.display());
            return;
        }
        let html = std::fs::read_to_string(dir.join("source.html")).unwrap();
        let metadata: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected-metadata.json")).unwrap()).unwrap();
        let page = extract(&html);
        let expected_title = collapse(metadata["title"].as_str().unwrap());
        assert_eq!(page.title.as_deref(), Some(expected_title.as_str()));
        assert!(page.text.contains("It sports more horsepower than any system ever."), "{}", &page.text[..2000]);
        assert!(!page.text.contains("function("), "script text leaked");
        // Chrome is gone: the article is most of what remains.
        assert!(page.text.len() < html.len() / 5, "{} of {} bytes kept", page.text.len(), html.len());
    }
}
