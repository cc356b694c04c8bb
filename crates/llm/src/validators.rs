//! Compiled JSON Schemas, kept per client (and by the supervisor for tool
//! arguments).
//!
//! Agents send the same few schemas (the plan, the verdict, each tool's
//! parameters) with every request; compiling them each time was a measurable
//! share of a research step's CPU. Keyed by the schema itself: a lookup
//! hashes and compares the tree, without writing it out as text. A schema
//! shared as an `Arc` (the requests' schemas are) is found by its address
//! first, without walking the tree at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use jsonschema::Validator;
use serde_json::Value;

/// More distinct schemas than any role uses; past it the cache starts over,
/// so a caller that sends a new schema every time cannot grow it without end.
const MAX_SCHEMAS: usize = 256;

/// Validators by schema; shared between tasks.
#[derive(Default)]
pub struct Validators {
    compiled: Mutex<HashMap<Value, Arc<Validator>>>,
    shared: Mutex<ByAddress>,
}

/// Validators by the address of a shared schema; each entry keeps its schema
/// alive, so the address cannot be reused for another tree.
type ByAddress = HashMap<usize, (Arc<Value>, Arc<Validator>)>;

impl Validators {
    /// [`Validators::get`] for a shared schema: the same `Arc` again is found
    /// by address.
    pub fn get_shared(&self, schema: &Arc<Value>) -> Result<Arc<Validator>, String> {
        let address = Arc::as_ptr(schema) as usize;
        if let Some((_, v)) = relock(&self.shared).get(&address) {
            return Ok(v.clone());
        }
        let compiled = self.get(schema)?;
        let mut shared = relock(&self.shared);
        if shared.len() >= MAX_SCHEMAS {
            shared.clear();
        }
        shared.insert(address, (schema.clone(), compiled.clone()));
        Ok(compiled)
    }

    /// The validator of `schema`, compiled on first use.
    pub fn get(&self, schema: &Value) -> Result<Arc<Validator>, String> {
        if let Some(v) = self.lock().get(schema) {
            return Ok(v.clone());
        }
        let compiled = Arc::new(jsonschema::validator_for(schema).map_err(|e| e.to_string())?);
        let mut cache = self.lock();
        if cache.len() >= MAX_SCHEMAS {
            cache.clear();
        }
        cache.insert(schema.clone(), compiled.clone());
        Ok(compiled)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Value, Arc<Validator>>> {
        relock(&self.compiled)
    }
}

fn relock<T>(map: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves a map that is still valid.
    map.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn compiles_once_per_schema_and_validates() {
        let cache = Validators::default();
        let schema = json!({"type": "object", "required": ["plan"]});
        let a = cache.get(&schema).unwrap();
        let b = cache.get(&schema).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the second lookup compiled again");
        assert!(a.is_valid(&json!({"plan": "x"})));
        assert!(!a.is_valid(&json!({})));
        let other = cache.get(&json!({"type": "string"})).unwrap();
        assert!(!Arc::ptr_eq(&a, &other));
        assert!(cache.get(&json!({"type": 12})).is_err());
    }

    #[test]
    fn a_shared_schema_is_found_by_address_and_an_equal_one_by_value() {
        let cache = Validators::default();
        let schema = Arc::new(json!({"type": "object", "required": ["plan"]}));
        let a = cache.get_shared(&schema).unwrap();
        assert!(Arc::ptr_eq(&a, &cache.get_shared(&schema).unwrap()));
        // Another Arc of an equal tree: compiled once all the same.
        assert!(Arc::ptr_eq(&a, &cache.get_shared(&Arc::new((*schema).clone())).unwrap()));
        assert!(Arc::ptr_eq(&a, &cache.get(&schema).unwrap()));
        assert_eq!(relock(&cache.shared).len(), 2);
        assert!(cache.get_shared(&Arc::new(json!({"type": 12}))).is_err());
    }

    #[test]
    fn starts_over_when_full() {
        let cache = Validators::default();
        for i in 0..MAX_SCHEMAS + 1 {
            cache.get(&json!({"maxLength": i})).unwrap();
        }
        assert_eq!(cache.lock().len(), 1);
    }
}
