//! Keeps every published volume's files current, once per node: one loop
//! wakes when the earliest secret or token falls due and runs the due work
//! with bounded concurrency. SPEC section 7 is the contract.
//!
//! - Lease-free secrets are read again every render interval x (0.85..0.95).
//!   Volumes of one identity reading one path share the read: its due time
//!   comes from the shared read, so they fall due together and the first
//!   one's answer serves the rest.
//! - Renewable leases are renewed at 2/3; once Vault stops extending them
//!   (max TTL), and for non-renewable leases, a new secret is fetched at the
//!   threshold. Leased secrets belong to one volume.
//! - Tokens are renewed at 2/3 of their TTL, or replaced by a login with the
//!   freshest Pod token kubelet handed in.
//! - Any failure keeps the old files, marks the volume abnormal, posts a
//!   Warning event, and retries with backoff.

pub mod clock;
pub mod schedule;
pub mod session;
pub mod timing;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Notify, Semaphore};

use crate::content::{ContentBuilder, Fetched, FetchedSet, Recipe};
use crate::csi::context::{PodRef, PodToken};
use crate::error::{Error, Result};
use crate::events::EventRecorder;
use crate::inject::Plan;
use crate::kube::{KubeClient, PodEvent};
use crate::pod::{ObjectMeta, Pod};
use crate::vault::{ErrorKind, Target, VaultToken};
use crate::volume::budget::{self, Budget};
use crate::volume::{self, writer};
use consul_funcs::SecretRequest;
use gotemplate::Value;
use schedule::{Action, Cadence, Earliest, Jitter, SecretClock, Turn};
use session::{IdentityKey, Session, SessionKey, TokenStep};
use timing::unit_random;

/// How many volumes refresh at once.
const CONCURRENCY: usize = 16;

/// Whether a volume's files are known to be current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// True while the last refresh failed.
    pub abnormal: bool,
    /// What is wrong, or what is fine.
    pub message: String,
}

impl Condition {
    fn healthy() -> Self {
        Self {
            abnormal: false,
            message: "secrets are current".into(),
        }
    }
}

/// Everything a volume's refresh needs, guarded so that a refresh and an
/// unpublish never overlap.
struct VolumeState {
    plan: Plan,
    recipe: Recipe,
    vault_target: Target,
    identity: IdentityKey,
    session: SessionKey,
    fetched: FetchedSet,
    clocks: BTreeMap<SecretRequest, SecretClock>,
    failures: u32,
}

/// A live volume.
struct VolumeEntry {
    id: String,
    target: PathBuf,
    pod: PodRef,
    /// Its session, Plan and Vault target, for logins outside a refresh.
    session: SessionKey,
    plan: Plan,
    vault_target: Target,
    pod_token: Mutex<PodToken>,
    condition: Mutex<Condition>,
    /// `None` while a refresh runs or when the volume is never refreshed.
    next_due: Mutex<Option<Instant>>,
    refreshes: bool,
    removed: AtomicBool,
    state: tokio::sync::Mutex<VolumeState>,
}

/// A lease-free answer shared by the volumes of one identity.
#[derive(Clone)]
struct SharedRead {
    value: Value,
    fetched: Fetched,
    jitter: f64,
}

/// One (identity, request): its latest answer, and a gate so that volumes
/// falling due together make one request, not one each.
#[derive(Default)]
struct SharedSlot {
    gate: tokio::sync::Mutex<()>,
    read: Mutex<Option<SharedRead>>,
    /// When a read of it last failed, and why: volumes that were waiting at
    /// the gate meanwhile share the failure instead of each asking a Vault
    /// that is down.
    failed: Mutex<Option<(Instant, String)>>,
}

/// A volume handed over by the publish path after its first render.
pub struct NewVolume {
    /// CSI volume id.
    pub id: String,
    /// Mount point.
    pub target: PathBuf,
    /// Whose it is.
    pub pod: PodRef,
    /// The Pod token of the publish.
    pub pod_token: PodToken,
    /// Its Plan.
    pub plan: Plan,
    /// Its parsed templates.
    pub recipe: Recipe,
    /// Where its Vault is.
    pub vault_target: Target,
    /// What the first render fetched.
    pub fetched: FetchedSet,
}

struct Inner {
    /// Bytes of secret files the node may hold.
    budget: Arc<Budget>,
    content: ContentBuilder,
    events: EventRecorder,
    audience: String,
    volumes: Mutex<HashMap<String, Arc<VolumeEntry>>>,
    sessions: Mutex<HashMap<SessionKey, Arc<tokio::sync::Mutex<Session>>>>,
    shared: Mutex<HashMap<(IdentityKey, SecretRequest), Arc<SharedSlot>>>,
    wake: Notify,
    limit: Arc<Semaphore>,
}

/// The node's refresh loop and the registry of live volumes.
#[derive(Clone)]
pub struct Refresher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Refresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresher").finish_non_exhaustive()
    }
}

impl Refresher {
    /// A refresher; call [`Refresher::run`] on a task to start the loop.
    pub fn new(
        content: ContentBuilder,
        kube: KubeClient,
        audience: &str,
        budget: Arc<Budget>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                budget,
                content,
                events: EventRecorder::new(kube),
                audience: audience.to_string(),
                volumes: Mutex::new(HashMap::new()),
                sessions: Mutex::new(HashMap::new()),
                shared: Mutex::new(HashMap::new()),
                wake: Notify::new(),
                limit: Arc::new(Semaphore::new(CONCURRENCY)),
            }),
        }
    }

    /// The session a Plan's volume uses: shared by identity unless the
    /// volume hands its token to the app or revokes it at unpublish.
    pub fn session_key(
        &self,
        volume_id: &str,
        plan: &Plan,
        target: &Target,
        pod: &PodRef,
    ) -> SessionKey {
        let private =
            plan.token_file || plan.options.revoke_on_shutdown || plan.options.pre_populate_only;
        if private {
            SessionKey::Private(volume_id.to_string())
        } else {
            SessionKey::Shared(IdentityKey::new(plan, target, pod, &self.inner.audience))
        }
    }

    /// A token for a publish: the identity's live token when it has one,
    /// else a login with this Pod's token (then `true`).
    pub async fn token_for_publish(
        &self,
        key: &SessionKey,
        plan: &Plan,
        target: &Target,
        pod_token: &PodToken,
    ) -> Result<(VaultToken, bool)> {
        let session = self.session(key);
        let mut session = session.lock().await;
        if let Some(token) = session.usable(clock::now()) {
            return Ok((token.clone(), false));
        }
        let token = self.login(plan, target, pod_token.jwt()).await?;
        session.set(token.clone(), clock::now());
        self.inner.wake.notify_one();
        Ok((token, true))
    }

    /// Fetches `request` for a publish whose Pod is known to exist since
    /// `since` (`schedule::known_since`): a lease-free read of the same path
    /// by the same identity requested after `since` (a burst of Pods)
    /// serves this one too; anything else is fetched.
    pub async fn publish_fetch(
        &self,
        identity: &IdentityKey,
        target: &Target,
        token: &VaultToken,
        request: SecretRequest,
        since: Instant,
        root: &std::path::Path,
    ) -> Result<(Value, Fetched)> {
        let content = &self.inner.content;
        if request.kind != consul_funcs::RequestKind::Read {
            return content.fetch(target, token, &request, root).await;
        }
        let slot = self.shared_slot(identity, &request);
        let _turn = slot.gate.lock().await;
        let fresh = lock(&slot.read)
            .clone()
            .filter(|s| schedule::serves_publish(s.fetched.at, since));
        if let Some(shared) = fresh {
            return Ok((shared.value, shared.fetched));
        }
        let (value, fetched) = content.fetch(target, token, &request, root).await?;
        if !fetched.lease.is_leased() {
            let mut read = lock(&slot.read);
            let jitter = read.as_ref().map_or_else(unit_random, |s| s.jitter);
            *read = Some(SharedRead {
                value: value.clone(),
                fetched: fetched.clone(),
                jitter,
            });
        }
        Ok((value, fetched))
    }

    /// The identity of a Plan's volume, as sessions and shared reads key it.
    pub fn identity(&self, plan: &Plan, target: &Target, pod: &PodRef) -> IdentityKey {
        IdentityKey::new(plan, target, pod, &self.inner.audience)
    }

    /// Forgets a session's token (Vault refused it), so the next use logs in.
    pub async fn drop_token(&self, key: &SessionKey) {
        self.session(key).lock().await.forget();
    }

    async fn login(&self, plan: &Plan, target: &Target, jwt: &str) -> Result<VaultToken> {
        let result = self.inner.content.login(plan, target, jwt).await;
        count(&crate::metrics::global().logins, &result);
        result
    }

    fn session(&self, key: &SessionKey) -> Arc<tokio::sync::Mutex<Session>> {
        let mut sessions = lock(&self.inner.sessions);
        sessions
            .entry(key.clone())
            .or_insert_with(|| Arc::new(tokio::sync::Mutex::new(Session::empty())))
            .clone()
    }

    /// Whether `volume_id` is live here at `target` for the Pod `pod_uid`.
    pub fn is_live(&self, volume_id: &str, target: &std::path::Path, pod_uid: &str) -> bool {
        lock(&self.inner.volumes)
            .get(volume_id)
            .is_some_and(|v| v.target == target && v.pod.uid == pod_uid)
    }

    /// Keeps the fresh Pod token a republish brought; nothing is re-rendered.
    pub fn store_pod_token(&self, volume_id: &str, token: PodToken) {
        if let Some(volume) = lock(&self.inner.volumes).get(volume_id) {
            *lock(&volume.pod_token) = token;
        }
    }

    /// The volume's condition, if it is live.
    pub fn condition(&self, volume_id: &str) -> Option<Condition> {
        lock(&self.inner.volumes)
            .get(volume_id)
            .map(|v| lock(&v.condition).clone())
    }

    /// How many volumes are live.
    pub fn volume_count(&self) -> usize {
        lock(&self.inner.volumes).len()
    }

    /// Registers a volume after its first render and schedules it.
    pub fn add(&self, volume: NewVolume) {
        let session = self.session_key(&volume.id, &volume.plan, &volume.vault_target, &volume.pod);
        let identity = IdentityKey::new(
            &volume.plan,
            &volume.vault_target,
            &volume.pod,
            &self.inner.audience,
        );
        let refreshes = !volume.plan.options.pre_populate_only;
        let mut state = VolumeState {
            plan: volume.plan,
            recipe: volume.recipe,
            vault_target: volume.vault_target,
            identity,
            session,
            fetched: volume.fetched,
            clocks: BTreeMap::new(),
            failures: 0,
        };
        self.share_fresh_reads(&mut state);
        self.set_clocks(&mut state);
        let next_due = schedule::volume_due(refreshes, &state.clocks);
        let entry = Arc::new(VolumeEntry {
            id: volume.id.clone(),
            target: volume.target,
            pod: volume.pod,
            session: state.session.clone(),
            plan: state.plan.clone(),
            vault_target: state.vault_target.clone(),
            pod_token: Mutex::new(volume.pod_token),
            condition: Mutex::new(Condition::healthy()),
            next_due: Mutex::new(next_due),
            refreshes,
            removed: AtomicBool::new(false),
            state: tokio::sync::Mutex::new(state),
        });
        let count = {
            let mut volumes = lock(&self.inner.volumes);
            volumes.insert(volume.id, entry);
            volumes.len()
        };
        crate::metrics::global().volumes.set(count as i64);
        self.update_identity_gauge();
        self.inner.wake.notify_one();
    }

    /// Takes a volume out (unpublish), waiting for a refresh in flight, and
    /// revokes its token and leases when its Plan asks for that.
    pub async fn remove(&self, volume_id: &str) {
        let Some(entry) = lock(&self.inner.volumes).remove(volume_id) else {
            return;
        };
        crate::metrics::global()
            .volumes
            .set(self.volume_count() as i64);
        entry.removed.store(true, Ordering::SeqCst);
        let state = entry.state.lock().await;
        if state.plan.options.revoke_on_shutdown {
            self.revoke(&state).await;
        }
        if !self.session_in_use(&state.session) {
            lock(&self.inner.sessions).remove(&state.session);
        }
        self.update_identity_gauge();
    }

    fn update_identity_gauge(&self) {
        let identities = lock(&self.inner.sessions).len();
        crate::metrics::global().identities.set(identities as i64);
    }

    fn session_in_use(&self, key: &SessionKey) -> bool {
        lock(&self.inner.volumes)
            .values()
            .any(|v| &v.session == key)
    }

    async fn revoke(&self, state: &VolumeState) {
        let session = self.session(&state.session);
        let session = session.lock().await;
        let Some(token) = session.token() else {
            return;
        };
        let vault = self.inner.content.vault();
        for fetched in state.fetched.meta.values().filter(|f| f.lease.is_leased()) {
            if let Err(error) = vault
                .revoke_lease(&state.vault_target, token, &fetched.lease.id)
                .await
            {
                tracing::warn!(%error, "could not revoke a lease at unpublish");
            }
        }
        if let Err(error) = vault.revoke_self(&state.vault_target, token).await {
            tracing::warn!(%error, "could not revoke the volume's Vault token at unpublish");
        }
    }

    /// Runs the loop until the process ends.
    pub async fn run(self) {
        loop {
            let now = clock::now();
            let mut earliest = Earliest::default();
            let due: Vec<Arc<VolumeEntry>> = {
                let volumes = lock(&self.inner.volumes);
                volumes
                    .values()
                    .filter(|v| {
                        let mut next = lock(&v.next_due);
                        match schedule::turn(*next, now) {
                            Turn::Now => {
                                // Taken: nothing else runs it until its refresh sets the next.
                                *next = None;
                                true
                            }
                            Turn::At(at) => {
                                earliest.include(at);
                                false
                            }
                            Turn::Idle => false,
                        }
                    })
                    .cloned()
                    .collect()
            };
            for entry in due {
                let this = self.clone();
                let limit = self.inner.limit.clone();
                tokio::spawn(async move {
                    let Ok(_permit) = limit.acquire_owned().await else {
                        return;
                    };
                    this.refresh_volume(&entry).await;
                    this.inner.wake.notify_one();
                });
            }
            if let Some(at) = self.renew_due_sessions(now).await {
                earliest.include(at);
            }
            clock::wait_for_work(&self.inner.wake, earliest.get()).await;
        }
    }

    /// Renews (or replaces) every token past two thirds of its TTL; returns
    /// when the next one falls due.
    async fn renew_due_sessions(&self, now: Instant) -> Option<Instant> {
        let sessions: Vec<(SessionKey, Arc<tokio::sync::Mutex<Session>>)> =
            lock(&self.inner.sessions)
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        let mut earliest = Earliest::default();
        for (key, session) in sessions {
            let Ok(mut session) = session.try_lock() else {
                continue;
            };
            match schedule::turn(session.due_at(), now) {
                Turn::Now => {
                    self.renew_session(&key, &mut session).await;
                    if let Some(next) = session.due_at() {
                        earliest.include(next);
                    }
                }
                Turn::At(at) => earliest.include(at),
                Turn::Idle => {}
            }
        }
        earliest.get()
    }

    /// Renew; when that fails, log in again with the freshest Pod token.
    async fn renew_session(&self, key: &SessionKey, session: &mut Session) {
        let Some((plan, target, jwt)) = self.login_material(key) else {
            // No volume uses it any more (a publish that failed after login).
            lock(&self.inner.sessions).remove(key);
            return;
        };
        let back_off = |session: &mut Session| {
            session.login_failed(
                clock::now(),
                plan.options.auth_min_backoff,
                plan.options.auth_max_backoff,
                unit_random(),
            )
        };
        if let TokenStep::Renew(token) = session.step() {
            let renewed = self
                .inner
                .content
                .vault()
                .renew_self(&target, &token, None)
                .await;
            count(
                &crate::metrics::global().renewals,
                &renewed.as_ref().map_err(|e| e.metric_label()),
            );
            match renewed {
                Ok(renewed) => {
                    if session.renewed(renewed, clock::now()) {
                        return;
                    }
                    // Vault stops extending at the token's max TTL: log in again then.
                    tracing::debug!("token near its max TTL: logging in again");
                }
                Err(error) => {
                    let unreachable = error.code() == ErrorKind::Unavailable;
                    if session.renews_again(unreachable, clock::now()) {
                        let wait = back_off(session);
                        tracing::warn!(%error, retry_in = ?wait, "token renewal failed; the token is still good: renewing again later");
                        return;
                    }
                    tracing::info!(%error, "token renewal failed: logging in again");
                }
            }
        }
        match self.login(&plan, &target, jwt.jwt()).await {
            Ok(token) => session.set(token, clock::now()),
            Err(error) => {
                let wait = back_off(session);
                tracing::warn!(%error, retry_in = ?wait, "Vault login failed");
            }
        }
    }

    /// A Plan, target and the freshest Pod token among the session's volumes.
    fn login_material(&self, key: &SessionKey) -> Option<(Plan, Target, PodToken)> {
        let volumes = lock(&self.inner.volumes);
        let candidates = volumes
            .values()
            .filter(|v| &v.session == key)
            .map(|v| (v, lock(&v.pod_token).clone()));
        session::freshest(candidates, |(_, token)| token.expires.as_deref())
            .map(|(v, token)| (v.plan.clone(), v.vault_target.clone(), token))
    }

    fn shared_slot(&self, identity: &IdentityKey, request: &SecretRequest) -> Arc<SharedSlot> {
        lock(&self.inner.shared)
            .entry((identity.clone(), request.clone()))
            .or_default()
            .clone()
    }

    /// Lease-free answers seed the shared reads, so the other volumes of the
    /// identity fall due with this one and take its answer.
    fn share_fresh_reads(&self, state: &mut VolumeState) {
        for (request, fetched) in &state.fetched.meta {
            // Only plain reads are shared: writes and certificates are each volume's.
            if fetched.lease.is_leased() || request.kind != consul_funcs::RequestKind::Read {
                continue;
            }
            let Some(value) = state.fetched.secrets.get(request) else {
                continue;
            };
            let slot = self.shared_slot(&state.identity, request);
            let mut read = lock(&slot.read);
            if schedule::is_newer(fetched.at, read.as_ref().map(|s| s.fetched.at)) {
                let jitter = read.as_ref().map_or_else(unit_random, |s| s.jitter);
                *read = Some(SharedRead {
                    value: value.clone(),
                    fetched: fetched.clone(),
                    jitter,
                });
            }
        }
    }

    /// Gives every fetched secret without a clock its first one.
    fn set_clocks(&self, state: &mut VolumeState) {
        let cadence = Cadence {
            render_interval: state.plan.options.static_secret_render_interval,
            renewal_threshold: state.plan.options.lease_renewal_threshold,
        };
        for (request, fetched) in &state.fetched.meta {
            if state.clocks.contains_key(request) {
                continue;
            }
            let shared = if schedule::first_action(fetched) == Action::Reread {
                let slot = self.shared_slot(&state.identity, request);
                lock(&slot.read).as_ref().map_or(0.5, |s| s.jitter)
            } else {
                0.5
            };
            let jitter = Jitter {
                shared,
                fresh: unit_random(),
            };
            let first = schedule::first_clock(fetched, cadence, jitter);
            state.clocks.insert(request.clone(), first);
        }
    }

    /// One refresh of one volume: due secrets updated, files rendered, and
    /// written only if they changed. Failures keep the old files.
    async fn refresh_volume(&self, entry: &VolumeEntry) {
        let mut state = entry.state.lock().await;
        if entry.removed.load(Ordering::SeqCst) {
            return;
        }
        let started = std::time::Instant::now();
        let shared_jitter = self.first_due_shared_jitter(&state);
        let outcome = self.refresh_state(entry, &mut state).await;
        count(&crate::metrics::global().refreshes, &outcome);
        crate::metrics::global()
            .refresh_seconds
            .observe(started.elapsed().as_secs_f64());
        let next = match outcome {
            Ok(switched) => {
                if state.failures > 0 {
                    self.post_event(
                        entry,
                        "Normal",
                        "SecretsRefreshed",
                        "secrets are current again".into(),
                    );
                }
                state.failures = 0;
                *lock(&entry.condition) = Condition::healthy();
                if let Some((changed, version)) = switched {
                    tracing::info!(volume = %entry.id, version, "files updated");
                    let volume = entry
                        .target
                        .parent()
                        .and_then(std::path::Path::file_name)
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let event = crate::events::secrets_rotated(&volume, &changed, version);
                    self.inner.events.record(&entry_pod(entry), event);
                }
                schedule::volume_due(entry.refreshes, &state.clocks)
            }
            Err(error) => {
                state.failures += 1;
                let message = format!(
                    "refreshing secrets failed; the files keep their last content: {error}"
                );
                let was_healthy = !std::mem::replace(
                    &mut *lock(&entry.condition),
                    Condition {
                        abnormal: true,
                        message: message.clone(),
                    },
                )
                .abnormal;
                if was_healthy {
                    self.post_event(entry, "Warning", "SecretRefreshFailed", message);
                }
                let unit = shared_jitter.map_or_else(unit_random, |shared| {
                    schedule::shared_retry_unit(shared, state.failures)
                });
                let wait = schedule::refresh_retry_wait(
                    state.failures,
                    state.plan.options.static_secret_render_interval,
                    unit,
                );
                tracing::warn!(volume = %entry.id, %error, retry_in = ?wait, "refresh failed");
                Some(clock::now() + wait)
            }
        };
        if entry.refreshes && !entry.removed.load(Ordering::SeqCst) {
            *lock(&entry.next_due) = next;
        }
    }

    /// The jitter of the shared read a refresh starts with, if its first due
    /// secret is one: the volumes of the identity that fall due with it
    /// share it, so a failure backs them off together.
    fn first_due_shared_jitter(&self, state: &VolumeState) -> Option<f64> {
        let (request, action) = schedule::due_secrets(&state.clocks, clock::now())
            .into_iter()
            .next()?;
        if action != Action::Reread {
            return None;
        }
        let slot = self.shared_slot(&state.identity, &request);
        lock(&slot.read).as_ref().map(|s| s.jitter)
    }

    /// Brings the volume up to date; returns the changed files and the new
    /// version when the files were switched.
    async fn refresh_state(
        &self,
        entry: &VolumeEntry,
        state: &mut VolumeState,
    ) -> Result<Option<(Vec<PathBuf>, u64)>> {
        let since = clock::now();
        let token = self.volume_token(entry, state).await?;
        for (request, action) in schedule::due_secrets(&state.clocks, clock::now()) {
            self.update_secret(state, &token, &request, action, &entry.target, since)
                .await?;
        }
        let content = &self.inner.content;
        let (files, used) = content
            .build(
                &state.recipe,
                &state.vault_target,
                &token,
                &mut state.fetched,
                &entry.target,
            )
            .await?;
        // Secrets no template reads any more stop being refreshed.
        state.clocks.retain(|r, _| used.contains(r));
        state.fetched.meta.retain(|r, _| used.contains(r));
        self.share_fresh_reads(state);
        self.set_clocks(state);
        if !volume::is_mounted(&entry.target)? {
            return Err(Error::FailedPrecondition(format!(
                "{} is no longer mounted",
                entry.target.display()
            )));
        }
        // On this task: a write to tmpfs takes microseconds, less than a
        // hand-off to the blocking pool.
        let budget = &self.inner.budget;
        let outcome = writer::write_generation_within(
            &entry.target,
            &files,
            &state.recipe.ownership(),
            |incoming| Ok(budget.admit(incoming)?),
        )?;
        if matches!(outcome, writer::WriteOutcome::Switched { .. }) {
            budget.record(&entry.id, budget::tmpfs_bytes(&entry.target).unwrap_or(0));
        }
        Ok(match outcome {
            writer::WriteOutcome::Switched { changed, version } => Some((changed, version)),
            writer::WriteOutcome::Unchanged => None,
        })
    }

    /// The token of the volume's session, logging in when there is none.
    async fn volume_token(&self, entry: &VolumeEntry, state: &VolumeState) -> Result<VaultToken> {
        let session = self.session(&state.session);
        let mut session = session.lock().await;
        if let Some(token) = session.usable(clock::now()) {
            return Ok(token.clone());
        }
        let jwt = lock(&entry.pod_token).clone();
        let token = self
            .login(&state.plan, &state.vault_target, jwt.jwt())
            .await?;
        session.set(token.clone(), clock::now());
        Ok(token)
    }

    /// Brings one secret up to date according to its clock.
    async fn update_secret(
        &self,
        state: &mut VolumeState,
        token: &VaultToken,
        request: &SecretRequest,
        action: Action,
        root: &std::path::Path,
        since: Instant,
    ) -> Result<()> {
        let vault = self.inner.content.vault();
        let threshold = state.plan.options.lease_renewal_threshold;
        match action {
            Action::Renew => {
                let Some(fetched) = state.fetched.meta.get(request).cloned() else {
                    return Ok(());
                };
                let renewed = vault
                    .renew_lease(
                        &state.vault_target,
                        token,
                        &fetched.lease.id,
                        fetched.lease.duration,
                    )
                    .await;
                count(
                    &crate::metrics::global().renewals,
                    &renewed.as_ref().map_err(|e| e.metric_label()),
                );
                match renewed {
                    Ok(lease) => {
                        let next = schedule::clock_after_renewal(
                            &fetched.lease,
                            lease,
                            clock::now(),
                            threshold,
                            unit_random(),
                        );
                        state.clocks.insert(request.clone(), next);
                    }
                    Err(error) => {
                        tracing::info!(%error, "lease renewal failed: fetching a new secret");
                        self.refetch(state, token, request, root).await?;
                    }
                }
            }
            Action::Replace => self.refetch(state, token, request, root).await?,
            Action::Reread => {
                let slot = self.shared_slot(&state.identity, request);
                // Volumes due together queue here; the first one reads.
                let _turn = slot.gate.lock().await;
                let mine = state.fetched.meta.get(request).map(|f| f.at);
                let newer_shared = lock(&slot.read)
                    .clone()
                    .filter(|s| schedule::is_newer(s.fetched.at, mine));
                match newer_shared {
                    Some(shared) => {
                        state.clocks.remove(request);
                        state
                            .fetched
                            .insert(request.clone(), shared.value, shared.fetched);
                    }
                    None => {
                        let failed = lock(&slot.failed).clone();
                        if let Some((at, why)) = failed
                            && schedule::shares_failure(Some(at), since)
                        {
                            return Err(Error::Unavailable(format!(
                                "{why} (the same read by another volume of this identity)"
                            )));
                        }
                        if let Err(error) = self.refetch(state, token, request, root).await {
                            *lock(&slot.failed) = Some((clock::now(), error.to_string()));
                            return Err(error);
                        }
                        self.share_fresh_reads(state);
                    }
                }
            }
        }
        Ok(())
    }

    async fn refetch(
        &self,
        state: &mut VolumeState,
        token: &VaultToken,
        request: &SecretRequest,
        root: &std::path::Path,
    ) -> Result<()> {
        let (value, fetched) = self
            .inner
            .content
            .fetch(&state.vault_target, token, request, root)
            .await?;
        state.clocks.remove(request);
        state.fetched.insert(request.clone(), value, fetched);
        Ok(())
    }

    fn post_event(&self, entry: &VolumeEntry, kind: &'static str, reason: &str, message: String) {
        let event = PodEvent {
            kind,
            reason: reason.to_string(),
            message,
        };
        self.inner.events.record(&entry_pod(entry), event);
    }
}

/// The volume's Pod, as much of it as an Event names.
fn entry_pod(entry: &VolumeEntry) -> Pod {
    Pod {
        metadata: ObjectMeta {
            name: entry.pod.name.clone(),
            namespace: entry.pod.namespace.clone(),
            uid: entry.pod.uid.clone(),
            ..ObjectMeta::default()
        },
        ..Pod::default()
    }
}

/// Counts an outcome under `ok` or its error's label.
fn count<T, E: MetricLabel>(
    family: &crate::metrics::ResultFamily,
    outcome: &std::result::Result<T, E>,
) {
    let label = match outcome {
        Ok(_) => "ok",
        Err(e) => e.label(),
    };
    crate::metrics::Metrics::count(family, label);
}

/// Errors as metric labels.
trait MetricLabel {
    fn label(&self) -> &'static str;
}

impl MetricLabel for Error {
    fn label(&self) -> &'static str {
        self.metric_label()
    }
}

impl MetricLabel for &'static str {
    fn label(&self) -> &'static str {
        self
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}
