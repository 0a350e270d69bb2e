//! The checkpointer thread: copies committed WAL frames back into the
//! database file off the write path, so that no commit waits for the copy.

use std::path::Path;
use std::sync::mpsc;

use rusqlite::Connection;

use super::super::StoreError;
use super::DB_FILE;

/// How often committed WAL frames are copied into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a growing WAL is flushed to disk ahead of its commit.
const WAL_SYNC_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Starts the thread that checkpoints the WAL every [`CHECKPOINT_EVERY`]
/// until its sender is dropped. Passive checkpoints: they copy what no
/// reader still needs and never block a reader or the writer.
///
/// Between checkpoints it also flushes the WAL file to disk while it grows:
/// a long transaction (an import) writes its pages to the WAL as it goes but
/// syncs only when it commits, which would then wait for every page written
/// since it began (about 0.3 s for a million rows). Syncing early through
/// another descriptor only starts that work sooner; the commit still syncs.
pub(super) fn spawn_checkpointer(
    conn: Connection,
    data_dir: &Path,
) -> Result<(mpsc::Sender<()>, std::thread::JoinHandle<()>), StoreError> {
    let (stop, stopped) = mpsc::channel::<()>();
    let wal_path = data_dir.join(format!("{DB_FILE}-wal"));
    let thread = std::thread::Builder::new()
        .name("trygg-sqlite-checkpoint".into())
        .spawn(move || {
            let mut synced_len = 0;
            let mut last_checkpoint = std::time::Instant::now();
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(WAL_SYNC_EVERY) {
                if let Ok(wal) = std::fs::File::open(&wal_path) {
                    let len = wal.metadata().map_or(0, |m| m.len());
                    if len > synced_len {
                        let _ = wal.sync_data();
                    }
                    synced_len = len;
                }
                if last_checkpoint.elapsed() < CHECKPOINT_EVERY {
                    continue;
                }
                last_checkpoint = std::time::Instant::now();
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed");
                }
            }
        })
        .map_err(|source| StoreError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
    Ok((stop, thread))
}
