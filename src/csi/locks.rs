//! One operation per volume at a time: a second one gets ABORTED and kubelet
//! retries it, as the CSI spec recommends.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// The set of volume ids with an operation in flight.
#[derive(Debug, Default, Clone)]
pub struct VolumeLocks {
    busy: Arc<Mutex<HashSet<String>>>,
}

/// Held while an operation on one volume runs; releases the volume on drop.
#[derive(Debug)]
pub struct VolumeGuard {
    busy: Arc<Mutex<HashSet<String>>>,
    volume_id: String,
}

impl VolumeLocks {
    /// Claims `volume_id`, or fails with [`Error::Aborted`] if it is taken.
    pub fn try_lock(&self, volume_id: &str) -> Result<VolumeGuard> {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        if !busy.insert(volume_id.to_string()) {
            return Err(Error::Aborted(volume_id.to_string()));
        }
        Ok(VolumeGuard {
            busy: self.busy.clone(),
            volume_id: volume_id.to_string(),
        })
    }
}

impl Drop for VolumeGuard {
    fn drop(&mut self) {
        let mut busy = self.busy.lock().unwrap_or_else(|p| p.into_inner());
        busy.remove(&self.volume_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_claim_on_a_busy_volume_is_aborted() {
        let locks = VolumeLocks::default();
        let _held = locks.try_lock("v1").unwrap();
        assert!(matches!(locks.try_lock("v1"), Err(Error::Aborted(_))));
    }

    #[test]
    fn other_volumes_are_independent() {
        let locks = VolumeLocks::default();
        let _held = locks.try_lock("v1").unwrap();
        assert!(locks.try_lock("v2").is_ok());
    }

    #[test]
    fn dropping_the_guard_frees_the_volume() {
        let locks = VolumeLocks::default();
        drop(locks.try_lock("v1").unwrap());
        assert!(locks.try_lock("v1").is_ok());
    }
}
