//! Balancing one endpoint name across every address DNS gives for it.
//!
//! A Kubernetes headless Service answers with one address per ready pod. A
//! plain channel connects to the first and keeps that one HTTP/2 connection,
//! so every call (and every long research stream) lands on one replica and
//! an autoscaler adds pods nobody calls. With `dns_refresh_secs` set, the
//! channel re-resolves the name on that period and keeps one connection per
//! address, balancing calls across them (power of two choices); pods that
//! appear are added, pods that go away are dropped.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use tonic::transport::channel::Change;
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

/// Changes that turn the `current` address set into `next`.
pub fn diff(current: &BTreeSet<SocketAddr>, next: &BTreeSet<SocketAddr>) -> (Vec<SocketAddr>, Vec<SocketAddr>) {
    let added = next.difference(current).copied().collect();
    let removed = current.difference(next).copied().collect();
    (added, removed)
}

/// One resolved address as an endpoint: same scheme, path and settings as
/// `template`, and TLS verifying the original host name (the URI now holds an IP).
fn endpoint_for(template: &Endpoint, addr: SocketAddr, host: &str, tls: Option<&ClientTlsConfig>) -> Option<Endpoint> {
    let uri = template.uri();
    let scheme = uri.scheme_str().unwrap_or("http");
    let ep = Endpoint::from_shared(format!("{scheme}://{addr}")).ok()?;
    let ep = ep
        .connect_timeout(Duration::from_secs(5))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    match tls {
        Some(tls) => ep.tls_config(tls.clone().domain_name(host.to_string())).ok(),
        None => Some(ep),
    }
}

/// A channel over every address `template`'s host resolves to, re-resolved
/// every `refresh`. The resolver task ends when the channel is dropped. Must
/// be called inside a tokio runtime.
pub fn resolving_channel(template: Endpoint, tls: Option<ClientTlsConfig>, refresh: Duration, connect_timeout: Duration) -> Channel {
    let (channel, changes) = Channel::balance_channel::<SocketAddr>(64);
    let host = template.uri().host().unwrap_or_default().trim_matches(|c| c == '[' || c == ']').to_string();
    let port = template.uri().port_u16().unwrap_or(if template.uri().scheme_str() == Some("https") { 443 } else { 80 });
    tokio::spawn(async move {
        let mut current = BTreeSet::new();
        let mut tick = tokio::time::interval(refresh);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // Every clone of the channel is gone: stop resolving.
            if changes.is_closed() {
                return;
            }
            let next: BTreeSet<SocketAddr> = match tokio::net::lookup_host((host.as_str(), port)).await {
                Ok(addrs) => addrs.collect(),
                Err(e) => {
                    // Keep the last known addresses: a DNS hiccup must not drop every pod.
                    tracing::warn!(host = %host, error = %e, "cannot resolve; keeping the last known addresses");
                    continue;
                }
            };
            if next.is_empty() {
                continue;
            }
            let (added, removed) = diff(&current, &next);
            for addr in removed {
                if changes.send(Change::Remove(addr)).await.is_err() {
                    return;
                }
            }
            for addr in added {
                let Some(ep) = endpoint_for(&template, addr, &host, tls.as_ref()) else { continue };
                if changes.send(Change::Insert(addr, ep.connect_timeout(connect_timeout))).await.is_err() {
                    return;
                }
            }
            if current != next {
                tracing::debug!(host = %host, addresses = next.len(), "endpoint addresses changed");
            }
            current = next;
        }
    });
    channel
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(addrs: &[&str]) -> BTreeSet<SocketAddr> {
        addrs.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn diff_adds_new_and_removes_gone_addresses() {
        let (added, removed) = diff(&set(&["10.0.0.1:1", "10.0.0.2:1"]), &set(&["10.0.0.2:1", "10.0.0.3:1"]));
        assert_eq!(added, set(&["10.0.0.3:1"]).into_iter().collect::<Vec<_>>());
        assert_eq!(removed, set(&["10.0.0.1:1"]).into_iter().collect::<Vec<_>>());
        let (added, removed) = diff(&set(&["10.0.0.1:1"]), &set(&["10.0.0.1:1"]));
        assert!(added.is_empty() && removed.is_empty());
    }
}
