//! What the node holds right now, for the metrics: volumes by condition,
//! identities, and the shortest token and lease lifetimes left. Read at
//! scrape time without waiting: an entry busy in a refresh is skipped.

use std::time::{Duration, Instant};

use super::{Refresher, clock, lock};
use crate::metrics::NodeView;

/// The smaller of two optional durations.
fn shorter(a: Option<Duration>, b: Duration) -> Option<Duration> {
    Some(a.map_or(b, |a| a.min(b)))
}

fn left(until: Instant, now: Instant) -> Duration {
    until.saturating_duration_since(now)
}

impl Refresher {
    /// What the node holds now.
    pub fn node_view(&self) -> NodeView {
        let now = clock::now();
        let mut view = NodeView::default();
        let volumes: Vec<_> = lock(&self.inner.volumes).values().cloned().collect();
        for volume in &volumes {
            if lock(&volume.condition).abnormal {
                view.abnormal += 1;
            } else {
                view.healthy += 1;
            }
            let Ok(state) = volume.state.try_lock() else {
                continue;
            };
            for fetched in state.fetched.meta.values() {
                if fetched.lease.is_leased() && !fetched.lease.duration.is_zero() {
                    let ttl = left(fetched.at + fetched.lease.duration, now);
                    view.shortest_lease_ttl = shorter(view.shortest_lease_ttl, ttl);
                }
            }
        }
        let sessions: Vec<_> = lock(&self.inner.sessions).values().cloned().collect();
        view.identities = sessions.len();
        for session in &sessions {
            if let Ok(session) = session.try_lock()
                && let Some(expires) = session.expires_at()
            {
                view.shortest_token_ttl = shorter(view.shortest_token_ttl, left(expires, now));
            }
        }
        view
    }
}
