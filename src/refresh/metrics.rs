//! Counters of the refresh loop (exposed as Prometheus metrics later).

use std::sync::atomic::{AtomicU64, Ordering};

/// Success and failure counts of refreshes, renewals and logins.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Volume refreshes that succeeded.
    pub refreshes_ok: AtomicU64,
    /// Volume refreshes that failed.
    pub refreshes_failed: AtomicU64,
    /// Token and lease renewals that succeeded.
    pub renewals_ok: AtomicU64,
    /// Token and lease renewals that failed.
    pub renewals_failed: AtomicU64,
    /// Vault logins that succeeded.
    pub logins_ok: AtomicU64,
    /// Vault logins that failed.
    pub logins_failed: AtomicU64,
}

impl Metrics {
    /// Counts one refresh.
    pub fn refresh(&self, ok: bool) {
        count(ok, &self.refreshes_ok, &self.refreshes_failed);
    }

    /// Counts one renewal.
    pub fn renewal(&self, ok: bool) {
        count(ok, &self.renewals_ok, &self.renewals_failed);
    }

    /// Counts one login.
    pub fn login(&self, ok: bool) {
        count(ok, &self.logins_ok, &self.logins_failed);
    }
}

fn count(ok: bool, good: &AtomicU64, bad: &AtomicU64) {
    if ok { good } else { bad }.fetch_add(1, Ordering::Relaxed);
}
