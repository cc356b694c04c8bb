//! Name resolution behind a trait, so the fetcher checks exactly the addresses
//! it will connect to and tests never touch real DNS.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;

/// Turns a host name into the addresses to check and connect to.
pub trait Resolver: Send + Sync {
    /// All addresses `host` resolves to; the fetcher refuses the name if any
    /// of them is not public, so partial answers must not be filtered here.
    fn resolve(&self, host: &str) -> impl Future<Output = io::Result<Vec<IpAddr>>> + Send;
}

/// The operating system's resolver (`getaddrinfo` via tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        // Port 0 is a placeholder: only the addresses are used.
        Ok(tokio::net::lookup_host((host, 0)).await?.map(|addr| addr.ip()).collect())
    }
}

/// A fixed table of names, for tests and offline runs; unknown names fail
/// like NXDOMAIN.
#[derive(Debug, Clone, Default)]
pub struct StaticResolver {
    hosts: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) `host` → `addrs`.
    pub fn with(mut self, host: &str, addrs: impl IntoIterator<Item = IpAddr>) -> Self {
        self.hosts.insert(host.trim_end_matches('.').to_ascii_lowercase(), addrs.into_iter().collect());
        self
    }
}

impl Resolver for StaticResolver {
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
        self.hosts
            .get(&host.trim_end_matches('.').to_ascii_lowercase())
            .cloned()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no address for {host}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_resolver_answers_from_its_table_only() {
        let r = StaticResolver::new().with("Shop.Test", ["10.1.2.3".parse().unwrap()]);
        assert_eq!(r.resolve("shop.test").await.unwrap(), vec!["10.1.2.3".parse::<IpAddr>().unwrap()]);
        assert_eq!(r.resolve("shop.test.").await.unwrap().len(), 1);
        assert_eq!(r.resolve("other.test").await.unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
