//! The RACE rubric of DeepResearch Bench: four weighted dimensions, each with
//! weighted criteria.

use serde::{Deserialize, Serialize};

/// The four RACE dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// Breadth of coverage.
    Comprehensiveness,
    /// Depth of analysis and insight.
    Depth,
    /// Adherence to the request's constraints.
    InstructionFollowing,
    /// Structure and clarity.
    Readability,
}

impl Dimension {
    /// All four, in RACE order.
    pub const ALL: [Dimension; 4] = [Self::Comprehensiveness, Self::Depth, Self::InstructionFollowing, Self::Readability];

    /// The snake_case name used in JSON and prompts.
    pub fn name(self) -> &'static str {
        match self {
            Self::Comprehensiveness => "comprehensiveness",
            Self::Depth => "depth",
            Self::InstructionFollowing => "instruction_following",
            Self::Readability => "readability",
        }
    }
}

/// One weighted criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// What a good report does.
    pub criterion: String,
    /// Why it matters and how to judge it.
    pub explanation: String,
    /// Weight within the dimension.
    pub weight: f64,
}

/// One dimension with its weight and criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RubricDimension {
    /// Which dimension.
    pub dimension: Dimension,
    /// Weight of the dimension.
    pub weight: f64,
    /// Its criteria.
    pub criteria: Vec<Criterion>,
}

/// A query-specific rubric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    /// One entry per dimension.
    pub dimensions: Vec<RubricDimension>,
}

/// Why a rubric is unusable.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RubricError {
    /// A dimension is missing or repeated.
    #[error("rubric must have each of the four dimensions exactly once (found {0})")]
    Dimensions(String),
    /// A dimension has no criteria.
    #[error("rubric dimension {0} has no criteria")]
    NoCriteria(&'static str),
    /// A weight is negative, not finite, or all weights are zero.
    #[error("rubric {0} has an invalid weight: weights must be finite, non-negative and not all zero")]
    Weight(String),
    /// A criterion has no text.
    #[error("rubric dimension {0} has a criterion with empty text")]
    EmptyCriterion(&'static str),
}

/// Tolerance of "sums to 1" after normalisation.
pub const WEIGHT_TOLERANCE: f64 = 1e-6;

impl Rubric {
    /// Checks the structure and rescales every weight group to sum to 1, in RACE
    /// order. Models often return weights like 30/30/20/20 or sums of 0.99; those
    /// are rescaled, while negative, non-finite or all-zero weights are rejected.
    pub fn normalized(mut self) -> Result<Rubric, RubricError> {
        let found: Vec<&str> = self.dimensions.iter().map(|d| d.dimension.name()).collect();
        let complete = self.dimensions.len() == 4 && Dimension::ALL.iter().all(|d| self.dimensions.iter().any(|x| x.dimension == *d));
        if !complete {
            return Err(RubricError::Dimensions(found.join(", ")));
        }
        self.dimensions.sort_by_key(|d| d.dimension);
        normalize(self.dimensions.iter_mut().map(|d| &mut d.weight), "dimension weights")?;
        for d in &mut self.dimensions {
            let name = d.dimension.name();
            if d.criteria.is_empty() {
                return Err(RubricError::NoCriteria(name));
            }
            if d.criteria.iter().any(|c| c.criterion.trim().is_empty()) {
                return Err(RubricError::EmptyCriterion(name));
            }
            normalize(d.criteria.iter_mut().map(|c| &mut c.weight), &format!("criteria of {name}"))?;
        }
        Ok(self)
    }

    /// The entry of one dimension.
    pub fn dimension(&self, d: Dimension) -> Option<&RubricDimension> {
        self.dimensions.iter().find(|x| x.dimension == d)
    }
}

fn normalize<'a>(weights: impl Iterator<Item = &'a mut f64>, what: &str) -> Result<(), RubricError> {
    let mut ws: Vec<&mut f64> = weights.collect();
    if ws.iter().any(|w| !w.is_finite() || **w < 0.0) {
        return Err(RubricError::Weight(what.to_string()));
    }
    let sum: f64 = ws.iter().map(|w| **w).sum();
    if sum <= 0.0 {
        return Err(RubricError::Weight(what.to_string()));
    }
    for w in ws.iter_mut() {
        **w /= sum;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dim(d: Dimension, w: f64, cw: &[f64]) -> RubricDimension {
        RubricDimension {
            dimension: d,
            weight: w,
            criteria: cw.iter().map(|w| Criterion { criterion: "c".into(), explanation: "e".into(), weight: *w }).collect(),
        }
    }

    #[test]
    fn percent_weights_are_rescaled() {
        let r = Rubric {
            dimensions: vec![
                dim(Dimension::Readability, 20.0, &[1.0]),
                dim(Dimension::Comprehensiveness, 30.0, &[3.0, 1.0]),
                dim(Dimension::Depth, 30.0, &[1.0]),
                dim(Dimension::InstructionFollowing, 20.0, &[0.5, 0.5]),
            ],
        }
        .normalized()
        .unwrap();
        let sum: f64 = r.dimensions.iter().map(|d| d.weight).sum();
        assert!((sum - 1.0).abs() < WEIGHT_TOLERANCE);
        assert_eq!(r.dimensions[0].dimension, Dimension::Comprehensiveness);
        assert!((r.dimensions[0].criteria[0].weight - 0.75).abs() < WEIGHT_TOLERANCE);
    }

    #[test]
    fn missing_dimension_is_rejected() {
        let r = Rubric { dimensions: vec![dim(Dimension::Depth, 1.0, &[1.0])] };
        assert!(matches!(r.normalized(), Err(RubricError::Dimensions(_))));
    }

    #[test]
    fn negative_or_zero_weights_are_rejected() {
        let mk = |w: f64| Rubric { dimensions: Dimension::ALL.iter().map(|d| dim(*d, w, &[1.0])).collect() };
        assert!(matches!(mk(-1.0).normalized(), Err(RubricError::Weight(_))));
        assert!(matches!(mk(0.0).normalized(), Err(RubricError::Weight(_))));
        assert!(mk(0.25).normalized().is_ok());
    }
}
