//! The tool gateway: the research agent's four tools (`product_search`,
//! `visit_product`, `web_search`, `web_visit`) over a product catalog and a local
//! web corpus, served over gRPC.
//!
//! [`Gateway`] holds the tools without any network, for in-process use and tests;
//! [`run`] serves it as `productresearch.tool_gateway.v1.ToolGatewayService`.
//!
//! Three wings, each depending only on the ones before it:
//! - [`catalog`]: products, their file formats, the loader, the product
//!   index and the prebuilt index folder;
//! - [`web`]: the local corpus, search providers, live fetching under the
//!   SSRF policy, HTML to text and the page reader;
//! - [`tools`]: the four tools over both, registered in one list.
//!
//! [`Gateway`] (`gateway.rs`) runs the registered tools; `service.rs` puts
//! them on gRPC.

pub mod catalog;
mod config;
mod error;
mod full_text;
mod gateway;
mod outcome;
mod service;
mod stemming;
pub mod tools;
pub mod web;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use productresearch_proto::tool_gateway::v1::tool_gateway_service_server::ToolGatewayServiceServer;
use productresearch_runtime::server;
use tokio::net::TcpListener;

pub use config::{Config, ENV_PREFIX};
pub use error::Error;
pub use gateway::Gateway;
pub use outcome::{ToolErrorKind, ToolOutcome};
pub use tools::ToolDefinition;

/// The service's name: its folder, package, binary, Kubernetes objects and
/// `OTEL_SERVICE_NAME`.
pub const NAME: &str = "tool-gateway";

/// Fully qualified gRPC service name (health checks, reflection): the one the
/// proto compiler generated.
pub const SERVICE_NAME: &str = productresearch_proto::tool_gateway::v1::tool_gateway_service_server::SERVICE_NAME;

/// A boxed future, for the object-safe traits of tools and page fetchers.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Loads the catalogs and web corpus, builds the indexes and serves the tools on
/// `listener` until `shutdown` resolves.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
    config.validate()?;
    config.check_listen_address(listener.local_addr().map_err(|e| Error::Config(format!("cannot read the listen address: {e}")))?)?;
    // Loading parses every page and indexes every product: CPU work that must
    // not stall the runtime's async workers.
    let load_config = config.clone();
    let gateway = tokio::task::spawn_blocking(move || Gateway::load(&load_config)).await.map_err(|e| Error::Task(e.to_string()))??;
    tracing::info!(
        products = gateway.product_count(),
        pages = gateway.page_count(),
        address = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
        "tool gateway serving"
    );
    let api = service::ToolGatewayApi::new(Arc::new(gateway));
    let routes = tonic::service::Routes::new(
        ToolGatewayServiceServer::new(api)
            .max_decoding_message_size(config.common.server.max_message_bytes)
            .max_encoding_message_size(config.common.server.max_message_bytes),
    );
    server::serve(listener, routes, &[SERVICE_NAME], &config.common.server, shutdown).await?;
    Ok(())
}
