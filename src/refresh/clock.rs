//! The refresh loop's clock and its waiting. Time is read through tokio, so
//! tests can pause it (`#[tokio::test(start_paused = true)]`) and step
//! through hours of schedule without sleeping; outside such tests tokio's
//! clock is the system's monotonic clock.

use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// With nothing scheduled the loop still looks again this often.
pub const IDLE_WAKE: Duration = Duration::from_secs(60);

/// Now, on the loop's clock.
pub fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Why the loop stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The earliest due time came.
    Due,
    /// New work or a finished refresh was announced on the notifier.
    Notified,
    /// Nothing was scheduled and [`IDLE_WAKE`] passed.
    Idle,
}

/// Waits until `earliest`, or [`IDLE_WAKE`] when nothing is scheduled,
/// whichever comes first with a notification on `wake`. A notification sent
/// while the loop was busy is kept by [`Notify`], so it is never lost.
pub async fn wait_for_work(wake: &Notify, earliest: Option<Instant>) -> Wake {
    let (deadline, reason) = match earliest {
        Some(at) => (tokio::time::Instant::from_std(at), Wake::Due),
        None => (tokio::time::Instant::now() + IDLE_WAKE, Wake::Idle),
    };
    tokio::select! {
        _ = tokio::time::sleep_until(deadline) => reason,
        _ = wake.notified() => Wake::Notified,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[tokio::test(start_paused = true)]
    async fn the_loop_sleeps_until_the_earliest_due_time() {
        let wake = Notify::new();
        let start = now();
        let why = wait_for_work(&wake, Some(start + 90 * SECOND)).await;
        assert_eq!(why, Wake::Due);
        assert_eq!(now() - start, 90 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn new_work_wakes_the_loop_early() {
        let wake = Arc::new(Notify::new());
        let start = now();
        let notifier = {
            let wake = wake.clone();
            tokio::spawn(async move {
                tokio::time::sleep(3 * SECOND).await;
                wake.notify_one();
            })
        };
        let why = wait_for_work(&wake, Some(start + 90 * SECOND)).await;
        assert_eq!(why, Wake::Notified);
        assert_eq!(now() - start, 3 * SECOND);
        notifier.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_notification_sent_while_the_loop_was_busy_is_not_lost() {
        let wake = Notify::new();
        wake.notify_one();
        let start = now();
        let why = wait_for_work(&wake, Some(start + 90 * SECOND)).await;
        assert_eq!(why, Wake::Notified);
        assert_eq!(now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn with_nothing_scheduled_the_loop_looks_again_after_a_minute() {
        let wake = Notify::new();
        let start = now();
        assert_eq!(wait_for_work(&wake, None).await, Wake::Idle);
        assert_eq!(now() - start, IDLE_WAKE);
    }

    #[tokio::test(start_paused = true)]
    async fn work_already_due_does_not_wait() {
        let wake = Notify::new();
        tokio::time::advance(10 * SECOND).await;
        let start = now();
        let why = wait_for_work(&wake, Some(start - 5 * SECOND)).await;
        assert_eq!(why, Wake::Due);
        assert_eq!(now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn now_reads_the_clock_tests_can_pause() {
        let start = now();
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(now(), start);
        tokio::time::advance(5 * SECOND).await;
        assert_eq!(now() - start, 5 * SECOND);
    }
}
