//! The bundled reference TCP: a sans-IO implementation of RFC 9293, with an RFC 793 profile.
//!
//! A [`Host`] owns sockets and connections on a set of local addresses. It is driven entirely by
//! its caller: inbound IP packets ([`Host::receive`]), socket calls mirroring the Linux syscalls
//! ([`Host::connect`], [`Host::send`], …) and the passage of time ([`Host::poll`] at the deadline
//! [`Host::poll_at`] reports). Outbound IP packets queue up for [`Host::pop_outbound`]. It never
//! reads a clock, spawns or touches the OS; with the same [`Profile::secret`] and the same inputs
//! a run is reproducible byte for byte.
//!
//! The code is organised by concern: [`codec`] and [`options`] (wire format), [`seq`] (modular
//! arithmetic), [`profile`], [`buffer`], [`congestion`], `conn` (the TCB, with one file per RFC
//! section: opening, segment arrival, closing, output, timers, user calls), [`host`]
//! (demultiplexing and the socket API), [`sim`] (a deterministic two-host link for tests and
//! benchmarks) and [`stress`] (arbitrary input and the invariants it must keep, for the fuzz target
//! and the property test).
//!
//! Readings chosen where the RFC leaves room (each is a plain reading of the text, not Linux):
//! - ABORT, close with unread data (SHLD-3) and SO_LINGER {1,0} send `<SEQ=SND.NXT><CTL=RST>`
//!   (§3.10.5), without ACK; Linux sends RST+ACK. Data arriving after a full close (SHLD-3)
//!   is answered `<SEQ=SEG.ACK><CTL=RST>`, the form of a reset provoked by a segment (§3.5.2).
//! - Text on a SYN is queued and delivered once ESTABLISHED (§3.10.7.2–3).
//! - A duplicate SYN in SYN-RECEIVED fails the sequence test and gets `A` (§3.10.7.4), not a
//!   repeated SYN-ACK; the SYN-ACK is retransmitted by its timer.
//! - Once timestamps are agreed, non-RST segments without TSopt are dropped (RFC 7323 §3.2).
//! - CLOSE in SYN-RECEIVED sends the FIN at once and enters FIN-WAIT-1 (§3.10.4's first branch:
//!   SEND cannot have been issued, it would block), before the SYN,ACK is acknowledged.
//! - The peer's SYN,ACK in a simultaneous open repeats its SYN below RCV.NXT: the sequence test
//!   answers it with an ACK and drops it (§3.10.7.4); Figure 7 shows the state, not the test.
//! - Sequence numbers exactly 2^31 apart compare neither way (RFC 1982): an ACK that far from
//!   SND.NXT acknowledges nothing.
//! - Keep-alive intervals count from the last segment received or from when keep-alives were
//!   switched on, whichever is later; none is armed while data is outstanding (MUST-26).
//! - After [`Host::restart`] the host keeps quiet for an MSL (§3.4.3), since the RFC 6528 clock
//!   alone does not protect a new incarnation from old duplicates.
//! - FIN-WAIT-2 has no timeout (the RFC has none; Linux's is 60 s).
//! - SHUT_RD alone acknowledges and discards later data (as Linux does); with SHUT_WR too, new
//!   data earns a RST (SHLD-3).
//! - ECN (RFC 3168) is used when the peer's SYN asks for it; this stack's own SYNs do not.
//! - ICMP hard errors (Destination Unreachable 2–3) abort in every state, synchronized ones
//!   included (SHLD-26 as written); code 4 and ICMPv6 Packet Too Big drive path MTU discovery.
//! - Not implemented: the urgent pointer API (urgent data is delivered inline), IP security
//!   compartments, SACK blocks, IPv4-mapped IPv6 sockets, blocking SO_LINGER with a timeout.

pub mod buffer;
pub mod codec;
pub mod congestion;
mod conn;
pub mod error;
pub mod host;
pub mod icmp;
pub mod isn;
pub mod options;
pub mod profile;
pub mod seq;
pub mod sim;
pub mod socket;
pub mod stress;

pub use conn::State;
pub use error::{Error, Result};
pub use host::Host;
pub use profile::Profile;
pub use socket::{ConnectionInfo, Family, Fd, OptValue, Readiness, Shutdown, SockOpt, SockOptName};
