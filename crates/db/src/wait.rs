//! Waiting for SQLite reads without falling asleep.
//!
//! sqlx runs each SQLite connection on a thread of its own: every statement is handed to that
//! thread and its result handed back, and the task that waits for it lets its runtime thread
//! sleep meanwhile. On a virtual machine, waking a sleeping thread on another core costs tens of
//! microseconds, more than most of our statements take (posting an invoice spent three quarters
//! of its time there when its writes took this path, which they no longer do: `direct.rs`;
//! reads on the read pool still do). So a task
//! waiting for a SQLite statement stays awake for a short while, asking again at once, and
//! only then waits the ordinary way. Other tasks on the same runtime thread still run in
//! between: the waiting task yields at every turn. On a machine with one core there is no
//! other core to wake, and staying awake would only keep the connection's thread from running,
//! so there every wait is the ordinary one.

use crate::dialect::Dialect;
use futures_util::Stream;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long a task keeps asking before it sleeps: longer than a statement's hand-off and
/// ordinary run, short enough that a slow statement wastes little.
const STAY_AWAKE: Duration = Duration::from_micros(250);

/// A database call that, while it waits, keeps its task awake for [`STAY_AWAKE`].
pub(crate) struct Attentive<F> {
    call: Pin<Box<F>>,
    until: Option<Instant>,
}

impl<F: Future> Attentive<F> {
    /// Stays awake only on SQLite: PostgreSQL answers across a socket, later than staying
    /// awake is worth.
    pub(crate) fn new(call: F, dialect: Dialect) -> Self {
        let until = (dialect == Dialect::Sqlite && several_cores()).then(|| Instant::now() + STAY_AWAKE);
        Self { call: Box::pin(call), until }
    }
}

/// Whether this process may run on more than one core (asked once).
fn several_cores() -> bool {
    static SEVERAL: OnceLock<bool> = OnceLock::new();
    *SEVERAL.get_or_init(|| std::thread::available_parallelism().is_ok_and(|n| n.get() > 1))
}

impl<F: Future> Future for Attentive<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let poll = self.call.as_mut().poll(cx);
        if poll.is_pending() && self.until.is_some_and(|until| Instant::now() < until) {
            // Scheduled again at once: the runtime thread does not sleep, and the connection
            // thread's answer finds the task already awake.
            cx.waker().wake_by_ref();
        }
        poll
    }
}

/// A stream of database results (the rows of a query) that, while it waits for the next,
/// keeps its task awake for [`STAY_AWAKE`], counted afresh for each result.
pub(crate) struct AttentiveStream<S> {
    results: Pin<Box<S>>,
    /// Until when the task stays awake for the next result; never on PostgreSQL or one core.
    until: Option<Instant>,
}

impl<S: Stream> AttentiveStream<S> {
    pub(crate) fn new(results: S, dialect: Dialect) -> Self {
        let until = (dialect == Dialect::Sqlite && several_cores()).then(|| Instant::now() + STAY_AWAKE);
        Self { results: Box::pin(results), until }
    }
}

impl<S: Stream> Stream for AttentiveStream<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let poll = self.results.as_mut().poll_next(cx);
        match (&poll, self.until.as_mut()) {
            (Poll::Pending, Some(until)) if Instant::now() < *until => cx.waker().wake_by_ref(),
            (Poll::Ready(_), Some(until)) => *until = Instant::now() + STAY_AWAKE,
            _ => {}
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::{Attentive, Dialect};

    #[tokio::test]
    async fn an_attentive_call_returns_what_the_call_returns() {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let answer = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            tx.send(42).ok();
        });
        assert_eq!(Attentive::new(rx, Dialect::Sqlite).await.ok(), Some(42));
        answer.await.ok();
    }

    #[tokio::test]
    async fn an_attentive_stream_yields_every_row_in_order_however_long_each_takes() {
        use futures_util::StreamExt;
        // Rows that arrive 0, 1 and 2 ms apart: within and beyond the time the task stays awake.
        let rows = futures_util::stream::unfold(0u64, |n| async move {
            (n < 3).then_some(())?;
            tokio::time::sleep(std::time::Duration::from_millis(n)).await;
            Some((n, n + 1))
        });
        let got: Vec<u64> = super::AttentiveStream::new(rows, Dialect::Sqlite).collect().await;
        assert_eq!(got, vec![0, 1, 2]);
    }
}
