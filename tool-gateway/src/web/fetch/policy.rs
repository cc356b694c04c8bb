//! What a model-chosen URL may point at: schemes, hosts, domains and addresses.
//!
//! The checks here are pure (no I/O); [`super::Fetcher`] applies them to every
//! hop and to every address a name resolves to.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use url::{Host, Url};

use super::address::{AddressClass, classify};

/// The only schemes a fetch may use; anything else (`file:`, `gopher:`,
/// `ftp:` ...) reaches protocols the gateway has no business speaking.
pub const ALLOWED_SCHEMES: [&str; 2] = ["http", "https"];

/// Limits and allow/deny rules for fetching model-chosen URLs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FetchPolicy {
    /// Lets private networks through: RFC 1918, carrier-grade NAT and
    /// unique-local IPv6 (see [`AddressClass::is_private_network`]). For
    /// closed setups that serve pages on their own network; loopback,
    /// link-local and cloud metadata stay refused, redirects included.
    pub allow_private: bool,
    /// Lets loopback addresses (127.0.0.0/8, ::1) through but nothing else
    /// private, so tests can serve pages on 127.0.0.1 and still check that a
    /// redirect into the private network is refused. Settable from config so
    /// a test mesh of separate processes can use it, but the gateway refuses
    /// to start with it unless it listens on loopback itself.
    pub allow_loopback_for_tests: bool,
    /// Redirects followed before giving up; every hop is checked again.
    pub max_redirects: u8,
    /// Largest body read; a longer body is an error, not a truncation, so the
    /// agent never reasons over half a page without knowing it.
    pub max_bytes: usize,
    /// Whole fetch (all hops, body included).
    pub timeout_ms: u64,
    /// Media types (without parameters) a page may have.
    pub allowed_content_types: Vec<String>,
    /// Domains never fetched, subdomains included.
    pub deny_domains: Vec<String>,
    /// When not empty, the only domains fetched, subdomains included.
    pub allow_domains: Vec<String>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            allow_private: false,
            allow_loopback_for_tests: false,
            max_redirects: 5,
            max_bytes: 2 * 1024 * 1024,
            timeout_ms: 10_000,
            allowed_content_types: ["text/html", "application/xhtml+xml", "text/plain"].map(String::from).to_vec(),
            deny_domains: Vec::new(),
            allow_domains: Vec::new(),
        }
    }
}

/// Why a URL or address was refused before any connection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Blocked {
    #[error("scheme {0:?} is not allowed (only http and https)")]
    Scheme(String),
    /// `user:pass@host`: credentials have no place in a model-chosen URL, and
    /// `http://example.com@127.0.0.1/` is a classic way to disguise the host.
    #[error("url carries user info (user@ or user:password@)")]
    Userinfo,
    #[error("url has no host")]
    NoHost,
    #[error("domain {0} is on the deny list")]
    DeniedDomain(String),
    #[error("domain {0} is not on the allow list")]
    DomainNotAllowed(String),
    /// The URL names a non-public address directly.
    #[error("address {ip} is {class}")]
    Address { ip: IpAddr, class: AddressClass },
    /// A name resolved to at least one non-public address.
    #[error("dns name {host} resolves inside: {ip} is {class}")]
    ResolvesInside { host: String, ip: IpAddr, class: AddressClass },
}

impl FetchPolicy {
    /// Checks everything about `url` that needs no DNS: scheme, user info,
    /// host form, domain lists and, for IP hosts, the address itself.
    ///
    /// The `url` crate has already normalised numeric hosts (`2130706433`,
    /// `0x7f.1`, `0177.0.0.1`, `127.1`) to dotted IPv4, so they arrive here
    /// as [`Host::Ipv4`] and are judged by address, not by spelling.
    pub fn check_url(&self, url: &Url) -> Result<(), Blocked> {
        if !ALLOWED_SCHEMES.contains(&url.scheme()) {
            return Err(Blocked::Scheme(url.scheme().to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Blocked::Userinfo);
        }
        match url.host() {
            None => Err(Blocked::NoHost),
            Some(Host::Ipv4(ip)) => self.check_ip(ip.into()),
            Some(Host::Ipv6(ip)) => self.check_ip(ip.into()),
            Some(Host::Domain(domain)) => self.check_domain(domain),
        }
    }

    /// Refuses every address that is not public unicast (see [`AddressClass`]),
    /// unless the policy opens its class: private networks (`allow_private`)
    /// or loopback (the test switch). Metadata endpoints are never opened.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Blocked> {
        match classify(ip) {
            None => Ok(()),
            Some(class) if self.allow_private && class.is_private_network() => Ok(()),
            // Only the loopback addresses themselves, not an IPv6 form that
            // embeds one: the switch is for a test server on 127.0.0.1 or ::1.
            Some(AddressClass::Loopback) if self.allow_loopback_for_tests && ip.is_loopback() => Ok(()),
            Some(class) => Err(Blocked::Address { ip, class }),
        }
    }

    fn check_domain(&self, domain: &str) -> Result<(), Blocked> {
        let domain = normalise_domain(domain);
        if domain.is_empty() {
            return Err(Blocked::NoHost);
        }
        if self.deny_domains.iter().any(|d| within(domain, d)) {
            return Err(Blocked::DeniedDomain(domain.to_owned()));
        }
        if !self.allow_domains.is_empty() && !self.allow_domains.iter().any(|d| within(domain, d)) {
            return Err(Blocked::DomainNotAllowed(domain.to_owned()));
        }
        Ok(())
    }
}

/// A trailing dot (`example.com.`) names the same host, so it must not slip
/// past a list entry.
fn normalise_domain(domain: &str) -> &str {
    domain.trim_end_matches('.')
}

/// Whether `domain` is `entry` or a subdomain of it: on label boundaries, so
/// `example.com` covers `www.example.com` but not `badexample.com`.
fn within(domain: &str, entry: &str) -> bool {
    let entry = entry.trim().trim_start_matches("*.").trim_start_matches('.').trim_end_matches('.');
    if entry.is_empty() {
        return false;
    }
    let (domain, entry) = (domain.to_ascii_lowercase(), entry.to_ascii_lowercase());
    domain == entry || domain.strip_suffix(&entry).is_some_and(|rest| rest.ends_with('.'))
}

impl fmt::Display for FetchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "fetch policy: {} redirects, {} bytes, {} ms, types {:?}{}",
            self.max_redirects,
            self.max_bytes,
            self.timeout_ms,
            self.allowed_content_types,
            if self.allow_private { ", private networks allowed" } else { "" }
        )?;
        if self.allow_loopback_for_tests {
            f.write_str(", loopback allowed (tests only)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: &FetchPolicy, url: &str) -> Result<(), Blocked> {
        policy.check_url(&Url::parse(url).unwrap())
    }

    #[test]
    fn defaults_match_the_documented_limits() {
        let p = FetchPolicy::default();
        assert!(!p.allow_private && !p.allow_loopback_for_tests);
        assert_eq!((p.max_redirects, p.max_bytes, p.timeout_ms), (5, 2 * 1024 * 1024, 10_000));
        assert_eq!(p.allowed_content_types, ["text/html", "application/xhtml+xml", "text/plain"]);
    }

    #[test]
    fn policy_rejects_unknown_fields() {
        let err = serde_json::from_str::<FetchPolicy>(r#"{"allow_privat": true}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
        let p: FetchPolicy = serde_json::from_str(r#"{"max_redirects": 2}"#).unwrap();
        assert_eq!(p.max_redirects, 2);
        assert_eq!(p.max_bytes, FetchPolicy::default().max_bytes);
    }

    #[test]
    fn numeric_host_spellings_normalise_to_loopback() {
        for url in ["http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://0x7f000001/", "http://127.1/"] {
            let parsed = Url::parse(url).unwrap();
            assert_eq!(parsed.host_str(), Some("127.0.0.1"), "{url}");
            assert!(matches!(check(&FetchPolicy::default(), url), Err(Blocked::Address { class: AddressClass::Loopback, .. })), "{url}");
        }
    }

    #[test]
    fn allow_list_matches_subdomains_on_label_boundaries() {
        let p = FetchPolicy { allow_domains: vec!["example.com".into()], ..FetchPolicy::default() };
        assert_eq!(check(&p, "https://example.com/"), Ok(()));
        assert_eq!(check(&p, "https://www.example.com/"), Ok(()));
        assert_eq!(check(&p, "https://www.example.com./"), Ok(()));
        assert_eq!(check(&p, "https://badexample.com/"), Err(Blocked::DomainNotAllowed("badexample.com".into())));
        assert_eq!(check(&p, "https://example.com.evil.net/"), Err(Blocked::DomainNotAllowed("example.com.evil.net".into())));
    }

    #[test]
    fn deny_list_wins_and_covers_subdomains() {
        let p = FetchPolicy { deny_domains: vec!["evil.net".into()], allow_domains: vec!["evil.net".into()], ..FetchPolicy::default() };
        assert_eq!(check(&p, "https://a.b.evil.net/"), Err(Blocked::DeniedDomain("a.b.evil.net".into())));
        assert_eq!(check(&p, "https://EVIL.net./"), Err(Blocked::DeniedDomain("evil.net".into())));
        assert_eq!(check(&p, "https://notevil.net/"), Err(Blocked::DomainNotAllowed("notevil.net".into())));
    }

    #[test]
    fn test_switches_open_only_what_they_say() {
        let loopback = FetchPolicy { allow_loopback_for_tests: true, ..FetchPolicy::default() };
        assert_eq!(loopback.check_ip("127.0.0.1".parse().unwrap()), Ok(()));
        assert_eq!(loopback.check_ip("::1".parse().unwrap()), Ok(()));
        assert!(loopback.check_ip("10.0.0.1".parse().unwrap()).is_err());
        assert!(loopback.check_ip("::ffff:0:7f00:1".parse().unwrap()).is_err());
        assert!(loopback.check_ip("64:ff9b::7f00:1".parse().unwrap()).is_err());
        assert!(loopback.check_ip("169.254.169.254".parse().unwrap()).is_err());
        let private = FetchPolicy { allow_private: true, ..FetchPolicy::default() };
        for open in ["10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1", "fd12::1", "::ffff:10.0.0.1", "64:ff9b::a00:1"] {
            assert_eq!(private.check_ip(open.parse().unwrap()), Ok(()), "{open}");
        }
        // Never the host itself or the metadata service, however spelled.
        for closed in [
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "169.254.1.1",
            "fe80::1",
            "169.254.169.254",
            "100.100.100.200",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ] {
            assert!(private.check_ip(closed.parse().unwrap()).is_err(), "{closed}");
        }
        // Scheme and user-info checks stay on even when addresses are open.
        assert_eq!(check(&private, "file:///etc/passwd"), Err(Blocked::Scheme("file".into())));
        assert_eq!(check(&private, "http://a@10.0.0.1/"), Err(Blocked::Userinfo));
    }
}
