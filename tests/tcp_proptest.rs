//! Property tests of the reference TCP.
//!
//! - Arbitrary input from every state (`tcp::stress`, the same driver the `tcp_host` fuzz target
//!   runs): segments, calls and time steps never panic and keep the invariants — SND.UNA ≤
//!   SND.NXT, buffers within capacity, `poll_at` never in the past and moving on when polled,
//!   bounded connections and memory, valid checksums (MUST-2), no shrinking window (SHLD-14).
//! - A differential property: two reference hosts over a link that loses, duplicates and
//!   reorders deliver exactly the byte stream they deliver over a perfect link.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::time::Duration;

use proptest::prelude::*;
use tcpconf::tcp::sim::{LinkConfig, Pair};
use tcpconf::tcp::stress;
use tcpconf::tcp::{Family, Host, Profile, SockOpt};

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_input_keeps_the_invariants_in_every_state(
        data in proptest::collection::vec(any::<u8>(), 2..600),
    ) {
        if let Err(e) = stress::run(&data) {
            return Err(TestCaseError::fail(e));
        }
    }
}

const LIMIT: Duration = Duration::from_secs(600);

/// Sends `data` from host 0 to host 1 over `link` and returns what host 1 read, in order.
fn deliver(data: &[u8], link: LinkConfig, nodelay: bool) -> Result<Vec<u8>, TestCaseError> {
    let server: std::net::SocketAddr = "192.0.2.2:80".parse().unwrap();
    let mut net = Pair::new(
        Host::new(Profile::rfc9293(), ["192.0.2.1".parse().unwrap()]),
        Host::new(Profile::rfc9293(), [server.ip()]),
        link,
    );
    let l = net.hosts[1].socket(Family::V4, true).unwrap();
    net.hosts[1].bind(l, server).unwrap();
    net.hosts[1].listen(l, 1).unwrap();
    let c = net.hosts[0].socket(Family::V4, true).unwrap();
    net.hosts[0]
        .setsockopt(c, SockOpt::NoDelay(nodelay), net.now)
        .unwrap();
    let _ = net.hosts[0].connect(c, server, net.now);
    let mut accepted = None;
    net.run_until(LIMIT, |n| {
        if let Ok((fd, _)) = n.hosts[1].accept(l) {
            accepted = Some(fd);
        }
        accepted.is_some()
    });
    let s = accepted.ok_or_else(|| TestCaseError::fail("no accepted connection"))?;
    let mut sent = 0;
    let mut got = Vec::new();
    while got.len() < data.len() {
        let now = net.now;
        if sent < data.len()
            && let Ok(n) = net.hosts[0].send(c, &data[sent..], now)
        {
            sent += n;
        }
        while let Ok(chunk) = net.hosts[1].recv(s, 1 << 16, false, now) {
            if chunk.is_empty() {
                break;
            }
            got.extend_from_slice(&chunk);
        }
        if !net.step(LIMIT) {
            break;
        }
    }
    Ok(got)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn loss_duplication_and_reordering_do_not_change_the_delivered_stream(
        len in 1usize..40_000,
        seed in any::<u64>(),
        loss_ppm in 0u32..80_000,
        duplicate_ppm in 0u32..80_000,
        reorder_ppm in 0u32..200_000,
        nodelay in any::<bool>(),
    ) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251) as u8).collect();
        let delay = Duration::from_millis(5);
        let perfect = deliver(&data, LinkConfig::perfect(delay), nodelay)?;
        let impaired = LinkConfig {
            loss_ppm,
            duplicate_ppm,
            reorder_ppm,
            reorder_delay: Duration::from_millis(20),
            seed,
            ..LinkConfig::perfect(delay)
        };
        let got = deliver(&data, impaired, nodelay)?;
        prop_assert_eq!(&perfect, &data);
        prop_assert_eq!(got, perfect);
    }
}
