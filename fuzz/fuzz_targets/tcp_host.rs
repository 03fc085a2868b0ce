//! `cargo fuzz run tcp_host` (with `RUSTC_BOOTSTRAP=1` on a stable toolchain): the reference TCP
//! host driven by arbitrary bytes — segments, socket calls and time steps from every connection
//! state (`tcpconf::tcp::stress`) — must never panic and must keep its invariants: SND.UNA ≤
//! SND.NXT, buffers within capacity, `poll_at` never in the past and moving on when polled,
//! bounded connections and memory, valid checksums, a right window edge that never moves left.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpconf::tcp::stress;

fuzz_target!(|data: &[u8]| {
    if let Err(broken) = stress::run(data) {
        panic!("{broken}");
    }
});
