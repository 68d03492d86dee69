//! Folding SQLite's write-ahead log back into the database file, off the writer's path.
//!
//! SQLite appends the pages of every commit to the write-ahead log, and by default the commit
//! that takes the log past 1,000 pages copies the log into the database file and syncs both
//! before it returns (an automatic checkpoint). Posting an invoice writes about 38 pages, so
//! every 26th posting paid for that copy: 18 % of the posting benchmark's time. Here a
//! background task does the copying instead, on a connection of the read pool, shortly after
//! writes commit, while the writer goes on. Its checkpoints are passive: they copy what no
//! reader still needs and never wait for readers or the writer, and once the copy has caught
//! up, the writer starts the log from its beginning again, so it does not grow.
//!
//! The writer's own automatic checkpoint stays on at a larger size ([`FALLBACK_PAGES`]), for
//! the case where the background task falls behind (a long report holding an old snapshot).

use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// How long the task waits after a checkpoint before the next, so that one checkpoint copies
/// the pages of many commits (a page changed by several commits is copied once).
const PAUSE: Duration = Duration::from_millis(500);

/// Log size in pages at which a committing writer checkpoints by itself (SQLite's default is
/// 1,000): about 200 MB with 4 KB pages, several seconds of postings at full speed.
pub(crate) const FALLBACK_PAGES: u32 = 50_000;

/// What the log file is cut back to once a checkpoint has caught up, so that a burst of
/// writes does not leave a large file behind.
pub(crate) const LOG_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// Starts the task on the current runtime. Each commit calls [`Notify::notify_one`] on the
/// returned handle; commits that arrive while a checkpoint runs are folded into the next.
/// The task ends when the pool is closed.
pub(crate) fn spawn(pool: AnyPool) -> Arc<Notify> {
    let written = Arc::new(Notify::new());
    let wakeups = written.clone();
    tokio::spawn(async move {
        loop {
            wakeups.notified().await;
            if pool.is_closed() {
                break;
            }
            if let Err(error) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&pool).await {
                if pool.is_closed() {
                    break;
                }
                // The writer's own checkpoint still keeps the log in bounds.
                tracing::warn!(%error, "background checkpoint failed");
            }
            tokio::time::sleep(PAUSE).await;
        }
    });
    written
}
