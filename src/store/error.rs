//! What a store failure was: which operation, on which record, and why.
//!
//! Callers act on the small variants ([`StoreError::NotFound`],
//! [`StoreError::AlreadyExists`], [`StoreError::Closed`],
//! [`StoreError::Unavailable`]); the others say what the store was doing
//! ([`Op`]) and keep the database's own error as their source, for the log.
//! Inside a backend a failure is a [`Failure`] until the public call that
//! met it names the operation.

use std::fmt;

use uuid::Uuid;

/// A stored record, by its key. Text keys are quoted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    Observation(Uuid),
    /// An observation that must be a walk finding.
    WalkFinding(Uuid),
    Walk(Uuid),
    /// A walk or its join code: a unique violation does not say which was taken.
    WalkOrJoinCode(Uuid),
    Area(String),
    Action(String),
    /// The entered values of one indicator of an action.
    IndicatorValue {
        action: String,
        indicator: String,
    },
    Analysis(Uuid),
    Token(Uuid),
    User(String),
}

impl fmt::Display for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Record::Observation(id) => write!(f, "observation {id}"),
            Record::WalkFinding(id) => write!(f, "walk finding {id}"),
            Record::Walk(id) => write!(f, "walk {id}"),
            Record::WalkOrJoinCode(id) => write!(f, "walk {id} or its join code"),
            Record::Area(id) => write!(f, "area {id:?}"),
            Record::Action(id) => write!(f, "action {id:?}"),
            Record::IndicatorValue { action, indicator } => {
                write!(f, "indicator {indicator:?} of action {action:?}")
            }
            Record::Analysis(id) => write!(f, "analysis {id}"),
            Record::Token(id) => write!(f, "token {id}"),
            Record::User(name) => write!(f, "user {name:?}"),
        }
    }
}

/// What the store was doing: a verb phrase (`"listing walks"`), or a verb
/// and the record it was applied to (`"inserting"`, observation 0192…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    pub doing: &'static str,
    pub record: Option<Record>,
}

impl Op {
    /// An operation on no single record.
    pub const fn new(doing: &'static str) -> Self {
        Op {
            doing,
            record: None,
        }
    }

    /// An operation on one record.
    pub const fn on(doing: &'static str, record: Record) -> Self {
        Op {
            doing,
            record: Some(record),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.record {
            Some(record) => write!(f, "{} {record}", self.doing),
            None => f.write_str(self.doing),
        }
    }
}

/// What a store failure was.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot use data directory {path}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("SQLite failed while {op}")]
    Sqlite {
        op: Op,
        #[source]
        source: rusqlite::Error,
    },
    #[error("PostgreSQL failed while {op}")]
    Postgres {
        op: Op,
        #[source]
        source: tokio_postgres::Error,
    },
    /// PostgreSQL cannot be reached (or is too busy); the reason, in words.
    #[error("PostgreSQL is unavailable: {0}")]
    Unavailable(String),
    #[error("schema migration failed")]
    Migration(#[from] refinery::Error),
    /// The transaction holding the write failed to commit; the write is lost.
    #[error("commit failed while {op}: {reason}")]
    Commit { op: Op, reason: String },
    #[error("{0} already exists")]
    AlreadyExists(Record),
    #[error("{0} not found")]
    NotFound(Record),
    #[error("stored data is malformed ({op}): {reason}")]
    Corrupt { op: Op, reason: String },
    #[error("the store is shutting down")]
    Closed,
}

/// A failure inside a backend, before the public call that met it names
/// its [`Op`] ([`Failure::during`]). `?` turns a database error into one.
#[derive(Debug)]
pub(super) enum Failure {
    Sqlite(rusqlite::Error),
    Postgres(tokio_postgres::Error),
    /// Stored data cannot be decoded (or encoded); what is wrong, in words.
    Corrupt(String),
    /// A failure that needs no operation: not found, closed, unavailable….
    Store(StoreError),
}

impl Failure {
    /// The failure as met while doing `op`.
    pub(super) fn during(self, op: Op) -> StoreError {
        match self {
            Failure::Sqlite(source) => StoreError::Sqlite { op, source },
            Failure::Postgres(source) => StoreError::Postgres { op, source },
            Failure::Corrupt(reason) => StoreError::Corrupt { op, reason },
            Failure::Store(e) => e,
        }
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sqlite(e)
    }
}

impl From<tokio_postgres::Error> for Failure {
    fn from(e: tokio_postgres::Error) -> Self {
        Failure::Postgres(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_operation_and_the_record() {
        let id = Uuid::from_u128(7);
        let err = Failure::Corrupt("kind code 9".into())
            .during(Op::on("reading", Record::Observation(id)));
        assert_eq!(
            err.to_string(),
            format!("stored data is malformed (reading observation {id}): kind code 9")
        );
        assert_eq!(
            StoreError::NotFound(Record::Action("a1".into())).to_string(),
            "action \"a1\" not found"
        );
        assert_eq!(
            StoreError::AlreadyExists(Record::WalkOrJoinCode(id)).to_string(),
            format!("walk {id} or its join code already exists")
        );
    }
}
