//! Rubrics, intents and follow-ups.

use productresearch_proto::common::v1 as pb;

use super::{ConvertError, en};
use crate::*;

impl From<Dimension> for pb::Dimension {
    fn from(d: Dimension) -> Self {
        match d {
            Dimension::Comprehensiveness => Self::Comprehensiveness,
            Dimension::Depth => Self::Depth,
            Dimension::InstructionFollowing => Self::InstructionFollowing,
            Dimension::Readability => Self::Readability,
        }
    }
}

impl TryFrom<i32> for Dimension {
    type Error = ConvertError;
    fn try_from(v: i32) -> Result<Self, ConvertError> {
        Ok(match en::<pb::Dimension>("rubric_dimension.dimension", v)? {
            pb::Dimension::Comprehensiveness => Self::Comprehensiveness,
            pb::Dimension::Depth => Self::Depth,
            pb::Dimension::InstructionFollowing => Self::InstructionFollowing,
            pb::Dimension::Readability => Self::Readability,
            pb::Dimension::Unspecified => return Err(ConvertError::BadEnum("rubric_dimension.dimension", v)),
        })
    }
}

impl From<Rubric> for pb::Rubric {
    fn from(r: Rubric) -> Self {
        Self {
            dimensions: r
                .dimensions
                .into_iter()
                .map(|d| pb::RubricDimension {
                    dimension: pb::Dimension::from(d.dimension) as i32,
                    weight: d.weight,
                    criteria: d
                        .criteria
                        .into_iter()
                        .map(|c| pb::Criterion { criterion: c.criterion, explanation: c.explanation, weight: c.weight })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl TryFrom<pb::Rubric> for Rubric {
    type Error = ConvertError;
    fn try_from(r: pb::Rubric) -> Result<Self, ConvertError> {
        let dimensions = r
            .dimensions
            .into_iter()
            .map(|d| {
                Ok(RubricDimension {
                    dimension: Dimension::try_from(d.dimension)?,
                    weight: d.weight,
                    criteria: d
                        .criteria
                        .into_iter()
                        .map(|c| Criterion { criterion: c.criterion, explanation: c.explanation, weight: c.weight })
                        .collect(),
                })
            })
            .collect::<Result<_, ConvertError>>()?;
        Ok(Self { dimensions })
    }
}

impl From<Intent> for pb::Intent {
    fn from(i: Intent) -> Self {
        Self {
            persona: i.persona,
            query: i.query,
            rubric: Some(i.rubric.into()),
            follow_ups: i.follow_ups.into_iter().map(Into::into).collect(),
        }
    }
}

impl TryFrom<pb::Intent> for Intent {
    type Error = ConvertError;
    fn try_from(i: pb::Intent) -> Result<Self, ConvertError> {
        Ok(Self {
            persona: i.persona,
            query: i.query,
            rubric: i.rubric.ok_or(ConvertError::Missing("intent.rubric"))?.try_into()?,
            follow_ups: i.follow_ups.into_iter().map(TryInto::try_into).collect::<Result<_, _>>()?,
        })
    }
}

impl From<FollowUp> for pb::FollowUp {
    fn from(f: FollowUp) -> Self {
        let shift = match f.shift {
            IntentShift::Narrow => pb::IntentShift::Narrow,
            IntentShift::Broaden => pb::IntentShift::Broaden,
            IntentShift::ChangeConstraint => pb::IntentShift::ChangeConstraint,
        };
        Self { shift: shift.into(), message: f.message }
    }
}

impl TryFrom<pb::FollowUp> for FollowUp {
    type Error = ConvertError;
    fn try_from(f: pb::FollowUp) -> Result<Self, ConvertError> {
        let shift = match pb::IntentShift::try_from(f.shift) {
            Ok(pb::IntentShift::Narrow) => IntentShift::Narrow,
            Ok(pb::IntentShift::Broaden) => IntentShift::Broaden,
            Ok(pb::IntentShift::ChangeConstraint) => IntentShift::ChangeConstraint,
            _ => return Err(ConvertError::Missing("follow_up.shift")),
        };
        Ok(Self { shift, message: f.message })
    }
}
