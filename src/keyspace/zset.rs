//! The sorted set type, in Redis 7.0's two encodings.
//!
//! - `listpack`: small sets (at most `zset-max-listpack-entries` members, none
//!   longer than `zset-max-listpack-value` bytes) are one contiguous byte
//!   buffer of (member, score) entries sorted by (score, member). Operations
//!   scan it linearly, as Redis scans its listpack.
//! - `skiplist`: larger sets are a member → score hash map whose entries are
//!   numbered (an `IndexMap`: the member bytes are stored once, inline up to
//!   22 bytes) plus an order-statistic B+tree of those entry numbers sorted
//!   by (score, member). Insert, delete, rank, select and the range bounds
//!   are O(log n); the tree costs about 6 bytes per member.
//!
//! Conversions follow Redis: listpack → skiplist when an insertion would
//! exceed a threshold; never back, except that STORE commands build their
//! result in the encoding its size calls for (`from_pairs`).
//!
//! Listpack byte layout, entry after entry, no header (the count is kept in
//! the struct):
//!
//! ```text
//! entry  = member score
//! member = len:varint (LEB128, 7 bits a byte, low first) bytes[len]
//! score  = 0x00..=0xEF                small integer score (the byte's value)
//!        | 0xF0 i8 | 0xF1 i16le | 0xF2 i32le | 0xF3 i48le   integer score
//!        | 0xF4 f64le                 any other score
//! ```
//!
//! Like Redis's listpack (which stores an integral score as an integer), the
//! listpack turns a score of -0 into 0; the skiplist keeps -0.

use super::cbytes::CBytes;
use super::digest::{mix_digest, xor_digest, Sum};
use super::value::EncLimits;
use super::Hasher;
use indexmap::IndexMap;
use std::cmp::Ordering;

/// Redis's listpack safety limit (lpSafeToAdd): a listpack never grows past 1 GiB.
const PACK_SAFETY_SIZE: usize = 1 << 30;

// ---------------------------------------------------------------------------
// Ranges
// ---------------------------------------------------------------------------

/// A score interval as ZRANGEBYSCORE reads it (`(1.5` is exclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    /// False for ranges that are always empty (min > max, or min == max with
    /// an exclusive end).
    fn can_match(&self) -> bool {
        !(self.min > self.max || (self.min == self.max && (self.minex || self.maxex)))
    }
}

/// One end of a lexicographic interval: `-`, `+`, or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Val(Vec<u8>),
}

/// A lexicographic interval as ZRANGEBYLEX reads it (`[a` inclusive, `(a`
/// exclusive, `-` and `+` the extremes, which count as exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRange {
    pub min: LexBound,
    pub minex: bool,
    pub max: LexBound,
    pub maxex: bool,
}

/// A member compared with a bound (Redis's sdscmplex with a real string first).
fn cmp_lex(v: &[u8], b: &LexBound) -> Ordering {
    match b {
        LexBound::NegInf => Ordering::Greater,
        LexBound::PosInf => Ordering::Less,
        LexBound::Val(x) => v.cmp(x.as_slice()),
    }
}

impl LexRange {
    pub fn gte_min(&self, v: &[u8]) -> bool {
        let c = cmp_lex(v, &self.min);
        if self.minex {
            c == Ordering::Greater
        } else {
            c != Ordering::Less
        }
    }

    pub fn lte_max(&self, v: &[u8]) -> bool {
        let c = cmp_lex(v, &self.max);
        if self.maxex {
            c == Ordering::Less
        } else {
            c != Ordering::Greater
        }
    }

    /// sdscmplex(min, max) with the shared min/max strings.
    fn can_match(&self) -> bool {
        use LexBound::*;
        let c = match (&self.min, &self.max) {
            (NegInf, NegInf) | (PosInf, PosInf) => Ordering::Equal,
            (NegInf, _) | (_, PosInf) => Ordering::Less,
            (PosInf, _) | (_, NegInf) => Ordering::Greater,
            (Val(a), Val(b)) => a.cmp(b),
        };
        !(c == Ordering::Greater || (c == Ordering::Equal && (self.minex || self.maxex)))
    }
}

/// The order of a sorted set: score, then member bytes.
fn cmp_key(a: (f64, &[u8]), b: (f64, &[u8])) -> Ordering {
    a.0.partial_cmp(&b.0)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a.1.cmp(b.1))
}

// ---------------------------------------------------------------------------
// The listpack encoding
// ---------------------------------------------------------------------------

const S_I8: u8 = 0xF0;
const S_I16: u8 = 0xF1;
const S_I32: u8 = 0xF2;
const S_I48: u8 = 0xF3;
const S_F64: u8 = 0xF4;
const S_SMALL_MAX: u8 = 0xEF;
const I48_LIMIT: f64 = (1u64 << 47) as f64;

fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn get_varint(buf: &[u8], pos: &mut usize) -> Option<usize> {
    let mut v: usize = 0;
    let mut shift = 0u32;
    loop {
        let b = *buf.get(*pos)?;
        *pos += 1;
        if shift >= usize::BITS {
            return None;
        }
        v |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
        shift += 7;
    }
}

fn put_score(out: &mut Vec<u8>, s: f64) {
    if s.fract() == 0.0 && s.abs() < I48_LIMIT {
        let i = s as i64;
        if (0..=S_SMALL_MAX as i64).contains(&i) {
            out.push(i as u8);
        } else if let Ok(v) = i8::try_from(i) {
            out.push(S_I8);
            out.push(v as u8);
        } else if let Ok(v) = i16::try_from(i) {
            out.push(S_I16);
            out.extend_from_slice(&v.to_le_bytes());
        } else if let Ok(v) = i32::try_from(i) {
            out.push(S_I32);
            out.extend_from_slice(&v.to_le_bytes());
        } else {
            out.push(S_I48);
            out.extend_from_slice(&i.to_le_bytes()[..6]);
        }
    } else {
        out.push(S_F64);
        out.extend_from_slice(&s.to_le_bytes());
    }
}

fn get_score(buf: &[u8], pos: &mut usize) -> Option<f64> {
    let tag = *buf.get(*pos)?;
    *pos += 1;
    let mut take = |n: usize| -> Option<&[u8]> {
        let b = buf.get(*pos..*pos + n)?;
        *pos += n;
        Some(b)
    };
    Some(match tag {
        0..=S_SMALL_MAX => tag as f64,
        S_I8 => take(1)?[0] as i8 as f64,
        S_I16 => i16::from_le_bytes(take(2)?.try_into().ok()?) as f64,
        S_I32 => i32::from_le_bytes(take(4)?.try_into().ok()?) as f64,
        S_I48 => {
            let b = take(6)?;
            let mut w = [0u8; 8];
            w[..6].copy_from_slice(b);
            if b[5] & 0x80 != 0 {
                w[6] = 0xff;
                w[7] = 0xff;
            }
            i64::from_le_bytes(w) as f64
        }
        S_F64 => f64::from_le_bytes(take(8)?.try_into().ok()?),
        _ => return None,
    })
}

/// One (member, score) entry at `pos`, and where the next one starts.
fn entry_at(buf: &[u8], pos: usize) -> Option<(&[u8], f64, usize)> {
    let mut p = pos;
    let len = get_varint(buf, &mut p)?;
    let end = p.checked_add(len)?;
    let m = buf.get(p..end)?;
    p = end;
    let s = get_score(buf, &mut p)?;
    Some((m, s, p))
}

fn encode_entry(m: &[u8], s: f64) -> Vec<u8> {
    let mut e = Vec::with_capacity(m.len() + 14);
    put_varint(&mut e, m.len());
    e.extend_from_slice(m);
    // A listpack keeps an integral score as an integer: -0 comes back as 0.
    put_score(&mut e, if s == 0.0 { 0.0 } else { s });
    e
}

#[derive(Clone, Debug, Default)]
struct Pack {
    buf: Box<[u8]>,
    n: u32,
}

/// Entries of a listpack in order, with their byte offsets.
struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for PackIter<'a> {
    /// (start offset, member, score, end offset)
    type Item = (usize, &'a [u8], f64, usize);

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.pos;
        let (m, s, end) = entry_at(self.buf, start)?;
        self.pos = end;
        Some((start, m, s, end))
    }
}

impl Pack {
    fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            pos: 0,
        }
    }

    fn len(&self) -> usize {
        self.n as usize
    }

    /// The entry of `m`: (start, end, score).
    fn find(&self, m: &[u8]) -> Option<(usize, usize, f64)> {
        self.iter()
            .find(|e| e.1 == m)
            .map(|(start, _, s, end)| (start, end, s))
    }

    fn splice(&mut self, start: usize, end: usize, insert: &[u8]) {
        let mut v = Vec::from(std::mem::take(&mut self.buf));
        let removed = end.saturating_sub(start);
        if insert.len() > removed {
            v.reserve_exact(insert.len() - removed);
        }
        let end = end.min(v.len());
        let start = start.min(end);
        v.splice(start..end, insert.iter().copied());
        self.buf = v.into_boxed_slice();
    }

    /// Inserts a member that is not present, keeping the order.
    fn insert(&mut self, m: &[u8], s: f64) {
        let at = self
            .iter()
            .find(|&(_, em, es, _)| cmp_key((es, em), (s, m)) == Ordering::Greater)
            .map_or(self.buf.len(), |e| e.0);
        let e = encode_entry(m, s);
        self.splice(at, at, &e);
        self.n += 1;
    }

    fn remove_span(&mut self, start: usize, end: usize, count: usize) {
        self.splice(start, end, &[]);
        self.n = self.n.saturating_sub(count as u32);
    }

    /// Byte offsets of the entries of ranks lo..hi.
    fn byte_span(&self, lo: usize, hi: usize) -> Option<(usize, usize)> {
        let mut start = None;
        for (i, (s, _, _, e)) in self.iter().enumerate() {
            if i == lo {
                start = Some(s);
            }
            if i + 1 == hi {
                return start.map(|st| (st, e));
            }
        }
        None
    }

    fn safe_to_add(&self, add: usize) -> bool {
        self.buf.len().saturating_add(add) <= PACK_SAFETY_SIZE
    }
}

// ---------------------------------------------------------------------------
// The order-statistic B+tree of entry numbers
// ---------------------------------------------------------------------------

const LEAF_MAX: usize = 64;
const INNER_MAX: usize = 32;
const LEAF_MIN: usize = LEAF_MAX / 4;
const INNER_MIN: usize = INNER_MAX / 4;

#[derive(Clone, Debug)]
enum Node {
    Leaf(Vec<u32>),
    Inner(Vec<Child>),
}

#[derive(Clone, Debug)]
struct Child {
    /// Entries below.
    len: u32,
    /// The first entry below, to search by key.
    first: u32,
    node: Box<Node>,
}

impl Node {
    fn first(&self) -> u32 {
        match self {
            Node::Leaf(v) => v.first().copied().unwrap_or(0),
            Node::Inner(k) => k.first().map_or(0, |c| c.first),
        }
    }

    fn heap_size(&self) -> usize {
        match self {
            Node::Leaf(v) => v.capacity() * 4,
            Node::Inner(k) => {
                k.capacity() * std::mem::size_of::<Child>()
                    + k.iter()
                        .map(|c| std::mem::size_of::<Node>() + c.node.heap_size())
                        .sum::<usize>()
            }
        }
    }
}

fn child(node: Node) -> Child {
    let len = match &node {
        Node::Leaf(v) => v.len() as u32,
        Node::Inner(k) => k.iter().map(|c| c.len).sum(),
    };
    Child {
        len,
        first: node.first(),
        node: Box::new(node),
    }
}

/// Splits an over-full node in two halves; returns the right one.
fn split_node(node: &mut Node) -> Child {
    match node {
        Node::Leaf(v) => {
            let mid = v.len() / 2;
            let mut r = Vec::with_capacity(LEAF_MAX + 1);
            r.extend(v.drain(mid..));
            v.shrink_to(LEAF_MAX + 1);
            child(Node::Leaf(r))
        }
        Node::Inner(k) => {
            let mid = k.len() / 2;
            let mut r = Vec::with_capacity(INNER_MAX + 1);
            r.extend(k.drain(mid..));
            k.shrink_to(INNER_MAX + 1);
            child(Node::Inner(r))
        }
    }
}

fn too_big(node: &Node) -> bool {
    match node {
        Node::Leaf(v) => v.len() > LEAF_MAX,
        Node::Inner(k) => k.len() > INNER_MAX,
    }
}

fn too_small(node: &Node) -> bool {
    match node {
        Node::Leaf(v) => v.len() < LEAF_MIN,
        Node::Inner(k) => k.len() < INNER_MIN,
    }
}

/// The child holding rank `rank` (for an insertion, `rank` may equal the
/// total: the last child takes it) and the rank inside it.
fn locate(kids: &[Child], mut rank: usize, inserting: bool) -> (usize, usize) {
    let last = kids.len().saturating_sub(1);
    for (i, c) in kids.iter().enumerate() {
        let l = c.len as usize;
        if rank < l || (inserting && rank == l) || i == last {
            return (i, rank);
        }
        rank -= l;
    }
    (last, rank)
}

fn insert_rec(node: &mut Node, rank: usize, id: u32) -> Option<Child> {
    match node {
        Node::Leaf(v) => {
            v.insert(rank.min(v.len()), id);
        }
        Node::Inner(kids) => {
            let (i, r) = locate(kids, rank, true);
            let c = kids.get_mut(i)?;
            let split = insert_rec(&mut c.node, r, id);
            c.len += 1;
            if let Some(s) = split {
                c.len -= s.len;
                c.first = c.node.first();
                kids.insert(i + 1, s);
            } else {
                c.first = c.node.first();
            }
        }
    }
    if too_big(node) {
        Some(split_node(node))
    } else {
        None
    }
}

/// Merges kids[i] with a neighbour, splitting the result again when it is
/// too big.
fn rebalance(kids: &mut Vec<Child>, i: usize) {
    if kids.len() < 2 {
        return;
    }
    let l = if i + 1 < kids.len() { i } else { i - 1 };
    let right = kids.remove(l + 1);
    let Child {
        len: rlen,
        first: rfirst,
        node: rnode,
    } = right;
    let Some(left) = kids.get_mut(l) else {
        return;
    };
    match (&mut *left.node, *rnode) {
        (Node::Leaf(a), Node::Leaf(b)) => a.extend(b),
        (Node::Inner(a), Node::Inner(b)) => a.extend(b),
        (_, other) => {
            // Siblings are always of one level; keep the tree intact anyway.
            kids.insert(
                l + 1,
                Child {
                    len: rlen,
                    first: rfirst,
                    node: Box::new(other),
                },
            );
            return;
        }
    }
    left.len += rlen;
    if too_big(&left.node) {
        let r = split_node(&mut left.node);
        left.len -= r.len;
        left.first = left.node.first();
        kids.insert(l + 1, r);
    } else {
        left.first = left.node.first();
    }
}

fn remove_rec(node: &mut Node, rank: usize) -> Option<u32> {
    match node {
        Node::Leaf(v) => (rank < v.len()).then(|| v.remove(rank)),
        Node::Inner(kids) => {
            let (i, r) = locate(kids, rank, false);
            let c = kids.get_mut(i)?;
            let id = remove_rec(&mut c.node, r)?;
            c.len -= 1;
            if c.len == 0 {
                kids.remove(i);
            } else {
                c.first = c.node.first();
                if too_small(&c.node) {
                    rebalance(kids, i);
                }
            }
            Some(id)
        }
    }
}

fn set_rec(node: &mut Node, rank: usize, id: u32) {
    match node {
        Node::Leaf(v) => {
            if let Some(x) = v.get_mut(rank) {
                *x = id;
            }
        }
        Node::Inner(kids) => {
            let (i, r) = locate(kids, rank, false);
            if let Some(c) = kids.get_mut(i) {
                set_rec(&mut c.node, r, id);
                c.first = c.node.first();
            }
        }
    }
}

fn visit(node: &Node, start: usize, end: usize, rev: bool, f: &mut dyn FnMut(u32)) {
    match node {
        Node::Leaf(ids) => {
            let s = ids.get(start..end.min(ids.len())).unwrap_or(&[]);
            if rev {
                s.iter().rev().for_each(|&id| f(id));
            } else {
                s.iter().for_each(|&id| f(id));
            }
        }
        Node::Inner(kids) => {
            if !rev {
                let mut off = 0usize;
                for c in kids {
                    if off >= end {
                        break;
                    }
                    let l = c.len as usize;
                    if off + l > start {
                        visit(
                            &c.node,
                            start.saturating_sub(off),
                            (end - off).min(l),
                            rev,
                            f,
                        );
                    }
                    off += l;
                }
            } else {
                let mut off: usize = kids.iter().map(|c| c.len as usize).sum();
                for c in kids.iter().rev() {
                    let l = c.len as usize;
                    off -= l;
                    if off + l <= start {
                        break;
                    }
                    if off < end {
                        visit(
                            &c.node,
                            start.saturating_sub(off),
                            (end - off).min(l),
                            rev,
                            f,
                        );
                    }
                }
            }
        }
    }
}

#[derive(Clone, Debug)]
struct Tree {
    root: Node,
    len: usize,
}

impl Tree {
    /// A tree over `ids`, already in order.
    fn from_sorted(ids: Vec<u32>) -> Tree {
        let len = ids.len();
        if len <= LEAF_MAX {
            return Tree {
                root: Node::Leaf(ids),
                len,
            };
        }
        let fill = LEAF_MAX * 3 / 4;
        let mut level: Vec<Child> = ids
            .chunks(fill)
            .map(|c| {
                let mut v = Vec::with_capacity(LEAF_MAX + 1);
                v.extend_from_slice(c);
                child(Node::Leaf(v))
            })
            .collect();
        let fill = INNER_MAX * 3 / 4;
        while level.len() > INNER_MAX {
            let mut next = Vec::with_capacity(level.len() / fill + 1);
            let mut it = level.into_iter().peekable();
            while it.peek().is_some() {
                let mut v = Vec::with_capacity(INNER_MAX + 1);
                v.extend(it.by_ref().take(fill));
                next.push(child(Node::Inner(v)));
            }
            level = next;
        }
        Tree {
            root: Node::Inner(level),
            len,
        }
    }

    /// How many leading entries satisfy `pred` (which must hold for a prefix
    /// of the order and not after it).
    fn partition(&self, mut pred: impl FnMut(u32) -> bool) -> usize {
        let mut node = &self.root;
        let mut acc = 0usize;
        loop {
            match node {
                Node::Leaf(ids) => return acc + ids.partition_point(|&id| pred(id)),
                Node::Inner(kids) => {
                    let j = kids.partition_point(|c| pred(c.first));
                    if j == 0 {
                        return acc;
                    }
                    acc += kids[..j - 1].iter().map(|c| c.len as usize).sum::<usize>();
                    node = &kids[j - 1].node;
                }
            }
        }
    }

    fn get(&self, mut rank: usize) -> Option<u32> {
        if rank >= self.len {
            return None;
        }
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(ids) => return ids.get(rank).copied(),
                Node::Inner(kids) => {
                    let (i, r) = locate(kids, rank, false);
                    node = &kids.get(i)?.node;
                    rank = r;
                }
            }
        }
    }

    fn insert_at(&mut self, rank: usize, id: u32) {
        let rank = rank.min(self.len);
        if let Some(split) = insert_rec(&mut self.root, rank, id) {
            let old = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let left = child(old);
            let mut kids = Vec::with_capacity(INNER_MAX + 1);
            kids.push(left);
            kids.push(split);
            self.root = Node::Inner(kids);
        }
        self.len += 1;
    }

    fn remove_at(&mut self, rank: usize) -> Option<u32> {
        if rank >= self.len {
            return None;
        }
        let id = remove_rec(&mut self.root, rank)?;
        self.len -= 1;
        loop {
            match &mut self.root {
                Node::Inner(kids) if kids.len() == 1 => {
                    if let Some(c) = kids.pop() {
                        self.root = *c.node;
                    }
                }
                Node::Inner(kids) if kids.is_empty() => self.root = Node::Leaf(Vec::new()),
                _ => break,
            }
        }
        Some(id)
    }

    fn set_at(&mut self, rank: usize, id: u32) {
        if rank < self.len {
            set_rec(&mut self.root, rank, id);
        }
    }

    fn visit(&self, start: usize, end: usize, rev: bool, f: &mut dyn FnMut(u32)) {
        let end = end.min(self.len);
        if start < end {
            visit(&self.root, start, end, rev, f);
        }
    }

    fn iter(&self) -> TreeIter<'_> {
        match &self.root {
            Node::Leaf(ids) => TreeIter {
                stack: Vec::new(),
                leaf: ids.iter(),
            },
            Node::Inner(kids) => TreeIter {
                stack: vec![kids.iter()],
                leaf: [].iter(),
            },
        }
    }
}

/// The entry numbers of a tree, in order.
struct TreeIter<'a> {
    stack: Vec<std::slice::Iter<'a, Child>>,
    leaf: std::slice::Iter<'a, u32>,
}

impl Iterator for TreeIter<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            if let Some(&id) = self.leaf.next() {
                return Some(id);
            }
            loop {
                let top = self.stack.last_mut()?;
                match top.next() {
                    Some(c) => match &*c.node {
                        Node::Leaf(ids) => {
                            self.leaf = ids.iter();
                            break;
                        }
                        Node::Inner(k) => self.stack.push(k.iter()),
                    },
                    None => {
                        self.stack.pop();
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The skiplist encoding (hash map + order-statistic tree)
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Skip {
    map: IndexMap<CBytes, f64, Hasher>,
    tree: Tree,
}

impl Skip {
    /// From unique members, in any order.
    fn from_map(map: IndexMap<CBytes, f64, Hasher>) -> Skip {
        let mut ids: Vec<u32> = (0..map.len() as u32).collect();
        ids.sort_unstable_by(|&a, &b| {
            let ka = map
                .get_index(a as usize)
                .map_or((0.0, &[][..]), |(m, s)| (*s, m));
            let kb = map
                .get_index(b as usize)
                .map_or((0.0, &[][..]), |(m, s)| (*s, m));
            cmp_key(ka, kb)
        });
        Skip {
            tree: Tree::from_sorted(ids),
            map,
        }
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn key(&self, id: u32) -> (f64, &[u8]) {
        self.map
            .get_index(id as usize)
            .map_or((0.0, &[][..]), |(m, s)| (*s, m.as_bytes()))
    }

    fn entry(&self, id: u32) -> (&[u8], f64) {
        let (s, m) = self.key(id);
        (m, s)
    }

    /// The rank (score, member) has or would have.
    fn rank_of(&self, s: f64, m: &[u8]) -> usize {
        self.tree
            .partition(|id| cmp_key(self.key(id), (s, m)) == Ordering::Less)
    }

    fn rank(&self, m: &[u8]) -> Option<usize> {
        let s = *self.map.get(m)?;
        Some(self.rank_of(s, m))
    }

    fn insert_new(&mut self, m: &[u8], s: f64) {
        let r = self.rank_of(s, m);
        let (id, _) = self.map.insert_full(CBytes::new(m), s);
        self.tree.insert_at(r, id as u32);
    }

    fn update(&mut self, id: usize, new: f64) {
        let (old, m) = self.key(id as u32);
        let r = self.rank_of(old, m);
        let len = self.tree.len;
        // Stays in place when it keeps its neighbours (zslUpdateScore).
        let prev_ok = r == 0
            || self
                .tree
                .get(r - 1)
                .is_some_and(|p| cmp_key(self.key(p), (new, m)) == Ordering::Less);
        let next_ok = r + 1 >= len
            || self
                .tree
                .get(r + 1)
                .is_some_and(|n| cmp_key(self.key(n), (new, m)) == Ordering::Greater);
        if prev_ok && next_ok {
            if let Some((_, s)) = self.map.get_index_mut(id) {
                *s = new;
            }
            return;
        }
        self.tree.remove_at(r);
        if let Some((_, s)) = self.map.get_index_mut(id) {
            *s = new;
        }
        let (_, m) = self.key(id as u32);
        let r2 = self.rank_of(new, m);
        self.tree.insert_at(r2, id as u32);
    }

    /// Drops entry `id` from the map once the tree no longer holds it: the
    /// last entry takes its number.
    fn unmap(&mut self, id: u32) {
        let last = self.map.len().saturating_sub(1) as u32;
        if id != last {
            let (s, m) = self.key(last);
            let r = self.rank_of(s, m);
            self.tree.set_at(r, id);
        }
        self.map.swap_remove_index(id as usize);
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        let Some(&s) = self.map.get(m) else {
            return false;
        };
        let r = self.rank_of(s, m);
        match self.tree.remove_at(r) {
            Some(id) => {
                self.unmap(id);
                true
            }
            None => false,
        }
    }

    fn remove_rank(&mut self, r: usize) -> bool {
        match self.tree.remove_at(r) {
            Some(id) => {
                self.unmap(id);
                true
            }
            None => false,
        }
    }

    fn heap_size(&self) -> usize {
        // Entries: hash + member + score; index table: a usize and a control byte.
        self.map.capacity() * (8 + std::mem::size_of::<CBytes>() + 8 + 9)
            + self.map.keys().map(|k| k.heap_size()).sum::<usize>()
            + self.tree.root.heap_size()
    }
}

// ---------------------------------------------------------------------------
// ZSet
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Repr {
    Pack(Pack),
    Skip(Box<Skip>),
}

/// A sorted set: members (byte strings) ordered by score, then by bytes.
#[derive(Clone, Debug)]
pub struct ZSet {
    repr: Repr,
}

const _: () = assert!(std::mem::size_of::<ZSet>() <= 24);

impl Default for ZSet {
    fn default() -> Self {
        ZSet::new()
    }
}

impl PartialEq for ZSet {
    /// Same members with the same scores (whatever the encodings).
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|(a, b)| a.0 == b.0 && a.1.to_bits() == b.1.to_bits())
    }
}

/// The members of a sorted set in order, with their scores.
pub struct Iter<'a> {
    inner: IterInner<'a>,
}

enum IterInner<'a> {
    Pack(PackIter<'a>),
    Skip(&'a Skip, TreeIter<'a>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IterInner::Pack(it) => it.next().map(|(_, m, s, _)| (m, s)),
            IterInner::Skip(sk, it) => it.next().map(|id| sk.entry(id)),
        }
    }
}

impl ZSet {
    /// An empty set in the listpack encoding (what ZADD creates; the first
    /// insertion converts it when the thresholds call for it).
    pub fn new() -> ZSet {
        ZSet {
            repr: Repr::Pack(Pack::default()),
        }
    }

    /// A set of `pairs` (a repeated member keeps its last score), listpack
    /// when it fits the thresholds like Redis's zsetConvertToListpackIfNeeded
    /// (the encoding ZUNIONSTORE, ZRANGESTORE and RDB loading give).
    pub fn from_pairs<M: AsRef<[u8]>>(
        pairs: impl IntoIterator<Item = (M, f64)>,
        lim: &EncLimits,
    ) -> ZSet {
        let mut map: IndexMap<CBytes, f64, Hasher> = IndexMap::default();
        for (m, s) in pairs {
            map.insert(CBytes::new(m.as_ref()), s);
        }
        let maxlen = map.keys().map(|k| k.len()).max().unwrap_or(0);
        let total: usize = map.keys().map(|k| k.len()).sum();
        let fits =
            map.len() <= lim.zset_entries && maxlen <= lim.zset_value && total <= PACK_SAFETY_SIZE;
        let skip = Skip::from_map(map);
        let mut z = ZSet {
            repr: Repr::Skip(Box::new(skip)),
        };
        if fits {
            z.convert_to_pack();
        }
        z
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.len(),
            Repr::Skip(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING's name.
    pub fn encoding(&self) -> &'static str {
        match &self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Skip(_) => "skiplist",
        }
    }

    /// Heap bytes owned (estimate).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.buf.len(),
            Repr::Skip(s) => std::mem::size_of::<Skip>() + s.heap_size(),
        }
    }

    /// DEBUG DIGEST contents, as Redis 7.0's xorObjectDigest: for each
    /// member, SHA1 of mix(mix(0, member), "%.17g" of the score), xored in.
    pub fn digest(&self, d: &mut Sum) {
        for (m, s) in self.iter() {
            let mut ele = [0u8; 20];
            mix_digest(&mut ele, m);
            mix_digest(
                &mut ele,
                crate::protocol::encode::format_double(s).as_bytes(),
            );
            xor_digest(d, &ele);
        }
    }

    /// Members and scores in order (score, then member).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            inner: match &self.repr {
                Repr::Pack(p) => IterInner::Pack(p.iter()),
                Repr::Skip(s) => IterInner::Skip(s, s.tree.iter()),
            },
        }
    }

    /// The length of the longest member.
    pub fn max_member_len(&self) -> usize {
        self.iter().map(|(m, _)| m.len()).max().unwrap_or(0)
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Pack(p) => p.find(m).map(|e| e.2),
            Repr::Skip(s) => s.map.get(m).copied(),
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Pack(p) => p.find(m).is_some(),
            Repr::Skip(s) => s.map.contains_key(m),
        }
    }

    /// The 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Pack(p) => p.iter().position(|e| e.1 == m),
            Repr::Skip(s) => s.rank(m),
        }
    }

    /// Sets the score of `m`, adding it when missing (converting to the
    /// skiplist first when the listpack would exceed `lim`). `s` must not be
    /// NaN. Returns true when `m` was added.
    pub fn set(&mut self, m: &[u8], s: f64, lim: &EncLimits) -> bool {
        if let Repr::Pack(p) = &mut self.repr {
            if let Some((start, end, _)) = p.find(m) {
                p.remove_span(start, end, 1);
                p.insert(m, s);
                return false;
            }
            if p.len() < lim.zset_entries && m.len() <= lim.zset_value && p.safe_to_add(m.len()) {
                p.insert(m, s);
                return true;
            }
            self.convert_to_skip();
        }
        match &mut self.repr {
            Repr::Skip(sk) => match sk.map.get_index_of(m) {
                Some(id) => {
                    sk.update(id, s);
                    false
                }
                None => {
                    sk.insert_new(m, s);
                    true
                }
            },
            Repr::Pack(_) => false,
        }
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(p) => match p.find(m) {
                Some((start, end, _)) => {
                    p.remove_span(start, end, 1);
                    true
                }
                None => false,
            },
            Repr::Skip(s) => s.remove(m),
        }
    }

    /// Removes the members of ranks lo..hi; returns how many.
    pub fn remove_ranks(&mut self, lo: usize, hi: usize) -> usize {
        let hi = hi.min(self.len());
        if lo >= hi {
            return 0;
        }
        match &mut self.repr {
            Repr::Pack(p) => match p.byte_span(lo, hi) {
                Some((start, end)) => {
                    p.remove_span(start, end, hi - lo);
                    hi - lo
                }
                None => 0,
            },
            Repr::Skip(s) => (lo..hi).filter(|_| s.remove_rank(lo)).count(),
        }
    }

    /// The member of rank `r` (ascending) and its score.
    pub fn nth(&self, r: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Pack(p) => p.iter().nth(r).map(|(_, m, s, _)| (m, s)),
            Repr::Skip(s) => s.tree.get(r).map(|id| s.entry(id)),
        }
    }

    /// The member stored at position `i` of the encoding (any order): a
    /// cheap pick for random sampling, `i < len()`.
    pub fn at_storage_index(&self, i: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Pack(p) => p.iter().nth(i).map(|(_, m, s, _)| (m, s)),
            Repr::Skip(s) => s.map.get_index(i).map(|(m, s)| (m.as_bytes(), *s)),
        }
    }

    /// Calls `f` with the members of ranks lo..hi, in ascending order or,
    /// with `rev`, from hi-1 down to lo.
    pub fn for_ranks(&self, lo: usize, hi: usize, rev: bool, mut f: impl FnMut(&[u8], f64)) {
        let hi = hi.min(self.len());
        if lo >= hi {
            return;
        }
        match &self.repr {
            Repr::Pack(p) => {
                let it = p.iter().skip(lo).take(hi - lo);
                if rev {
                    let v: Vec<(&[u8], f64)> = it.map(|(_, m, s, _)| (m, s)).collect();
                    v.into_iter().rev().for_each(|(m, s)| f(m, s));
                } else {
                    it.for_each(|(_, m, s, _)| f(m, s));
                }
            }
            Repr::Skip(s) => s.tree.visit(lo, hi, rev, &mut |id| {
                let (m, sc) = s.entry(id);
                f(m, sc)
            }),
        }
    }

    /// The ranks lo..hi of the members whose score is in `r`.
    pub fn score_span(&self, r: &ScoreRange) -> (usize, usize) {
        if !r.can_match() {
            return (0, 0);
        }
        let (lo, hi) = match &self.repr {
            Repr::Pack(p) => {
                let mut lo = 0;
                let mut hi = 0;
                for (_, _, s, _) in p.iter() {
                    if !r.gte_min(s) {
                        lo += 1;
                    }
                    if r.lte_max(s) {
                        hi += 1;
                    } else {
                        break;
                    }
                }
                (lo, hi)
            }
            Repr::Skip(sk) => (
                sk.tree.partition(|id| !r.gte_min(sk.key(id).0)),
                sk.tree.partition(|id| r.lte_max(sk.key(id).0)),
            ),
        };
        (lo, hi.max(lo))
    }

    /// The ranks lo..hi of the members in the lexicographic range `r`. (All
    /// members should have one score; when they do not, the listpack
    /// answers as Redis's scan of it does, forward or from the end (`rev`).)
    pub fn lex_span(&self, r: &LexRange, rev: bool) -> (usize, usize) {
        if !r.can_match() || self.is_empty() {
            return (0, 0);
        }
        match &self.repr {
            Repr::Pack(p) => {
                let v: Vec<&[u8]> = p.iter().map(|e| e.1).collect();
                let (Some(first), Some(last)) = (v.first(), v.last()) else {
                    return (0, 0);
                };
                if !r.gte_min(last) || !r.lte_max(first) {
                    return (0, 0);
                }
                if !rev {
                    let Some(i) = v.iter().position(|m| r.gte_min(m)) else {
                        return (0, 0);
                    };
                    let n = v[i..].iter().take_while(|m| r.lte_max(m)).count();
                    (i, i + n)
                } else {
                    let Some(j) = v.iter().rposition(|m| r.lte_max(m)) else {
                        return (0, 0);
                    };
                    let n = v[..=j].iter().rev().take_while(|m| r.gte_min(m)).count();
                    (j + 1 - n, j + 1)
                }
            }
            Repr::Skip(sk) => {
                let lo = sk.tree.partition(|id| !r.gte_min(sk.key(id).1));
                let hi = sk.tree.partition(|id| r.lte_max(sk.key(id).1));
                (lo, hi.max(lo))
            }
        }
    }

    /// A step of ZSCAN: the listpack is returned whole (cursor 0 after it);
    /// the skiplist walks its entries from the last numbered down, `count`
    /// of them, so an entry present from start to end is seen at least once
    /// whatever is added or removed meanwhile. Returns the next cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Pack(p) => {
                p.iter().for_each(|(_, m, s, _)| f(m, s));
                0
            }
            Repr::Skip(sk) => {
                let len = sk.map.len() as u64;
                let mut i = if cursor == 0 || cursor > len {
                    len
                } else {
                    cursor
                };
                let mut n = 0;
                while i > 0 && n < count {
                    i -= 1;
                    if let Some((m, s)) = sk.map.get_index(i as usize) {
                        f(m, *s);
                    }
                    n += 1;
                }
                i
            }
        }
    }

    /// Converts a skiplist to a listpack when it fits `lim` (Redis's
    /// zsetConvertToListpackIfNeeded).
    pub fn convert_to_pack_if_fits(&mut self, lim: &EncLimits) {
        if let Repr::Skip(s) = &self.repr {
            let maxlen = s.map.keys().map(|k| k.len()).max().unwrap_or(0);
            let total: usize = s.map.keys().map(|k| k.len()).sum();
            if s.len() <= lim.zset_entries && maxlen <= lim.zset_value && total <= PACK_SAFETY_SIZE
            {
                self.convert_to_pack();
            }
        }
    }

    fn convert_to_pack(&mut self) {
        if let Repr::Skip(s) = &self.repr {
            let mut buf = Vec::new();
            for id in s.tree.iter() {
                let (m, sc) = s.entry(id);
                buf.extend_from_slice(&encode_entry(m, sc));
            }
            let n = s.len() as u32;
            self.repr = Repr::Pack(Pack {
                buf: buf.into_boxed_slice(),
                n,
            });
        }
    }

    fn convert_to_skip(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let mut map: IndexMap<CBytes, f64, Hasher> =
                IndexMap::with_capacity_and_hasher(p.len() + 1, Hasher::default());
            for (_, m, s, _) in p.iter() {
                map.insert(CBytes::new(m), s);
            }
            let ids: Vec<u32> = (0..map.len() as u32).collect();
            self.repr = Repr::Skip(Box::new(Skip {
                map,
                tree: Tree::from_sorted(ids),
            }));
        }
    }

    #[cfg(test)]
    fn check(&self) {
        let v: Vec<(Vec<u8>, f64)> = self.iter().map(|(m, s)| (m.to_vec(), s)).collect();
        assert_eq!(v.len(), self.len());
        for w in v.windows(2) {
            assert_eq!(
                cmp_key((w[0].1, &w[0].0), (w[1].1, &w[1].0)),
                Ordering::Less
            );
        }
        if let Repr::Skip(s) = &self.repr {
            assert_eq!(s.tree.len, s.map.len());
            fn walk(n: &Node, depth: usize, leaves: &mut Vec<usize>) -> usize {
                match n {
                    Node::Leaf(v) => {
                        leaves.push(depth);
                        v.len()
                    }
                    Node::Inner(k) => {
                        assert!(!k.is_empty());
                        let mut t = 0;
                        for c in k {
                            let l = walk(&c.node, depth + 1, leaves);
                            assert_eq!(l, c.len as usize);
                            assert_eq!(c.first, c.node.first());
                            assert!(l > 0);
                            t += l;
                        }
                        t
                    }
                }
            }
            let mut leaves = Vec::new();
            assert_eq!(walk(&s.tree.root, 0, &mut leaves), s.len());
            assert!(
                leaves.windows(2).all(|w| w[0] == w[1]),
                "leaves at one depth"
            );
            for (i, (m, sc)) in v.iter().enumerate() {
                assert_eq!(s.rank(m), Some(i));
                assert_eq!(
                    s.map.get(&m[..]).copied().map(f64::to_bits),
                    Some(sc.to_bits())
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;

    /// The reference: member → score, ordered views computed on demand.
    #[derive(Default)]
    struct Model {
        m: BTreeMap<Vec<u8>, f64>,
    }

    impl Model {
        fn sorted(&self) -> Vec<(Vec<u8>, f64)> {
            let mut v: Vec<(Vec<u8>, f64)> = self.m.iter().map(|(k, s)| (k.clone(), *s)).collect();
            v.sort_by(|a, b| cmp_key((a.1, &a.0), (b.1, &b.0)));
            v
        }
    }

    fn lim(entries: usize, value: usize) -> EncLimits {
        EncLimits {
            zset_entries: entries,
            zset_value: value,
            ..EncLimits::default()
        }
    }

    fn contents(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn score_encodings_round_trip() {
        for s in [
            0.0,
            1.0,
            239.0,
            240.0,
            -1.0,
            -128.0,
            -129.0,
            32767.0,
            -32769.0,
            2147483648.0,
            1.7e12,
            -1.7e12,
            140737488355327.0,
            140737488355328.0,
            -140737488355328.0,
            0.5,
            1e300,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
        ] {
            let e = encode_entry(b"m", s);
            let (m, back, end) = entry_at(&e, 0).unwrap();
            assert_eq!(m, b"m");
            assert_eq!(back.to_bits(), s.to_bits(), "{s}");
            assert_eq!(end, e.len());
        }
        // -0 becomes 0 in a listpack.
        let e = encode_entry(b"m", -0.0);
        assert_eq!(entry_at(&e, 0).unwrap().1.to_bits(), 0.0f64.to_bits());
        // Long members need a longer length prefix.
        let long = vec![b'x'; 300];
        let e = encode_entry(&long, 1.0);
        assert_eq!(entry_at(&e, 0).unwrap().0, &long[..]);
        // Truncated buffers read as the end, never a panic.
        for cut in 0..e.len() {
            assert!(entry_at(&e[..cut], 0).is_none());
        }
    }

    #[test]
    fn size_is_small() {
        assert!(std::mem::size_of::<ZSet>() <= 24);
    }

    #[test]
    fn conversions_follow_limits() {
        let l = lim(4, 8);
        let mut z = ZSet::new();
        for (i, m) in ["a", "b", "c", "d"].iter().enumerate() {
            assert!(z.set(m.as_bytes(), i as f64, &l));
        }
        assert_eq!(z.encoding(), "listpack");
        assert!(z.set(b"e", 9.0, &l));
        assert_eq!(z.encoding(), "skiplist");
        z.check();
        let mut z = ZSet::new();
        z.set(b"123456789", 1.0, &l);
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSet::new();
        z.set(b"x", 1.0, &lim(0, 64));
        assert_eq!(z.encoding(), "skiplist");
        // Updating an existing member never converts.
        let mut z = ZSet::new();
        for m in ["a", "b", "c", "d"] {
            z.set(m.as_bytes(), 0.0, &l);
        }
        assert!(!z.set(b"a", 5.0, &l));
        assert_eq!(z.encoding(), "listpack");
        // from_pairs picks by size.
        let z = ZSet::from_pairs([(b"a", 1.0), (b"b", 2.0)], &l);
        assert_eq!(z.encoding(), "listpack");
        let z = ZSet::from_pairs((0..5).map(|i| (vec![i as u8], i as f64)), &l);
        assert_eq!(z.encoding(), "skiplist");
        z.check();
    }

    #[test]
    fn negative_zero_per_encoding() {
        let mut p = ZSet::new();
        p.set(b"a", -0.0, &lim(128, 64));
        assert_eq!(p.score(b"a").unwrap().to_bits(), 0.0f64.to_bits());
        let mut s = ZSet::new();
        s.set(b"a", -0.0, &lim(0, 64));
        assert_eq!(s.score(b"a").unwrap().to_bits(), (-0.0f64).to_bits());
    }

    fn hexd(z: &ZSet) -> String {
        let mut d = [0u8; 20];
        mix_digest(&mut d, &super::super::value::TYPE_ZSET.to_be_bytes());
        z.digest(&mut d);
        super::super::digest::hex(&d)
    }

    // Vectors read from redis-server 7.0.15 (DEBUG DIGEST-VALUE).
    #[test]
    fn digest_matches_redis() {
        let pairs: [(&[u8], f64); 5] = [
            (b"a", -0.0),
            (b"b", 1.5),
            (b"c", 100.0),
            (b"d", 1e20),
            (b"e", f64::INFINITY),
        ];
        let mut z = ZSet::new();
        for (m, s) in pairs {
            z.set(m, s, &lim(128, 64));
        }
        assert_eq!(z.encoding(), "listpack");
        assert_eq!(hexd(&z), "772dc205ed1de128d0b4a08be61b26416878a7c8");
        let mut z = ZSet::new();
        for (m, s) in pairs {
            z.set(m, s, &lim(0, 64));
        }
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(hexd(&z), "330b3c5159689b5f7924c0e1b237ef815744b9d1");
        for l in [lim(128, 64), lim(0, 64)] {
            let mut z = ZSet::new();
            for (m, s) in [(&b"1"[..], 1.0), (&b"22"[..], 2.0), (&b"333"[..], 3.0)] {
                z.set(m, s, &l);
            }
            assert_eq!(hexd(&z), "96c0d79e2f5ea172d69d7888c1b4763a17853b93");
        }
    }

    fn random_member(rng: &mut impl Rng, space: u32) -> Vec<u8> {
        let n = rng.random_range(0..space);
        if n % 7 == 0 {
            format!("member-with-a-longer-name-{n}").into_bytes()
        } else {
            format!("m{n}").into_bytes()
        }
    }

    fn random_score(rng: &mut impl Rng) -> f64 {
        match rng.random_range(0..10) {
            0 => rng.random_range(-5..5) as f64,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => -0.0,
            _ => (rng.random_range(-20..20) as f64) / 4.0,
        }
    }

    /// Random operations on both encodings against the model.
    fn fuzz(seed: u64, l: EncLimits, ops: usize, space: u32) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut z = ZSet::new();
        let mut model = Model::default();
        for step in 0..ops {
            match rng.random_range(0..100) {
                0..=49 => {
                    let m = random_member(&mut rng, space);
                    let mut s = random_score(&mut rng);
                    let added = z.set(&m, s, &l);
                    if z.encoding() == "listpack" && s == 0.0 {
                        s = 0.0;
                    }
                    assert_eq!(added, model.m.insert(m, s).is_none());
                }
                50..=69 => {
                    let m = random_member(&mut rng, space);
                    assert_eq!(z.remove(&m), model.m.remove(&m).is_some());
                }
                70..=74 => {
                    let n = model.m.len();
                    let lo = rng.random_range(0..=n);
                    let hi = rng.random_range(lo..=n.max(lo)).min(lo + 5);
                    let sorted = model.sorted();
                    for (m, _) in &sorted[lo..hi] {
                        model.m.remove(m);
                    }
                    assert_eq!(z.remove_ranks(lo, hi), hi - lo);
                }
                75..=89 => {
                    let a = random_score(&mut rng);
                    let b = random_score(&mut rng);
                    let r = ScoreRange {
                        min: a.min(b),
                        max: a.max(b),
                        minex: rng.random(),
                        maxex: rng.random(),
                    };
                    let sorted = model.sorted();
                    let want: Vec<_> = sorted
                        .iter()
                        .filter(|(_, s)| r.gte_min(*s) && r.lte_max(*s))
                        .cloned()
                        .collect();
                    let (lo, hi) = z.score_span(&r);
                    let mut got = Vec::new();
                    z.for_ranks(lo, hi, false, |m, s| got.push((m.to_vec(), s)));
                    assert_eq!(got, want, "step {step} range {r:?}");
                    let mut rev = Vec::new();
                    z.for_ranks(lo, hi, true, |m, s| rev.push((m.to_vec(), s)));
                    rev.reverse();
                    assert_eq!(rev, want);
                }
                90..=94 => {
                    // Lexicographic ranges over one score.
                    let a = random_member(&mut rng, space);
                    let b = random_member(&mut rng, space);
                    let (a, b) = if a <= b { (a, b) } else { (b, a) };
                    let r = LexRange {
                        min: if rng.random_range(0..8) == 0 {
                            LexBound::NegInf
                        } else {
                            LexBound::Val(a)
                        },
                        minex: rng.random(),
                        max: if rng.random_range(0..8) == 0 {
                            LexBound::PosInf
                        } else {
                            LexBound::Val(b)
                        },
                        maxex: rng.random(),
                    };
                    let same = ZSet::from_pairs(model.m.keys().map(|k| (k.clone(), 1.0)), &l);
                    let want: Vec<Vec<u8>> = model
                        .m
                        .keys()
                        .filter(|k| r.gte_min(k) && r.lte_max(k))
                        .cloned()
                        .collect();
                    for rev in [false, true] {
                        let (lo, hi) = same.lex_span(&r, rev);
                        let mut got = Vec::new();
                        same.for_ranks(lo, hi, false, |m, _| got.push(m.to_vec()));
                        assert_eq!(got, want);
                    }
                }
                _ => {
                    let sorted = model.sorted();
                    if let Some((m, s)) = sorted.get(rng.random_range(0..sorted.len().max(1))) {
                        let i = sorted.iter().position(|x| &x.0 == m).unwrap();
                        assert_eq!(z.rank(m), Some(i));
                        assert_eq!(z.score(m).map(f64::to_bits), Some(s.to_bits()));
                        let (nm, ns) = z.nth(i).unwrap();
                        assert_eq!((nm, ns.to_bits()), (&m[..], s.to_bits()));
                    }
                    assert_eq!(z.rank(b"absent"), None);
                }
            }
            assert_eq!(z.len(), model.m.len());
            if step % 97 == 0 {
                z.check();
                assert_eq!(contents(&z), model.sorted());
            }
        }
        z.check();
        assert_eq!(contents(&z), model.sorted());
    }

    #[test]
    fn model_listpack() {
        for seed in 0..4 {
            fuzz(seed, lim(usize::MAX, usize::MAX), 3000, 60);
        }
    }

    #[test]
    fn model_skiplist() {
        for seed in 0..4 {
            fuzz(100 + seed, lim(0, 0), 6000, 2000);
        }
        // Small spaces churn the tree's merges and splits.
        fuzz(7, lim(0, 0), 20000, 300);
    }

    #[test]
    fn model_converting() {
        fuzz(42, lim(16, 20), 5000, 100);
    }

    #[test]
    fn large_tree_ranks_and_removals() {
        let l = lim(0, 0);
        let n = 20_000;
        let mut z = ZSet::new();
        for i in 0..n {
            z.set(format!("{i:08}").as_bytes(), (i % 1000) as f64, &l);
        }
        z.check();
        // Everything at score 0 first (members 0, 1000, 2000...).
        assert_eq!(z.nth(0).unwrap().0, b"00000000");
        assert_eq!(z.nth(1).unwrap().0, b"00001000");
        let r = ScoreRange {
            min: 10.0,
            max: 20.0,
            minex: true,
            maxex: false,
        };
        let (lo, hi) = z.score_span(&r);
        assert_eq!(hi - lo, 10 * (n / 1000));
        // Remove every other member, then a big rank range.
        for i in (0..n).step_by(2) {
            assert!(z.remove(format!("{i:08}").as_bytes()));
        }
        z.check();
        assert_eq!(z.len(), n / 2);
        assert_eq!(z.remove_ranks(100, 9000), 8900);
        z.check();
        assert_eq!(z.remove_ranks(0, usize::MAX), n / 2 - 8900);
        assert!(z.is_empty());
        z.check();
    }

    #[test]
    fn scan_sees_every_stable_member() {
        let l = lim(0, 0);
        let mut z = ZSet::new();
        for i in 0..1000 {
            z.set(format!("k{i}").as_bytes(), i as f64, &l);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = z.scan(cursor, 37, |m, _| {
                seen.insert(m.to_vec());
            });
            // Churn: drop some low members, add new ones.
            round += 1;
            z.remove(format!("k{}", round * 3).as_bytes());
            z.set(format!("new{round}").as_bytes(), 0.5, &l);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            if i % 3 != 0 || i == 0 || i / 3 > round {
                assert!(seen.contains(format!("k{i}").as_bytes()), "k{i}");
            }
        }
    }
}
