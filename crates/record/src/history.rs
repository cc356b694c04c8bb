//! A user's behaviour history: the input of the pipeline.

use serde::{Deserialize, Serialize};

/// What the user did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryEventKind {
    /// Bought a product.
    Purchase,
    /// Reviewed a product.
    Review,
    /// Searched the shop.
    Search,
    /// Clicked or viewed a product.
    Click,
    /// Talked to customer service.
    ServiceDialogue,
}

impl HistoryEventKind {
    /// Short lowercase label used in prompts.
    pub fn label(self) -> &'static str {
        match self {
            Self::Purchase => "purchase",
            Self::Review => "review",
            Self::Search => "search",
            Self::Click => "click",
            Self::ServiceDialogue => "service dialogue",
        }
    }
}

/// One event of a history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEvent {
    /// What the user did.
    pub kind: HistoryEventKind,
    /// RFC 3339 time, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// Product the event is about.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub product_id: String,
    /// Product title.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Price, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<f64>,
    /// Star rating the user gave, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<f32>,
    /// Review body, search string or dialogue.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Category path.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
}

/// One user's history, oldest event first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserHistory {
    /// Id of the user within its source.
    pub user_id: String,
    /// Events, oldest first.
    pub events: Vec<HistoryEvent>,
}

impl UserHistory {
    /// Checks what every later stage relies on; the error says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.user_id.trim().is_empty() {
            return Err("history has an empty user_id".into());
        }
        if self.events.is_empty() {
            return Err(format!("history of user {} has no events", self.user_id));
        }
        for (i, e) in self.events.iter().enumerate() {
            if e.title.trim().is_empty() && e.text.trim().is_empty() {
                return Err(format!("event {i} of user {} has neither title nor text", self.user_id));
            }
        }
        Ok(())
    }
}
