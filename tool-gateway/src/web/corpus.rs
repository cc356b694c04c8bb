//! The local web corpus: saved HTML pages behind `web_search` and `web_visit`.
//!
//! A folder with an `index.jsonl`, one page a line:
//! `{"url": "https://...", "path": "pages/x.html", "title": "optional"}`, where
//! `path` is relative to the folder. Pages are converted to clean text once, at
//! load, so a visit costs a lookup.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::html_text;
use crate::catalog::RejectedLine;
use crate::error::{Error, io_reason};

/// One page of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub struct WebPage {
    /// As written in the index (the key it is found under is [`normalize_url`] of it).
    pub url: String,
    pub title: String,
    /// Clean text (see [`html_text`]).
    pub text: String,
}

#[derive(Debug, Deserialize)]
struct IndexLine {
    url: String,
    path: String,
    #[serde(default)]
    title: Option<String>,
}

/// The pages, by normalised URL.
#[derive(Debug, Default)]
pub struct WebCorpus {
    pages: Vec<WebPage>,
    by_url: HashMap<String, usize>,
}

/// Name of the page list inside a corpus folder.
pub const INDEX_FILE: &str = "index.jsonl";

impl WebCorpus {
    /// Loads the folder's `index.jsonl` and every page it lists. A missing folder
    /// or index is an error; a bad line or unreadable page is skipped (returned
    /// and logged with file:line).
    pub fn load(dir: &Path) -> Result<(WebCorpus, Vec<RejectedLine>), Error> {
        if dir.exists() && !dir.is_dir() {
            return Err(Error::WebCorpus { path: dir.display().to_string(), reason: "not a directory".to_string() });
        }
        if let Err(e) = std::fs::metadata(dir) {
            return Err(Error::web_corpus(dir, &e));
        }
        let index_path = dir.join(INDEX_FILE);
        let file = File::open(&index_path).map_err(|e| Error::web_corpus(&index_path, &e))?;
        let mut corpus = WebCorpus::default();
        let mut rejected = Vec::new();
        for (i, line) in BufReader::new(file).split(b'\n').enumerate() {
            let line = line.map_err(|e| Error::web_corpus(&index_path, &e))?;
            let Ok(text) = std::str::from_utf8(&line) else {
                rejected.push(reject(&index_path, i + 1, "line is not valid UTF-8".into()));
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            if let Err(reason) = corpus.add_line(dir, text) {
                rejected.push(reject(&index_path, i + 1, reason));
            }
        }
        Ok((corpus, rejected))
    }

    fn add_line(&mut self, dir: &Path, line: &str) -> Result<(), String> {
        let entry: IndexLine = serde_json::from_str(line.trim()).map_err(|e| {
            let message = e.to_string();
            message.rsplit_once(" at line ").map_or(message.clone(), |(head, _)| head.to_string())
        })?;
        if !is_http_url(&entry.url) {
            return Err(format!("url \"{}\" is not an http or https URL", entry.url));
        }
        let relative = PathBuf::from(&entry.path);
        // The index must not reach outside its folder.
        if relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            return Err(format!("path \"{}\" must stay inside the corpus folder", entry.path));
        }
        let key = normalize_url(&entry.url);
        if self.by_url.contains_key(&key) {
            return Err(format!("duplicate url \"{}\"", entry.url));
        }
        let bytes = std::fs::read(dir.join(&relative)).map_err(|e| format!("page {}: {}", entry.path, io_reason(&e)))?;
        // Saved pages are not always clean UTF-8; a few replaced characters beat
        // losing the page.
        let extracted = html_text::extract(&String::from_utf8_lossy(&bytes));
        let title = entry.title.filter(|t| !t.trim().is_empty()).or(extracted.title).unwrap_or_else(|| entry.url.clone());
        self.by_url.insert(key, self.pages.len());
        self.pages.push(WebPage { url: entry.url, title, text: extracted.text });
        Ok(())
    }

    /// The page stored under `url` after normalisation.
    pub fn get(&self, url: &str) -> Option<&WebPage> {
        self.by_url.get(&normalize_url(url)).map(|&i| &self.pages[i])
    }

    /// Pages in index order.
    pub fn pages(&self) -> &[WebPage] {
        &self.pages
    }

    pub fn len(&self) -> usize {
        self.pages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pages.is_empty()
    }
}

fn reject(path: &Path, line: usize, reason: String) -> RejectedLine {
    let rejected = RejectedLine { path: path.to_path_buf(), line, reason };
    tracing::warn!("web corpus line skipped: {rejected}");
    rejected
}

/// True for `http://host...` and `https://host...` (scheme in any case).
pub fn is_http_url(url: &str) -> bool {
    let Some((scheme, rest)) = url.trim().split_once("://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) && !host.is_empty()
}

/// The key a page is stored and looked up under: scheme and host lowercased, the
/// fragment dropped and a trailing slash of the path removed, so the spellings an
/// agent produces for one page find it.
pub fn normalize_url(url: &str) -> String {
    let url = url.trim();
    let url = url.split_once('#').map_or(url, |(head, _)| head);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    let (path, query) = tail.split_once('?').map_or((tail, None), |(p, q)| (p, Some(q)));
    let mut out = format!("{}://{}{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase(), path.trim_end_matches('/'));
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_normalise_trailing_slash_case_and_fragment() {
        assert_eq!(normalize_url("https://Reviews.Example/best/"), "https://reviews.example/best");
        assert_eq!(normalize_url("HTTPS://reviews.example/best#top"), "https://reviews.example/best");
        assert_eq!(normalize_url("https://reviews.example/"), "https://reviews.example");
        assert_eq!(normalize_url("https://reviews.example/a/?q=1"), "https://reviews.example/a?q=1");
        assert!(is_http_url("http://x.example"));
        assert!(!is_http_url("ftp://x.example/a"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("reviews.example/best"));
    }

    #[test]
    fn bad_index_lines_are_skipped_with_line_numbers() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("pages")).unwrap();
        std::fs::write(dir.path().join("pages/a.html"), "<title>A page</title><nav>menu</nav><p>Body of A.</p>").unwrap();
        let index = [
            r#"{"url": "https://site.example/a/", "path": "pages/a.html"}"#,
            r#"{"url": "https://site.example/b", "path": "pages/missing.html"}"#,
            r#"{"url": "ftp://site.example/c", "path": "pages/a.html"}"#,
            r#"{"url": "https://site.example/d", "path": "../secret.html"}"#,
            r#"{"url": "https://site.example/a", "path": "pages/a.html"}"#,
            r#"not json"#,
            r#"{"url": "https://site.example/e", "path": "pages/a.html", "title": "Given title"}"#,
        ];
        std::fs::write(dir.path().join(INDEX_FILE), index.join("\n")).unwrap();
        let (corpus, rejected) = WebCorpus::load(dir.path()).unwrap();
        assert_eq!(corpus.len(), 2);
        let lines: Vec<usize> = rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6]);
        assert!(rejected[0].reason.contains("page pages/missing.html: no such file"), "{rejected:?}");
        assert!(rejected[0].to_string().contains("index.jsonl:2: "), "{rejected:?}");
        let a = corpus.get("https://site.example/a").unwrap();
        assert_eq!((a.title.as_str(), a.text.as_str()), ("A page", "Body of A."));
        assert_eq!(corpus.get("https://site.example/e/").unwrap().title, "Given title");
    }

    #[test]
    fn missing_folder_is_a_one_line_error() {
        let err = WebCorpus::load(Path::new("demo/nowhere")).unwrap_err();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(err.to_string(), format!("web corpus demo/nowhere: no such file (relative to the working directory {})", cwd.display()));
    }
}
