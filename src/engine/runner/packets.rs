//! Packet lines: injecting `<` packets and matching `>` lines against what the stack sent.

use super::*;

/// A packet of the connection under test: when it was sent, the segment, and which of its
/// checksums failed (a difference to report), if any.
type FlowPacket = (Duration, Segment, Option<&'static str>);

impl Runner<'_> {
    pub(super) fn packet(
        &mut self,
        loc: &Location,
        p: &PacketSpec,
        r: &Resolved,
        tolerance: Duration,
    ) -> Result<Duration, Stop> {
        let tcp = match (&p.kind, p.direction.node) {
            (PacketKind::Tcp(tcp), _) => tcp,
            (PacketKind::Icmp(icmp), Direction::Inbound) => {
                self.advance_to(r.due.start())?;
                self.check_start(loc, r, tolerance, "inbound packet")?;
                self.inject_icmp(loc, p, icmp)?;
                return Ok(self.now);
            }
            _ => {
                return Err(Stop::skip(
                    Some(loc.clone()),
                    "UDP packets and outbound ICMP are not supported yet",
                ));
            }
        };
        match p.direction.node {
            Direction::Inbound => {
                self.advance_to(r.due.start())?;
                self.check_start(loc, r, tolerance, "inbound packet")?;
                self.inject(loc, p, tcp)?;
                Ok(self.now)
            }
            Direction::Outbound => {
                self.expect(loc, p, tcp, r, tolerance)?;
                Ok(self.now)
            }
        }
    }

    pub(super) fn new_ephemeral_port(&mut self) -> u16 {
        let p = self.next_port;
        self.next_port = self
            .next_port
            .checked_add(1)
            .unwrap_or(FIRST_EPHEMERAL_PORT);
        p
    }

    /// The connection an injected packet belongs to, creating the passive one on a SYN to a
    /// listener, or on any packet when there is no socket under test
    /// (`run_packet.c: handle_listen_for_script_packet`).
    fn conn_for_inbound(&mut self, tcp: &TcpPacket) -> &mut Conn {
        let flags = tcp.flags.node;
        let start = match tcp.seq.node {
            SeqSpec::Range { start, .. } => inbound::u32_of(start),
            SeqSpec::Any { .. } => 0,
        };
        let (local_port, remote_port) = match &self.conn {
            Some(c) => (
                c.local_port.unwrap_or(self.settings.bind_port),
                c.remote_port,
            ),
            None => (self.settings.bind_port, self.new_ephemeral_port()),
        };
        let conn = match self.conn.take() {
            // A listener stays the socket under test until a SYN creates the child.
            Some(c) if c.phase == Phase::Listening && (!flags.syn || flags.ack) => c,
            Some(mut c) if c.phase != Phase::Listening => {
                c.note_inbound(flags.syn, flags.ack, flags.rst, start);
                c
            }
            _ => {
                let mut c = Conn::new(
                    Phase::Open,
                    SocketAddr::new(self.net.local_ip, local_port),
                    true,
                    SocketAddr::new(self.net.remote_ip, remote_port),
                );
                if flags.syn {
                    c.set_remote_isn(start);
                }
                c
            }
        };
        self.conn.insert(conn)
    }

    fn inject(&mut self, loc: &Location, p: &PacketSpec, tcp: &TcpPacket) -> Result<(), Stop> {
        let scaled = self.settings.tcp_ts_ecr_scaled;
        let conn = self.conn_for_inbound(tcp);
        let seg = inbound::build_segment(tcp, &p.ip_info, conn, scaled).map_err(|e| match e {
            BuildError::Unsupported(m) => Stop::skip(Some(loc.clone()), m),
            other => Stop::error(Some(loc.clone()), other.to_string()),
        })?;
        self.send(loc, Packet::Tcp(seg), inbound::tamper(tcp))
    }

    fn inject_icmp(
        &mut self,
        loc: &Location,
        p: &PacketSpec,
        icmp: &IcmpPacket,
    ) -> Result<(), Stop> {
        let Some(conn) = &self.conn else {
            return Err(Stop::error(
                Some(loc.clone()),
                "an ICMP message needs a connection under test to refer to",
            ));
        };
        let message = inbound::build_icmp(icmp, &p.ip_info, conn).map_err(|e| match e {
            BuildError::Unsupported(m) => Stop::skip(Some(loc.clone()), m),
            other => Stop::error(Some(loc.clone()), other.to_string()),
        })?;
        self.send(loc, Packet::Icmp(message), wire::Tamper::default())
    }

    /// Encodes and injects a packet (damaged as `tamper` says), and traces it.
    fn send(&mut self, loc: &Location, packet: Packet, tamper: wire::Tamper) -> Result<(), Stop> {
        let bytes = inbound::encode(&packet, &tamper)
            .map_err(|e| Stop::error(Some(loc.clone()), e.to_string()))?;
        let at = self.now;
        self.stack
            .inject(self.now + self.offset, &bytes)
            .map_err(|e| Stop::from_stack(e, Some(loc.clone())))?;
        self.catch_up();
        self.trace.push(
            at,
            self.line,
            TraceKind::Injected {
                text: inbound::packet_text(&packet, &tamper),
                bytes,
            },
        );
        Ok(())
    }

    /// Whether an outbound segment belongs to the connection under test; learns the local port of
    /// an active open from its first SYN (`find_connect_for_live_packet`).
    pub(super) fn belongs(&mut self, seg: &Segment) -> bool {
        let Some(c) = &mut self.conn else {
            return false;
        };
        let src = SocketAddr::new(seg.ip.src(), seg.src_port);
        let dst = SocketAddr::new(seg.ip.dst(), seg.dst_port);
        match c.local_addr() {
            Some(local) => src == local && dst == c.remote_addr(),
            None => {
                let syn_only =
                    seg.flags.contains(TcpFlags::SYN) && !seg.flags.contains(TcpFlags::ACK);
                if syn_only && dst == c.remote_addr() && seg.ip.src() == c.local {
                    c.local_port = Some(seg.src_port);
                    c.phase = Phase::Open;
                    true
                } else {
                    false
                }
            }
        }
    }

    /// The next packet of the connection under test, waiting until `deadline` at most.
    fn next_flow_packet(&mut self, deadline: Duration) -> Result<Option<FlowPacket>, Stop> {
        loop {
            while let Some(sent) = self.pending.pop_front() {
                if let Some(seg) = sent.segment
                    && self.belongs(&seg)
                {
                    return Ok(Some((sent.at, seg, sent.bad_checksum)));
                }
            }
            if self.now >= deadline {
                return Ok(None);
            }
            self.step(deadline)?;
        }
    }

    fn expect(
        &mut self,
        loc: &Location,
        p: &PacketSpec,
        tcp: &TcpPacket,
        r: &Resolved,
        tolerance: Duration,
    ) -> Result<(), Stop> {
        if self.conn.is_none() {
            return Err(Stop::error(
                Some(loc.clone()),
                "outbound packet expected, but no socket is connecting or listening",
            ));
        }
        let deadline = match r.due {
            Due::Any { .. } => self.now.max(r.base) + ANY_TIME_LIMIT,
            due => {
                let latest = due.deadline(tolerance).unwrap_or(self.now);
                latest.max(due.start() + OUTBOUND_GRACE)
            }
        };
        let Some((at, first, mut bad_checksum)) = self.next_flow_packet(deadline)? else {
            return Err(Stop::failure(Failure::new(
                Some(loc.clone()),
                format!(
                    "timed out waiting for packet: expected outbound packet at {} sec, none arrived by {} sec",
                    fmt_secs(r.due.start()),
                    fmt_secs(self.now)
                ),
            )));
        };
        let want_len = tcp.seq.node.len();
        let mut pieces = vec![first];
        // Linux hands GSO packets of several MSS to the TUN device and may also split what the
        // script wrote as one: merge consecutive segments up to the script's length, like
        // packetdrill does unless --strict_segments.
        while !self.settings.strict_segments
            && (pieces.iter().map(|s| s.payload.len() as u64).sum::<u64>()) < want_len
        {
            let Some((next_at, next, bad)) = self.next_flow_packet(deadline)? else {
                break;
            };
            match pieces.last() {
                Some(last) if matcher::continues(last, &next) => {
                    pieces.push(next);
                    bad_checksum = bad_checksum.or(bad);
                }
                _ => {
                    self.pending.push_front(Sent {
                        at: next_at,
                        segment: Some(next),
                        bad_checksum: bad,
                    });
                    break;
                }
            }
        }
        let Some(live) = matcher::merge(&pieces) else {
            return Err(Stop::error(Some(loc.clone()), "internal: nothing to merge"));
        };
        let Some(conn) = self.conn.as_mut() else {
            return Err(Stop::error(Some(loc.clone()), "internal: no connection"));
        };
        // The first outbound SYN of a connection (or of a new incarnation) fixes the local ISN
        // (`socket.h`).
        if tcp.flags.node.syn
            && live.flags.contains(TcpFlags::SYN)
            && let SeqSpec::Range { start, .. } = tcp.seq.node
        {
            conn.learn_from_syn(inbound::u32_of(start), live.seq);
        }
        if !live.flags.contains(TcpFlags::SYN) {
            conn.note_outbound_non_syn(live.flags.contains(TcpFlags::RST));
        }
        record_ts(conn, tcp, &live);
        let actual = matcher::to_script_space(&live, conn);
        let since_start =
            r.due.start().as_micros() as f64 * self.settings.tolerance_percent / 100.0;
        let ctx = MatchContext {
            zero_payload: !self.wrote_data,
            ts_tick_usecs: self.settings.tcp_ts_tick_usecs,
            ts_tolerance_usecs: self.settings.tolerance_usecs.max(since_start as u64),
        };
        let mut diffs = matcher::compare(tcp, &p.ip_info, &live, &actual, &ctx);
        if let Some(bad) = bad_checksum {
            diffs.insert(0, bad.into());
        }
        let actual_text = format!("{} {}", fmt_secs(at), notation::segment_text(&actual));
        // A packet that predates the previous line was unexpected there already; packetdrill (and
        // tcpconf outside strict mode) only notices it here, so say where it really came from.
        let early_note = self.prev.filter(|prev| at < prev.scripted).map(|prev| {
            format!(
                "the actual packet was sent at {} sec, before the previous line's time {} sec: it is an \
                 unexpected packet from earlier, which packetdrill also reports only at the next `>` line",
                fmt_secs(at),
                fmt_secs(prev.scripted)
            )
        });
        if !diffs.is_empty() {
            let mut f = Failure::new(
                Some(loc.clone()),
                format!(
                    "outbound packet does not match the script ({})",
                    diffs.join("; ")
                ),
            );
            f.actual = Some(actual_text);
            f.differences = diffs;
            if pieces.len() > 1 {
                f.notes.push(format!(
                    "the actual packet merges {} consecutive segments",
                    pieces.len()
                ));
            }
            if let Some(n) = early_note {
                f.notes.push(n);
            }
            return Err(Stop::failure(f));
        }
        if let Err(m) = timing::check(r.due, at, tolerance, "outbound packet") {
            let mut f = Failure::new(Some(loc.clone()), m);
            f.actual = Some(actual_text);
            return Err(Stop::failure(f));
        }
        Ok(())
    }
}

/// Records the script→live TS val pair of a matched outbound packet (before comparing, as
/// packetdrill does), so later inbound ecrs can be mapped; a val the script left unnamed
/// (`TS val *`, `<...>`) is remembered as such (see [`Conn::inbound_ecr`]).
fn record_ts(conn: &mut Conn, tcp: &TcpPacket, live: &Segment) {
    use crate::script::ast::{OptionSpec, PatternKind, TcpOptionKind};
    let Some(live_val) = live.options.iter().find_map(|o| match o {
        TcpOption::Timestamp { val, .. } => Some(*val),
        _ => None,
    }) else {
        return;
    };
    let ts_val = |spec: &OptionSpec| {
        spec.options().iter().find_map(|opt| match &opt.kind {
            TcpOptionKind::Timestamp { val, .. } => Some(val.node.clone()),
            _ => None,
        })
    };
    match &tcp.options {
        Some(spec @ (OptionSpec::Ordered { .. } | OptionSpec::Unordered { .. })) => {
            match ts_val(spec) {
                Some(PatternKind::Exact(v)) => conn.record_ts_val(inbound::u32_of(v), live_val),
                Some(_) => conn.record_unnamed_ts_val(live_val),
                None if matches!(
                    spec,
                    OptionSpec::Unordered {
                        others_allowed: true,
                        ..
                    }
                ) =>
                {
                    conn.record_unnamed_ts_val(live_val)
                }
                // The list has no TS option: the packet does not match anyway.
                None => {}
            }
        }
        Some(OptionSpec::DontCare { .. }) => conn.record_unnamed_ts_val(live_val),
        None => {}
    }
}
