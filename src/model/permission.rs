//! Who may do what: one table of the acts that need a role, and the roles
//! that may. Use cases (`service`) check it; HTTP handlers may check it
//! early, before reading a body. Which records a role may reach (its own
//! walk, its own organisation) is decided with the records, by the use
//! case that reads them.

use std::borrow::Cow;

use uuid::Uuid;

use super::{Kind, Observation, Principal, Role};

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
    /// Adding users who sign in with a name and password.
    ManageUsers,
    ReadMetrics,
    Import,
    /// Every stored observation out, as a file.
    Export,
    /// Submitting one observation of a kind.
    Submit(Kind),
    /// Reading individual records with their text, within the caller's
    /// [`Reach`].
    ReadRecords,
    /// Exact counts, and every record with its text (the map's points, the
    /// OGC collection): every read of records is audited.
    ReadExact,
    /// Changing the follow-up status of walk findings.
    FollowUp,
    /// Changing or removing a finding one submitted, while its walk is open.
    ChangeOwnFindings,
}

use Role::{Admin, Analyst, Anonymous, Partner, WalkParticipant};

impl Act {
    /// The roles that may do it.
    pub fn roles(self) -> &'static [Role] {
        match self {
            Act::ChangePlan
            | Act::EnterIndicatorValues
            | Act::ReadAnalyses
            | Act::StoreAnalyses
            | Act::Import
            | Act::Export
            | Act::FollowUp => &[Analyst, Admin],
            Act::Submit(Kind::Insecurity) => &[Anonymous, Analyst, Admin],
            Act::Submit(Kind::WalkFinding) => &[WalkParticipant, Analyst, Admin],
            Act::Submit(Kind::PlaceObservation) => &[Partner, Analyst, Admin],
            Act::ReadRecords => &[Analyst, WalkParticipant, Partner],
            Act::ReadExact => &[Analyst],
            Act::ReadWalks => &[Analyst, Admin, WalkParticipant],
            Act::ChangeOwnFindings => &[WalkParticipant],
            Act::CreateWalks
            | Act::CloseWalks
            | Act::ChangeAreas
            | Act::IssueTokens
            | Act::ListTokens
            | Act::RevokeTokens
            | Act::ManageUsers
            | Act::ReadMetrics => &[Admin],
        }
    }

    /// What it is, for a refusal: "… is not allowed for role partner".
    pub fn what(self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
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
            Act::ManageUsers => "adding users",
            Act::ReadMetrics => "reading metrics",
            Act::Import => "importing",
            Act::Export => "exporting",
            Act::Submit(kind) => return Cow::Owned(format!("submitting {kind}")),
            Act::ReadRecords => "reading individual observations",
            Act::ReadExact => "reading exact counts and every record",
            Act::FollowUp => "following up findings",
            Act::ChangeOwnFindings => "changing a submitted finding",
        })
    }
}

/// Which records a caller may read, of those [`Act::ReadRecords`] lets it
/// read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Every record (analysts).
    Everything,
    /// The findings of the walk the caller joined.
    Walk(Option<Uuid>),
    /// The place observations of the caller's organisation.
    Organisation(Option<String>),
    /// None.
    Nothing,
}

impl Reach {
    /// Whether `o` is within reach.
    pub fn covers(&self, o: &Observation) -> bool {
        match self {
            Reach::Everything => true,
            Reach::Walk(walk) => {
                o.kind == Kind::WalkFinding && walk.is_some() && o.walk_id == *walk
            }
            Reach::Organisation(org) => {
                o.kind == Kind::PlaceObservation && org.is_some() && o.organisation == *org
            }
            Reach::Nothing => false,
        }
    }
}

impl Principal {
    /// Whether this principal may do `act`.
    pub fn may(&self, act: Act) -> bool {
        act.roles().contains(&self.role)
    }

    /// The records this principal may read.
    pub fn reach(&self) -> Reach {
        match self.role {
            Analyst => Reach::Everything,
            WalkParticipant => Reach::Walk(self.walk_id),
            Partner => Reach::Organisation(self.organisation.clone()),
            Admin | Anonymous => Reach::Nothing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role) -> Principal {
        Principal {
            role,
            ..Principal::anonymous()
        }
    }

    /// The table, read row by row: what each role may do.
    #[test]
    fn each_role_may_do_what_its_row_says() {
        let all = [
            Act::ChangePlan,
            Act::EnterIndicatorValues,
            Act::ReadAnalyses,
            Act::StoreAnalyses,
            Act::ReadWalks,
            Act::CreateWalks,
            Act::CloseWalks,
            Act::ChangeAreas,
            Act::IssueTokens,
            Act::ListTokens,
            Act::RevokeTokens,
            Act::ManageUsers,
            Act::ReadMetrics,
            Act::Import,
            Act::Export,
            Act::Submit(Kind::Insecurity),
            Act::Submit(Kind::WalkFinding),
            Act::Submit(Kind::PlaceObservation),
            Act::ReadRecords,
            Act::ReadExact,
            Act::FollowUp,
            Act::ChangeOwnFindings,
        ];
        let may = |role| -> Vec<Act> { all.into_iter().filter(|&a| who(role).may(a)).collect() };
        assert_eq!(may(Anonymous), [Act::Submit(Kind::Insecurity)]);
        assert_eq!(
            may(WalkParticipant),
            [
                Act::ReadWalks,
                Act::Submit(Kind::WalkFinding),
                Act::ReadRecords,
                Act::ChangeOwnFindings
            ]
        );
        assert_eq!(
            may(Partner),
            [Act::Submit(Kind::PlaceObservation), Act::ReadRecords]
        );
        assert_eq!(may(Analyst).len(), 13);
        assert!(!who(Analyst).may(Act::CreateWalks) && who(Analyst).may(Act::ReadExact));
        assert_eq!(may(Admin).len(), all.len() - 3);
        assert!(!who(Admin).may(Act::ReadRecords) && !who(Admin).may(Act::ReadExact));
    }

    #[test]
    fn reach_keeps_participants_and_partners_to_their_own() {
        let walk = Uuid::from_u128(7);
        let participant = Principal {
            walk_id: Some(walk),
            ..who(WalkParticipant)
        };
        assert_eq!(participant.reach(), Reach::Walk(Some(walk)));
        assert_eq!(who(WalkParticipant).reach(), Reach::Walk(None));
        assert_eq!(who(Analyst).reach(), Reach::Everything);
        assert_eq!(who(Admin).reach(), Reach::Nothing);
        assert_eq!(who(Partner).reach(), Reach::Organisation(None));
    }
}
