//! `cargo bench --bench tcp_throughput`: two reference hosts move 256 MiB through the in-memory link
//! in virtual time. Prints payload MiB/s per CPU core (the run is single-threaded) and the bytes of
//! state an idle established connection costs, excluding its data buffers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tcpconf::tcp::sim::{LinkConfig, Pair};
use tcpconf::tcp::{Error, Family, Host, Profile};

const TOTAL: usize = 256 << 20;

fn main() {
    let a: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::from([10, 0, 0, 1]));
    let b: IpAddr = "10.0.0.2".parse().unwrap_or(IpAddr::from([10, 0, 0, 2]));
    for (label, profile) in [
        ("MTU 1500, 128 KiB buffers", Profile::rfc9293()),
        (
            "MTU 9000, 1 MiB buffers",
            Profile {
                mtu: 9000,
                rcvbuf: 1 << 20,
                sndbuf: 1 << 20,
                ..Profile::rfc9293()
            },
        ),
    ] {
        let mut net = Pair::new(
            Host::new(profile.clone(), [a]),
            Host::new(profile, [b]),
            LinkConfig::perfect(Duration::from_micros(50)),
        );
        let l = net.hosts[1].socket(Family::V4, true).expect("socket");
        net.hosts[1]
            .bind(l, SocketAddr::new(b, 5001))
            .expect("bind");
        net.hosts[1].listen(l, 1).expect("listen");
        let c = net.hosts[0].socket(Family::V4, true).expect("socket");
        let _ = net.hosts[0].connect(c, SocketAddr::new(b, 5001), Duration::ZERO);
        let mut server = None;
        net.run_until(Duration::from_secs(10), |n| {
            server = server.or_else(|| n.hosts[1].accept(l).ok().map(|(fd, _)| fd));
            server.is_some()
        });
        let Some(s) = server else {
            eprintln!("handshake failed");
            std::process::exit(1);
        };
        let idle = net.hosts[0].connection_state_bytes(c).expect("state bytes");

        let chunk = vec![0x42u8; 64 * 1024];
        let (mut sent, mut received) = (0usize, 0usize);
        let start = Instant::now();
        let v0 = net.now;
        net.run_until(Duration::from_secs(1 << 30), |n| {
            let now = n.now;
            while sent < TOTAL {
                let k = chunk.len().min(TOTAL - sent);
                match n.hosts[0].send(c, &chunk[..k], now) {
                    Ok(k) => sent += k,
                    Err(Error::WouldBlock) => break,
                    Err(e) => panic!("send: {e}"),
                }
            }
            loop {
                match n.hosts[1].recv(s, 1 << 20, false, now) {
                    Ok(v) if !v.is_empty() => received += v.len(),
                    _ => break,
                }
            }
            received >= TOTAL
        });
        let wall = start.elapsed();
        assert_eq!(received, TOTAL, "transfer incomplete");
        let mib = TOTAL as f64 / (1 << 20) as f64;
        println!("{label}:");
        println!(
            "  moved {mib:.0} MiB in {:.3} s wall ({:.3} s virtual): {:.0} MiB/s per core, {} packets",
            wall.as_secs_f64(),
            (net.now - v0).as_secs_f64(),
            mib / wall.as_secs_f64(),
            net.stats.sent
        );
        println!("  idle established connection state (excluding buffers): {idle} bytes");
    }
}
