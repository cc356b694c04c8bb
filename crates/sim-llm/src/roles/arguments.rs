//! Tool arguments fitted to the parameter schema the caller offered: a real model only
//! calls tools with arguments their schema allows, and the agents validate that.

use serde_json::{Map, Number, Value};

/// `wanted` trimmed and coerced to fit `parameters`; `None` when the schema requires a key
/// the simulator cannot supply (the caller then writes its report instead).
pub fn fit(mut wanted: Map<String, Value>, parameters: Option<&Value>) -> Option<Map<String, Value>> {
    let Some(schema) = parameters.and_then(Value::as_object) else {
        return Some(wanted);
    };
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        let closed = schema.get("additionalProperties") == Some(&Value::Bool(false));
        wanted = wanted
            .into_iter()
            .filter_map(|(key, value)| match properties.get(&key) {
                Some(property) => conform(value, property).map(|v| (key, v)),
                None if closed => None,
                None => Some((key, value)),
            })
            .collect();
    }
    let required = schema.get("required").and_then(Value::as_array);
    let satisfied = required.into_iter().flatten().filter_map(Value::as_str).all(|key| wanted.contains_key(key));
    satisfied.then_some(wanted)
}

/// `value` as the property's declared type (clamped to its numeric bounds), or `None`
/// when it cannot be made to fit.
fn conform(value: Value, property: &Value) -> Option<Value> {
    let types: Vec<&str> = match property.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Some(value),
    };
    let fitted = types.iter().find_map(|ty| as_type(&value, ty))?;
    Some(clamp(fitted, property))
}

fn as_type(value: &Value, ty: &str) -> Option<Value> {
    match (ty, value) {
        ("string", Value::String(_))
        | ("boolean", Value::Bool(_))
        | ("array", Value::Array(_))
        | ("object", Value::Object(_))
        | ("number", Value::Number(_)) => Some(value.clone()),
        ("string", Value::Number(n)) => Some(Value::String(n.to_string())),
        ("integer", Value::Number(n)) => whole(n.as_f64()?),
        ("integer", Value::String(s)) => whole(s.trim().parse().ok()?),
        ("number", Value::String(s)) => Number::from_f64(s.trim().parse().ok()?).map(Value::Number),
        _ => None,
    }
}

fn whole(x: f64) -> Option<Value> {
    (x.fract() == 0.0 && x.abs() < 9.0e15).then(|| Value::from(x as i64))
}

fn clamp(value: Value, property: &Value) -> Value {
    let Some(x) = value.as_f64() else {
        return value;
    };
    let low = property.get("minimum").and_then(Value::as_f64).unwrap_or(f64::MIN);
    let high = property.get("maximum").and_then(Value::as_f64).unwrap_or(f64::MAX);
    if (low..=high).contains(&x) {
        return value;
    }
    let bounded = x.clamp(low, high);
    if value.is_i64() || value.is_u64() { Value::from(bounded as i64) } else { Number::from_f64(bounded).map_or(value, Value::Number) }
}

/// `arguments` made to break `parameters`, the way a small model's first try often does:
/// a required key left out, else a declared property of the wrong type. A schema that
/// allows anything cannot be broken, and the arguments come back as they were.
pub fn violate(mut arguments: Map<String, Value>, parameters: Option<&Value>) -> Map<String, Value> {
    let Some(schema) = parameters.and_then(Value::as_object) else {
        return arguments;
    };
    let mut required = schema.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str);
    if let Some(key) = required.next() {
        arguments.remove(key);
        return arguments;
    }
    let properties = schema.get("properties").and_then(Value::as_object).into_iter().flatten();
    let mistyped = properties.filter_map(|(key, property)| Some((key, wrong_type(property)?))).next();
    if let Some((key, value)) = mistyped {
        arguments.insert(key.clone(), value);
    }
    arguments
}

/// A value no type the property declares accepts; `None` when it declares none.
fn wrong_type(property: &Value) -> Option<Value> {
    let declared: Vec<&str> = match property.get("type")? {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let candidates = [("array", Value::from(vec!["wrong"])), ("string", Value::from("wrong")), ("boolean", Value::from(false))];
    candidates.into_iter().find(|(ty, _)| !declared.contains(ty)).map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn drops_what_a_closed_schema_forbids_and_clamps_bounds() {
        let schema = json!({"type":"object","additionalProperties":false,"required":["query"],
            "properties":{"query":{"type":"string"},"limit":{"type":"integer","maximum":3}}});
        let fitted = fit(map(json!({"query":"mugs","limit":5,"extra":true})), Some(&schema)).unwrap();
        assert_eq!(Value::Object(fitted), json!({"query":"mugs","limit":3}));
    }

    #[test]
    fn unsuppliable_required_key_means_no_call() {
        let schema = json!({"type":"object","required":["query","locale"],
            "properties":{"query":{"type":"string"},"locale":{"type":"string"}}});
        assert!(fit(map(json!({"query":"mugs"})), Some(&schema)).is_none());
        assert!(fit(map(json!({"query":"mugs"})), None).is_some());
    }

    #[test]
    fn coerces_between_strings_and_numbers() {
        let schema = json!({"properties":{"product_id":{"type":"string"},"limit":{"type":"integer"}}});
        let fitted = fit(map(json!({"product_id":42,"limit":"5"})), Some(&schema)).unwrap();
        assert_eq!(Value::Object(fitted), json!({"product_id":"42","limit":5}));
    }

    #[test]
    fn violations_drop_a_required_key_or_mistype_a_property() {
        let schema = json!({"required":["query"],"properties":{"query":{"type":"string"},"limit":{"type":"integer"}}});
        let broken = violate(map(json!({"query":"mugs","limit":5})), Some(&schema));
        assert_eq!(Value::Object(broken), json!({"limit":5}));
        let optional = json!({"properties":{"query":{"type":["string","array"]}}});
        let broken = violate(map(json!({"query":"mugs"})), Some(&optional));
        assert_eq!(Value::Object(broken), json!({"query":false}));
        assert_eq!(Value::Object(violate(map(json!({"a":1})), None)), json!({"a":1}));
    }
}
