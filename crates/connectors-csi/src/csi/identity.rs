//! CSI Identity: who the plugin is and whether it can serve.

use std::collections::HashMap;
use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::proto::identity_server::Identity;
use super::proto::{
    GetPluginCapabilitiesRequest, GetPluginCapabilitiesResponse, GetPluginInfoRequest,
    GetPluginInfoResponse, ProbeRequest, ProbeResponse,
};
use crate::publish::Publisher;

pub(crate) struct IdentityService {
    driver_name: String,
    publisher: Arc<Publisher>,
}

impl IdentityService {
    pub(crate) fn new(driver_name: String, publisher: Arc<Publisher>) -> IdentityService {
        IdentityService {
            driver_name,
            publisher,
        }
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
            vendor_version: env!("CARGO_PKG_VERSION").to_owned(),
            manifest: HashMap::new(),
        }))
    }

    /// A node-only plugin has no controller service to advertise.
    async fn get_plugin_capabilities(
        &self,
        _request: Request<GetPluginCapabilitiesRequest>,
    ) -> Result<Response<GetPluginCapabilitiesResponse>, Status> {
        Ok(Response::new(GetPluginCapabilitiesResponse::default()))
    }

    /// Ready once the catalog can answer; until then publishes would fail
    /// with NotFound for objects that merely are not loaded yet.
    async fn probe(
        &self,
        _request: Request<ProbeRequest>,
    ) -> Result<Response<ProbeResponse>, Status> {
        Ok(Response::new(ProbeResponse {
            ready: Some(self.publisher.is_ready()),
        }))
    }
}
