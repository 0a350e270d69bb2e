//! Why a use case did not do what it was asked, in the service's words;
//! the HTTP layer turns each into a problem (`http/problem.rs`).

use crate::model::permission::Act;
use crate::model::{Principal, Role, ValidationError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// An anonymous caller asked for something that needs a sign-in.
    #[error("{0} needs a token")]
    NeedsSignIn(String),
    #[error("wrong user name or password")]
    WrongCredentials,
    /// Credentials that stand for nobody (an unknown or expired token).
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0} is not allowed for role {1}")]
    Forbidden(String, Role),
    /// The role may do it, but not to this record, or not with this value
    /// (another walk, another organisation): why, in words.
    #[error("{0}")]
    NotYours(String),
    /// Everything wrong with the request, at once.
    #[error("invalid request")]
    Invalid(Vec<ValidationError>),
    /// What was not found, in words (`no action "x"`).
    #[error("{0}")]
    NotFound(String),
    /// The record's state forbids it (a closed walk).
    #[error("{0}")]
    Conflict(String),
    /// Worth trying again shortly.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug: work on a blocking thread did not finish.
    #[error("internal error")]
    Internal,
}

impl Refused {
    pub fn invalid(field: &str, why: impl Into<String>) -> Self {
        Refused::Invalid(vec![ValidationError::new(field, why)])
    }
}

/// Lets `who` do `act` if the permission table says so.
pub fn permit(who: &Principal, act: Act) -> Result<(), Refused> {
    match (who.may(act), who.role) {
        (true, _) => Ok(()),
        (false, Role::Anonymous) => Err(Refused::NeedsSignIn(act.what().into_owned())),
        (false, role) => Err(Refused::Forbidden(act.what().into_owned(), role)),
    }
}
