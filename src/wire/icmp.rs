//! ICMP and ICMPv6 type and code names as packetdrill scripts spell them (`unreachable`,
//! `frag_needed`, `packet_too_big`, …; `type_N` / `code_N` for the rest), both ways, so that the
//! script parser and the printer agree.

use super::IpVersion;

/// ICMPv4 destination unreachable (RFC 792).
pub const UNREACHABLE_V4: u8 = 3;
/// Its code "fragmentation needed and DF set", whose next-hop MTU (RFC 1191) drives PMTUD.
pub const FRAG_NEEDED: u8 = 4;
/// ICMPv6 destination unreachable (RFC 4443 §3.1).
pub const UNREACHABLE_V6: u8 = 1;
/// ICMPv6 packet too big (RFC 4443 §3.2).
pub const PACKET_TOO_BIG_V6: u8 = 2;

/// ICMPv4 type names as packetdrill's scripts spell them (RFC 792 and successors).
const ICMPV4_TYPES: &[(u8, &str)] = &[
    (0, "echo_reply"),
    (3, "unreachable"),
    (4, "source_quench"),
    (5, "redirect"),
    (8, "echo_request"),
    (11, "time_exceeded"),
    (12, "parameter_problem"),
    (13, "timestamp_request"),
    (14, "timestamp_reply"),
    (15, "information_request"),
    (16, "information_reply"),
    (17, "address_mask_request"),
    (18, "address_mask_reply"),
];

/// Codes of ICMPv4 destination unreachable (RFC 792, RFC 1812 §5.2.7.1).
const ICMPV4_UNREACHABLE_CODES: &[&str] = &[
    "net_unreachable",
    "host_unreachable",
    "protocol_unreachable",
    "port_unreachable",
    "frag_needed",
    "source_route_failed",
    "net_unknown",
    "host_unknown",
    "source_host_isolated",
    "net_prohibited",
    "host_prohibited",
    "net_unreachable_for_tos",
    "host_unreachable_for_tos",
    "packet_filtered",
    "precedence_violation",
    "precedence_cutoff",
];

/// ICMPv6 type names (RFC 4443).
const ICMPV6_TYPES: &[(u8, &str)] = &[
    (1, "unreachable"),
    (2, "packet_too_big"),
    (3, "time_exceeded"),
    (4, "parameter_problem"),
    (128, "echo_request"),
    (129, "echo_reply"),
];

const ICMPV6_UNREACHABLE_CODES: &[&str] = &[
    "net_unreachable",
    "admin_prohibited",
    "not_neighbour",
    "address_unreachable",
    "port_unreachable",
];
const ICMPV6_TIME_EXCEEDED_CODES: &[&str] = &["exceeded_hop_limit", "exceeded_frag_time"];
const ICMPV6_PARAMETER_PROBLEM_CODES: &[&str] =
    &["header_field", "unknown_next_header", "unknown_option"];

/// Other spellings, from nplab's packetdrill (FreeBSD's suite) and RFC 4443's own names, with the
/// number each stands for. `Code(t, c)` is code `c` of type `t`.
#[derive(Clone, Copy)]
enum Alias {
    Type(u8),
    Code(u8, u8),
}

const ICMPV4_ALIASES: &[(&str, Alias)] = &[
    ("timestamp", Alias::Type(13)),
    ("info_request", Alias::Type(15)),
    ("info_reply", Alias::Type(16)),
    // RFC 1812 §5.2.7.1 calls code 13 "communication administratively prohibited".
    ("admin_prohibited", Alias::Code(UNREACHABLE_V4, 13)),
];

const ICMPV6_ALIASES: &[(&str, Alias)] = &[
    ("no_route", Alias::Code(UNREACHABLE_V6, 0)),
    ("beyond_scope", Alias::Code(UNREACHABLE_V6, 2)),
    ("ttl_exceeded_in_transit", Alias::Code(3, 0)),
    ("frag_reassembly_time_exceeded", Alias::Code(3, 1)),
    ("frag_reass_exceeded", Alias::Code(3, 1)),
    ("erroneous_header", Alias::Code(4, 0)),
    ("unrecognized_next_header", Alias::Code(4, 1)),
    ("unrecognized_option", Alias::Code(4, 2)),
];

fn aliases(version: IpVersion) -> &'static [(&'static str, Alias)] {
    match version {
        IpVersion::V4 => ICMPV4_ALIASES,
        IpVersion::V6 => ICMPV6_ALIASES,
    }
}

fn icmp_types(version: IpVersion) -> &'static [(u8, &'static str)] {
    match version {
        IpVersion::V4 => ICMPV4_TYPES,
        IpVersion::V6 => ICMPV6_TYPES,
    }
}

fn icmp_codes(version: IpVersion, icmp_type: u8) -> &'static [&'static str] {
    match (version, icmp_type) {
        (IpVersion::V4, UNREACHABLE_V4) => ICMPV4_UNREACHABLE_CODES,
        (IpVersion::V6, UNREACHABLE_V6) => ICMPV6_UNREACHABLE_CODES,
        (IpVersion::V6, 3) => ICMPV6_TIME_EXCEEDED_CODES,
        (IpVersion::V6, 4) => ICMPV6_PARAMETER_PROBLEM_CODES,
        _ => &[],
    }
}

/// The script name of an ICMP type (`unreachable`, `packet_too_big`, …).
pub fn type_name(version: IpVersion, icmp_type: u8) -> Option<&'static str> {
    icmp_types(version)
        .iter()
        .find(|(t, _)| *t == icmp_type)
        .map(|(_, n)| *n)
}

/// The ICMP type a script name stands for; `type_N` is accepted for any N.
pub fn type_by_name(version: IpVersion, name: &str) -> Option<u8> {
    if let Some(n) = name.strip_prefix("type_") {
        return n.parse().ok();
    }
    icmp_types(version)
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(t, _)| *t)
        .or_else(|| {
            aliases(version).iter().find_map(|(n, a)| match a {
                Alias::Type(t) if *n == name => Some(*t),
                _ => None,
            })
        })
}

/// The script name of a code of `icmp_type` (`frag_needed`, `port_unreachable`, …).
pub fn code_name(version: IpVersion, icmp_type: u8, code: u8) -> Option<&'static str> {
    icmp_codes(version, icmp_type)
        .get(usize::from(code))
        .copied()
}

/// The code a script name stands for under `icmp_type`; `code_N` is accepted for any N.
pub fn code_by_name(version: IpVersion, icmp_type: u8, name: &str) -> Option<u8> {
    if let Some(n) = name.strip_prefix("code_") {
        return n.parse().ok();
    }
    let index = icmp_codes(version, icmp_type)
        .iter()
        .position(|n| *n == name);
    match index {
        Some(i) => u8::try_from(i).ok(),
        None => aliases(version).iter().find_map(|(n, a)| match a {
            Alias::Code(t, c) if *n == name && *t == icmp_type => Some(*c),
            _ => None,
        }),
    }
}

/// Whether `name` is an ICMP or ICMPv6 type or code name this module knows, in either IP version
/// (the script checker asks this, so that what it accepts is what packets can be built from).
pub fn is_name(name: &str) -> bool {
    [IpVersion::V4, IpVersion::V6].into_iter().any(|v| {
        icmp_types(v)
            .iter()
            .any(|(t, n)| *n == name || icmp_codes(v, *t).contains(&name))
            || aliases(v).iter().any(|(n, _)| *n == name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// nplab's and RFC 4443's spellings resolve to the same numbers as packetdrill's, so a script
    /// `tcpconf check` accepts is one the engine can build.
    #[test]
    fn nplab_spellings_are_aliases() {
        assert_eq!(type_by_name(IpVersion::V4, "timestamp"), Some(13));
        assert_eq!(code_by_name(IpVersion::V4, 3, "admin_prohibited"), Some(13));
        assert_eq!(code_by_name(IpVersion::V6, 1, "no_route"), Some(0));
        assert_eq!(
            code_by_name(IpVersion::V6, 4, "unrecognized_next_header"),
            code_by_name(IpVersion::V6, 4, "unknown_next_header")
        );
        assert_eq!(code_by_name(IpVersion::V6, 1, "erroneous_header"), None);
        assert!(is_name("frag_reass_exceeded") && is_name("frag_needed"));
        assert!(!is_name("frag_neded"));
    }

    #[test]
    fn icmp_names_both_ways() {
        use IpVersion::{V4, V6};
        assert_eq!(type_by_name(V4, "unreachable"), Some(3));
        assert_eq!(type_by_name(V6, "unreachable"), Some(1));
        assert_eq!(type_by_name(V4, "type_42"), Some(42));
        assert_eq!(type_by_name(V4, "type_420"), None);
        assert_eq!(code_by_name(V4, 3, "frag_needed"), Some(4));
        assert_eq!(code_by_name(V6, 1, "port_unreachable"), Some(4));
        assert_eq!(code_by_name(V6, 3, "code_7"), Some(7));
        assert_eq!(code_by_name(V4, 11, "frag_needed"), None);
        assert_eq!(code_name(V4, 3, 13), Some("packet_filtered"));
        assert_eq!(type_name(V6, 200), None);
    }
}
