//! The driver's error type, and the one place that maps it onto the gRPC
//! status codes kubelet sees (SPEC section 8).

use std::path::PathBuf;

/// Everything that can fail while serving a CSI call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request itself is malformed or asks for something not served.
    #[error("{0}")]
    InvalidArgument(String),
    /// The Pod is not one this driver serves as it is (not injected, replaced).
    #[error("{0}")]
    FailedPrecondition(String),
    /// The Pod's annotations do not make a valid plan.
    #[error("{0}")]
    Plan(#[from] crate::inject::PlanError),
    /// Talking to Vault failed.
    #[error("{0}")]
    Vault(#[from] crate::vault::VaultError),
    /// Talking to the Kubernetes API server failed.
    #[error("{0}")]
    Kube(#[from] crate::kube::KubeError),
    /// Something asked about does not exist here.
    #[error("{0}")]
    NotFound(String),
    /// A service the call needs could not be reached or refused; kubelet retries.
    #[error("{0}")]
    Unavailable(String),
    /// The node's budget for secret files would be exceeded.
    #[error("{0}")]
    ResourceExhausted(#[from] crate::volume::budget::Exhausted),
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
            Error::FailedPrecondition(_) => tonic::Code::FailedPrecondition,
            Error::NotFound(_) => tonic::Code::NotFound,
            Error::Unavailable(_) => tonic::Code::Unavailable,
            Error::Plan(e) => match e.kind() {
                crate::inject::ErrorKind::FailedPrecondition => tonic::Code::FailedPrecondition,
                crate::inject::ErrorKind::InvalidArgument => tonic::Code::InvalidArgument,
            },
            Error::Vault(e) => match e.code() {
                crate::vault::ErrorKind::InvalidArgument => tonic::Code::InvalidArgument,
                crate::vault::ErrorKind::PermissionDenied => tonic::Code::PermissionDenied,
                crate::vault::ErrorKind::NotFound => tonic::Code::NotFound,
                crate::vault::ErrorKind::Unavailable => tonic::Code::Unavailable,
                crate::vault::ErrorKind::Internal => tonic::Code::Internal,
            },
            Error::Kube(e) => match e {
                crate::kube::KubeError::PodNotFound { .. }
                | crate::kube::KubeError::ConfigMapNotFound { .. } => tonic::Code::NotFound,
                crate::kube::KubeError::Refused { .. }
                | crate::kube::KubeError::Unavailable { .. } => tonic::Code::Unavailable,
                _ => tonic::Code::Internal,
            },
            Error::Aborted(_) => tonic::Code::Aborted,
            Error::ResourceExhausted(_) => tonic::Code::ResourceExhausted,
            Error::Mount { .. } | Error::Io { .. } | Error::Internal(_) => tonic::Code::Internal,
        }
    }

    /// A short stable label for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::InvalidArgument(_) => "invalid_argument",
            Error::FailedPrecondition(_) => "failed_precondition",
            Error::NotFound(_) => "not_found",
            Error::Unavailable(_) => "unavailable",
            Error::Plan(_) => "bad_annotations",
            Error::Vault(e) => e.metric_label(),
            Error::Kube(e) => match e {
                crate::kube::KubeError::PodNotFound { .. } => "pod_not_found",
                crate::kube::KubeError::ConfigMapNotFound { .. } => "configmap_not_found",
                crate::kube::KubeError::Unavailable { .. } => "api_unavailable",
                crate::kube::KubeError::Refused { .. } => "api_refused",
                _ => "kubernetes",
            },
            Error::Aborted(_) => "aborted",
            Error::ResourceExhausted(_) => "resource_exhausted",
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
