//! A reader for the Python literals some catalog dumps store in CSV cells
//! (`"['footwear', 'ballerinas']"`, `"[{'key': 'Color', 'value': 'Black'}]"`):
//! what `ast.literal_eval` accepts for lists, tuples, dicts, strings, numbers,
//! `True`, `False` and `None`, read into JSON values.

use serde_json::{Map, Number, Value};

/// Parses one Python literal; the error names the byte offset.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut p = Parser { chars: text.char_indices().peekable(), text };
    let value = p.value()?;
    p.skip_ws();
    match p.chars.peek() {
        None => Ok(value),
        Some(&(at, c)) => Err(format!("unexpected {c:?} at byte {at}")),
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    text: &'a str,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
            self.chars.next();
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.skip_ws();
        let Some(&(at, c)) = self.chars.peek() else {
            return Err("unexpected end of literal".into());
        };
        match c {
            '[' | '(' => {
                self.chars.next();
                let close = if c == '[' { ']' } else { ')' };
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.eat(close) {
                        return Ok(Value::Array(items));
                    }
                    items.push(self.value()?);
                    self.skip_ws();
                    if !self.eat(',') {
                        self.expect(close)?;
                        return Ok(Value::Array(items));
                    }
                }
            }
            '{' => {
                self.chars.next();
                let mut map = Map::new();
                loop {
                    self.skip_ws();
                    if self.eat('}') {
                        return Ok(Value::Object(map));
                    }
                    let key = match self.value()? {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    self.skip_ws();
                    self.expect(':')?;
                    let value = self.value()?;
                    map.insert(key, value);
                    self.skip_ws();
                    if !self.eat(',') {
                        self.expect('}')?;
                        return Ok(Value::Object(map));
                    }
                }
            }
            '\'' | '"' => self.string(c).map(Value::String),
            _ => self.bare(at),
        }
    }

    fn eat(&mut self, want: char) -> bool {
        if self.chars.peek().is_some_and(|&(_, c)| c == want) {
            self.chars.next();
            return true;
        }
        false
    }

    fn expect(&mut self, want: char) -> Result<(), String> {
        match self.chars.next() {
            Some((_, c)) if c == want => Ok(()),
            Some((at, c)) => Err(format!("expected {want:?} at byte {at}, found {c:?}")),
            None => Err(format!("expected {want:?}, found the end of the literal")),
        }
    }

    fn string(&mut self, quote: char) -> Result<String, String> {
        self.chars.next();
        let mut out = String::new();
        loop {
            match self.chars.next() {
                None => return Err("unterminated string".into()),
                Some((_, c)) if c == quote => return Ok(out),
                Some((_, '\\')) => match self.chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, c)) => out.push(c),
                    None => return Err("unterminated string".into()),
                },
                Some((_, c)) => out.push(c),
            }
        }
    }

    /// Numbers and the three keywords.
    fn bare(&mut self, start: usize) -> Result<Value, String> {
        let mut end = start;
        while let Some(&(at, c)) = self.chars.peek() {
            if c.is_alphanumeric() || matches!(c, '.' | '-' | '+' | '_') {
                end = at + c.len_utf8();
                self.chars.next();
            } else {
                break;
            }
        }
        let word = &self.text[start..end];
        match word {
            "True" => Ok(Value::Bool(true)),
            "False" => Ok(Value::Bool(false)),
            "None" => Ok(Value::Null),
            "" => Err(format!("unexpected character at byte {start}")),
            _ => {
                if let Ok(i) = word.parse::<i64>() {
                    return Ok(Value::Number(i.into()));
                }
                word.parse::<f64>()
                    .ok()
                    .and_then(Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("unknown word {word:?} at byte {start}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_literal_eval_reads() {
        assert_eq!(parse("['footwear', \"women's\", 'a\\'b']").unwrap(), json!(["footwear", "women's", "a'b"]));
        assert_eq!(
            parse("[{'key': 'Color', 'value': 'Black'}, {'value': '1 T-Shirt'}]").unwrap(),
            json!([{"key": "Color", "value": "Black"}, {"value": "1 T-Shirt"}])
        );
        assert_eq!(parse("(1, 2.5, True, None,)").unwrap(), json!([1, 2.5, true, null]));
        assert_eq!(parse("{}").unwrap(), json!({}));
    }

    #[test]
    fn truncated_and_trailing_input_is_an_error() {
        assert!(parse("[{'key': 'a', 'value': 'b'}, {'key': 'c'").is_err());
        assert!(parse("['a'] x").unwrap_err().contains("unexpected"));
        assert!(parse("'open").unwrap_err().contains("unterminated"));
    }
}
