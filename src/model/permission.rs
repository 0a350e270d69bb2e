//! Who may do what: one table of the acts that need a role, and the roles
//! that may. Use cases (`service`) check it; HTTP handlers may check it
//! early, before reading a body. Which records a role may reach (its own
//! walk, its own organisation) is decided with the records, by the use
//! case that reads them.

use super::{Principal, Role};

/// An act some roles may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    ChangePlan,
    EnterIndicatorValues,
    ReadAnalyses,
    StoreAnalyses,
    /// Walks visible to the caller: all for staff, their own for a participant.
    ReadWalks,
    CreateWalks,
    CloseWalks,
    ChangeAreas,
    IssueTokens,
    ListTokens,
    RevokeTokens,
    ReadMetrics,
    Import,
}

use Role::{Admin, Analyst, WalkParticipant};

impl Act {
    /// The roles that may do it.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Act::ChangePlan
            | Act::EnterIndicatorValues
            | Act::ReadAnalyses
            | Act::StoreAnalyses
            | Act::Import => &[Analyst, Admin],
            Act::ReadWalks => &[Analyst, Admin, WalkParticipant],
            Act::CreateWalks
            | Act::CloseWalks
            | Act::ChangeAreas
            | Act::IssueTokens
            | Act::ListTokens
            | Act::RevokeTokens
            | Act::ReadMetrics => &[Admin],
        }
    }

    /// What it is, for a refusal: "… is not allowed for role partner".
    pub fn what(self) -> &'static str {
        match self {
            Act::ChangePlan => "changing the action plan",
            Act::EnterIndicatorValues => "entering indicator values",
            Act::ReadAnalyses => "reading area analyses",
            Act::StoreAnalyses => "generating area analyses",
            Act::ReadWalks => "reading walks",
            Act::CreateWalks => "creating walks",
            Act::CloseWalks => "closing walks",
            Act::ChangeAreas => "changing areas",
            Act::IssueTokens => "issuing tokens",
            Act::ListTokens => "listing tokens",
            Act::RevokeTokens => "revoking tokens",
            Act::ReadMetrics => "reading metrics",
            Act::Import => "importing",
        }
    }
}

impl Principal {
    /// Whether this principal may do `act`.
    pub fn may(&self, act: Act) -> bool {
        act.roles().contains(&self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table agrees with the role predicates it replaces.
    #[test]
    fn the_table_matches_the_roles_rules() {
        for role in [
            Role::Anonymous,
            Role::WalkParticipant,
            Role::Partner,
            Role::Analyst,
            Role::Admin,
        ] {
            let who = Principal {
                role,
                ..Principal::anonymous()
            };
            assert_eq!(who.may(Act::ChangePlan), who.may_follow_up());
            assert_eq!(who.may(Act::Import), who.may_import());
            assert_eq!(who.may(Act::CreateWalks), who.is_admin());
            assert!(!who.may(Act::IssueTokens) || role == Role::Admin);
        }
    }
}
