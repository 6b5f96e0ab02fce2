//! The list type, laid out like Redis 7.0's quicklist: a deque of nodes, each
//! node one contiguous byte buffer of packed entries (a listpack-like run).
//!
//! Redis 7.0 reports every list as `quicklist` (t_list.c only ever creates
//! quicklist objects; the `listpack` encoding for small lists came in 7.2),
//! so `encoding()` says `quicklist` whatever the size. How many entries a
//! node takes follows `list-max-listpack-size` (the list's `fill`, fixed when
//! the list is created, as quicklistSetOptions does): positive = at most that
//! many entries and at most 8 KiB (SIZE_SAFETY_LIMIT), -1..-5 = at most
//! 4/8/16/32/64 KiB; an element of 1 GiB or more gets a node of its own.
//!
//! Entry layout inside a node buffer (forward: header, payload; then the
//! entry's size written so it can be read backwards, as listpack's backlen):
//!
//! ```text
//! 0xxxxxxx                       integer 0..=127
//! 10llllll data                  string, length 0..=63
//! 110xxxxx xxxxxxxx              integer -4096..=4095 (13-bit two's complement, big end first)
//! 1110llll llllllll data         string, length 64..=4095 (12 bits, big end first)
//! 11110000 l0 l1 l2 l3 data      string, u32 length (little endian)
//! 11110001 i16 | 11110010 i24 | 11110011 i32 | 11110100 i64   integers, little endian
//! 11110101 l0..l7 data           string, u64 length (little endian)
//! then backlen: the size of header+payload in 7-bit groups, most significant
//! first; every byte but the first has bit 7 set, so reading from the end
//! stops at the byte with bit 7 clear.
//! ```
//!
//! An element is stored as an integer only when it is the canonical decimal
//! form of an i64 (`string2ll` accepts it), so it reads back byte for byte.
//!
//! Costs: pushes and pops at either end touch one node (a memmove inside it at
//! the head, like listpack); an index walks nodes by their counts (O(nodes))
//! and then entries inside one node.

use super::digest::{mix_digest, Sum};
use std::collections::VecDeque;

/// Redis's optimization_level: node byte limits for fill -1..-5.
const SIZE_LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// SIZE_SAFETY_LIMIT: a count-limited node stays under this many bytes.
const SIZE_SAFETY_LIMIT: usize = 8192;
/// SIZE_ESTIMATE_OVERHEAD: what an insert is assumed to add besides the data.
const SIZE_ESTIMATE_OVERHEAD: usize = 8;
/// packed_threshold: elements this large live alone in a ("plain") node.
const LARGE_ELEMENT: usize = 1 << 30;
/// A listpack's header and end byte, counted in a node's size like lpBytes.
const NODE_OVERHEAD: usize = 7;
/// quicklist's FILL_MAX.
const FILL_MAX: i64 = (1 << 15) - 1;
/// Redis's default list-max-listpack-size.
pub const DEFAULT_FILL: i16 = -2;

/// One element as stored: a string or a packed integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl Elem<'_> {
    /// Calls `f` with the element's bytes (integers formatted in decimal).
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match *self {
            Elem::Str(s) => f(s),
            Elem::Int(i) => {
                let mut b = itoa::Buffer::new();
                f(b.format(i).as_bytes())
            }
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with_bytes(|b| b.to_vec())
    }

    /// Bytes the element has when read back.
    pub fn byte_len(&self) -> usize {
        match *self {
            Elem::Str(s) => s.len(),
            Elem::Int(i) => itoa::Buffer::new().format(i).len(),
        }
    }
}

/// An element to compare entries with (LREM, LPOS, LINSERT's pivot), with
/// its integer form worked out once.
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Needle<'a> {
        Needle {
            bytes,
            int: as_int(bytes),
        }
    }

    pub fn matches(&self, e: Elem<'_>) -> bool {
        match e {
            Elem::Str(s) => s == self.bytes,
            Elem::Int(i) => self.int == Some(i),
        }
    }
}

/// The integer an element is stored as, when it has a canonical i64 form.
fn as_int(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    super::value::parse_i64(b)
}

/// An entry encoded, ready to be copied into a node: header (with an
/// integer's bytes), the string's bytes, and the backlen.
struct Enc<'a> {
    head: [u8; 9],
    hlen: u8,
    payload: &'a [u8],
    back: [u8; 10],
    blen: u8,
}

impl<'a> Enc<'a> {
    fn new(b: &'a [u8]) -> Enc<'a> {
        let mut head = [0u8; 9];
        let (hlen, payload): (usize, &[u8]) = match as_int(b) {
            Some(v) => (encode_int(v, &mut head), &[]),
            None => (encode_str_head(b.len(), &mut head), b),
        };
        let mut e = Enc {
            head,
            hlen: hlen as u8,
            payload,
            back: [0; 10],
            blen: 0,
        };
        e.blen = encode_backlen(hlen + payload.len(), &mut e.back) as u8;
        e
    }

    fn size(&self) -> usize {
        self.hlen as usize + self.payload.len() + self.blen as usize
    }

    /// Writes the entry into `out`, which is exactly `size()` bytes.
    fn write_to(&self, out: &mut [u8]) {
        let h = self.hlen as usize;
        let p = self.payload.len();
        out[..h].copy_from_slice(&self.head[..h]);
        out[h..h + p].copy_from_slice(self.payload);
        out[h + p..].copy_from_slice(&self.back[..self.blen as usize]);
    }

    fn append_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head[..self.hlen as usize]);
        out.extend_from_slice(self.payload);
        out.extend_from_slice(&self.back[..self.blen as usize]);
    }
}

fn encode_int(v: i64, h: &mut [u8; 9]) -> usize {
    if (0..=127).contains(&v) {
        h[0] = v as u8;
        1
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u16) & 0x1fff;
        h[0] = 0xc0 | (u >> 8) as u8;
        h[1] = u as u8;
        2
    } else if let Ok(x) = i16::try_from(v) {
        h[0] = 0xf1;
        h[1..3].copy_from_slice(&x.to_le_bytes());
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        h[0] = 0xf2;
        h[1..4].copy_from_slice(&(v as i32).to_le_bytes()[..3]);
        4
    } else if let Ok(x) = i32::try_from(v) {
        h[0] = 0xf3;
        h[1..5].copy_from_slice(&x.to_le_bytes());
        5
    } else {
        h[0] = 0xf4;
        h[1..9].copy_from_slice(&v.to_le_bytes());
        9
    }
}

fn encode_str_head(len: usize, h: &mut [u8; 9]) -> usize {
    if len <= 63 {
        h[0] = 0x80 | len as u8;
        1
    } else if len <= 4095 {
        h[0] = 0xe0 | (len >> 8) as u8;
        h[1] = len as u8;
        2
    } else if let Ok(l) = u32::try_from(len) {
        h[0] = 0xf0;
        h[1..5].copy_from_slice(&l.to_le_bytes());
        5
    } else {
        h[0] = 0xf5;
        h[1..9].copy_from_slice(&(len as u64).to_le_bytes());
        9
    }
}

/// Writes `l` as a backlen (see the module comment); returns its size.
fn encode_backlen(l: usize, out: &mut [u8; 10]) -> usize {
    let mut groups = [0u8; 10];
    let mut n = 0;
    let mut v = l as u64;
    loop {
        groups[n] = (v & 127) as u8;
        n += 1;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    // Most significant group first; all but the first byte flagged.
    for i in 0..n {
        let g = groups[n - 1 - i];
        out[i] = if i == 0 { g } else { g | 0x80 };
    }
    n
}

/// Decodes the entry starting at `off`: the element and the offset of the
/// next entry. The buffer is ours (written by `Enc`), so its layout holds.
fn decode_at(buf: &[u8], off: usize) -> (Elem<'_>, usize) {
    let b0 = buf[off];
    let (elem, body) = match b0 {
        0x00..=0x7f => (Elem::Int(b0 as i64), 1),
        0x80..=0xbf => {
            let l = (b0 & 0x3f) as usize;
            (Elem::Str(&buf[off + 1..off + 1 + l]), 1 + l)
        }
        0xc0..=0xdf => {
            let u = (((b0 & 0x1f) as u16) << 8) | buf[off + 1] as u16;
            // Sign-extend 13 bits.
            let v = ((u << 3) as i16) >> 3;
            (Elem::Int(v as i64), 2)
        }
        0xe0..=0xef => {
            let l = (((b0 & 0x0f) as usize) << 8) | buf[off + 1] as usize;
            (Elem::Str(&buf[off + 2..off + 2 + l]), 2 + l)
        }
        0xf0 => {
            let mut l4 = [0u8; 4];
            l4.copy_from_slice(&buf[off + 1..off + 5]);
            let l = u32::from_le_bytes(l4) as usize;
            (Elem::Str(&buf[off + 5..off + 5 + l]), 5 + l)
        }
        0xf1 => {
            let v = i16::from_le_bytes([buf[off + 1], buf[off + 2]]);
            (Elem::Int(v as i64), 3)
        }
        0xf2 => {
            let v = i32::from_le_bytes([0, buf[off + 1], buf[off + 2], buf[off + 3]]) >> 8;
            (Elem::Int(v as i64), 4)
        }
        0xf3 => {
            let mut x = [0u8; 4];
            x.copy_from_slice(&buf[off + 1..off + 5]);
            (Elem::Int(i32::from_le_bytes(x) as i64), 5)
        }
        0xf4 => {
            let mut x = [0u8; 8];
            x.copy_from_slice(&buf[off + 1..off + 9]);
            (Elem::Int(i64::from_le_bytes(x)), 9)
        }
        _ => {
            let mut x = [0u8; 8];
            x.copy_from_slice(&buf[off + 1..off + 9]);
            let l = u64::from_le_bytes(x) as usize;
            (Elem::Str(&buf[off + 9..off + 9 + l]), 9 + l)
        }
    };
    (elem, off + body + backlen_size(body))
}

fn backlen_size(l: usize) -> usize {
    let bits = usize::BITS - l.leading_zeros();
    (bits as usize).div_ceil(7).max(1)
}

/// The start of the entry that ends at `end`.
fn prev_start(buf: &[u8], end: usize) -> usize {
    let mut p = end - 1;
    let mut b = buf[p];
    let mut v = (b & 127) as usize;
    let mut shift = 7;
    while b & 0x80 != 0 {
        p -= 1;
        b = buf[p];
        v |= ((b & 127) as usize) << shift;
        shift += 7;
    }
    p - v
}

/// Grows `buf` for `add` more bytes: by a quarter of its size, so pushes do
/// not reallocate every time, but never past `limit` (the most a node may
/// hold) unless the entry needs it, so a full node wastes little.
fn reserve(buf: &mut Vec<u8>, add: usize, limit: usize) {
    if buf.capacity() - buf.len() >= add {
        return;
    }
    let len = buf.len();
    let step = (len / 4).max(16);
    let want = (len + add).max((len + step).min(limit));
    buf.reserve_exact(want - len);
}

#[derive(Clone, Debug, Default)]
struct Node {
    buf: Vec<u8>,
    count: u32,
}

impl Node {
    /// The node's size as Redis counts a listpack (lpBytes).
    fn sz(&self) -> usize {
        self.buf.len() + NODE_OVERHEAD
    }

    fn is_plain(&self) -> bool {
        self.buf.len() >= LARGE_ELEMENT
    }

    /// Byte offset of the `i`th entry (`i == count`: the end), walking from
    /// the nearer end.
    fn offset_of(&self, i: usize) -> usize {
        let count = self.count as usize;
        if i <= count / 2 {
            let mut off = 0;
            for _ in 0..i {
                off = decode_at(&self.buf, off).1;
            }
            off
        } else {
            let mut off = self.buf.len();
            for _ in i..count {
                off = prev_start(&self.buf, off);
            }
            off
        }
    }

    /// Inserts `e` at byte offset `off`; `limit` bounds the buffer's growth.
    fn insert_at(&mut self, off: usize, e: &Enc, limit: usize) {
        let n = e.size();
        reserve(&mut self.buf, n, limit);
        if off == self.buf.len() {
            e.append_to(&mut self.buf);
        } else {
            let old = self.buf.len();
            self.buf.resize(old + n, 0);
            self.buf.copy_within(off..old, off + n);
            e.write_to(&mut self.buf[off..off + n]);
        }
        self.count += 1;
    }

    /// Removes entries `[from, to)` (byte offsets), `n` of them.
    fn remove_bytes(&mut self, from: usize, to: usize, n: usize) {
        self.buf.drain(from..to);
        self.count -= n as u32;
        self.shrink();
    }

    /// Gives memory back once a node holds far less than it has room for.
    fn shrink(&mut self) {
        if self.buf.capacity() > 64 && self.buf.len() < self.buf.capacity() / 2 {
            self.buf.shrink_to(self.buf.len() + self.buf.len() / 4);
        }
    }

    /// Splits off the entries from `i` on into a new node.
    fn split_off(&mut self, i: usize) -> Node {
        let off = self.offset_of(i);
        let tail = self.buf[off..].to_vec();
        self.buf.truncate(off);
        self.shrink();
        let n = self.count - i as u32;
        self.count = i as u32;
        Node {
            buf: tail,
            count: n,
        }
    }
}

/// A list; see the module comment for the layout.
#[derive(Clone, Debug)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    fill: i16,
}

impl Default for List {
    fn default() -> Self {
        List::new(DEFAULT_FILL as i64)
    }
}

/// Lists are equal when they hold the same elements, however the nodes split them.
impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

/// Which end of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

impl List {
    /// An empty list whose nodes follow `fill` (list-max-listpack-size),
    /// clamped as quicklistSetFill does.
    pub fn new(fill: i64) -> List {
        List {
            nodes: VecDeque::new(),
            len: 0,
            fill: fill.clamp(-5, FILL_MAX) as i16,
        }
    }

    /// A list of `elems` in order (RDB loading, tests).
    pub fn from_elems<I, T>(fill: i64, elems: I) -> List
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        let mut l = List::new(fill);
        for e in elems {
            l.push_back(e.as_ref());
        }
        l
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The node fill this list was created with.
    pub fn fill(&self) -> i64 {
        self.fill as i64
    }

    /// Number of nodes (quicklist nodes).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// How many elements each node holds, head to tail (RDB writes a list
    /// node by node, as Redis's quicklist does).
    pub fn node_lens(&self) -> impl Iterator<Item = usize> + '_ {
        self.nodes.iter().map(|n| n.count as usize)
    }

    /// OBJECT ENCODING's name: always `quicklist` in Redis 7.0.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Heap bytes owned (node table and node buffers).
    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
    }

    /// DEBUG DIGEST contents, as Redis's xorObjectDigest: every element from
    /// the head mixed in as a string.
    pub fn digest(&self, d: &mut Sum) {
        for e in self.iter() {
            e.with_bytes(|b| mix_digest(d, b));
        }
    }

    /// Elements from head to tail (reversible).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            nodes: &self.nodes,
            fnode: 0,
            foff: 0,
            bnode: self.nodes.len(),
            boff: 0,
            left: self.len,
        }
    }

    /// Elements with indexes `from..=to` (both within the list), from head to tail.
    /// Reversed, it runs from `to` down to `from`.
    pub fn range(&self, from: usize, to: usize) -> Iter<'_> {
        if from > to || to >= self.len {
            return Iter {
                nodes: &self.nodes,
                fnode: 0,
                foff: 0,
                bnode: 0,
                boff: 0,
                left: 0,
            };
        }
        let (fnode, fi) = self.locate(from);
        let (bnode, bi) = self.locate(to);
        let foff = self.nodes[fnode].offset_of(fi);
        let boff = self.nodes[bnode].offset_of(bi + 1);
        Iter {
            nodes: &self.nodes,
            fnode,
            foff,
            bnode,
            boff,
            left: to - from + 1,
        }
    }

    /// The node holding element `i` (< len) and its index in that node,
    /// walking from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut acc = 0;
            for (n, node) in self.nodes.iter().enumerate() {
                let c = node.count as usize;
                if i < acc + c {
                    return (n, i - acc);
                }
                acc += c;
            }
        } else {
            let mut acc = self.len;
            for (n, node) in self.nodes.iter().enumerate().rev() {
                let c = node.count as usize;
                acc -= c;
                if i >= acc {
                    return (n, i - acc);
                }
            }
        }
        // Unreachable for i < len; a harmless answer otherwise.
        (self.nodes.len().saturating_sub(1), 0)
    }

    /// A Redis index (negative counts from the tail) as a position.
    pub fn index(&self, i: i64) -> Option<usize> {
        let len = self.len as i64;
        let i = if i < 0 { i.checked_add(len)? } else { i };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at `i` (< len).
    pub fn get(&self, i: usize) -> Option<Elem<'_>> {
        if i >= self.len {
            return None;
        }
        let (n, k) = self.locate(i);
        let node = &self.nodes[n];
        Some(decode_at(&node.buf, node.offset_of(k)).0)
    }

    fn fill_allows(&self, new_sz: usize, count: usize) -> bool {
        if self.fill < 0 {
            let level = (-(self.fill as i64) - 1) as usize;
            if new_sz <= SIZE_LEVELS[level.min(SIZE_LEVELS.len() - 1)] {
                return true;
            }
        }
        new_sz <= SIZE_SAFETY_LIMIT && (count as i64) <= self.fill as i64
    }

    /// The most bytes a node's buffer holds under this fill.
    fn node_limit(&self) -> usize {
        let max = if self.fill < 0 {
            let level = (-(self.fill as i64) - 1) as usize;
            SIZE_LEVELS[level.min(SIZE_LEVELS.len() - 1)]
        } else {
            SIZE_SAFETY_LIMIT
        };
        max - NODE_OVERHEAD
    }

    /// _quicklistNodeAllowInsert: may `node` take an element of `sz` bytes?
    fn allow_insert(&self, node: &Node, sz: usize) -> bool {
        if node.is_plain() || sz >= LARGE_ELEMENT {
            return false;
        }
        self.fill_allows(
            node.sz() + sz + SIZE_ESTIMATE_OVERHEAD,
            node.count as usize + 1,
        )
    }

    /// _quicklistNodeAllowMerge.
    fn allow_merge(&self, a: &Node, b: &Node) -> bool {
        if a.is_plain() || b.is_plain() {
            return false;
        }
        self.fill_allows(
            a.sz() + b.sz() - NODE_OVERHEAD,
            (a.count + b.count) as usize,
        )
    }

    fn new_node(e: &Enc) -> Node {
        let mut buf = Vec::with_capacity(e.size());
        e.append_to(&mut buf);
        Node { buf, count: 1 }
    }

    fn add_node(&mut self, at: usize, node: Node) {
        if self.nodes.capacity() == 0 {
            self.nodes.reserve_exact(1);
        }
        self.nodes.insert(at, node);
    }

    pub fn push(&mut self, end: End, b: &[u8]) {
        match end {
            End::Head => self.push_front(b),
            End::Tail => self.push_back(b),
        }
    }

    pub fn push_front(&mut self, b: &[u8]) {
        let e = Enc::new(b);
        let limit = self.node_limit();
        match self.nodes.front() {
            Some(n) if self.allow_insert(n, b.len()) => {
                if let Some(n) = self.nodes.front_mut() {
                    n.insert_at(0, &e, limit);
                }
            }
            _ => self.add_node(0, Self::new_node(&e)),
        }
        self.len += 1;
    }

    pub fn push_back(&mut self, b: &[u8]) {
        let e = Enc::new(b);
        let limit = self.node_limit();
        match self.nodes.back() {
            Some(n) if self.allow_insert(n, b.len()) => {
                if let Some(n) = self.nodes.back_mut() {
                    let end = n.buf.len();
                    n.insert_at(end, &e, limit);
                }
            }
            _ => {
                let at = self.nodes.len();
                self.add_node(at, Self::new_node(&e))
            }
        }
        self.len += 1;
    }

    /// Removes the element at `end` and hands it to `f`.
    pub fn pop_with<R>(&mut self, end: End, f: impl FnOnce(Elem<'_>) -> R) -> Option<R> {
        let ni = match end {
            End::Head => 0,
            End::Tail => self.nodes.len().checked_sub(1)?,
        };
        let node = self.nodes.get_mut(ni)?;
        let (from, to) = match end {
            End::Head => (0, decode_at(&node.buf, 0).1),
            End::Tail => (prev_start(&node.buf, node.buf.len()), node.buf.len()),
        };
        let r = f(decode_at(&node.buf, from).0);
        if node.count == 1 {
            self.nodes.remove(ni);
        } else {
            node.remove_bytes(from, to, 1);
        }
        self.len -= 1;
        Some(r)
    }

    /// Removes and returns the element at `end`.
    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        self.pop_with(end, |e| e.to_vec())
    }

    /// Removes `n` elements from the head (all when `n >= len`).
    pub fn trim_front(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(node) = self.nodes.front_mut() else {
                break;
            };
            let c = node.count as usize;
            if n >= c {
                self.nodes.pop_front();
                n -= c;
            } else {
                let off = node.offset_of(n);
                node.remove_bytes(0, off, n);
                n = 0;
            }
        }
        self.shrink_nodes();
    }

    /// Removes `n` elements from the tail (all when `n >= len`).
    pub fn trim_back(&mut self, mut n: usize) {
        n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            let Some(node) = self.nodes.back_mut() else {
                break;
            };
            let c = node.count as usize;
            if n >= c {
                self.nodes.pop_back();
                n -= c;
            } else {
                let off = node.offset_of(c - n);
                let end = node.buf.len();
                node.remove_bytes(off, end, n);
                n = 0;
            }
        }
        self.shrink_nodes();
    }

    fn shrink_nodes(&mut self) {
        if self.nodes.capacity() > 8 && self.nodes.len() < self.nodes.capacity() / 4 {
            self.nodes.shrink_to(self.nodes.len() * 2);
        }
    }

    /// Inserts `b` so that it gets index `i` (0..=len).
    pub fn insert(&mut self, i: usize, b: &[u8]) {
        if i == 0 {
            return self.push_front(b);
        }
        if i >= self.len {
            return self.push_back(b);
        }
        let (ni, k) = self.locate(i);
        self.insert_in_node(ni, k, &Enc::new(b), b.len());
        self.len += 1;
    }

    /// Inserts an entry before the `k`th entry of node `ni` (`k` < count).
    fn insert_in_node(&mut self, ni: usize, k: usize, e: &Enc, sz: usize) {
        let limit = self.node_limit();
        if self.allow_insert(&self.nodes[ni], sz) {
            let node = &mut self.nodes[ni];
            let off = node.offset_of(k);
            node.insert_at(off, e, limit);
            return;
        }
        if k == 0 {
            // At the boundary: the previous node's tail may have room.
            if ni > 0 && self.allow_insert(&self.nodes[ni - 1], sz) {
                let prev = &mut self.nodes[ni - 1];
                let end = prev.buf.len();
                prev.insert_at(end, e, limit);
            } else {
                self.add_node(ni, Self::new_node(e));
                self.merge_around(ni);
            }
            return;
        }
        // Full in the middle: split, then put the entry on whichever side takes it.
        let right = self.nodes[ni].split_off(k);
        self.add_node(ni + 1, right);
        if self.allow_insert(&self.nodes[ni], sz) {
            let left = &mut self.nodes[ni];
            let end = left.buf.len();
            left.insert_at(end, e, limit);
        } else if self.allow_insert(&self.nodes[ni + 1], sz) {
            self.nodes[ni + 1].insert_at(0, e, limit);
        } else {
            self.add_node(ni + 1, Self::new_node(e));
        }
        self.merge_around(ni);
    }

    /// Merges node `i` with its neighbours where the fill allows.
    fn merge_around(&mut self, i: usize) {
        let hi = (i + 2).min(self.nodes.len().saturating_sub(1));
        let lo = i.saturating_sub(1);
        let mut j = hi;
        while j > lo {
            self.try_merge(j - 1);
            j -= 1;
        }
    }

    /// Merges nodes `i` and `i + 1` when the fill allows it.
    fn try_merge(&mut self, i: usize) -> bool {
        if i + 1 >= self.nodes.len() || !self.allow_merge(&self.nodes[i], &self.nodes[i + 1]) {
            return false;
        }
        let Some(b) = self.nodes.remove(i + 1) else {
            return false;
        };
        let a = &mut self.nodes[i];
        a.buf.reserve_exact(b.buf.len());
        a.buf.extend_from_slice(&b.buf);
        a.count += b.count;
        true
    }

    /// Replaces the element at `i` (< len) with `b`.
    pub fn set(&mut self, i: usize, b: &[u8]) -> bool {
        if i >= self.len {
            return false;
        }
        let (ni, k) = self.locate(i);
        let e = Enc::new(b);
        let limit = self.node_limit();
        let node = &self.nodes[ni];
        let from = node.offset_of(k);
        let to = decode_at(&node.buf, from).1;
        let new_sz = node.sz() - (to - from) + e.size();
        let in_place = node.count == 1
            || (!node.is_plain()
                && b.len() < LARGE_ELEMENT
                && self.fill_allows(new_sz, node.count as usize));
        if in_place {
            let node = &mut self.nodes[ni];
            let n = e.size();
            if n == to - from {
                e.write_to(&mut node.buf[from..to]);
            } else {
                node.buf.drain(from..to);
                node.count -= 1;
                node.insert_at(from, &e, limit);
                node.shrink();
            }
        } else {
            // Too big for its node now: take the old entry out and insert
            // the new one at its place (splitting the node if need be).
            self.nodes[ni].remove_bytes(from, to, 1);
            if k < self.nodes[ni].count as usize {
                self.insert_in_node(ni, k, &e, b.len());
            } else if ni + 1 < self.nodes.len() {
                self.insert_in_node(ni + 1, 0, &e, b.len());
            } else if self.allow_insert(&self.nodes[ni], b.len()) {
                let node = &mut self.nodes[ni];
                let end = node.buf.len();
                node.insert_at(end, &e, limit);
            } else {
                self.add_node(ni + 1, Self::new_node(&e));
            }
        }
        true
    }

    /// Removes up to `limit` elements equal to `needle` (0 = all), scanning
    /// from the head or, with `from_tail`, from the tail. Returns how many.
    pub fn remove_matching(&mut self, needle: &Needle, limit: usize, from_tail: bool) -> usize {
        let mut removed = 0;
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        let order: Vec<usize> = if from_tail {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        let mut touched = false;
        for ni in order {
            if limit != 0 && removed >= limit {
                break;
            }
            ranges.clear();
            let node = &self.nodes[ni];
            if from_tail {
                let mut end = node.buf.len();
                while end > 0 && (limit == 0 || removed + ranges.len() < limit) {
                    let start = prev_start(&node.buf, end);
                    if needle.matches(decode_at(&node.buf, start).0) {
                        ranges.push((start, end));
                    }
                    end = start;
                }
                ranges.reverse();
            } else {
                let mut off = 0;
                while off < node.buf.len() && (limit == 0 || removed + ranges.len() < limit) {
                    let (e, next) = decode_at(&node.buf, off);
                    if needle.matches(e) {
                        ranges.push((off, next));
                    }
                    off = next;
                }
            }
            if ranges.is_empty() {
                continue;
            }
            touched = true;
            removed += ranges.len();
            let node = &mut self.nodes[ni];
            // Compact in place: copy the kept runs over the removed entries.
            let mut w = ranges[0].0;
            for (j, &(_, end)) in ranges.iter().enumerate() {
                let next = ranges.get(j + 1).map_or(node.buf.len(), |r| r.0);
                node.buf.copy_within(end..next, w);
                w += next - end;
            }
            node.buf.truncate(w);
            node.count -= ranges.len() as u32;
            node.shrink();
        }
        if touched {
            self.len -= removed;
            self.nodes.retain(|n| n.count > 0);
            // Nodes thinned out by the removal join up again where they fit.
            let mut i = 0;
            while i + 1 < self.nodes.len() {
                if !self.try_merge(i) {
                    i += 1;
                }
            }
            self.shrink_nodes();
        }
        removed
    }
}

/// Elements in order; `rev()` walks from the tail.
#[derive(Clone)]
pub struct Iter<'a> {
    nodes: &'a VecDeque<Node>,
    /// Front position: node index and byte offset of the next entry.
    fnode: usize,
    foff: usize,
    /// Back position: node index (`nodes.len()` before the first step back)
    /// and the end offset of the next entry back (0: go to the previous node).
    bnode: usize,
    boff: usize,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Elem<'a>;

    fn next(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        loop {
            let node = self.nodes.get(self.fnode)?;
            if self.foff >= node.buf.len() {
                self.fnode += 1;
                self.foff = 0;
                continue;
            }
            let (e, next) = decode_at(&node.buf, self.foff);
            self.foff = next;
            self.left -= 1;
            return Some(e);
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<Elem<'a>> {
        if self.left == 0 {
            return None;
        }
        loop {
            if self.boff == 0 {
                self.bnode = self.bnode.checked_sub(1)?;
                self.boff = self.nodes.get(self.bnode)?.buf.len();
                continue;
            }
            let node = self.nodes.get(self.bnode)?;
            let start = prev_start(&node.buf, self.boff);
            self.boff = start;
            self.left -= 1;
            return Some(decode_at(&node.buf, start).0);
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::digest::hex;

    fn elems(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(|e| e.to_vec()).collect()
    }

    /// Structural invariants: counts add up, no empty node, every node
    /// decodes to its count both ways.
    fn check(l: &List) {
        let mut total = 0;
        for n in &l.nodes {
            assert!(n.count > 0, "empty node");
            let mut off = 0;
            let mut c = 0;
            while off < n.buf.len() {
                off = decode_at(&n.buf, off).1;
                c += 1;
            }
            assert_eq!(off, n.buf.len());
            assert_eq!(c, n.count);
            let mut end = n.buf.len();
            let mut c = 0;
            while end > 0 {
                end = prev_start(&n.buf, end);
                c += 1;
            }
            assert_eq!(c, n.count);
            total += n.count as usize;
        }
        assert_eq!(total, l.len);
        assert_eq!(l.iter().count(), l.len);
        assert_eq!(l.iter().rev().count(), l.len);
    }

    #[test]
    fn entry_round_trip() {
        let big = vec![b'x'; 70000];
        let mid = vec![b'y'; 300];
        let cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"0".to_vec(),
            b"127".to_vec(),
            b"128".to_vec(),
            b"-1".to_vec(),
            b"-4096".to_vec(),
            b"4095".to_vec(),
            b"4096".to_vec(),
            b"-4097".to_vec(),
            b"32767".to_vec(),
            b"-32768".to_vec(),
            b"32768".to_vec(),
            b"8388607".to_vec(),
            b"-8388608".to_vec(),
            b"8388608".to_vec(),
            b"2147483647".to_vec(),
            b"-2147483648".to_vec(),
            b"2147483648".to_vec(),
            b"9223372036854775807".to_vec(),
            b"-9223372036854775808".to_vec(),
            b"9223372036854775808".to_vec(),
            b"007".to_vec(),
            b"-0".to_vec(),
            b"+1".to_vec(),
            b"1.5".to_vec(),
            b"hello".to_vec(),
            vec![b'z'; 63],
            vec![b'z'; 64],
            vec![b'z'; 4095],
            vec![b'z'; 4096],
            mid,
            big,
            vec![0, 0xff, 0x80, 0xf5],
        ];
        let l = List::from_elems(-2, &cases);
        check(&l);
        assert_eq!(elems(&l), cases);
        let mut back: Vec<Vec<u8>> = l.iter().rev().map(|e| e.to_vec()).collect();
        back.reverse();
        assert_eq!(back, cases);
        for (i, c) in cases.iter().enumerate() {
            assert_eq!(l.get(i).map(|e| e.to_vec()).as_ref(), Some(c));
            assert!(Needle::new(c).matches(l.get(i).unwrap()));
        }
        assert!(!Needle::new(b"1").matches(Elem::Str(b"01")));
        assert!(Needle::new(b"12").matches(Elem::Int(12)));
        assert!(!Needle::new(b"012").matches(Elem::Int(12)));
    }

    #[test]
    fn backlen_sizes() {
        for l in [0usize, 1, 127, 128, 16383, 16384, 1 << 21, (1 << 28) + 5] {
            let mut b = [0u8; 10];
            let n = encode_backlen(l, &mut b);
            assert_eq!(n, backlen_size(l), "{l}");
            let mut buf = vec![0u8; l.min(64)];
            buf.extend_from_slice(&b[..n]);
            // prev_start reads the length back.
            let end = buf.len();
            let mut p = end - 1;
            let mut v = (buf[p] & 127) as usize;
            let mut shift = 7;
            while buf[p] & 0x80 != 0 {
                p -= 1;
                v |= ((buf[p] & 127) as usize) << shift;
                shift += 7;
            }
            assert_eq!(v, l);
        }
    }

    #[test]
    fn nodes_follow_fill() {
        // Positive fill: entries per node.
        let mut l = List::new(4);
        for i in 0..10 {
            l.push_back(format!("e{i}").as_bytes());
        }
        check(&l);
        assert_eq!(
            l.nodes.iter().map(|n| n.count).collect::<Vec<_>>(),
            [4, 4, 2]
        );
        for i in 0..3 {
            l.push_front(format!("f{i}").as_bytes());
        }
        check(&l);
        assert_eq!(l.nodes.len(), 4);
        // Size fill -1: 4 KiB nodes.
        let mut l = List::new(-1);
        for _ in 0..100 {
            l.push_back(&[b'a'; 100]);
        }
        check(&l);
        assert!(l.nodes.len() >= 3);
        assert!(l.nodes.iter().all(|n| n.sz() <= 4096));
        // Count fill under the 8 KiB safety limit.
        let mut l = List::new(1000);
        for _ in 0..100 {
            l.push_back(&[b'a'; 500]);
        }
        check(&l);
        assert!(l.nodes.iter().all(|n| n.sz() <= SIZE_SAFETY_LIMIT));
        // Fill is clamped like quicklistSetFill.
        assert_eq!(List::new(-100).fill(), -5);
        assert_eq!(List::new(1 << 40).fill(), FILL_MAX);
        // Fill 0: one entry per node.
        let mut l = List::new(0);
        for i in 0..5 {
            l.push_back(format!("{i}").as_bytes());
        }
        check(&l);
        assert_eq!(l.nodes.len(), 5);
        assert_eq!(l.encoding(), "quicklist");
    }

    #[test]
    fn insert_splits_and_merges() {
        let mut l = List::new(4);
        for i in 0..8 {
            l.push_back(format!("{i}").as_bytes());
        }
        // Full nodes [0..4) [4..8): inserting in the middle splits.
        l.insert(2, b"x");
        check(&l);
        assert_eq!(
            elems(&l),
            ["0", "1", "x", "2", "3", "4", "5", "6", "7"]
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect::<Vec<_>>()
        );
        assert!(l.nodes.iter().all(|n| n.count <= 4));
        // Boundary inserts.
        l.insert(4, b"y");
        l.insert(l.len(), b"z");
        l.insert(0, b"w");
        check(&l);
        assert_eq!(l.get(0), Some(Elem::Str(b"w")));
        assert_eq!(l.get(l.len() - 1), Some(Elem::Str(b"z")));
        // Removing most elements merges thinned nodes.
        let mut l = List::new(4);
        for i in 0..40 {
            l.push_back(if i % 4 == 0 { b"k" } else { b"d" });
        }
        assert_eq!(l.nodes.len(), 10);
        assert_eq!(l.remove_matching(&Needle::new(b"d"), 0, false), 30);
        check(&l);
        assert_eq!(l.len(), 10);
        assert_eq!(l.nodes.len(), 3);
    }

    #[test]
    fn set_grows_and_splits() {
        let mut l = List::new(-1);
        for i in 0..30 {
            l.push_back(format!("{i:0100}").as_bytes());
        }
        let big = vec![b'b'; 3000];
        assert!(l.set(5, &big));
        assert!(l.set(20, b"12"));
        check(&l);
        assert_eq!(l.get(5), Some(Elem::Str(&big)));
        assert_eq!(l.get(20), Some(Elem::Int(12)));
        assert!(l.nodes.iter().all(|n| n.sz() <= 4096 || n.count == 1));
        assert!(!l.set(30, b"x"));
    }

    #[test]
    fn trims_and_pops() {
        let mut l = List::new(3);
        for i in 0..20 {
            l.push_back(format!("{i}").as_bytes());
        }
        l.trim_front(4);
        l.trim_back(5);
        check(&l);
        assert_eq!(l.get(0), Some(Elem::Int(4)));
        assert_eq!(l.get(l.len() - 1), Some(Elem::Int(14)));
        assert_eq!(l.pop(End::Head), Some(b"4".to_vec()));
        assert_eq!(l.pop(End::Tail), Some(b"14".to_vec()));
        l.trim_back(100);
        check(&l);
        assert!(l.is_empty());
        assert_eq!(l.nodes.len(), 0);
        assert_eq!(l.pop(End::Head), None);
        assert_eq!(l.pop(End::Tail), None);
    }

    #[test]
    fn range_iterates_both_ways() {
        let l = List::from_elems(2, (0..25).map(|i| format!("v{i}")));
        let r: Vec<_> = l.range(3, 17).map(|e| e.to_vec()).collect();
        let want: Vec<_> = (3..=17).map(|i| format!("v{i}").into_bytes()).collect();
        assert_eq!(r, want);
        let mut r: Vec<_> = l.range(3, 17).rev().map(|e| e.to_vec()).collect();
        r.reverse();
        assert_eq!(r, want);
        assert_eq!(l.range(5, 4).count(), 0);
        assert_eq!(l.range(0, 25).count(), 0);
        assert_eq!(l.range(24, 24).count(), 1);
        assert_eq!(l.index(-1), Some(24));
        assert_eq!(l.index(-25), Some(0));
        assert_eq!(l.index(-26), None);
        assert_eq!(l.index(25), None);
        assert_eq!(l.index(i64::MIN), None);
    }

    // Vectors read from redis-server 7.0.15 (DEBUG DIGEST-VALUE after RPUSH).
    #[test]
    fn digest_matches_redis() {
        let cases: &[(&[&str], &str)] = &[
            (&["a", "b", "c"], "8bf72d812571eea9b927f3c11beb0c4165a6ff89"),
            (&["1", "2", "3"], "4ee6e075f07dc1413244a0d85654cd725e5ce13d"),
        ];
        for (els, want) in cases {
            let l = List::from_elems(-2, els.iter());
            let mut d = [0u8; 20];
            mix_digest(&mut d, &crate::keyspace::value::TYPE_LIST.to_be_bytes());
            l.digest(&mut d);
            assert_eq!(hex(&d), *want, "{els:?}");
        }
    }

    /// A tiny deterministic generator (no dependency on rand's API here).
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n.max(1) as u64) as usize
        }
    }

    fn random_elem(r: &mut Rng) -> Vec<u8> {
        match r.below(6) {
            0 => format!("{}", r.below(300) as i64 - 150).into_bytes(),
            1 => format!("{}", r.next() as i64).into_bytes(),
            2 => vec![b'a' + r.below(3) as u8; r.below(5)],
            3 => vec![b'q'; r.below(3000)],
            4 => format!("0{}", r.below(10)).into_bytes(),
            _ => format!("k{}", r.below(8)).into_bytes(),
        }
    }

    #[test]
    fn random_ops_match_a_deque() {
        for (seed, fill) in [
            (1u64, -2i64),
            (7, 3),
            (42, -1),
            (99, 0),
            (1234, 128),
            (5, -5),
        ] {
            let mut r = Rng(seed.wrapping_mul(0x9e3779b97f4a7c15) | 1);
            let mut l = List::new(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for step in 0..3000 {
                match r.below(11) {
                    0 | 1 => {
                        let e = random_elem(&mut r);
                        l.push_back(&e);
                        m.push_back(e);
                    }
                    2 | 3 => {
                        let e = random_elem(&mut r);
                        l.push_front(&e);
                        m.push_front(e);
                    }
                    4 => assert_eq!(l.pop(End::Head), m.pop_front()),
                    5 => assert_eq!(l.pop(End::Tail), m.pop_back()),
                    6 => {
                        let i = r.below(m.len() + 1);
                        let e = random_elem(&mut r);
                        l.insert(i, &e);
                        m.insert(i, e);
                    }
                    7 if !m.is_empty() => {
                        let i = r.below(m.len());
                        let e = random_elem(&mut r);
                        assert!(l.set(i, &e));
                        m[i] = e;
                    }
                    8 => {
                        let e = random_elem(&mut r);
                        let limit = r.below(3);
                        let tail = r.below(2) == 1;
                        let got = l.remove_matching(&Needle::new(&e), limit, tail);
                        let mut want = 0;
                        if tail {
                            let mut i = m.len();
                            while i > 0 && (limit == 0 || want < limit) {
                                i -= 1;
                                if m[i] == e {
                                    m.remove(i);
                                    want += 1;
                                }
                            }
                        } else {
                            let mut i = 0;
                            while i < m.len() && (limit == 0 || want < limit) {
                                if m[i] == e {
                                    m.remove(i);
                                    want += 1;
                                } else {
                                    i += 1;
                                }
                            }
                        }
                        assert_eq!(got, want);
                    }
                    9 => {
                        let n = r.below(4);
                        l.trim_front(n);
                        for _ in 0..n.min(m.len()) {
                            m.pop_front();
                        }
                        let n = r.below(4);
                        l.trim_back(n);
                        for _ in 0..n.min(m.len()) {
                            m.pop_back();
                        }
                    }
                    _ if !m.is_empty() => {
                        let a = r.below(m.len());
                        let b = a + r.below(m.len() - a);
                        let got: Vec<_> = l.range(a, b).map(|e| e.to_vec()).collect();
                        let want: Vec<_> = m.range(a..=b).cloned().collect();
                        assert_eq!(got, want);
                        let got: Vec<_> = l.range(a, b).rev().map(|e| e.to_vec()).collect();
                        let want: Vec<_> = m.range(a..=b).rev().cloned().collect();
                        assert_eq!(got, want);
                        assert_eq!(l.get(a).map(|e| e.to_vec()).as_ref(), m.get(a));
                    }
                    _ => {}
                }
                assert_eq!(l.len(), m.len(), "seed {seed} step {step}");
                if step % 97 == 0 {
                    check(&l);
                    assert_eq!(elems(&l), m.iter().cloned().collect::<Vec<_>>());
                }
            }
            check(&l);
            assert_eq!(elems(&l), m.iter().cloned().collect::<Vec<_>>());
            let copy = l.clone();
            assert_eq!(copy, l);
            let rebuilt = List::from_elems(1, m.iter());
            assert_eq!(rebuilt, l);
        }
    }

    #[test]
    fn memory_is_compact() {
        let l = List::from_elems(-2, (0..10000).map(|i| format!("{i}")));
        // Mostly 2-4 byte entries: far under 8 bytes each with node overhead.
        assert!(l.heap_size() < 10000 * 6, "{}", l.heap_size());
        let l = List::from_elems(-2, (0..1000).map(|_| "abcdefgh"));
        assert!(l.heap_size() < 1000 * 14, "{}", l.heap_size());
    }
}
