//! Small valid values for tests of the crates that use these types (feature
//! `fixtures`), so every test suite builds its rubric the same way.

use crate::{Criterion, Dimension, Intent, Rubric, RubricDimension};

/// Equal dimension weights, one criterion each.
pub fn rubric() -> Rubric {
    Rubric {
        dimensions: Dimension::ALL
            .iter()
            .map(|d| RubricDimension {
                dimension: *d,
                weight: 0.25,
                criteria: vec![Criterion { criterion: "c".into(), explanation: "e".into(), weight: 1.0 }],
            })
            .collect(),
    }
}

/// An intent with `query` and [`rubric`].
pub fn intent(query: &str) -> Intent {
    Intent { persona: "A commuter who takes the train every day.".into(), query: query.into(), rubric: rubric() }
}
