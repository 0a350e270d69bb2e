//! The audit log of reads and changes of personal data.

use super::AppState;
use crate::model::Principal;

/// Writes an audit entry; a failure is logged, not fatal to the read.
pub(super) async fn audit(state: &AppState, principal: &Principal, action: &str, detail: String) {
    state.service.audit(principal, action, detail).await;
}
