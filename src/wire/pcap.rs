//! Classic pcap capture files of raw IP packets, readable by tcpdump and Wireshark.
//!
//! The format (libpcap's original, see pcap-savefile(5)): a 24-byte file header, then per packet a
//! 16-byte record header and the bytes. Link type 101 (`LINKTYPE_RAW`) means each packet starts with
//! its IPv4 or IPv6 header, which is what stacks under test exchange with tcpconf.

use std::io::{self, Write};
use std::time::Duration;

/// pcap magic for microsecond timestamps, written in native byte order as readers expect.
const MAGIC_MICROS: u32 = 0xA1B2_C3D4;
const LINKTYPE_RAW: u32 = 101;
/// Longest packet a record may hold; IP packets never exceed it.
const SNAPLEN: u32 = 65535;

/// Writes a pcap stream to `W`.
#[derive(Debug)]
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header.
    pub fn new(mut out: W) -> io::Result<PcapWriter<W>> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&MAGIC_MICROS.to_ne_bytes());
        header.extend_from_slice(&2u16.to_ne_bytes()); // version 2.4
        header.extend_from_slice(&4u16.to_ne_bytes());
        header.extend_from_slice(&0i32.to_ne_bytes()); // timezone offset: UTC
        header.extend_from_slice(&0u32.to_ne_bytes()); // timestamp accuracy: unused
        header.extend_from_slice(&SNAPLEN.to_ne_bytes());
        header.extend_from_slice(&LINKTYPE_RAW.to_ne_bytes());
        out.write_all(&header)?;
        Ok(PcapWriter { out })
    }

    /// Appends one packet stamped `at` (time since the epoch the caller chose, e.g. run start).
    /// Packets longer than 65535 bytes are cut, as a capture with that snap length would.
    pub fn write_packet(&mut self, at: Duration, packet: &[u8]) -> io::Result<()> {
        let seconds = u32::try_from(at.as_secs()).unwrap_or(u32::MAX);
        let original = u32::try_from(packet.len()).unwrap_or(u32::MAX);
        let kept = packet.get(..SNAPLEN as usize).unwrap_or(packet);
        let mut record = Vec::with_capacity(16);
        record.extend_from_slice(&seconds.to_ne_bytes());
        record.extend_from_slice(&at.subsec_micros().to_ne_bytes());
        record.extend_from_slice(&original.min(SNAPLEN).to_ne_bytes());
        record.extend_from_slice(&original.to_ne_bytes());
        self.out.write_all(&record)?;
        self.out.write_all(kept)
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader written from the format description, to check the writer against.
    fn read(bytes: &[u8]) -> (u32, Vec<(Duration, Vec<u8>)>) {
        let u32_at = |i: usize| u32::from_ne_bytes(bytes[i..i + 4].try_into().unwrap());
        assert_eq!(u32_at(0), 0xA1B2_C3D4);
        assert_eq!(
            &bytes[4..8],
            [2u16.to_ne_bytes(), 4u16.to_ne_bytes()].concat()
        );
        assert_eq!(u32_at(16), 65535);
        let mut packets = Vec::new();
        let mut at = 24;
        while at < bytes.len() {
            let ts = Duration::new(u64::from(u32_at(at)), u32_at(at + 4) * 1000);
            let (caplen, len) = (u32_at(at + 8) as usize, u32_at(at + 12) as usize);
            assert_eq!(caplen, len.min(65535));
            packets.push((ts, bytes[at + 16..at + 16 + caplen].to_vec()));
            at += 16 + caplen;
        }
        (u32_at(20), packets)
    }

    #[test]
    fn reads_back_what_it_wrote() {
        let written = vec![
            (Duration::from_micros(0), vec![0x45; 40]),
            (Duration::new(3, 123_456_789), vec![0x60; 61]),
            (Duration::from_secs(240), vec![]),
        ];
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        for (at, p) in &written {
            w.write_packet(*at, p).unwrap();
        }
        let (linktype, packets) = read(&w.into_inner().unwrap());
        assert_eq!(linktype, 101);
        // Timestamps keep microseconds.
        let expected: Vec<_> = written
            .into_iter()
            .map(|(at, p)| (Duration::from_micros(at.as_micros() as u64), p))
            .collect();
        assert_eq!(packets, expected);
    }
}
