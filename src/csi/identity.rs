//! The CSI Identity service.

use tonic::{Request, Response, Status};

use super::proto::{
    GetPluginCapabilitiesRequest, GetPluginCapabilitiesResponse, GetPluginInfoRequest,
    GetPluginInfoResponse, ProbeRequest, ProbeResponse, identity_server::Identity,
};

/// Answers who the plugin is; it has no controller service to advertise.
#[derive(Debug, Clone)]
pub struct IdentityService {
    driver_name: String,
}

impl IdentityService {
    /// An identity service reporting `driver_name` and the crate version.
    pub fn new(driver_name: String) -> Self {
        Self { driver_name }
    }
}

#[tonic::async_trait]
impl Identity for IdentityService {
    async fn get_plugin_info(
        &self,
        _request: Request<GetPluginInfoRequest>,
    ) -> Result<Response<GetPluginInfoResponse>, Status> {
        Ok(Response::new(GetPluginInfoResponse {
            name: self.driver_name.clone(),
            vendor_version: env!("CARGO_PKG_VERSION").to_string(),
            manifest: Default::default(),
        }))
    }

    async fn get_plugin_capabilities(
        &self,
        _request: Request<GetPluginCapabilitiesRequest>,
    ) -> Result<Response<GetPluginCapabilitiesResponse>, Status> {
        // A node-only plugin: no CONTROLLER_SERVICE, no topology constraints.
        Ok(Response::new(GetPluginCapabilitiesResponse {
            capabilities: Vec::new(),
        }))
    }

    async fn probe(
        &self,
        _request: Request<ProbeRequest>,
    ) -> Result<Response<ProbeResponse>, Status> {
        // Answering at all means the socket is serving.
        Ok(Response::new(ProbeResponse { ready: Some(true) }))
    }
}
