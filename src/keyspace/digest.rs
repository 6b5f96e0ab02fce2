//! Redis's DEBUG DIGEST / DIGEST-VALUE algorithm (debug.c), so a dataset can
//! be compared with redis-server's:
//! - `xor(d, bytes)`: d ^= SHA1(bytes); `mix(d, bytes)`: xor, then d = SHA1(d).
//! - a value's digest mixes its type code (big-endian u32), then its contents
//!   (strings: their bytes); a key with a TTL also xors the marker
//!   "!!expire!!" (the time itself is not part of it).
//! - the dataset digest starts at zero; for every non-empty db j (in order) it
//!   mixes htonl(j), then for every key xors in SHA1(d), where d starts at
//!   zero, mixes the key name and continues with the value as above. Keys
//!   combine by xor, so their order (and the core holding them) does not matter.

use super::{Db, Entry};
use sha1::{Digest, Sha1};

pub type Sum = [u8; 20];

pub fn xor_digest(d: &mut Sum, bytes: &[u8]) {
    let h = Sha1::digest(bytes);
    for (a, b) in d.iter_mut().zip(h.iter()) {
        *a ^= b;
    }
}

pub fn mix_digest(d: &mut Sum, bytes: &[u8]) {
    xor_digest(d, bytes);
    let h = Sha1::digest(*d);
    d.copy_from_slice(&h);
}

/// Continues `d` with a value: its type, its contents, and whether it has a TTL.
fn object_digest(d: &mut Sum, e: &Entry, has_ttl: bool) {
    mix_digest(d, &e.val.type_code().to_be_bytes());
    e.val.digest_contents(d);
    if has_ttl {
        xor_digest(d, b"!!expire!!");
    }
}

/// DEBUG DIGEST-VALUE of one key (the key name is not part of it).
pub fn value_digest(e: &Entry, has_ttl: bool) -> Sum {
    let mut d = [0u8; 20];
    object_digest(&mut d, e, has_ttl);
    d
}

/// The xor of every key's term (SHA1 of mix(key) continued by its value) in
/// `db`, keys with a passed but not yet removed TTL included, and the count.
pub fn db_digest(db: &Db) -> (Sum, usize) {
    let mut acc = [0u8; 20];
    let mut n = 0;
    for (_, t) in db.tables() {
        for (k, e) in t.keys.iter() {
            let mut d = [0u8; 20];
            mix_digest(&mut d, k);
            object_digest(&mut d, e, t.expires.contains_key(k.as_bytes()));
            xor_digest(&mut acc, &d);
            n += 1;
        }
    }
    (acc, n)
}

/// Combines per-core, per-db (xor, count) pairs into the dataset digest.
pub fn combine(per_core: &[Vec<(Sum, usize)>]) -> Sum {
    let mut fin = [0u8; 20];
    let ndb = per_core.iter().map(Vec::len).max().unwrap_or(0);
    for j in 0..ndb {
        let count: usize = per_core.iter().map(|c| c.get(j).map_or(0, |x| x.1)).sum();
        if count == 0 {
            continue;
        }
        mix_digest(&mut fin, &(j as u32).to_be_bytes());
        for c in per_core {
            if let Some((x, _)) = c.get(j) {
                for (a, b) in fin.iter_mut().zip(x.iter()) {
                    *a ^= b;
                }
            }
        }
    }
    fin
}

pub fn hex(d: &Sum) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Ttl, Value};

    fn dataset(db: &Db) -> String {
        hex(&combine(&[vec![db_digest(db)]]))
    }

    // Vectors read from redis-server 7.0.15 (DEBUG DIGEST / DIGEST-VALUE).
    #[test]
    fn matches_redis_vectors() {
        let mut db = Db::new();
        assert_eq!(dataset(&db), "0000000000000000000000000000000000000000");
        db.set(b"a", Value::str(b"b"), Ttl::Clear, 0);
        assert_eq!(dataset(&db), "479783d7290f02957dfbe3408a858ba13eea1709");
        let e = db.entry_raw(b"a").cloned().unwrap();
        assert_eq!(
            hex(&value_digest(&e, false)),
            "b78559cd22bce6e6df712eb99ce7f3b08e8f8f1f"
        );
        db.set(b"c", Value::str(b"12345"), Ttl::Clear, 0);
        assert_eq!(dataset(&db), "3056b34990ee0f9f868b6810731a35b8e233b428");
        let mut db = Db::new();
        db.set(b"a", Value::str(b"b"), Ttl::At(4102444800000), 0);
        assert_eq!(dataset(&db), "f3ab785a0fb529fedf3d4009f7fbe16909f6078c");
        assert_eq!(
            hex(&value_digest(&e, true)),
            "5100a732fe850cb21e67c541d98d3c2b9421ce9c"
        );
    }
}
