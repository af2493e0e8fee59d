//! What an operator sees: Prometheus metrics ([`metrics`], with the
//! API-server families in [`api`] and the process ones in [`process`]),
//! `/metrics`, `/healthz` and `/readyz` ([`endpoints`]), and structured logs
//! ([`logs`]). Nothing here ever receives a token.

mod api;
mod endpoints;
mod logs;
mod metrics;
mod process;

pub use api::{ApiCallLayer, ApiCallService};
pub(crate) use api::{ReviewResult, TokenResult};
pub use endpoints::{serve_http, Readiness};
pub use logs::{init_logging, json_subscriber, LogFormat};
pub use metrics::Metrics;
pub(crate) use metrics::Operation;
