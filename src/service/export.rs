//! Exporting every stored observation, for staff: over a store, so that
//! the command line runs it without a server; audited.

use std::io::Write;

use super::refused::{Refused, permit};
use crate::export::ObservationWriter;
use crate::model::Principal;
use crate::model::permission::Act;
use crate::store::{Store, StoreError};

/// Rows read from the store per round trip.
const PAGE: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export failed")]
    Write(#[from] std::io::Error),
}

/// Writes every stored observation, in the order stored, and closes the
/// document; returns how many were written.
pub async fn export_observations<W: Write>(
    store: &dyn Store,
    who: &Principal,
    mut out: ObservationWriter<W>,
) -> Result<usize, ExportError> {
    permit(who, Act::Export)?;
    let (mut after, mut written) = (0, 0usize);
    loop {
        let page = store.observations_since(after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, o) in &page {
            out.write(o)?;
        }
        written += page.len();
    }
    out.finish()?;
    super::audit(
        store,
        who,
        "observations.export",
        format!("{written} exported"),
    )
    .await;
    Ok(written)
}
