//! Roles and the caller ([`Principal`]) a token stands for. What each role
//! may do is the table in [`super::permission`].

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A role as stored with tokens and users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Anonymous,
    WalkParticipant,
    Partner,
    Analyst,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::WalkParticipant => "walk_participant",
            Role::Partner => "partner",
            Role::Analyst => "analyst",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Role::Anonymous,
            Role::WalkParticipant,
            Role::Partner,
            Role::Analyst,
            Role::Admin,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| {
            format!("unknown role {s:?}; expected walk_participant, partner, analyst or admin")
        })
    }
}

/// Who is asking: the role and what it is tied to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub role: Role,
    /// A short, non-secret label for audit logs (user name or token id).
    pub actor: String,
    /// The organisation, for partners.
    pub organisation: Option<String>,
    /// The walk, for walk participants.
    pub walk_id: Option<Uuid>,
    /// Who, for people to read where a record says who made it: the user
    /// name of a signed-in user, else the token's label, else `actor`.
    pub name: String,
}

impl Principal {
    pub fn anonymous() -> Self {
        Principal {
            role: Role::Anonymous,
            actor: "anonymous".into(),
            name: "anonymous".into(),
            organisation: None,
            walk_id: None,
        }
    }

    /// The command line, run by whoever runs the server: an admin.
    pub fn command_line() -> Self {
        Principal {
            role: Role::Admin,
            actor: "cli".into(),
            name: "cli".into(),
            ..Principal::anonymous()
        }
    }

    /// Exact (unsuppressed) aggregate counts, and raw points with their text,
    /// are for analysts; every such read is audited.
    pub fn reads_raw(&self) -> bool {
        self.may(super::permission::Act::ReadExact)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Analysts and admins: signed-in staff, who may wait for a slot of an
    /// expensive analysis rather than be turned away.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Analyst | Role::Admin)
    }
}
