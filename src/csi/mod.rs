//! The CSI node plugin: gRPC over a unix socket.

pub mod context;
pub mod identity;
pub mod locks;
pub mod node;
pub mod redact;

use std::future::Future;
use std::io;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use nix::sys::stat::{Mode, umask};
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;

use crate::config::NodeConfig;

/// Code generated from `proto/csi.proto` (package `csi.v1`).
#[allow(clippy::all, missing_docs)]
pub mod proto {
    tonic::include_proto!("csi.v1");
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The socket path is taken by something that is not a socket.
    #[error("{0} exists and is not a socket; refusing to remove it")]
    NotASocket(String),
    /// Preparing or binding the socket failed.
    #[error("socket {path}: {source}")]
    Socket {
        /// The socket path.
        path: String,
        /// The underlying error.
        source: io::Error,
    },
    /// The gRPC server failed.
    #[error("gRPC server: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves the Identity and Node services on the configured unix socket until
/// `shutdown` resolves; in-flight calls finish before this returns.
pub async fn serve(
    config: Arc<NodeConfig>,
    publisher: Arc<crate::publish::Publisher>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    let listener = bind_socket(&config.socket_path)?;
    tracing::info!(
        socket = %config.socket_path.display(),
        driver = %config.driver_name,
        node = %config.node_id,
        "serving CSI node plugin"
    );
    crate::metrics::SOCKET_SERVING.store(true, std::sync::atomic::Ordering::SeqCst);
    let identity = identity::IdentityService::new(config.driver_name.clone());
    let node = node::NodeService::new(config.clone(), publisher);
    let result = tonic::transport::Server::builder()
        .add_service(proto::identity_server::IdentityServer::new(identity))
        .add_service(proto::node_server::NodeServer::new(node))
        .serve_with_incoming_shutdown(UnixListenerStream::new(listener), shutdown)
        .await;
    let _ = std::fs::remove_file(&config.socket_path);
    tracing::info!("CSI node plugin stopped");
    Ok(result?)
}

/// Binds the socket with mode 0600, replacing a stale socket file (and only a socket).
fn bind_socket(path: &Path) -> Result<UnixListener, ServeError> {
    let socket_error = |source| ServeError::Socket {
        path: path.display().to_string(),
        source,
    };
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            std::fs::remove_file(path).map_err(socket_error)?;
        }
        Ok(_) => return Err(ServeError::NotASocket(path.display().to_string())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(socket_error(e)),
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(socket_error)?;
    }
    // The umask makes the socket 0600 from its first moment; nothing else
    // creates files while the server starts.
    let previous = umask(Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(path);
    umask(previous);
    let listener = bound.map_err(socket_error)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(socket_error)?;
    Ok(listener)
}
