//! User histories and their events.

use productresearch_proto::common::v1 as pb;

use super::{ConvertError, en};
use crate::*;

impl From<HistoryEventKind> for pb::HistoryEventKind {
    fn from(k: HistoryEventKind) -> Self {
        match k {
            HistoryEventKind::Purchase => Self::Purchase,
            HistoryEventKind::Review => Self::Review,
            HistoryEventKind::Search => Self::Search,
            HistoryEventKind::Click => Self::Click,
            HistoryEventKind::ServiceDialogue => Self::ServiceDialogue,
        }
    }
}

impl TryFrom<pb::HistoryEventKind> for HistoryEventKind {
    type Error = ConvertError;
    fn try_from(k: pb::HistoryEventKind) -> Result<Self, ConvertError> {
        Ok(match k {
            pb::HistoryEventKind::Purchase => Self::Purchase,
            pb::HistoryEventKind::Review => Self::Review,
            pb::HistoryEventKind::Search => Self::Search,
            pb::HistoryEventKind::Click => Self::Click,
            pb::HistoryEventKind::ServiceDialogue => Self::ServiceDialogue,
            pb::HistoryEventKind::Unspecified => return Err(ConvertError::BadEnum("history_event.kind", 0)),
        })
    }
}

impl From<UserHistory> for pb::UserHistory {
    fn from(h: UserHistory) -> Self {
        Self {
            user_id: h.user_id,
            events: h
                .events
                .into_iter()
                .map(|e| pb::HistoryEvent {
                    kind: pb::HistoryEventKind::from(e.kind) as i32,
                    timestamp: e.timestamp.unwrap_or_default(),
                    product_id: e.product_id,
                    title: e.title,
                    price: e.price.unwrap_or(0.0),
                    rating: e.rating.unwrap_or(0.0),
                    text: e.text,
                    category: e.category,
                })
                .collect(),
        }
    }
}

impl TryFrom<pb::UserHistory> for UserHistory {
    type Error = ConvertError;
    fn try_from(h: pb::UserHistory) -> Result<Self, ConvertError> {
        let events = h
            .events
            .into_iter()
            .map(|e| {
                let kind: pb::HistoryEventKind = en("history_event.kind", e.kind)?;
                Ok(HistoryEvent {
                    kind: kind.try_into()?,
                    timestamp: (!e.timestamp.is_empty()).then_some(e.timestamp),
                    product_id: e.product_id,
                    title: e.title,
                    price: (e.price != 0.0).then_some(e.price),
                    rating: (e.rating != 0.0).then_some(e.rating),
                    text: e.text,
                    category: e.category,
                })
            })
            .collect::<Result<_, ConvertError>>()?;
        Ok(Self { user_id: h.user_id, events })
    }
}
