//! Comparing what the stack sent with a script's `>` line.
//!
//! What is checked follows packetdrill (`run_packet.c: verify_outbound_live_packet`): every TCP flag
//! and the reserved bits, seq, ack (even without the ACK flag: the field must then be what the
//! script says, 0 by default), window unless omitted, urgent pointer, the options (same kinds in the
//! same order and the same values, except TS val, checked only with `--tcp_ts_tick_usecs`, and TS
//! ecr, never checked), the payload length and bytes. IP id, DF, TTL and TOS/ECN are checked only
//! when the script gives them; checksums are not (offload). tcpconf adds wildcards and ranges
//! (`win *`, `mss 536..1460`) and unordered option lists (`<{mss *, sackOK, ...}>`).

use crate::script::ast::{
    self, IpField, Md5Signature, OptionSpec, PatternKind, SeqSpec, Spanned, TcpOptionKind,
    TcpPacket,
};
use crate::wire::{Segment, TcpFlags, TcpOption};

use super::conn::Conn;
use super::inbound::{accecn_option, hex_bytes, u32_of, wire_ecn, wire_flags};

/// What a comparison needs besides the two packets.
#[derive(Debug, Clone, Copy)]
pub struct MatchContext {
    /// Compare payload bytes with the zeros the script implies (off once the script wrote
    /// non-zero data).
    pub zero_payload: bool,
    /// `--tcp_ts_tick_usecs` and the tolerance (µs) to apply to TS val.
    pub ts_tick_usecs: u64,
    pub ts_tolerance_usecs: u64,
}

/// A live segment with seq, ack, SACK edges and TS val rewritten into the script's number space, as
/// failure messages show it.
pub fn to_script_space(live: &Segment, conn: &Conn) -> Segment {
    let mut s = live.clone();
    let syn = live.flags.contains(TcpFlags::SYN);
    let ack = live.flags.contains(TcpFlags::ACK);
    s.seq = conn.outbound_seq(live.seq, syn);
    if ack {
        s.ack = conn.outbound_ack(live.ack, syn);
    }
    for o in &mut s.options {
        match o {
            TcpOption::Sack(blocks) if ack => {
                for (l, r) in blocks.iter_mut() {
                    *l = conn.outbound_ack(*l, syn);
                    *r = conn.outbound_ack(*r, syn);
                }
            }
            TcpOption::Timestamp { val, .. } => *val = conn.outbound_ts_val(*val),
            _ => {}
        }
    }
    s
}

/// A pattern as written.
pub fn pattern_text(p: &PatternKind) -> String {
    match p {
        PatternKind::Exact(v) => v.to_string(),
        PatternKind::Any => "*".into(),
        PatternKind::Range { lo, hi } => format!("{lo}..{hi}"),
        PatternKind::Define(name) => name.clone(),
    }
}

fn pattern_matches(p: &PatternKind, v: u64) -> bool {
    match *p {
        PatternKind::Exact(e) => e == v,
        PatternKind::Any => true,
        PatternKind::Range { lo, hi } => (lo..=hi).contains(&v),
        // Defines are substituted before the run (`defines::substitute`).
        PatternKind::Define(_) => false,
    }
}

/// Compares the script-space segment `actual` (see [`to_script_space`]; `live` is the same packet
/// before translation) with `spec`. Returns one line per differing field, empty if they match.
pub fn compare(
    spec: &TcpPacket,
    ip_info: &[Spanned<IpField>],
    live: &Segment,
    actual: &Segment,
    ctx: &MatchContext,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let field = |diffs: &mut Vec<String>, name: &str, expected: String, got: String| {
        diffs.push(format!("{name}: expected {expected} vs actual {got}"));
    };

    let want_flags = wire_flags(&spec.flags.node);
    if want_flags != actual.flags {
        field(
            &mut diffs,
            "tcp_flags",
            super::notation::flags_text(want_flags),
            super::notation::flags_text(actual.flags),
        );
    }
    match spec.seq.node {
        SeqSpec::Range {
            start, absolute, ..
        } => {
            let got = if absolute { live.seq } else { actual.seq };
            if got != u32_of(start) {
                field(
                    &mut diffs,
                    "tcp_seq",
                    u32_of(start).to_string(),
                    got.to_string(),
                );
            }
        }
        SeqSpec::Any { .. } => {}
    }
    let want_len = spec.seq.node.len();
    if want_len != actual.payload.len() as u64 {
        field(
            &mut diffs,
            "tcp_payload_len",
            want_len.to_string(),
            actual.payload.len().to_string(),
        );
    } else if ctx.zero_payload && actual.payload.iter().any(|b| *b != 0) {
        diffs.push(
            "tcp_payload: expected zero bytes (as written by the script) vs actual non-zero data"
                .into(),
        );
    }
    let ack = spec
        .ack
        .as_ref()
        .map_or(PatternKind::Exact(0), |p| p.node.clone());
    if !pattern_matches(&ack, u64::from(actual.ack)) {
        field(
            &mut diffs,
            "tcp_ack",
            pattern_text(&ack),
            actual.ack.to_string(),
        );
    }
    if let Some(win) = &spec.win
        && !pattern_matches(&win.node, u64::from(actual.window))
    {
        field(
            &mut diffs,
            "tcp_window",
            pattern_text(&win.node),
            actual.window.to_string(),
        );
    }
    let urg = spec.urg.as_ref().map_or(0, |u| u.node);
    if urg != u64::from(actual.urgent) {
        field(
            &mut diffs,
            "tcp_urg_ptr",
            urg.to_string(),
            actual.urgent.to_string(),
        );
    }
    compare_ip(ip_info, actual, &mut diffs);
    match &spec.options {
        Some(OptionSpec::DontCare { .. }) => {}
        None => {
            if actual.options.iter().any(|o| *o != TcpOption::Eol) {
                diffs.push(format!(
                    "tcp_options: expected none vs actual <{}>",
                    super::notation::options_text(&actual.options)
                ));
            }
        }
        Some(OptionSpec::Ordered { options, .. }) => {
            compare_ordered(options, actual, ctx, &mut diffs)
        }
        Some(OptionSpec::Unordered {
            options,
            others_allowed,
            ..
        }) => compare_unordered(options, *others_allowed, actual, ctx, &mut diffs),
    }
    diffs
}

fn compare_ip(ip_info: &[Spanned<IpField>], actual: &Segment, diffs: &mut Vec<String>) {
    let ip = &actual.ip;
    for f in ip_info {
        let (name, ok, want, got) = match f.node {
            IpField::Ecn(e) => {
                let got = ip.ecn();
                let ok = match wire_ecn(e) {
                    Some(w) => w == got,
                    None => matches!(got, crate::wire::Ecn::Ect0 | crate::wire::Ecn::Ect1),
                };
                ("ip_ecn", ok, format!("{e:?}"), format!("{got:?}"))
            }
            IpField::Tos(v) | IpField::TrafficClass(v) => (
                "ip_tos",
                v == u64::from(ip.tos()),
                format!("{v:#x}"),
                format!("{:#x}", ip.tos()),
            ),
            IpField::Ttl(v) | IpField::HopLimit(v) => (
                "ip_ttl",
                v == u64::from(ip.ttl()),
                v.to_string(),
                ip.ttl().to_string(),
            ),
            IpField::FlowLabel(v) => {
                let got = match ip {
                    crate::wire::IpHeader::V6(h) => u64::from(h.flow_label),
                    crate::wire::IpHeader::V4(_) => 0,
                };
                (
                    "ipv6_flow_label",
                    v == got,
                    format!("{v:#x}"),
                    format!("{got:#x}"),
                )
            }
        };
        if !ok {
            diffs.push(format!("{name}: expected {want} vs actual {got}"));
        }
    }
}

/// Whether `actual` satisfies the script option `want`; `Err` says how it differs.
fn option_matches(
    want: &TcpOptionKind,
    actual: &TcpOption,
    ctx: &MatchContext,
) -> Result<(), String> {
    let same_kind = option_kind(want) == actual.kind();
    if !same_kind {
        return Err("different option".into());
    }
    let mismatch = || {
        Err(format!(
            "expected {} vs actual {}",
            option_text(want),
            actual
        ))
    };
    match (want, actual) {
        (TcpOptionKind::Nop, TcpOption::Nop)
        | (TcpOptionKind::Eol, TcpOption::Eol)
        | (TcpOptionKind::SackPermitted, TcpOption::SackPermitted) => Ok(()),
        (TcpOptionKind::Mss(p), TcpOption::Mss(v)) if pattern_matches(&p.node, u64::from(*v)) => {
            Ok(())
        }
        (TcpOptionKind::WindowScale(p), TcpOption::WindowScale(v))
            if pattern_matches(&p.node, u64::from(*v)) =>
        {
            Ok(())
        }
        (TcpOptionKind::Sack(want), TcpOption::Sack(got))
            if want.len() == got.len()
                && want
                    .iter()
                    .zip(got)
                    .all(|(w, g)| (u32_of(w.node.left), u32_of(w.node.right)) == *g) =>
        {
            Ok(())
        }
        (TcpOptionKind::Timestamp { val, .. }, TcpOption::Timestamp { val: got, .. }) => {
            // TS ecr is never checked (packetdrill); TS val only at a known tick rate, and then
            // within the tolerance measured from the start of the script.
            match val.node {
                PatternKind::Exact(v) if ctx.ts_tick_usecs > 0 => {
                    let off = u64::from(
                        u32_of(v)
                            .wrapping_sub(*got)
                            .min(got.wrapping_sub(u32_of(v))),
                    );
                    if off.saturating_mul(ctx.ts_tick_usecs) > ctx.ts_tolerance_usecs {
                        return Err(format!(
                            "bad outbound TCP timestamp value: expected {v} vs actual {got}, tolerance {} usecs",
                            ctx.ts_tolerance_usecs
                        ));
                    }
                    Ok(())
                }
                PatternKind::Range { lo, hi } if !(lo..=hi).contains(&u64::from(*got)) => {
                    mismatch()
                }
                _ => Ok(()),
            }
        }
        (TcpOptionKind::FastOpen { cookie }, TcpOption::FastOpen(got))
        | (TcpOptionKind::FastOpenExp { cookie }, TcpOption::FastOpenExp(got)) => {
            let want = cookie
                .as_ref()
                .map_or(Ok(Vec::new()), |c| hex_bytes(&c.node));
            if want.as_ref() == Ok(got) {
                Ok(())
            } else {
                mismatch()
            }
        }
        (TcpOptionKind::Md5(sig), TcpOption::Md5(got)) => {
            let want = match sig {
                Md5Signature::Zero => Ok(vec![0; 16]),
                Md5Signature::Hex(h) => hex_bytes(&h.node),
                // Without the secret the signature cannot be recomputed; its presence is checked.
                Md5Signature::Valid => Ok(got.clone()),
            };
            if want.as_ref() == Ok(got) {
                Ok(())
            } else {
                mismatch()
            }
        }
        (TcpOptionKind::AccEcn(o), got) if accecn_option(o) == *got => Ok(()),
        (TcpOptionKind::Generic { data, .. }, TcpOption::Unknown { data: got, .. }) => {
            let want = data.as_ref().map_or(Ok(Vec::new()), |d| hex_bytes(&d.node));
            if want.as_ref() == Ok(got) {
                Ok(())
            } else {
                mismatch()
            }
        }
        (TcpOptionKind::Experimental { magic, data }, TcpOption::Unknown { data: got, .. }) => {
            let mut want = ((*magic & 0xFFFF) as u16).to_be_bytes().to_vec();
            want.extend(
                data.as_ref()
                    .map_or(Ok(Vec::new()), |d| hex_bytes(&d.node))
                    .unwrap_or_default(),
            );
            if want == *got { Ok(()) } else { mismatch() }
        }
        _ => mismatch(),
    }
}

/// The kind byte a script option stands for.
fn option_kind(o: &TcpOptionKind) -> Option<u8> {
    Some(match o {
        TcpOptionKind::Nop => 1,
        TcpOptionKind::Eol => 0,
        TcpOptionKind::Mss(_) => 2,
        TcpOptionKind::WindowScale(_) => 3,
        TcpOptionKind::SackPermitted => 4,
        TcpOptionKind::Sack(_) => 5,
        TcpOptionKind::Timestamp { .. } => 8,
        TcpOptionKind::Md5(_) => 19,
        TcpOptionKind::FastOpen { .. } => 34,
        TcpOptionKind::FastOpenExp { .. } | TcpOptionKind::Experimental { .. } => 254,
        TcpOptionKind::AccEcn(o) => match o.order {
            ast::AccEcnOrder::E0bFirst => 172,
            ast::AccEcnOrder::E1bFirst => 174,
        },
        TcpOptionKind::Generic { kind, .. } => (*kind & 0xFF) as u8,
        TcpOptionKind::Raw { bytes } => *hex_bytes(&bytes.node).ok()?.first()?,
        TcpOptionKind::Unknown { .. } => return None,
    })
}

/// A script option as written (for messages).
pub fn option_text(o: &TcpOptionKind) -> String {
    let hex = |i: &Option<ast::Ident>| {
        i.as_ref()
            .map(|i| format!(" {}", i.node))
            .unwrap_or_default()
    };
    match o {
        TcpOptionKind::Nop => "nop".into(),
        TcpOptionKind::Eol => "eol".into(),
        TcpOptionKind::Mss(p) => format!("mss {}", pattern_text(&p.node)),
        TcpOptionKind::WindowScale(p) => format!("wscale {}", pattern_text(&p.node)),
        TcpOptionKind::SackPermitted => "sackOK".into(),
        TcpOptionKind::Sack(b) => {
            let blocks: Vec<String> = b
                .iter()
                .map(|b| format!("{}:{}", b.node.left, b.node.right))
                .collect();
            format!("sack {}", blocks.join(" "))
        }
        TcpOptionKind::Timestamp { val, ecr, .. } => {
            format!(
                "TS val {} ecr {}",
                pattern_text(&val.node),
                pattern_text(&ecr.node)
            )
        }
        TcpOptionKind::FastOpen { cookie } => format!("FO{}", hex(cookie)),
        TcpOptionKind::FastOpenExp { cookie } => format!("FOEXP{}", hex(cookie)),
        TcpOptionKind::Md5(_) => "md5".into(),
        TcpOptionKind::AccEcn(_) => "ECN".into(),
        TcpOptionKind::Generic { kind, data } => format!("gen-{kind}{}", hex(data)),
        TcpOptionKind::Experimental { magic, data } => format!("exp-{magic:x}{}", hex(data)),
        TcpOptionKind::Raw { bytes } => format!("raw {}", bytes.node),
        TcpOptionKind::Unknown { name, .. } => name.node.clone(),
    }
}

fn list_text(options: &[ast::TcpOption]) -> String {
    options
        .iter()
        .map(|o| option_text(&o.kind))
        .collect::<Vec<_>>()
        .join(",")
}

fn compare_ordered(
    want: &[ast::TcpOption],
    actual: &Segment,
    ctx: &MatchContext,
    diffs: &mut Vec<String>,
) {
    // Trailing EOLs only pad the list to a 32-bit boundary (RFC 9293 §3.1), and the decoder
    // folds zero padding after an EOL into it: compare the lists without them.
    let written = want;
    let mut want = want;
    while let [rest @ .., last] = want
        && last.kind == TcpOptionKind::Eol
    {
        want = rest;
    }
    let mut got: &[TcpOption] = &actual.options;
    while let [rest @ .., TcpOption::Eol] = got {
        got = rest;
    }
    let kinds_match = want.len() == got.len()
        && want
            .iter()
            .zip(got)
            .all(|(w, a)| option_kind(&w.kind) == a.kind());
    if !kinds_match {
        diffs.push(format!(
            "tcp_options: bad outbound TCP options: expected <{}> vs actual <{}>",
            list_text(written),
            super::notation::options_text(&actual.options)
        ));
        return;
    }
    for (w, a) in want.iter().zip(got) {
        if let Err(e) = option_matches(&w.kind, a, ctx) {
            diffs.push(format!("tcp_option {}: {e}", option_text(&w.kind)));
        }
    }
}

fn compare_unordered(
    want: &[ast::TcpOption],
    others_allowed: bool,
    actual: &Segment,
    ctx: &MatchContext,
    diffs: &mut Vec<String>,
) {
    let padding = |o: &TcpOption| matches!(o, TcpOption::Nop | TcpOption::Eol);
    let mut unused: Vec<&TcpOption> = actual.options.iter().filter(|o| !padding(o)).collect();
    for w in want
        .iter()
        .filter(|w| !matches!(w.kind, TcpOptionKind::Nop | TcpOptionKind::Eol))
    {
        match unused
            .iter()
            .position(|a| option_matches(&w.kind, a, ctx).is_ok())
        {
            Some(i) => {
                unused.remove(i);
            }
            None => {
                let near = unused
                    .iter()
                    .find(|a| option_kind(&w.kind) == a.kind())
                    .and_then(|a| option_matches(&w.kind, a, ctx).err());
                diffs.push(match near {
                    Some(why) => format!("tcp_option {}: {why}", option_text(&w.kind)),
                    None => format!("tcp_options: missing option {}", option_text(&w.kind)),
                });
            }
        }
    }
    if !others_allowed && !unused.is_empty() {
        let extra: Vec<String> = unused.iter().map(|o| o.to_string()).collect();
        diffs.push(format!(
            "tcp_options: unexpected option(s) {}",
            extra.join(",")
        ));
    }
}

/// Whether `next` continues `prev` as one GSO/TSO super-segment split in two: same ports, ack,
/// window and flags (PSH and FIN may differ, the last piece carries them), and contiguous seqs.
pub fn continues(prev: &Segment, next: &Segment) -> bool {
    let loose = !(TcpFlags::PSH | TcpFlags::FIN);
    prev.src_port == next.src_port
        && prev.dst_port == next.dst_port
        && prev.ack == next.ack
        && prev.window == next.window
        && (prev.flags & loose) == (next.flags & loose)
        && !prev.flags.contains(TcpFlags::FIN)
        && prev.seq.wrapping_add(prev.payload.len() as u32) == next.seq
}

/// Merges consecutive segments into the one larger segment a TSO-sized script line describes
/// (packetdrill's `aggregate_packets`): the first's headers and options, all payloads, the flags
/// of all pieces.
pub fn merge(pieces: &[Segment]) -> Option<Segment> {
    let (first, rest) = pieces.split_first()?;
    let mut out = first.clone();
    for p in rest {
        out.payload.extend_from_slice(&p.payload);
        out.flags |= p.flags;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::conn::Phase;
    use crate::script::ast::{Span, TcpFlags as AstFlags};
    use crate::wire::IpHeader;

    fn sp<T>(node: T) -> Spanned<T> {
        Spanned::new(node, Span::default())
    }

    fn conn() -> Conn {
        let mut c = Conn::new(
            Phase::Open,
            "192.168.0.1:8080".parse().unwrap(),
            true,
            "192.0.2.1:40000".parse().unwrap(),
        );
        c.set_local_isn(0, 1000);
        c
    }

    fn spec(opts: Option<OptionSpec>, win: Option<PatternKind>) -> TcpPacket {
        TcpPacket {
            psp_spi: None,
            ports: None,
            flags: sp(AstFlags {
                syn: true,
                ack: true,
                ..AstFlags::default()
            }),
            seq: sp(SeqSpec::Range {
                start: 0,
                end: 0,
                len: 0,
                absolute: false,
            }),
            ack: Some(sp(PatternKind::Exact(1))),
            win: win.map(sp),
            urg: None,
            options: opts,
            udp_encap: None,
            bad_csum: false,
        }
    }

    fn synack(options: Vec<TcpOption>) -> Segment {
        let ip =
            IpHeader::new("192.168.0.1".parse().unwrap(), "192.0.2.1".parse().unwrap()).unwrap();
        let mut s = Segment::new(ip, 8080, 40000);
        s.flags = TcpFlags::SYN | TcpFlags::ACK;
        s.seq = 1000;
        s.ack = 1;
        s.window = 64240;
        s.options = options;
        s
    }

    fn opt(kind: TcpOptionKind) -> ast::TcpOption {
        ast::TcpOption {
            kind,
            span: Span::default(),
        }
    }

    fn run(spec: &TcpPacket, live: &Segment) -> Vec<String> {
        let c = conn();
        let ctx = MatchContext {
            zero_payload: true,
            ts_tick_usecs: 0,
            ts_tolerance_usecs: 4000,
        };
        compare(spec, &[], live, &to_script_space(live, &c), &ctx)
    }

    #[test]
    fn window_wildcards_and_ranges() {
        let live = synack(vec![]);
        assert!(run(&spec(None, Some(PatternKind::Any)), &live).is_empty());
        assert!(
            run(&spec(None, None), &live).is_empty(),
            "omitted win is not checked"
        );
        assert!(
            run(
                &spec(
                    None,
                    Some(PatternKind::Range {
                        lo: 1000,
                        hi: 65535
                    })
                ),
                &live
            )
            .is_empty()
        );
        let d = run(&spec(None, Some(PatternKind::Exact(65535))), &live);
        assert_eq!(
            d,
            vec!["tcp_window: expected 65535 vs actual 64240".to_string()]
        );
    }

    #[test]
    fn ordered_options_need_same_kinds_in_same_order() {
        let live = synack(vec![TcpOption::Mss(1460), TcpOption::SackPermitted]);
        let want = |list: Vec<TcpOptionKind>| {
            spec(
                Some(OptionSpec::Ordered {
                    options: list.into_iter().map(opt).collect(),
                    span: Span::default(),
                }),
                None,
            )
        };
        let mss = |v| TcpOptionKind::Mss(sp(PatternKind::Exact(v)));
        assert!(run(&want(vec![mss(1460), TcpOptionKind::SackPermitted]), &live).is_empty());
        let d = run(&want(vec![TcpOptionKind::SackPermitted, mss(1460)]), &live);
        assert_eq!(d.len(), 1);
        assert!(d[0].contains("bad outbound TCP options"), "{d:?}");
        let d = run(&want(vec![mss(1000), TcpOptionKind::SackPermitted]), &live);
        assert_eq!(
            d,
            vec!["tcp_option mss 1000: expected mss 1000 vs actual mss 1460".to_string()]
        );
        let d = run(&spec(None, None), &live);
        assert!(d[0].starts_with("tcp_options: expected none"), "{d:?}");
    }

    #[test]
    fn trailing_eol_padding_is_not_compared() {
        let eol = || opt(TcpOptionKind::Eol);
        let mss = opt(TcpOptionKind::Mss(sp(PatternKind::Exact(1460))));
        let list = |options| {
            spec(
                Some(OptionSpec::Ordered {
                    options,
                    span: Span::default(),
                }),
                None,
            )
        };
        // FreeBSD writes `<mss 1460,sackOK,eol,eol>`; decoding folds the zero after an EOL away.
        let live = synack(vec![
            TcpOption::Mss(1460),
            TcpOption::SackPermitted,
            TcpOption::Eol,
        ]);
        let want = vec![mss.clone(), opt(TcpOptionKind::SackPermitted), eol(), eol()];
        assert!(run(&list(want), &live).is_empty());
        let live = synack(vec![TcpOption::Mss(1460), TcpOption::Eol]);
        assert!(run(&list(vec![mss.clone()]), &live).is_empty());
        let d = run(
            &list(vec![mss, eol()]),
            &synack(vec![TcpOption::Mss(1460), TcpOption::Nop]),
        );
        assert!(
            d[0].contains("expected <mss 1460,eol> vs actual <mss 1460,nop>"),
            "{d:?}"
        );
    }

    #[test]
    fn unordered_options_ignore_order_and_padding() {
        let live = synack(vec![
            TcpOption::Mss(1460),
            TcpOption::SackPermitted,
            TcpOption::Timestamp { val: 5, ecr: 0 },
            TcpOption::Nop,
            TcpOption::WindowScale(7),
        ]);
        let unordered = |list: Vec<TcpOptionKind>, others| {
            spec(
                Some(OptionSpec::Unordered {
                    options: list.into_iter().map(opt).collect(),
                    others_allowed: others,
                    span: Span::default(),
                }),
                None,
            )
        };
        let any = || sp(PatternKind::Any);
        let all = vec![
            TcpOptionKind::WindowScale(sp(PatternKind::Range { lo: 0, hi: 14 })),
            TcpOptionKind::Timestamp {
                val: any(),
                ecr: any(),
                ecr_absolute: false,
            },
            TcpOptionKind::SackPermitted,
            TcpOptionKind::Mss(any()),
        ];
        assert!(run(&unordered(all.clone(), false), &live).is_empty());
        let d = run(&unordered(vec![TcpOptionKind::Mss(any())], false), &live);
        assert!(
            d[0].starts_with("tcp_options: unexpected option(s)"),
            "{d:?}"
        );
        assert!(run(&unordered(vec![TcpOptionKind::Mss(any())], true), &live).is_empty());
        let d = run(
            &unordered(vec![TcpOptionKind::Md5(Md5Signature::Zero)], true),
            &live,
        );
        assert_eq!(d, vec!["tcp_options: missing option md5".to_string()]);
    }

    #[test]
    fn seq_ack_flags_and_payload() {
        let mut live = synack(vec![]);
        live.flags = TcpFlags::ACK | TcpFlags::PSH;
        live.seq = 1001;
        live.payload = vec![0; 10];
        let mut s = spec(None, None);
        s.flags = sp(AstFlags {
            ack: true,
            psh: true,
            ..AstFlags::default()
        });
        s.seq = sp(SeqSpec::Range {
            start: 1,
            end: 11,
            len: 10,
            absolute: false,
        });
        assert!(run(&s, &live).is_empty());
        live.payload[3] = 7;
        assert_eq!(run(&s, &live).len(), 1);
        live.payload = vec![0; 9];
        live.flags = TcpFlags::ACK;
        let d = run(&s, &live);
        assert!(
            d.iter()
                .any(|d| d.starts_with("tcp_flags: expected P. vs actual .")),
            "{d:?}"
        );
        assert!(d.iter().any(|d| d.starts_with("tcp_payload_len")), "{d:?}");
    }

    #[test]
    fn merges_only_contiguous_pieces() {
        let mut a = synack(vec![]);
        a.flags = TcpFlags::ACK;
        a.seq = 1001;
        a.payload = vec![0; 100];
        let mut b = a.clone();
        b.seq = 1101;
        b.flags = TcpFlags::ACK | TcpFlags::PSH;
        assert!(continues(&a, &b));
        let m = merge(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(
            (m.seq, m.payload.len(), m.flags),
            (1001, 200, TcpFlags::ACK | TcpFlags::PSH)
        );
        b.seq = 1102;
        assert!(!continues(&a, &b));
    }
}
