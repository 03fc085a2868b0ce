//! Send and receive buffers: a fixed-capacity byte ring, and the out-of-order bookkeeping that lets
//! segments beyond RCV.NXT be held for later (SHLD-31) straight in the receive ring.

/// A byte ring of fixed capacity. Storage is allocated on first use, so an idle or listening socket
/// costs no buffer memory.
#[derive(Debug, Clone, Default)]
pub struct Ring {
    buf: Vec<u8>,
    cap: usize,
    head: usize,
    len: usize,
}

impl Ring {
    /// An empty ring that will hold up to `cap` bytes.
    pub fn new(cap: usize) -> Ring {
        Ring {
            buf: Vec::new(),
            cap,
            head: 0,
            len: 0,
        }
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Room left for new bytes.
    pub fn free(&self) -> usize {
        self.cap - self.len
    }

    /// Changes the capacity, keeping the contents (truncated to the new capacity).
    pub fn set_capacity(&mut self, cap: usize) {
        if cap == self.cap {
            return;
        }
        let keep = self.len.min(cap);
        let mut data = Vec::with_capacity(keep);
        let [a, b] = self.slices(0, keep);
        data.extend_from_slice(a);
        data.extend_from_slice(b);
        *self = Ring::new(cap);
        if keep > 0 {
            self.push(&data);
        }
    }

    /// Heap bytes held (for memory accounting).
    pub fn heap_bytes(&self) -> usize {
        self.buf.capacity()
    }

    fn ensure_storage(&mut self) {
        if self.buf.len() != self.cap {
            self.buf = vec![0; self.cap];
        }
    }

    /// Copies as much of `data` as fits after the end of the contents without making it part of
    /// them, starting `offset` bytes past the end. Returns how many bytes were stored.
    pub fn write_at(&mut self, offset: usize, data: &[u8]) -> usize {
        if offset >= self.free() {
            return 0;
        }
        let n = data.len().min(self.free() - offset);
        if n == 0 {
            return 0;
        }
        self.ensure_storage();
        let start = (self.head + self.len + offset) % self.cap;
        let first = n.min(self.cap - start);
        self.buf[start..start + first].copy_from_slice(&data[..first]);
        self.buf[..n - first].copy_from_slice(&data[first..n]);
        n
    }

    /// Makes `n` bytes written by [`Ring::write_at`] part of the contents.
    pub fn commit(&mut self, n: usize) {
        self.len = (self.len + n).min(self.cap);
    }

    /// Appends as much of `data` as fits; returns how much did.
    pub fn push(&mut self, data: &[u8]) -> usize {
        let n = self.write_at(0, data);
        self.commit(n);
        n
    }

    /// The contents from `offset`, at most `n` bytes, as two slices (the second after wrap-around).
    pub fn slices(&self, offset: usize, n: usize) -> [&[u8]; 2] {
        if offset >= self.len || self.buf.is_empty() {
            return [&[], &[]];
        }
        let n = n.min(self.len - offset);
        let start = (self.head + offset) % self.cap;
        let first = n.min(self.cap - start);
        [&self.buf[start..start + first], &self.buf[..n - first]]
    }

    /// Drops the first `n` bytes of the contents.
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.len -= n;
        // The head moves even when the ring empties: out-of-order bytes may already sit past it.
        if self.cap > 0 {
            self.head = (self.head + n) % self.cap;
        }
    }

    /// Empties the ring and releases its storage (queues flushed on abort).
    pub fn clear(&mut self) {
        self.len = 0;
        self.head = 0;
        self.buf = Vec::new();
    }
}

/// Most disjoint out-of-order ranges held; a segment that would need more is dropped (and will be
/// retransmitted), which bounds this bookkeeping.
pub const MAX_RANGES: usize = 32;

/// Ranges of bytes received beyond RCV.NXT, as offsets from RCV.NXT, sorted and disjoint.
#[derive(Debug, Clone, Default)]
pub struct Assembler {
    ranges: Vec<(u32, u32)>,
}

impl Assembler {
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.ranges.capacity() * std::mem::size_of::<(u32, u32)>()
    }

    /// Records `[start, end)` as received. Returns false (and records nothing) when the range
    /// would need more than [`MAX_RANGES`] entries.
    pub fn add(&mut self, start: u32, end: u32) -> bool {
        if start >= end {
            return true;
        }
        let mut s = start;
        let mut e = end;
        let mut i = 0;
        // Merge every range that touches or overlaps [s, e).
        while i < self.ranges.len() {
            let (rs, re) = self.ranges[i];
            if re < s {
                i += 1;
            } else if rs > e {
                break;
            } else {
                s = s.min(rs);
                e = e.max(re);
                self.ranges.remove(i);
            }
        }
        if self.ranges.len() >= MAX_RANGES {
            // Still consistent: the merged ranges were contiguous with [s, e), which we now drop
            // only if nothing was merged; otherwise re-insert the union.
            if s == start && e == end {
                return false;
            }
        }
        self.ranges.insert(i, (s, e));
        true
    }

    /// End of the range that starts at offset 0, if any: bytes now contiguous with RCV.NXT.
    pub fn contiguous(&self) -> u32 {
        match self.ranges.first() {
            Some(&(0, end)) => end,
            _ => 0,
        }
    }

    /// RCV.NXT moved forward by `n`: rebase every range.
    pub fn advance(&mut self, n: u32) {
        self.ranges.retain_mut(|(s, e)| {
            *s = s.saturating_sub(n);
            *e = e.saturating_sub(n);
            *e > 0
        });
        if self.ranges.is_empty() {
            self.ranges = Vec::new();
        }
    }

    /// Forgets everything (queues flushed).
    pub fn clear(&mut self) {
        self.ranges = Vec::new();
    }

    /// Highest offset received.
    pub fn highest(&self) -> u32 {
        self.ranges.last().map_or(0, |r| r.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_wraps_and_reads_back_in_order() {
        let mut r = Ring::new(8);
        assert_eq!(r.push(b"abcdef"), 6);
        r.consume(4);
        assert_eq!(r.push(b"ghijklmn"), 6);
        assert_eq!(r.len(), 8);
        let [a, b] = r.slices(0, 8);
        assert_eq!([a, b].concat(), b"efghijkl");
        let [a, b] = r.slices(3, 2);
        assert_eq!([a, b].concat(), b"hi");
        assert_eq!(r.free(), 0);
        assert_eq!(r.push(b"x"), 0);
    }

    #[test]
    fn ring_out_of_order_writes_commit_later() {
        let mut r = Ring::new(10);
        assert_eq!(r.write_at(3, b"def"), 3);
        assert_eq!(r.len(), 0);
        assert_eq!(r.write_at(0, b"abc"), 3);
        r.commit(6);
        let [a, b] = r.slices(0, 10);
        assert_eq!([a, b].concat(), b"abcdef");
        assert_eq!(r.write_at(4, b"xyz"), 0);
        r.set_capacity(4);
        assert_eq!(r.len(), 4);
    }

    #[test]
    fn assembler_merges_and_reports_contiguous_prefix() {
        let mut a = Assembler::default();
        assert!(a.add(10, 20));
        assert!(a.add(30, 40));
        assert_eq!(a.contiguous(), 0);
        assert!(a.add(15, 32));
        assert_eq!(a.ranges, vec![(10, 40)]);
        assert!(a.add(0, 10));
        assert_eq!(a.contiguous(), 40);
        a.advance(40);
        assert!(a.is_empty());
    }

    #[test]
    fn assembler_is_bounded() {
        let mut a = Assembler::default();
        for i in 0..MAX_RANGES as u32 {
            assert!(a.add(i * 10 + 5, i * 10 + 6));
        }
        assert!(!a.add(1000, 1001));
        assert!(a.add(5, 7));
        assert_eq!(a.highest(), (MAX_RANGES as u32 - 1) * 10 + 6);
    }
}
