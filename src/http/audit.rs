//! The audit log of reads and changes of personal data.

use time::OffsetDateTime;

use super::AppState;
use crate::model::Principal;
use crate::store::AuditEntry;

/// Writes an audit entry; a failure is logged, not fatal to the read.
pub(super) async fn audit(state: &AppState, principal: &Principal, action: &str, detail: String) {
    let entry = AuditEntry {
        at: OffsetDateTime::now_utc(),
        actor: principal.actor.clone(),
        action: action.into(),
        detail,
    };
    if let Err(e) = state.service.store().append_audit(&entry).await {
        tracing::error!(error = %super::problem::error_chain(&e), "audit write failed");
    }
}
