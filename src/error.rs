//! The driver's error type, and the one place that maps it onto the gRPC
//! status codes kubelet sees (SPEC section 8).

use std::path::PathBuf;

/// Everything that can fail while serving a CSI call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is malformed or asks for something not served.
    #[error("{0}")]
    InvalidArgument(String),
    /// Another operation on the same volume is in flight; kubelet retries.
    #[error("an operation on volume {0:?} is already in progress")]
    Aborted(String),
    /// A mount or unmount system call failed.
    #[error("{action} {path}: {source}")]
    Mount {
        /// What was attempted (`mount tmpfs on`, `unmount`).
        action: &'static str,
        /// The target path.
        path: PathBuf,
        /// The errno.
        source: nix::Error,
    },
    /// A file system operation on the volume failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was attempted.
        action: &'static str,
        /// The path it was attempted on.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A blocking task died (a bug, reported rather than hidden).
    #[error("internal error: {0}")]
    Internal(String),
}

/// Result with the driver's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The gRPC code kubelet receives for this error.
    pub fn code(&self) -> tonic::Code {
        match self {
            Error::InvalidArgument(_) => tonic::Code::InvalidArgument,
            Error::Aborted(_) => tonic::Code::Aborted,
            Error::Mount { .. } | Error::Io { .. } | Error::Internal(_) => tonic::Code::Internal,
        }
    }

    /// A short stable label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "invalid_argument",
            Error::Aborted(_) => "aborted",
            Error::Mount { .. } => "mount",
            Error::Io { .. } => "io",
            Error::Internal(_) => "internal",
        }
    }

    /// Shorthand for an I/O error on a path.
    pub fn io(action: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.into(),
            source,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(error: Error) -> Self {
        tonic::Status::new(error.code(), error.to_string())
    }
}
