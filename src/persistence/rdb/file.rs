//! Whole RDB files, streamed both ways (rdbSaveRio / rdbLoadRio).
//!
//! ```text
//! file   = "REDIS0010"  aux*  [FUNCTION2 library:string]*  db*  0xFF  crc64:u64 LE
//! aux    = 0xFA key:string value:string      redis-ver, redis-bits, ctime,
//!                                            used-mem, [repl-stream-db, repl-id,
//!                                            repl-offset,] aof-base
//! db     = 0xFE dbnum:length  0xFB keys:length expires:length  entry*
//! entry  = [0xFC expire_ms:i64 LE | 0xFD expire_s:i32 LE]
//!          [0xF8 idle_seconds:length] [0xF9 lfu:u8]
//!          type:u8  key:string  value       (value as in encode.rs)
//! ```
//!
//! The CRC64 covers every byte before it; 0 means "not computed"
//! (`rdbchecksum no`) and is not checked. Module data (0xF7 and module
//! values) and streams are reported as unsupported; a FUNCTION2 record is
//! handed to the caller as `Item::Function` (shardis has no functions yet:
//! its loader should log and skip it), the 7.0-rc FUNCTION record (0xF6) is
//! unsupported.

use super::decode::{load_len, load_string, load_value};
use super::encode::{save_body, save_len, save_string, value_type, Sink};
use super::input::{Input, StreamInput};
use super::{opcode, types, Error, ErrorKind, CRC64, RDB_VERSION};
use crate::keyspace::{EncLimits, Value};
use crc::{Digest, Table};
use std::io::{self, BufReader, Read, Write};

/// The aux fields Redis 7.0.15 writes at the top of a file.
#[derive(Debug, Clone)]
pub struct Aux {
    /// `redis-ver`: what tools see as the producer's version.
    pub redis_ver: String,
    /// `ctime`: unix seconds of the snapshot.
    pub ctime: u64,
    /// `used-mem`: bytes in use when the snapshot was taken.
    pub used_mem: u64,
    /// `repl-stream-db`, `repl-id`, `repl-offset` (files made for replication
    /// or by a primary with replicas).
    pub repl: Option<ReplAux>,
    /// `aof-base`: 1 when the file is the base of a multi-part AOF.
    pub aof_base: bool,
}

#[derive(Debug, Clone)]
pub struct ReplAux {
    pub stream_db: i64,
    pub repl_id: String,
    pub offset: i64,
}

impl Aux {
    /// The fields for a snapshot taken now.
    pub fn now(used_mem: u64) -> Aux {
        let ctime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Aux {
            redis_ver: crate::REDIS_COMPAT_VERSION.to_string(),
            ctime,
            used_mem,
            repl: None,
            aof_base: false,
        }
    }
}

/// `rdbcompression` and `rdbchecksum`.
#[derive(Debug, Clone, Copy)]
pub struct WriterOptions {
    pub compress: bool,
    pub checksum: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            compress: true,
            checksum: true,
        }
    }
}

/// A key's access metadata and expiry, as a file records them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyMeta {
    /// Absolute unix time in ms.
    pub expire_ms: Option<i64>,
    /// Idle seconds (written by Redis under an LRU maxmemory-policy).
    pub idle: Option<u64>,
    /// LFU counter (written by Redis under an LFU maxmemory-policy).
    pub freq: Option<u8>,
}

struct CrcWriter<W: Write> {
    w: W,
    crc: Digest<'static, u64, Table<16>>,
    n: u64,
}

impl<W: Write> Sink for CrcWriter<W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.w.write_all(b)?;
        self.crc.update(b);
        self.n += b.len() as u64;
        Ok(())
    }
}

/// Writes an RDB file to any `Write`: `new` writes the header and aux
/// fields, then `select_db` and `entry` as often as needed, then `finish`
/// writes EOF and the checksum. Give it a buffered writer.
pub struct RdbWriter<W: Write> {
    out: CrcWriter<W>,
    opts: WriterOptions,
}

impl<W: Write> RdbWriter<W> {
    pub fn new(w: W, aux: &Aux, opts: WriterOptions) -> io::Result<RdbWriter<W>> {
        let mut wr = RdbWriter {
            out: CrcWriter {
                w,
                crc: CRC64.digest(),
                n: 0,
            },
            opts,
        };
        wr.out.put(format!("REDIS{RDB_VERSION:04}").as_bytes())?;
        wr.aux_field(b"redis-ver", aux.redis_ver.as_bytes())?;
        wr.aux_int(b"redis-bits", 64)?;
        wr.aux_int(b"ctime", aux.ctime as i64)?;
        wr.aux_int(b"used-mem", aux.used_mem as i64)?;
        if let Some(r) = &aux.repl {
            wr.aux_int(b"repl-stream-db", r.stream_db)?;
            wr.aux_field(b"repl-id", r.repl_id.as_bytes())?;
            wr.aux_int(b"repl-offset", r.offset)?;
        }
        wr.aux_int(b"aof-base", i64::from(aux.aof_base))?;
        Ok(wr)
    }

    /// One more aux field (rdbSaveAuxField).
    pub fn aux_field(&mut self, key: &[u8], val: &[u8]) -> io::Result<()> {
        self.out.put(&[opcode::AUX])?;
        save_string(&mut self.out, key, self.opts.compress)?;
        save_string(&mut self.out, val, self.opts.compress)
    }

    fn aux_int(&mut self, key: &[u8], v: i64) -> io::Result<()> {
        self.aux_field(key, itoa::Buffer::new().format(v).as_bytes())
    }

    /// A function library's code (RDB_OPCODE_FUNCTION2).
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.out.put(&[opcode::FUNCTION2])?;
        save_string(&mut self.out, code, self.opts.compress)
    }

    /// Starts database `db`: SELECTDB, then the RESIZEDB hint of how many
    /// keys (and keys with an expiry) follow.
    pub fn select_db(&mut self, db: u64, keys: u64, expires: u64) -> io::Result<()> {
        self.out.put(&[opcode::SELECTDB])?;
        save_len(&mut self.out, db)?;
        self.out.put(&[opcode::RESIZEDB])?;
        save_len(&mut self.out, keys)?;
        save_len(&mut self.out, expires)
    }

    /// One key (rdbSaveKeyValuePair) with its absolute expiry in ms.
    pub fn entry(&mut self, key: &[u8], v: &Value, expire_ms: Option<i64>) -> io::Result<()> {
        self.entry_with(
            key,
            v,
            &KeyMeta {
                expire_ms,
                ..KeyMeta::default()
            },
        )
    }

    /// One key with its expiry and access metadata.
    pub fn entry_with(&mut self, key: &[u8], v: &Value, meta: &KeyMeta) -> io::Result<()> {
        save_entry(&mut self.out, key, v, meta, self.opts.compress)
    }

    /// Bytes encoded elsewhere with [`encode_select_db`] and
    /// [`encode_entry`] (a snapshot's chunks), counted in the checksum.
    pub fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.out.put(b)
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.out.n
    }

    /// Writes EOF and the checksum (0 with `checksum: false`), flushes,
    /// and hands the writer back.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.put(&[opcode::EOF])?;
        let crc = if self.opts.checksum {
            self.out.crc.clone().finalize()
        } else {
            0
        };
        self.out.put(&crc.to_le_bytes())?;
        self.out.w.flush()?;
        Ok(self.out.w)
    }
}

fn save_entry<S: Sink>(
    out: &mut S,
    key: &[u8],
    v: &Value,
    meta: &KeyMeta,
    compress: bool,
) -> io::Result<()> {
    if let Some(at) = meta.expire_ms {
        out.put(&[opcode::EXPIRETIME_MS])?;
        out.put(&at.to_le_bytes())?;
    }
    if let Some(idle) = meta.idle {
        out.put(&[opcode::IDLE])?;
        save_len(out, idle)?;
    }
    if let Some(f) = meta.freq {
        out.put(&[opcode::FREQ, f])?;
    }
    out.put(&[value_type(v)])?;
    save_string(out, key, compress)?;
    save_body(out, v, compress)
}

/// SELECTDB `db` (without the optional RESIZEDB hint), appended to `out`:
/// a snapshot chunk starts with one, and a file may switch databases any
/// number of times.
pub fn encode_select_db(out: &mut Vec<u8>, db: u64) {
    out.push(opcode::SELECTDB);
    let _ = save_len(out, db);
}

/// One key as [`RdbWriter::entry`] writes it, appended to `out`.
pub fn encode_entry(
    out: &mut Vec<u8>,
    key: &[u8],
    v: &Value,
    expire_ms: Option<i64>,
    compress: bool,
) {
    let meta = KeyMeta {
        expire_ms,
        ..KeyMeta::default()
    };
    let _ = save_entry(out, key, v, &meta, compress);
}

/// One key read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub db: u64,
    pub key: Vec<u8>,
    pub value: Value,
    pub meta: KeyMeta,
}

/// What a file holds, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Aux {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    /// A function library's code (FUNCTION2).
    Function(Vec<u8>),
    SelectDb(u64),
    ResizeDb {
        keys: u64,
        expires: u64,
    },
    Entry(Entry),
}

/// Reads an RDB file from any `Read` (buffered inside), item by item.
/// Keys whose expiry has passed are returned like the others: dropping
/// them (as a primary does on load) is the caller's choice. Empty
/// aggregates are skipped, as Redis skips them, and counted.
pub struct RdbReader<R: Read> {
    inp: StreamInput<BufReader<R>>,
    version: u32,
    db: u64,
    limits: EncLimits,
    done: bool,
    empty_skipped: u64,
}

impl<R: Read> RdbReader<R> {
    /// Reads the signature and version, with Redis's default encoding thresholds.
    pub fn new(r: R) -> Result<RdbReader<R>, Error> {
        Self::with_limits(r, EncLimits::default())
    }

    /// Like `new`; values get the encodings `limits` call for.
    pub fn with_limits(r: R, limits: EncLimits) -> Result<RdbReader<R>, Error> {
        let mut inp = StreamInput::new(BufReader::with_capacity(64 * 1024, r));
        let mut magic = [0u8; 9];
        inp.read_exact(&mut magic)?;
        if &magic[..5] != b"REDIS" || !magic[5..].iter().all(u8::is_ascii_digit) {
            return Err(Error::new(0, ErrorKind::Signature));
        }
        let version = magic[5..]
            .iter()
            .fold(0u32, |v, d| v * 10 + u32::from(d - b'0'));
        if version < 1 || version > u32::from(RDB_VERSION) {
            return Err(Error::new(5, ErrorKind::Version(version)));
        }
        Ok(RdbReader {
            inp,
            version,
            db: 0,
            limits,
            done: false,
            empty_skipped: 0,
        })
    }

    /// The file's RDB version (1..=10).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Bytes read so far.
    pub fn offset(&self) -> u64 {
        self.inp.offset()
    }

    /// Empty aggregates met and skipped so far.
    pub fn empty_keys_skipped(&self) -> u64 {
        self.empty_skipped
    }

    /// The next item; None after the EOF opcode and a good checksum.
    pub fn next_item(&mut self) -> Result<Option<Item>, Error> {
        if self.done {
            return Ok(None);
        }
        let r = self.read_item();
        if !matches!(r, Ok(Some(_))) {
            self.done = true;
        }
        r
    }

    fn read_item(&mut self) -> Result<Option<Item>, Error> {
        let inp = &mut self.inp;
        let mut meta = KeyMeta::default();
        // Bounded by the input: every turn consumes at least one byte.
        loop {
            let op_at = inp.offset();
            let t = inp.u8()?;
            match t {
                opcode::EXPIRETIME => {
                    let mut b = [0u8; 4];
                    inp.read_exact(&mut b)?;
                    meta.expire_ms = Some(i64::from(i32::from_le_bytes(b)) * 1000);
                }
                opcode::EXPIRETIME_MS => {
                    let mut b = [0u8; 8];
                    inp.read_exact(&mut b)?;
                    meta.expire_ms = Some(i64::from_le_bytes(b));
                }
                opcode::FREQ => meta.freq = Some(inp.u8()?),
                opcode::IDLE => meta.idle = Some(load_len(inp)?),
                opcode::EOF => {
                    if self.version >= 5 {
                        let expected = inp.checksum();
                        let mut b = [0u8; 8];
                        inp.read_exact(&mut b)?;
                        let found = u64::from_le_bytes(b);
                        if found != 0 && found != expected {
                            return Err(Error::new(
                                op_at + 1,
                                ErrorKind::Checksum { expected, found },
                            ));
                        }
                    }
                    return Ok(None);
                }
                opcode::SELECTDB => {
                    self.db = load_len(inp)?;
                    return Ok(Some(Item::SelectDb(self.db)));
                }
                opcode::RESIZEDB => {
                    let keys = load_len(inp)?;
                    let expires = load_len(inp)?;
                    return Ok(Some(Item::ResizeDb { keys, expires }));
                }
                opcode::AUX => {
                    let key = load_string(inp)?;
                    let value = load_string(inp)?;
                    return Ok(Some(Item::Aux { key, value }));
                }
                opcode::FUNCTION2 => return Ok(Some(Item::Function(load_string(inp)?))),
                opcode::FUNCTION => {
                    return Err(Error::new(
                        op_at,
                        ErrorKind::Unsupported("pre-GA function format (opcode 246)".into()),
                    ))
                }
                opcode::MODULE_AUX => {
                    return Err(Error::new(
                        op_at,
                        ErrorKind::Unsupported("module aux data".into()),
                    ))
                }
                t if types::is_object(t) => {
                    let key = load_string(inp)?;
                    match load_value(inp, t, &self.limits) {
                        Ok(value) => {
                            return Ok(Some(Item::Entry(Entry {
                                db: self.db,
                                key,
                                value,
                                meta,
                            })))
                        }
                        Err(e) if matches!(e.kind, ErrorKind::EmptyValue) => {
                            self.empty_skipped += 1;
                            meta = KeyMeta::default();
                        }
                        Err(e) => return Err(e),
                    }
                }
                _ => return Err(Error::corrupt(op_at, "opcode or object type")),
            }
        }
    }

    /// The reader handed to `new` (positioned after what was read, give or
    /// take the internal buffer).
    pub fn into_inner(self) -> R {
        self.inp.into_inner().into_inner()
    }
}

impl<R: Read> Iterator for RdbReader<R> {
    type Item = Result<Item, Error>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_item().transpose()
    }
}
