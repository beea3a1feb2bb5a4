//! The network's eye on facts: a fact a beneficiary declares about itself waits for an admin's
//! verification before it counts for eligibility; the network's own facts count at once. A
//! decision (verified or rejected) is final.

use serde::{Deserialize, Serialize};

/// Where a fact stands with the network: self-declarations need the network's eye.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactStatus {
    /// Declared by the beneficiary itself; waits for an admin's verification.
    Submitted,
    /// Posted by the network, or a declaration an admin verified.
    Verified,
    /// A declaration an admin rejected, with a reason.
    Rejected,
}

impl FactStatus {
    /// The status a fact starts with: the network's own facts are verified when posted; a fact
    /// the beneficiary declares about itself waits for the network.
    pub fn on_posting(posted_by_network: bool) -> FactStatus {
        if posted_by_network {
            FactStatus::Verified
        } else {
            FactStatus::Submitted
        }
    }

    /// Only a verified fact counts for eligibility.
    pub fn counts(self) -> bool {
        self == FactStatus::Verified
    }

    /// Only a submitted fact can still be decided: a decision is final.
    pub fn awaits_decision(self) -> bool {
        self == FactStatus::Submitted
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FactStatus::Submitted => "submitted",
            FactStatus::Verified => "verified",
            FactStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<FactStatus> {
        match text {
            "submitted" => Some(FactStatus::Submitted),
            "verified" => Some(FactStatus::Verified),
            "rejected" => Some(FactStatus::Rejected),
            _ => None,
        }
    }
}
