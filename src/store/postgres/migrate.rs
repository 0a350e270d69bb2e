//! The schema: refinery's migrations (`migrations/postgres/`), run by one
//! starting instance at a time.

use tokio_postgres::Client;

use super::super::error::Failure;
use super::super::{Op, StoreError};
use super::bulk::WRITE_LOCK;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Key of the advisory lock that keeps two starting instances from both migrating.
const MIGRATION_LOCK: i64 = WRITE_LOCK + 1;

/// Brings the schema up to date. Two instances starting at once must not
/// both create it: the advisory lock lets one migrate at a time.
pub(super) async fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let locking =
        |e: tokio_postgres::Error| Failure::from(e).during(Op::new("taking the migration lock"));
    client
        .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .await
        .map_err(locking)?;
    let migrated = embedded::migrations::runner().run_async(client).await;
    client
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .await
        .map_err(locking)?;
    migrated?;
    Ok(())
}
