//! The link between tcpconf and smoltcp: a `phy::Device` that carries raw IP packets (`Medium::Ip`)
//! through two in-memory queues, so the harness is the only thing on the other end of the wire.

use std::collections::VecDeque;

use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Raw IP packets waiting to enter smoltcp, and those it sent.
#[derive(Debug)]
pub(super) struct PacketPipe {
    inbound: VecDeque<Vec<u8>>,
    outbound: VecDeque<Vec<u8>>,
    mtu: usize,
}

impl PacketPipe {
    pub(super) fn new(mtu: usize) -> Self {
        Self {
            inbound: VecDeque::new(),
            outbound: VecDeque::new(),
            mtu,
        }
    }

    /// Queues a packet for smoltcp's next poll.
    pub(super) fn push_inbound(&mut self, packet: Vec<u8>) {
        self.inbound.push_back(packet);
    }

    /// Everything smoltcp transmitted since the last call, in order.
    pub(super) fn drain_outbound(&mut self) -> impl Iterator<Item = Vec<u8>> + '_ {
        self.outbound.drain(..)
    }
}

impl phy::Device for PacketPipe {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _timestamp: Instant) -> Option<(Self::RxToken<'_>, Self::TxToken<'_>)> {
        let packet = self.inbound.pop_front()?;
        Some((
            RxToken { packet },
            TxToken {
                queue: &mut self.outbound,
            },
        ))
    }

    fn transmit(&mut self, _timestamp: Instant) -> Option<Self::TxToken<'_>> {
        Some(TxToken {
            queue: &mut self.outbound,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ip;
        caps.max_transmission_unit = self.mtu;
        // Checksums stay at their default (computed on transmit, verified on receive): a packet
        // with a bad checksum is dropped by smoltcp exactly as a kernel would drop it.
        caps
    }
}

/// One received packet, handed to smoltcp.
pub(super) struct RxToken {
    packet: Vec<u8>,
}

impl phy::RxToken for RxToken {
    fn consume<R, F>(self, f: F) -> R
    where
        F: FnOnce(&[u8]) -> R,
    {
        f(&self.packet)
    }
}

/// Room for one packet smoltcp sends.
pub(super) struct TxToken<'a> {
    queue: &'a mut VecDeque<Vec<u8>>,
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F>(self, len: usize, f: F) -> R
    where
        F: FnOnce(&mut [u8]) -> R,
    {
        let mut packet = vec![0; len];
        let result = f(&mut packet);
        self.queue.push_back(packet);
        result
    }
}
