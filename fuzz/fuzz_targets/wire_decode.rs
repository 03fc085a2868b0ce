//! `cargo +nightly fuzz run wire_decode`: the packet decoder on arbitrary bytes must never panic, and
//! whatever it reads must survive encoding and decoding again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tcpconf::wire::{decode, decode_full, encode};

fuzz_target!(|bytes: &[u8]| {
    let _ = decode_full(bytes);
    if let Ok(packet) = decode(bytes)
        && let Ok(again) = encode(&packet)
    {
        assert_eq!(decode(&again), Ok(packet));
    }
});
