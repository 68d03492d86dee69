//! Periodic jobs: work a module does because time passed rather than because someone asked
//! (escalating a ticket whose SLA ran out, for example).
//!
//! A job is a plain function over the database that finds what is due at the clock's "now"
//! and acts on it, each unit of work in its own transaction. Jobs are idempotent: running one
//! twice, or in two `serve` processes at once, does the work once, because each job marks
//! what it did in the rows it changes and re-checks that mark under the row's lock. So the
//! runner keeps no state of its own beyond when it last started each job.

use crate::pool::Db;
use crate::Result;
use std::future::Future;
use std::pin::Pin;

/// The future a job returns: how many units of work it did.
pub type JobFuture<'a> = Pin<Box<dyn Future<Output = Result<u64>> + Send + 'a>>;

/// A module's periodic job.
#[derive(Clone, Copy)]
pub struct Job {
    /// Unique, stable name: `module.job`.
    pub name: &'static str,
    /// How often the server runs it.
    pub every: std::time::Duration,
    pub run: for<'a> fn(&'a Db) -> JobFuture<'a>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("name", &self.name).field("every", &self.every).finish()
    }
}

/// Runs every job once, in order; a failing job is logged and does not stop the others.
/// Returns the units of work done.
pub async fn run_all(db: &Db, jobs: &[Job]) -> u64 {
    let mut done = 0;
    for job in jobs {
        match (job.run)(db).await {
            Ok(n) => done += n,
            Err(error) => tracing::warn!(job = job.name, %error, "job failed"),
        }
    }
    done
}
