//! Drops `<script>`, `<style>` and inline `<svg>` elements from HTML source
//! before it is parsed.
//!
//! On real pages scripts and styles are about half the bytes (28 % script,
//! 24 % style on the web_pages corpus), and inline SVG (icons, logos: path
//! data) a further 23 % of what is left. Every reader of a page throws them
//! away after parsing: Readability removes scripts and styles first thing,
//! and both readers skip whatever is inside an `<svg>`. Cutting them from the
//! source spares the parser that work. JSON-LD scripts are kept: they carry
//! the product facts and Readability's metadata.
//!
//! The scan follows the HTML tokenizer far enough to find real tags only: it
//! skips comments, reads attributes with their quoting rules (a `<script>`
//! inside an attribute value is not a tag), and steps over raw-text elements
//! (`<title>`, `<textarea>` ...). When a script's text holds `<!--` (the
//! spec's escaped script states, where `</script>` may not end it) the rest
//! of the page is kept as is.

/// Elements whose text the tokenizer reads raw up to their end tag.
const RAW_TEXT: &[&str] = &["title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript"];

/// `html` without its script (other than JSON-LD) and style elements.
pub fn prune(html: &str) -> String {
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len() / 2);
    // Start of the bytes not yet copied to `out`.
    let mut kept_from = 0;
    let mut i = 0;
    while let Some(offset) = memchr(b'<', &bytes[i..]) {
        let lt = i + offset;
        let rest = &bytes[lt + 1..];
        if rest.starts_with(b"!--") {
            i = find(bytes, lt + 4, b"-->").map_or(bytes.len(), |end| end + 3);
            continue;
        }
        if rest.first().is_some_and(|b| matches!(b, b'!' | b'?')) {
            // Doctype or bogus comment: up to the first `>`.
            i = memchr(b'>', rest).map_or(bytes.len(), |p| lt + 1 + p + 1);
            continue;
        }
        if rest.first() == Some(&b'/') {
            // An end tag's attributes are read like a start tag's.
            i = tag_end(bytes, lt + 2).0;
            continue;
        }
        if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
            i = lt + 1;
            continue;
        }
        let name_end = lt + 1 + rest.iter().position(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>')).unwrap_or(rest.len());
        let name = html[lt + 1..name_end].to_ascii_lowercase();
        let (after_tag, is_json_ld) = tag_end(bytes, name_end);
        if name == "svg" {
            // Dropped whole when it closes cleanly; otherwise left to the parser.
            if let Some(end) = svg_end(bytes, after_tag) {
                out.push_str(&html[kept_from..lt]);
                kept_from = end;
                i = end;
            } else {
                i = after_tag;
            }
            continue;
        }
        let raw = name == "script" || name == "style" || RAW_TEXT.contains(&name.as_str()) || name == "plaintext";
        if !raw {
            i = after_tag;
            continue;
        }
        if name == "plaintext" {
            break;
        }
        let close = find_end_tag(bytes, after_tag, &name);
        let end = close.map_or(bytes.len(), |c| tag_end(bytes, c + 2).0);
        let drop = match name.as_str() {
            "style" => true,
            "script" => !is_json_ld,
            _ => false,
        };
        if name == "script" && find(&bytes[..close.unwrap_or(bytes.len())], after_tag, b"<!--").is_some() {
            break;
        }
        if drop {
            out.push_str(&html[kept_from..lt]);
            kept_from = end;
        }
        i = end;
    }
    out.push_str(&html[kept_from..]);
    out
}

/// HTML start tags that end an `<svg>` early where they appear in it (the
/// parser's "breakout" rule for foreign content), so the HTML after them is
/// page content, not part of the SVG.
const SVG_BREAKOUT: &[&str] = &[
    "b",
    "big",
    "blockquote",
    "body",
    "br",
    "center",
    "code",
    "dd",
    "div",
    "dl",
    "dt",
    "em",
    "embed",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "head",
    "hr",
    "i",
    "img",
    "li",
    "listing",
    "menu",
    "meta",
    "nobr",
    "ol",
    "p",
    "pre",
    "ruby",
    "s",
    "small",
    "span",
    "strong",
    "strike",
    "sub",
    "sup",
    "table",
    "tt",
    "u",
    "ul",
    "var",
    "font",
];

/// The index after the `</svg>` that closes an `<svg>` whose start tag ends
/// at `from`, following nested `<svg>`s, comments and CDATA sections.
/// `None` when the element does not close cleanly (no end tag, or a breakout
/// tag outside `<foreignObject>`): the parser's reading of it is kept.
fn svg_end(bytes: &[u8], from: usize) -> Option<usize> {
    if bytes.get(from.checked_sub(2)?) == Some(&b'/') {
        // `<svg ... />`: no content.
        return Some(from);
    }
    let (mut depth, mut foreign_object) = (1usize, 0usize);
    let mut i = from;
    while let Some(offset) = memchr(b'<', bytes.get(i..)?) {
        let lt = i + offset;
        let rest = &bytes[lt + 1..];
        if rest.starts_with(b"!--") {
            i = find(bytes, lt + 4, b"-->")? + 3;
            continue;
        }
        if rest.starts_with(b"![CDATA[") {
            i = find(bytes, lt + 9, b"]]>")? + 3;
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_start = lt + 1 + usize::from(closing);
        let name_len = bytes[name_start..].iter().position(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>')).unwrap_or(0);
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            i = lt + 1;
            continue;
        }
        let name = std::str::from_utf8(&bytes[name_start..name_start + name_len]).ok()?.to_ascii_lowercase();
        let (after, _) = tag_end(bytes, name_start + name_len);
        let self_closing = bytes[..after].ends_with(b"/>");
        match (name.as_str(), closing) {
            ("svg", true) => {
                depth -= 1;
                if depth == 0 {
                    return Some(after);
                }
            }
            ("svg", false) if !self_closing => depth += 1,
            ("foreignobject", false) if !self_closing => foreign_object += 1,
            ("foreignobject", true) => foreign_object = foreign_object.saturating_sub(1),
            (name, false) if foreign_object == 0 && SVG_BREAKOUT.contains(&name) => return None,
            _ => {}
        }
        i = after;
    }
    None
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// First index ≥ `from` where `needle` starts.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

/// Index of the `<` of the first `</name` (any case) at or after `from` that
/// ends a raw-text element (followed by whitespace, `/` or `>`).
fn find_end_tag(bytes: &[u8], from: usize, name: &str) -> Option<usize> {
    let mut i = from;
    while let Some(offset) = bytes.get(i..).and_then(|b| memchr(b'<', b)) {
        let lt = i + offset;
        let candidate = &bytes[lt + 1..];
        if candidate.first() == Some(&b'/')
            && candidate.len() > name.len()
            && candidate[1..=name.len()].eq_ignore_ascii_case(name.as_bytes())
            && candidate.get(name.len() + 1).is_none_or(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))
        {
            return Some(lt);
        }
        i = lt + 1;
    }
    None
}

/// Reads a tag's attributes from `from` (just after its name) to its `>`:
/// the index after the `>` (or the end of input), and whether it has
/// `type="application/ld+json"`.
fn tag_end(bytes: &[u8], from: usize) -> (usize, bool) {
    let mut i = from;
    let mut json_ld = false;
    let skip_space = |mut i: usize| {
        while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    loop {
        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace() || *b == b'/') {
            i += 1;
        }
        match bytes.get(i) {
            None => return (bytes.len(), json_ld),
            Some(b'>') => return (i + 1, json_ld),
            Some(_) => {}
        }
        // A name's first character may be `=`; it ends at space, `/`, `>` or `=`.
        let name_start = i;
        i += 1;
        while bytes.get(i).is_some_and(|b| !(b.is_ascii_whitespace() || matches!(b, b'/' | b'>' | b'='))) {
            i += 1;
        }
        let name = &bytes[name_start..i];
        i = skip_space(i);
        if bytes.get(i) != Some(&b'=') {
            continue;
        }
        i = skip_space(i + 1);
        let value_start;
        let value_end;
        match bytes.get(i) {
            Some(&quote @ (b'"' | b'\'')) => {
                value_start = i + 1;
                value_end = memchr(quote, &bytes[value_start..]).map_or(bytes.len(), |p| value_start + p);
                i = (value_end + 1).min(bytes.len());
            }
            _ => {
                value_start = i;
                while bytes.get(i).is_some_and(|b| !(b.is_ascii_whitespace() || *b == b'>')) {
                    i += 1;
                }
                value_end = i;
            }
        }
        if name.eq_ignore_ascii_case(b"type") {
            json_ld = bytes[value_start..value_end].trim_ascii().eq_ignore_ascii_case(b"application/ld+json");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::prune;

    #[test]
    fn drops_scripts_and_styles_keeps_json_ld() {
        let html = r#"<head><style>p { color: red }</style><SCRIPT src="a.js"></SCRIPT ><script type="application/ld+json">{"@type":"Product"}</script></head><body><p>A<script>if (a < b) document.write("</p>")</script>B</p></body>"#;
        assert_eq!(prune(html), r#"<head><script type="application/ld+json">{"@type":"Product"}</script></head><body><p>AB</p></body>"#);
    }

    #[test]
    fn tags_in_comments_attributes_and_raw_text_are_not_tags() {
        let html = r#"<!-- <script> --><div data-x="<script>" title='a>b'>x</div><textarea><style></textarea><p>kept</p>"#;
        assert_eq!(prune(html), html);
    }

    #[test]
    fn an_escaped_script_keeps_the_rest_verbatim() {
        let html = "<p>a</p><script><!-- <script>x</script> --></script><p>b</p>";
        assert_eq!(prune(html), html);
    }

    #[test]
    fn drops_inline_svg_with_its_nesting_comments_and_cdata() {
        let html = r#"<p>a<svg viewBox="0 0 1 1"><title>icon</title><svg><path d="M0"/></svg><!-- </svg> --><style><![CDATA[ </svg> ]]></style></svg>b</p><svg/><p>c</p>"#;
        assert_eq!(prune(html), "<p>ab</p><p>c</p>");
        let html_in_foreign_object = "<svg><foreignObject><div>label</div></foreignObject></svg><p>d</p>";
        assert_eq!(prune(html_in_foreign_object), "<p>d</p>");
    }

    #[test]
    fn an_svg_the_parser_would_end_early_is_kept() {
        // `<p>` inside `<svg>` ends the SVG: "text" is page content.
        let breakout = "<svg><path/><p>text</p></svg><p>e</p>";
        assert_eq!(prune(breakout), breakout);
        let unclosed = "<p>f</p><svg><path/>";
        assert_eq!(prune(unclosed), unclosed);
    }

    #[test]
    fn an_unclosed_script_runs_to_the_end() {
        assert_eq!(prune("<p>a</p><script>var x = 1;"), "<p>a</p>");
    }
}
