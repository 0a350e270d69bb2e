//! Credentials' use cases: signing in with a user name and password, and
//! admins issuing, listing and revoking API tokens. They need the store
//! but not the index, so the command line calls them on a store of its own
//! ([`Principal::command_line`]); the service calls them on its own.

use time::OffsetDateTime;
use uuid::Uuid;

use super::Service;
use super::refused::{Refused, permit};
use crate::auth::{new_token, verify_password};
use crate::model::permission::Act;
use crate::model::{Principal, Role, ValidationError};
use crate::store::{Store, TokenRecord, UserRecord};

/// The label of a token made by signing in, before the user name.
pub const LOGIN_LABEL: &str = "login:";

/// How long a login session token lasts.
const SESSION_HOURS: i64 = 12;

/// Longest a token may be issued for: a hundred years.
const MAX_TOKEN_DAYS: u32 = 36_500;

/// A token as asked for.
pub struct TokenRequest {
    pub role: Role,
    /// Required for partners: the organisation the token speaks for.
    pub organisation: Option<String>,
    pub label: String,
    /// Days until it expires (none: never).
    pub expires_in_days: Option<u32>,
}

/// A token just made: its secret, shown once, and its record.
pub struct Issued {
    pub secret: String,
    pub token: TokenRecord,
}

/// Checks a token request and builds its record (without a hash).
pub fn check_token_request(asked: TokenRequest) -> Result<TokenRecord, ValidationError> {
    let organisation = asked
        .organisation
        .map(|o| o.trim().to_owned())
        .filter(|o| !o.is_empty());
    match asked.role {
        Role::Partner if organisation.is_none() => {
            return Err(ValidationError::new(
                "organisation",
                "a partner token needs an organisation",
            ));
        }
        Role::Anonymous | Role::WalkParticipant => {
            return Err(ValidationError::new(
                "role",
                "anonymous needs no token, and participants get theirs by joining a walk",
            ));
        }
        _ => {}
    }
    // Bounded so that the expiry stays a representable date.
    if asked.expires_in_days.is_some_and(|d| d > MAX_TOKEN_DAYS) {
        return Err(ValidationError::new(
            "expires_in_days",
            format!("at most {MAX_TOKEN_DAYS} days"),
        ));
    }
    let now = OffsetDateTime::now_utc();
    Ok(TokenRecord {
        id: Uuid::now_v7(),
        hash: [0; 32],
        role: asked.role,
        organisation: if asked.role == Role::Partner {
            organisation
        } else {
            None
        },
        walk_id: None,
        label: asked.label,
        created_at: now,
        expires_at: asked
            .expires_in_days
            .map(|d| now + time::Duration::days(i64::from(d))),
    })
}

/// Issues an API token (admins).
pub async fn issue_token(
    store: &dyn Store,
    who: &Principal,
    asked: TokenRequest,
) -> Result<Issued, Refused> {
    permit(who, Act::IssueTokens)?;
    let record = check_token_request(asked).map_err(|e| Refused::Invalid(vec![e]))?;
    let (secret, hash) = new_token();
    let token = TokenRecord { hash, ..record };
    store.create_token(&token).await?;
    super::audit(store, who, "token.create", token.id.to_string()).await;
    Ok(Issued { secret, token })
}

/// A user as asked for on the command line.
pub struct UserRequest {
    pub username: String,
    pub role: Role,
    /// Required for partners, as for their tokens.
    pub organisation: Option<String>,
    pub password: String,
}

/// Shortest password a user may have, in characters.
const MIN_PASSWORD_CHARS: usize = 12;

/// Adds a user who signs in with a name and password (admins).
pub async fn add_user(
    store: &dyn Store,
    who: &Principal,
    asked: UserRequest,
) -> Result<UserRecord, Refused> {
    permit(who, Act::ManageUsers)?;
    let mut errors = Vec::new();
    // A user's role and organisation follow the rules of a token's.
    let organisation = match check_token_request(TokenRequest {
        role: asked.role,
        organisation: asked.organisation,
        label: String::new(),
        expires_in_days: None,
    }) {
        Ok(record) => record.organisation,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    // Lower case, so that a capital typed on a phone still signs in.
    let username = asked.username.trim().to_lowercase();
    if username.is_empty() || username.len() > 100 {
        errors.push(ValidationError::new("username", "must be 1–100 characters"));
    }
    if asked.password.chars().count() < MIN_PASSWORD_CHARS {
        errors.push(ValidationError::new(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if !errors.is_empty() {
        return Err(Refused::Invalid(errors));
    }
    let password_hash =
        crate::auth::hash_password(&asked.password).map_err(|_| Refused::Internal)?;
    let user = UserRecord {
        username,
        password_hash,
        role: asked.role,
        organisation,
        created_at: OffsetDateTime::now_utc(),
    };
    store.add_user(&user).await?;
    super::audit(store, who, "user.add", user.username.clone()).await;
    Ok(user)
}

/// A session token for a user whose password matches.
pub async fn log_in(
    store: &dyn Store,
    username: &str,
    password: String,
) -> Result<Issued, Refused> {
    // A phone keyboard adds a capital first letter or a trailing space:
    // the name as typed (trimmed), else in lower case (`trygg user add`
    // stores names in lower case).
    let typed = username.trim();
    let mut user = store.find_user(typed).await?;
    if user.is_none() && typed != typed.to_lowercase() {
        user = store.find_user(&typed.to_lowercase()).await?;
    }
    // Verify even for unknown users so timing does not reveal which names exist.
    let phc = user
        .as_ref()
        .map_or_else(|| dummy_hash().to_owned(), |u| u.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| ok) else {
        return Err(Refused::WrongCredentials);
    };
    let (secret, hash) = new_token();
    let now = OffsetDateTime::now_utc();
    let token = TokenRecord {
        id: Uuid::now_v7(),
        hash,
        role: user.role,
        organisation: user.organisation.clone(),
        walk_id: None,
        label: format!("{LOGIN_LABEL}{}", user.username),
        created_at: now,
        expires_at: Some(now + time::Duration::hours(SESSION_HOURS)),
    };
    store.create_token(&token).await?;
    Ok(Issued { secret, token })
}

/// A real argon2id hash of nothing in particular, verified against when the
/// user name is unknown.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| crate::auth::hash_password("no such user").unwrap_or_default())
}

/// The issued tokens, newest first (admins); walk participants' too when
/// `participants`.
pub async fn tokens(
    store: &dyn Store,
    who: &Principal,
    participants: bool,
) -> Result<Vec<TokenRecord>, Refused> {
    permit(who, Act::ListTokens)?;
    Ok(store.list_tokens(participants).await?)
}

/// Revokes a token at once (admins).
pub async fn revoke_token(store: &dyn Store, who: &Principal, id: &str) -> Result<(), Refused> {
    permit(who, Act::RevokeTokens)?;
    let not_found = || Refused::NotFound(format!("no token {id:?}"));
    let uuid = Uuid::parse_str(id).map_err(|_| not_found())?;
    if !store.expire_token(uuid, OffsetDateTime::now_utc()).await? {
        return Err(not_found());
    }
    super::audit(store, who, "token.revoke", id.to_owned()).await;
    Ok(())
}

/// The caller a bearer token's secret stands for.
pub async fn principal_for_token(store: &dyn Store, secret: &str) -> Result<Principal, Refused> {
    let record = store
        .find_token(&crate::auth::hash_token(secret))
        .await?
        .ok_or_else(|| Refused::Unauthenticated("the token is not valid".into()))?;
    if record
        .expires_at
        .is_some_and(|t| t <= OffsetDateTime::now_utc())
    {
        return Err(Refused::Unauthenticated(
            "the token has expired or was revoked".into(),
        ));
    }
    let actor = format!("token:{}", record.id);
    let label = record.label.trim();
    let name = match label.strip_prefix(LOGIN_LABEL) {
        Some(user) => user.to_owned(),
        None if !label.is_empty() => label.to_owned(),
        None => actor.clone(),
    };
    Ok(Principal {
        role: record.role,
        name,
        actor,
        organisation: record.organisation,
        walk_id: record.walk_id,
    })
}

impl Service {
    pub async fn principal_for_token(&self, secret: &str) -> Result<Principal, Refused> {
        principal_for_token(self.store.as_ref(), secret).await
    }

    pub async fn issue_token(
        &self,
        who: &Principal,
        asked: TokenRequest,
    ) -> Result<Issued, Refused> {
        issue_token(self.store.as_ref(), who, asked).await
    }

    pub async fn log_in(&self, username: &str, password: String) -> Result<Issued, Refused> {
        log_in(self.store.as_ref(), username, password).await
    }

    pub async fn tokens(
        &self,
        who: &Principal,
        participants: bool,
    ) -> Result<Vec<TokenRecord>, Refused> {
        tokens(self.store.as_ref(), who, participants).await
    }

    pub async fn revoke_token(&self, who: &Principal, id: &str) -> Result<(), Refused> {
        revoke_token(self.store.as_ref(), who, id).await
    }
}
