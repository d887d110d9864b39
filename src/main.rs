//! `vault-csi-driver`: the command-line entry point.

use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use vault_csi_driver::check::CheckArgs;
use vault_csi_driver::config::{LogFormat, ServeArgs};
use vault_csi_driver::content::ContentBuilder;
use vault_csi_driver::install::InstallArgs;
use vault_csi_driver::kube::KubeClient;
use vault_csi_driver::metrics::{Readiness, SOCKET_SERVING};
use vault_csi_driver::pod_cache::PodCache;
use vault_csi_driver::preview::RenderArgs;
use vault_csi_driver::publish::{PublishSettings, Publisher};
use vault_csi_driver::refresh::Refresher;
use vault_csi_driver::state::StateDir;
use vault_csi_driver::vault::VaultClient;
use vault_csi_driver::volume::budget::Budget;
use vault_csi_driver::webhook::WebhookArgs;

/// Kubernetes CSI node driver serving Vault/OpenBao secrets as files on tmpfs.
#[derive(Debug, Parser)]
#[command(name = "vault-csi-driver", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the CSI node plugin on a unix socket (what the DaemonSet runs).
    Serve(ServeArgs),
    /// Render what a Pod's volume would hold into a directory, without kubelet.
    Render(RenderArgs),
    /// Serve the admission webhook that gives Pods with injector annotations their CSI volumes.
    Webhook(WebhookArgs),
    /// Tell, without Vault, whether Pods running under the injector would get the same from the driver.
    Check(CheckArgs),
    /// Print the install manifests for a namespace, kubelet root, platform and API server version.
    Install(InstallArgs),
}

/// Sets up logging: verbosity from `RUST_LOG` (or `default_level` when it
/// is unset or empty). An invalid `RUST_LOG` stops startup: silently
/// logging at another level would hide what the admin asked for.
fn init_logging(format: LogFormat, default_level: &str) -> anyhow::Result<()> {
    let directives = std::env::var(EnvFilter::DEFAULT_ENV)
        .ok()
        .filter(|value| !value.trim().is_empty());
    let filter = match &directives {
        Some(directives) => EnvFilter::builder()
            .parse(directives)
            .with_context(|| format!("RUST_LOG={directives:?} is not a valid log filter"))?,
        None => EnvFilter::new(default_level),
    };
    // Colour only for people at a terminal; log collectors get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        // Event fields at the top level, where Loki, Elastic and Cloud
        // Logging look for them.
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
    Ok(())
}

/// A future that resolves on SIGTERM (kubelet stopping the Pod) or SIGINT.
/// The handlers are installed here, before anything is served, so a signal
/// that comes early still shuts down gracefully.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("listening for SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: finishing in-flight calls"),
            _ = int.recv() => tracing::info!("SIGINT: finishing in-flight calls"),
        }
    })
}

/// Keeps `vault_csi_vault_up` current, so an idle node reports an outage too.
async fn probe_vault(vault: VaultClient, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let up = vault.health().await.is_ok();
        vault_csi_driver::metrics::global()
            .vault_up
            .set(i64::from(up));
    }
}

/// How long serving waits for the first list of the node's Pods.
const INITIAL_POD_LIST_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Logs the injector's variables that the driver does not read, so that a
/// configuration copied from the injector is not dropped without a word.
fn warn_unread_injector_variables() {
    let unread = vault_csi_driver::config::unread_injector_variables(std::env::vars());
    if !unread.is_empty() {
        tracing::warn!(
            variables = %unread.join(", "),
            "injector settings that only shape its agent containers (or OpenBao's AGENT_INJECT_BAO_* spellings) are not read; see docs/migration.md"
        );
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging(args.log_format, "info")?;
    let config = args.validate()?;
    let cluster = args.cluster.validate()?;
    let vault_addr = args.vault.address(&cluster)?;
    warn_unread_injector_variables();
    let shutdown = shutdown_signal()?;
    if args.vault.vault_skip_verify {
        tracing::warn!(
            "--vault-skip-verify is set: Vault's certificate is NOT checked, anyone on the path can read every secret and token; never use this outside a test"
        );
    }
    let vault = VaultClient::new(&args.vault.settings(&vault_addr)).context("Vault client")?;
    if !args.metrics_addr.is_empty() {
        let addr: std::net::SocketAddr = args
            .metrics_addr
            .parse()
            .with_context(|| format!("--metrics-addr {:?}", args.metrics_addr))?;
        let readiness = Readiness {
            serving: &SOCKET_SERVING,
        };
        let listener = tokio::spawn(vault_csi_driver::metrics::serve(addr, readiness));
        tokio::spawn(async move {
            if let Ok(Err(error)) = listener.await {
                tracing::error!(%error, "metrics endpoint stopped");
            }
        });
    }
    tokio::spawn(probe_vault(vault.clone(), args.vault.vault_health_interval));
    let kube = KubeClient::new(&args.kube, &config.node_id).context("Kubernetes client")?;
    let settings = PublishSettings {
        driver_name: config.driver_name.clone(),
        tmpfs_size_bytes: config.tmpfs_size_bytes,
        cluster,
    };
    let pods = PodCache::default();
    if args.watch_pods {
        tokio::spawn(pods.clone().follow(kube.clone(), config.node_id.clone()));
    }
    let content = ContentBuilder::new(vault, &args.vault.vault_allowed_addrs);
    let budget = Arc::new(Budget::new(config.tmpfs_budget));
    match config.tmpfs_budget {
        Some(bytes) => tracing::info!(bytes, "budget for secret files in tmpfs"),
        None => tracing::warn!(
            "no memory limit and no --tmpfs-budget: secret files in tmpfs are not bounded"
        ),
    }
    let refresher = Refresher::new(
        content.clone(),
        kube.clone(),
        &config.audience,
        Arc::clone(&budget),
    );
    tokio::spawn(refresher.clone().run());
    let view = refresher.clone();
    let held = Arc::clone(&budget);
    let watched = pods.clone();
    vault_csi_driver::metrics::global().before_scrape(move |metrics| {
        metrics.show_node(&view.node_view());
        metrics.show_budget(&held);
        metrics
            .pods_watched
            .set(i64::try_from(watched.len()).unwrap_or(i64::MAX));
    });
    let state = StateDir::open(&args.state_dir).context("state directory")?;
    let publisher = Arc::new(Publisher::new(
        settings,
        kube,
        pods.clone(),
        content,
        refresher,
        state,
        Arc::clone(&budget),
    )?);
    // Kubelet's first calls after a restart find their Pods listed already;
    // an API server that does not answer only delays serving a little.
    if args.watch_pods && !pods.wait_synced(INITIAL_POD_LIST_WAIT).await {
        tracing::warn!(
            "the node's Pods are not listed yet; publishes read them with a GET meanwhile"
        );
    }
    vault_csi_driver::csi::serve(Arc::new(config), publisher, shutdown)
        .await
        .context("serving the CSI socket")
}

async fn render(args: RenderArgs) -> anyhow::Result<()> {
    init_logging(LogFormat::Text, "warn")?;
    warn_unread_injector_variables();
    match vault_csi_driver::preview::run(&args).await {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            Ok(())
        }
        Err(error) => exit_with(&error, 1),
    }
}

/// `check` exits 0 when every Pod moves over as it is, 1 when one differs
/// or would be refused, 2 when the input or a setting is wrong.
fn check(args: CheckArgs) -> anyhow::Result<()> {
    init_logging(LogFormat::Text, "warn")?;
    warn_unread_injector_variables();
    match vault_csi_driver::check::run(&args) {
        Ok(lines) => {
            for line in &lines {
                println!("{line}");
            }
            if lines.iter().all(|l| l.verdict.is_ok()) {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Err(error) => exit_with(&error, 2),
    }
}

/// Prints `error` for a person at a terminal and exits: its message once,
/// then each cause that adds something (the driver's errors already carry
/// their cause's text).
fn exit_with(error: &dyn std::error::Error, code: i32) -> ! {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = cause.source();
    }
    eprintln!("error: {message}");
    std::process::exit(code)
}

/// `install` prints the manifests (or writes the kustomize layout); a bad
/// option exits 2, as clap does for a malformed one.
fn install(args: InstallArgs) -> anyhow::Result<()> {
    use vault_csi_driver::install;
    let options = match args.options() {
        Ok(options) => options,
        Err(error) => exit_with(&error, 2),
    };
    match &args.output_dir {
        Some(dir) => {
            install::write_tree(dir, &install::tree(&options)).or_else(|e| exit_with(&e, 1))
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(install::to_stream(&install::render(&options)).as_bytes())
                .and_then(|()| stdout.flush())
                .context("writing the manifests to stdout")
        }
    }
}

async fn webhook(args: WebhookArgs) -> anyhow::Result<()> {
    init_logging(args.log_format, "info")?;
    warn_unread_injector_variables();
    vault_csi_driver::webhook::run(&args, shutdown_signal()?)
        .await
        .context("admission webhook")
}

/// Threads for blocking work (unmounts, refresh writes, certificate
/// reloads). Each takes microseconds on tmpfs; tokio's default of 512 lets a
/// burst of publishes start a thread per volume, and every thread keeps its
/// own stack and allocator arena for the life of the process.
const MAX_BLOCKING_THREADS: usize = 8;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
        .context("starting the async runtime")?
        .block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Render(args) => render(args).await,
        Command::Webhook(args) => webhook(args).await,
        Command::Check(args) => check(args),
        Command::Install(args) => install(args),
    }
}
