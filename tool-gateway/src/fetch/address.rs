//! Which IP addresses a model-chosen URL may reach.
//!
//! Everything that is not ordinary public unicast is refused: the point is that
//! a URL picked by a model can never touch the host, the cluster network or a
//! cloud metadata endpoint, however the address is spelled.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

/// Why an address is not public: the special-purpose range it falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// RFC 1918: 10/8, 172.16/12, 192.168/16.
    Private,
    /// 100.64.0.0/10 carrier-grade NAT (also Alibaba's metadata 100.100.100.200).
    SharedAddressSpace,
    /// 169.254.0.0/16 (cloud metadata 169.254.169.254), fe80::/10.
    LinkLocal,
    /// 0.0.0.0/8 "this network", ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32.
    Documentation,
    /// 198.18.0.0/15, 2001:2::/48.
    Benchmarking,
    /// 192.0.0.0/24 IETF protocol assignments.
    ProtocolAssignment,
    /// fc00::/7.
    UniqueLocal,
    /// 240.0.0.0/4 and other reserved or deprecated ranges.
    Reserved,
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "loopback",
            Self::Private => "private network",
            Self::SharedAddressSpace => "carrier-grade nat",
            Self::LinkLocal => "link-local",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::ProtocolAssignment => "ietf protocol assignment",
            Self::UniqueLocal => "unique-local",
            Self::Reserved => "reserved",
        })
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

// Broadcast is listed before 240/4 because it is inside it; first match wins.
const V4_RANGES: &[(Ipv4Net, AddressClass)] = &[
    (v4(0, 0, 0, 0, 8), AddressClass::Unspecified),
    (v4(10, 0, 0, 0, 8), AddressClass::Private),
    (v4(100, 64, 0, 0, 10), AddressClass::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), AddressClass::Loopback),
    (v4(169, 254, 0, 0, 16), AddressClass::LinkLocal),
    (v4(172, 16, 0, 0, 12), AddressClass::Private),
    (v4(192, 0, 0, 0, 24), AddressClass::ProtocolAssignment),
    (v4(192, 0, 2, 0, 24), AddressClass::Documentation),
    // Deprecated 6to4 relay anycast: traffic there leaves for unknown relays.
    (v4(192, 88, 99, 0, 24), AddressClass::Reserved),
    (v4(192, 168, 0, 0, 16), AddressClass::Private),
    (v4(198, 18, 0, 0, 15), AddressClass::Benchmarking),
    (v4(198, 51, 100, 0, 24), AddressClass::Documentation),
    (v4(203, 0, 113, 0, 24), AddressClass::Documentation),
    (v4(224, 0, 0, 0, 4), AddressClass::Multicast),
    (v4(255, 255, 255, 255, 32), AddressClass::Broadcast),
    (v4(240, 0, 0, 0, 4), AddressClass::Reserved),
];

const fn v6(a: u16, b: u16, prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, 0, 0, 0, 0, 0, 0), prefix)
}

// Checked after loopback, unspecified and the IPv4-carrying forms.
const V6_RANGES: &[(Ipv6Net, AddressClass)] = &[
    (v6(0xfc00, 0, 7), AddressClass::UniqueLocal),
    (v6(0xfe80, 0, 10), AddressClass::LinkLocal),
    // Deprecated site-local: still routed inside some networks.
    (v6(0xfec0, 0, 10), AddressClass::Reserved),
    (v6(0xff00, 0, 8), AddressClass::Multicast),
    (v6(0x2001, 0x0db8, 32), AddressClass::Documentation),
    // Benchmarking 2001:2::/48 (listed before Teredo, which contains it).
    (Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 2, 0, 0, 0, 0, 0, 0), 48), AddressClass::Benchmarking),
    // Teredo hides its IPv4 endpoints (obfuscated): refuse rather than decode.
    (v6(0x2001, 0, 32), AddressClass::Reserved),
    // Discard-only prefix.
    (v6(0x0100, 0, 64), AddressClass::Reserved),
];

/// The special-purpose range `ip` falls in, or `None` for public unicast.
///
/// IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4)
/// are judged by the IPv4 address they lead to, since that is where the
/// packets end up.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    V4_RANGES.iter().find(|(net, _)| net.contains(&ip)).map(|(_, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    if let Some(embedded) = embedded_v4(ip) {
        return classify_v4(embedded);
    }
    V6_RANGES.iter().find(|(net, _)| net.contains(&ip)).map(|(_, class)| *class)
}

/// The IPv4 address an IPv6 address stands for, if it is one of the
/// translation or tunnelling forms.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low32 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        // ::ffff:0:0/96 mapped and ::/96 compatible (:: and ::1 handled before).
        [0, 0, 0, 0, 0, 0xffff | 0, _, _] => Some(low32),
        // 64:ff9b::/96 well-known NAT64 prefix.
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low32),
        // 64:ff9b:1::/48 local-use NAT64 (RFC 8215); assume the /96 layout.
        [0x64, 0xff9b, 1, _, _, _, _, _] => Some(low32),
        // 2002::/16 6to4: the IPv4 address follows the prefix.
        [0x2002, hi, lo, _, _, _, _, _] => Some(Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        classify(s.parse().unwrap())
    }

    #[test]
    fn ipv4_special_ranges_are_classified() {
        use AddressClass::*;
        let cases = [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.5.4", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.100.100.200", SharedAddressSpace),
            ("169.254.169.254", LinkLocal),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Unspecified),
            ("255.255.255.255", Broadcast),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("192.0.2.1", Documentation),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.1", Benchmarking),
            ("192.0.0.8", ProtocolAssignment),
            ("240.0.0.1", Reserved),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn ipv6_special_ranges_are_classified() {
        use AddressClass::*;
        let cases = [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.1", Private),
            ("::127.0.0.1", Loopback),
            ("64:ff9b::7f00:1", Loopback),
            ("64:ff9b::a9fe:a9fe", LinkLocal),
            ("2002:c0a8:0101::1", Private),
            ("2001::1", Reserved),
        ];
        for (ip, want) in cases {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::101:101",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }
}
