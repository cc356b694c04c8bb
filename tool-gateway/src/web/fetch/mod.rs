//! SSRF-safe fetching for `web_visit`, whose URLs are chosen by a model.
//!
//! A model can be talked (by a page it read) into asking for
//! `http://169.254.169.254/` or a name that resolves to the cluster network.
//! So every hop is checked before connecting: the URL ([`FetchPolicy::check_url`]),
//! then every address its name resolves to ([`FetchPolicy::check_ip`]); the
//! connection is pinned to those checked addresses, redirects are followed by
//! hand with the same checks, and the body is capped in size and type.
//!
//! Names are resolved through a [`Resolver`], so tests use a
//! [`StaticResolver`] and never touch the network.

mod address;
mod fetcher;
mod policy;
mod resolver;

pub use address::{AddressClass, classify};
pub use fetcher::{FetchError, Fetched, Fetcher};
pub use policy::{ALLOWED_SCHEMES, Blocked, FetchPolicy};
pub use resolver::{Resolver, StaticResolver, SystemResolver};
