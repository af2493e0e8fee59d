//! What an operator sees: Prometheus metrics ([`metrics`], with the
//! API-server families in [`api`], fed by the API client's layer in
//! [`client`], and the process ones in [`process`]),
//! `/metrics`, `/healthz` and `/readyz` ([`endpoints`]), and structured logs
//! ([`logs`]). Nothing here ever receives a token.

mod api;
mod client;
mod endpoints;
mod logs;
mod metrics;
mod process;

pub(crate) use api::{ReviewResult, TokenResult};
pub use client::{ApiCallLayer, ApiCallService};
pub use endpoints::{serve_http, Readiness};
pub use logs::{init_logging, json_subscriber, LogFormat};
pub use metrics::Metrics;
pub(crate) use metrics::Operation;
