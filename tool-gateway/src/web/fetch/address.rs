//! Which IP addresses a model-chosen URL may reach.
//!
//! Everything that is not ordinary public unicast is refused: the point is that
//! a URL picked by a model can never touch the host, the cluster network or a
//! cloud metadata endpoint, however the address is spelled. The ranges are the
//! IANA IPv4 and IPv6 special-purpose address registries (every entry, the
//! globally reachable anycast ones included: no product page lives there),
//! plus multicast, the deprecated site-local and IPv4-compatible forms, and
//! every IPv6 address outside the global unicast block 2000::/3.

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
    /// 100.64.0.0/10 carrier-grade NAT.
    SharedAddressSpace,
    /// 169.254.0.0/16, fe80::/10.
    LinkLocal,
    /// A cloud provider's instance metadata or platform endpoint
    /// (169.254.169.254, 100.100.100.200, 168.63.129.16, fd00:ec2::254 ...):
    /// credentials live there.
    CloudMetadata,
    /// 0.0.0.0/8 "this network", ::.
    Unspecified,
    /// 255.255.255.255.
    Broadcast,
    /// 224.0.0.0/4, ff00::/8.
    Multicast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18.0.0/15, 2001:2::/48.
    Benchmarking,
    /// 192.0.0.0/24 and 2001::/23 IETF protocol assignments.
    ProtocolAssignment,
    /// 2001::/32 Teredo tunnels (the embedded IPv4 endpoints are checked too).
    Teredo,
    /// 2001:10::/28 (deprecated ORCHID) and 2001:20::/28 (ORCHIDv2):
    /// identifiers, not locators.
    Orchid,
    /// 192.31.196/24, 192.175.48/24, 2001:4:112::/48, 2620:4f:8000::/48.
    As112,
    /// 192.52.193/24, 2001:3::/32 automatic multicast tunnelling.
    Amt,
    /// fc00::/7.
    UniqueLocal,
    /// 240.0.0.0/4, 192.88.99/24, fec0::/10, 100::/64 and other reserved,
    /// deprecated or unallocated ranges.
    Reserved,
}

impl AddressClass {
    /// The ranges `allow_private` opens: networks a closed setup may
    /// legitimately serve pages on. Loopback, link-local and metadata are
    /// never among them: they reach the gateway's own host.
    pub fn is_private_network(self) -> bool {
        matches!(self, Self::Private | Self::SharedAddressSpace | Self::UniqueLocal)
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Loopback => "loopback",
            Self::Private => "private network",
            Self::SharedAddressSpace => "carrier-grade nat",
            Self::LinkLocal => "link-local",
            Self::CloudMetadata => "a cloud metadata endpoint",
            Self::Unspecified => "unspecified",
            Self::Broadcast => "broadcast",
            Self::Multicast => "multicast",
            Self::Documentation => "documentation",
            Self::Benchmarking => "benchmarking",
            Self::ProtocolAssignment => "ietf protocol assignment",
            Self::Teredo => "teredo",
            Self::Orchid => "orchid",
            Self::As112 => "as112",
            Self::Amt => "amt",
            Self::UniqueLocal => "unique-local",
            Self::Reserved => "reserved",
        })
    }
}

/// Metadata endpoints, checked before the ranges so they are named as such
/// (and so `allow_private` never opens the ones inside private ranges).
const METADATA_V4: &[Ipv4Addr] = &[
    // AWS, GCP, Azure, Oracle, OpenStack, DigitalOcean instance metadata.
    Ipv4Addr::new(169, 254, 169, 254),
    // AWS ECS task metadata and EKS pod identity.
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    // Alibaba Cloud.
    Ipv4Addr::new(100, 100, 100, 200),
    // Azure WireServer (a public-looking address every VM can reach).
    Ipv4Addr::new(168, 63, 129, 16),
    // Oracle Cloud legacy metadata.
    Ipv4Addr::new(192, 0, 0, 192),
];

/// AWS instance metadata and EKS pod identity over IPv6.
const METADATA_V6: &[Ipv6Addr] = &[Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254), Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23)];

const fn v4(a: u8, b: u8, c: u8, d: u8, prefix: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), prefix)
}

// The IANA IPv4 special-purpose registry, plus multicast. Broadcast is listed
// before 240/4 because it is inside it; first match wins.
const V4_RANGES: &[(Ipv4Net, AddressClass)] = &[
    (v4(0, 0, 0, 0, 8), AddressClass::Unspecified),
    (v4(10, 0, 0, 0, 8), AddressClass::Private),
    (v4(100, 64, 0, 0, 10), AddressClass::SharedAddressSpace),
    (v4(127, 0, 0, 0, 8), AddressClass::Loopback),
    (v4(169, 254, 0, 0, 16), AddressClass::LinkLocal),
    (v4(172, 16, 0, 0, 12), AddressClass::Private),
    (v4(192, 0, 0, 0, 24), AddressClass::ProtocolAssignment),
    (v4(192, 0, 2, 0, 24), AddressClass::Documentation),
    (v4(192, 31, 196, 0, 24), AddressClass::As112),
    (v4(192, 52, 193, 0, 24), AddressClass::Amt),
    // Deprecated 6to4 relay anycast: traffic there leaves for unknown relays.
    (v4(192, 88, 99, 0, 24), AddressClass::Reserved),
    (v4(192, 168, 0, 0, 16), AddressClass::Private),
    (v4(192, 175, 48, 0, 24), AddressClass::As112),
    (v4(198, 18, 0, 0, 15), AddressClass::Benchmarking),
    (v4(198, 51, 100, 0, 24), AddressClass::Documentation),
    (v4(203, 0, 113, 0, 24), AddressClass::Documentation),
    (v4(224, 0, 0, 0, 4), AddressClass::Multicast),
    (v4(255, 255, 255, 255, 32), AddressClass::Broadcast),
    (v4(240, 0, 0, 0, 4), AddressClass::Reserved),
];

const fn v6(a: u16, b: u16, c: u16, d: u16, prefix: u8) -> Ipv6Net {
    Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, 0, 0, 0, 0), prefix)
}

// The IANA IPv6 special-purpose registry (less the IPv4-carrying forms,
// handled by `embedded_v4` first), plus multicast and site-local. Checked
// after loopback and unspecified; the more specific ranges inside 2001::/23
// come before it, first match wins.
const V6_RANGES: &[(Ipv6Net, AddressClass)] = &[
    (v6(0xfc00, 0, 0, 0, 7), AddressClass::UniqueLocal),
    (v6(0xfe80, 0, 0, 0, 10), AddressClass::LinkLocal),
    // Deprecated site-local: still routed inside some networks.
    (v6(0xfec0, 0, 0, 0, 10), AddressClass::Reserved),
    (v6(0xff00, 0, 0, 0, 8), AddressClass::Multicast),
    (v6(0x2001, 0x0db8, 0, 0, 32), AddressClass::Documentation),
    (v6(0x3fff, 0, 0, 0, 20), AddressClass::Documentation),
    (v6(0x2001, 2, 0, 0, 48), AddressClass::Benchmarking),
    (v6(0x2001, 3, 0, 0, 32), AddressClass::Amt),
    (v6(0x2001, 4, 0x112, 0, 48), AddressClass::As112),
    (v6(0x2001, 0x10, 0, 0, 28), AddressClass::Orchid),
    (v6(0x2001, 0x20, 0, 0, 28), AddressClass::Orchid),
    // The rest of the IETF block: anycast services, drone remote id, ...
    (v6(0x2001, 0, 0, 0, 23), AddressClass::ProtocolAssignment),
    (v6(0x2620, 0x4f, 0x8000, 0, 48), AddressClass::As112),
    // Discard-only and dummy prefixes.
    (v6(0x0100, 0, 0, 0, 64), AddressClass::Reserved),
    (v6(0x0100, 0, 0, 1, 64), AddressClass::Reserved),
    // Segment routing SIDs.
    (v6(0x5f00, 0, 0, 0, 16), AddressClass::Reserved),
];

/// Global unicast: IANA has allocated nothing routable outside it.
const V6_GLOBAL_UNICAST: Ipv6Net = v6(0x2000, 0, 0, 0, 3);

/// The special-purpose range `ip` falls in, or `None` for public unicast.
///
/// IPv6 forms that carry an IPv4 address (mapped, translated, compatible,
/// NAT64, 6to4, Teredo) are judged by the IPv4 address they lead to, since
/// that is where the packets end up.
pub fn classify(ip: IpAddr) -> Option<AddressClass> {
    match ip {
        IpAddr::V4(ip) => classify_v4(ip),
        IpAddr::V6(ip) => classify_v6(ip),
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<AddressClass> {
    if METADATA_V4.contains(&ip) {
        return Some(AddressClass::CloudMetadata);
    }
    V4_RANGES.iter().find(|(net, _)| net.contains(&ip)).map(|(_, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> Option<AddressClass> {
    if ip.is_unspecified() {
        return Some(AddressClass::Unspecified);
    }
    if ip.is_loopback() {
        return Some(AddressClass::Loopback);
    }
    if METADATA_V6.contains(&ip) {
        return Some(AddressClass::CloudMetadata);
    }
    if let Some(embedded) = Embedded::of(ip) {
        return embedded.classify();
    }
    if let Some((_, class)) = V6_RANGES.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(*class);
    }
    (!V6_GLOBAL_UNICAST.contains(&ip)).then_some(AddressClass::Reserved)
}

/// An IPv6 address that stands for one or two IPv4 addresses.
enum Embedded {
    /// Reaches the IPv4 address: public means public (::ffff:0:0/96 mapped,
    /// 64:ff9b::/96 NAT64 as DNS64 synthesises it, 2002::/16 6to4).
    Transparent(Ipv4Addr),
    /// A form with no business in a URL (::/96 compatible, ::ffff:0:0:0/96
    /// translated, 64:ff9b:1::/48 local-use NAT64): refused as `class` unless
    /// the IPv4 address is special, which is then named.
    Refused(Ipv4Addr, AddressClass),
    /// Teredo: server and client (stored inverted), both checked.
    Teredo { server: Ipv4Addr, client: Ipv4Addr },
}

impl Embedded {
    fn of(ip: Ipv6Addr) -> Option<Embedded> {
        let s = ip.segments();
        let pair = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
        let low32 = pair(s[6], s[7]);
        Some(match s {
            [0, 0, 0, 0, 0, 0xffff, _, _] => Embedded::Transparent(low32),
            [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Embedded::Transparent(low32),
            [0x2002, hi, lo, ..] => Embedded::Transparent(pair(hi, lo)),
            [0, 0, 0, 0, 0, 0, _, _] => Embedded::Refused(low32, AddressClass::Reserved),
            [0, 0, 0, 0, 0xffff, 0, _, _] => Embedded::Refused(low32, AddressClass::Reserved),
            // RFC 8215 leaves the layout to the operator; the /96 one is checked.
            [0x64, 0xff9b, 1, ..] => Embedded::Refused(low32, AddressClass::Reserved),
            [0x2001, 0, hi, lo, _, _, c_hi, c_lo] => Embedded::Teredo { server: pair(hi, lo), client: pair(!c_hi, !c_lo) },
            _ => return None,
        })
    }

    fn classify(&self) -> Option<AddressClass> {
        match *self {
            Embedded::Transparent(v4) => classify_v4(v4),
            Embedded::Refused(v4, class) => Some(classify_v4(v4).unwrap_or(class)),
            Embedded::Teredo { server, client } => Some(classify_v4(client).or(classify_v4(server)).unwrap_or(AddressClass::Teredo)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<AddressClass> {
        classify(s.parse().unwrap())
    }

    fn assert_classes(cases: &[(&str, AddressClass)]) {
        let wrong: Vec<String> = cases
            .iter()
            .filter(|(ip, want)| class(ip) != Some(*want))
            .map(|(ip, want)| format!("{ip}: want {want:?}, got {:?}", class(ip)))
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn ipv4_special_ranges_are_classified() {
        use AddressClass::*;
        assert_classes(&[
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.1", Private),
            ("172.16.5.4", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("100.64.0.1", SharedAddressSpace),
            ("100.127.255.254", SharedAddressSpace),
            ("169.254.1.1", LinkLocal),
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
            ("192.0.0.9", ProtocolAssignment),
            ("192.0.0.170", ProtocolAssignment),
            ("192.31.196.1", As112),
            ("192.175.48.6", As112),
            ("192.52.193.1", Amt),
            ("192.88.99.1", Reserved),
            ("240.0.0.1", Reserved),
        ]);
    }

    #[test]
    fn metadata_endpoints_are_named_before_their_ranges() {
        use AddressClass::*;
        assert_classes(&[
            ("169.254.169.254", CloudMetadata),
            ("169.254.170.2", CloudMetadata),
            ("100.100.100.200", CloudMetadata),
            ("168.63.129.16", CloudMetadata),
            ("192.0.0.192", CloudMetadata),
            ("fd00:ec2::254", CloudMetadata),
            ("::ffff:169.254.169.254", CloudMetadata),
            ("64:ff9b::a9fe:a9fe", CloudMetadata),
        ]);
    }

    #[test]
    fn ipv6_special_ranges_are_classified() {
        use AddressClass::*;
        assert_classes(&[
            ("::1", Loopback),
            ("::", Unspecified),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("fec0::1", Reserved),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff::1", Documentation),
            ("2001:2::1", Benchmarking),
            ("2001:1::1", ProtocolAssignment),
            ("2001:30::1", ProtocolAssignment),
            ("2001:1ff::1", ProtocolAssignment),
            ("2001:3::1", Amt),
            ("2001:4:112::1", As112),
            ("2620:4f:8000::1", As112),
            ("2001:10::1", Orchid),
            ("2001:1f::1", Orchid),
            ("2001:20::1", Orchid),
            ("2001:2f:ffff::1", Orchid),
            ("100::1", Reserved),
            ("100:0:0:1::1", Reserved),
            ("5f00::1", Reserved),
            // Outside 2000::/3: unallocated.
            ("4000::1", Reserved),
            ("1::1", Reserved),
        ]);
    }

    #[test]
    fn ipv4_carrying_forms_are_judged_by_the_ipv4_address() {
        use AddressClass::*;
        assert_classes(&[
            // Mapped ::ffff:0:0/96.
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.1", Private),
            // Translated ::ffff:0:0:0/96 (the form of 127.0.0.1 in issue reports).
            ("::ffff:0:7f00:1", Loopback),
            ("::ffff:0:a00:1", Private),
            ("::ffff:0:101:101", Reserved),
            // Compatible ::/96 (deprecated).
            ("::127.0.0.1", Loopback),
            ("::1.1.1.1", Reserved),
            // NAT64 well-known and local-use prefixes.
            ("64:ff9b::7f00:1", Loopback),
            ("64:ff9b::c0a8:101", Private),
            ("64:ff9b:1::7f00:1", Loopback),
            ("64:ff9b:1::101:101", Reserved),
            // 6to4.
            ("2002:7f00:1::1", Loopback),
            ("2002:c0a8:0101::1", Private),
            ("2002:a9fe:a9fe::1", CloudMetadata),
            // Teredo: server 65.54.227.120, client 1.1.1.1 stored inverted.
            ("2001:0:4136:e378:8000:63bf:fefe:fefe", Teredo),
            // Client 192.0.2.45.
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Documentation),
            // Client 127.0.0.1 (inverted 80ff:fffe).
            ("2001:0:4136:e378::80ff:fffe", Loopback),
            // Server 10.0.0.1.
            ("2001:0:a00:1::fefe:fefe", Private),
        ]);
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "192.0.3.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "2001:200::1",
            "::ffff:1.1.1.1",
            "64:ff9b::101:101",
            "2002:101:101::1",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }
}
