//! The JSON shape of a refusal, shared by the CLI and services.

use serde::Serialize;

use crate::android::KeyDescription;
use crate::error::{AttestError, Fault};

/// A refusal as JSON: `{"verdict": "refused", "reason": <AttestError::reason>,
/// "fault": ..., "message": <human text>}`, optionally followed by
/// `"unverifiedKeyDescription"`: what an Android chain claimed, for diagnosis.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Refusal<'a> {
    verdict: &'static str,
    reason: &'static str,
    fault: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unverified_key_description: Option<&'a KeyDescription>,
}

impl<'a> Refusal<'a> {
    /// The refusal for `error`.
    #[must_use]
    pub fn new(error: &AttestError) -> Self {
        let fault = match error.fault() {
            Fault::InvalidInput => "invalid-input",
            Fault::Forged => "forged",
            Fault::Untrusted => "untrusted",
            Fault::Policy => "policy",
            Fault::Internal => "internal",
        };
        Self {
            verdict: "refused",
            reason: error.reason(),
            fault,
            message: error.to_string(),
            unverified_key_description: None,
        }
    }

    /// Adds the KeyDescription the refused chain claimed (not verified).
    #[must_use]
    pub fn with_unverified_key_description(mut self, claims: &'a KeyDescription) -> Self {
        self.unverified_key_description = Some(claims);
        self
    }

    /// As a JSON value.
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// [`Refusal::new`] as a JSON value.
#[must_use]
pub fn refusal_json(error: &AttestError) -> serde_json::Value {
    Refusal::new(error).to_json()
}
