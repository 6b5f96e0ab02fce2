//! Fork-less snapshots (SAVE, BGSAVE, save points, SHUTDOWN) and loading
//! dump.rdb at start-up.
//!
//! # Taking a snapshot
//!
//! While every core is held at once (`Core::lock_and`), each core starts a
//! capture on each of its databases (`keyspace::Capture`): the slots that
//! hold keys at that moment are pending. Then each core walks its pending
//! slots one by one in a task, encoding each slot's keys as RDB entries
//! into its output buffer and yielding between slots, so it keeps serving.
//! A command that is about to change a pending slot first encodes that slot
//! as it is (the keyspace calls the sink before handing out the table), so
//! what is saved is the dataset of the start point, with no copy made up
//! front: the extra memory is the encoded bytes waiting to be written.
//!
//! Each core ships its buffer in chunks (each starting with SELECTDB, at a
//! key boundary) to the core running the save, which writes the header and
//! aux fields, the chunks as they come, EOF and the CRC64 to
//! `temp-<pid>.rdb` through io_uring, fsyncs it and renames it to
//! `dbfilename`. The chunk channel is bounded, so a slow disk slows the
//! walks instead of filling memory.
//!
//! # Loading
//!
//! At start-up with `appendonly no`, core 0 reads `dir/dbfilename` entry by
//! entry and sends each key, in batches, to the core that owns its slot now
//! (the thread count may differ from the run that wrote it). Keys already
//! expired are skipped, as a Redis primary does. Clients get `-LOADING`
//! meanwhile. A damaged file stops start-up with the file's name and the
//! offset; the file is left as it is.

use crate::keyspace::{SlotSink, SlotTable, Ttl};
use crate::node::Node;
use crate::persistence::aof::{encode_command, encode_key};
use crate::persistence::rdb::{self, Aux, Item, RdbReader, RdbWriter, WriterOptions};
use crate::runtime::file::LogFile;
use crate::runtime::{self, now_ms, Core};
use futures::channel::mpsc;
use futures::{SinkExt, StreamExt};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes a core gathers before shipping a chunk.
const CHUNK: usize = 256 << 10;
/// Chunks in flight per core towards the writing core.
const IN_FLIGHT: usize = 4;
/// Keys per batch sent to a core while loading.
const LOAD_BATCH: usize = 1024;

pub const SAVE_IN_PROGRESS: &str = "ERR Background save already in progress";
/// BGSAVE (without SCHEDULE) while an AOF rewrite's snapshot runs: Redis's
/// text for "another child is active".
pub const OTHER_SNAPSHOT: &str = "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.";

/// What holds the node's one snapshot (`SnapShared::running`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// SAVE, BGSAVE, save points, SHUTDOWN: dump.rdb.
    Rdb = 1,
    /// An AOF rewrite's per-core bases.
    AofRewrite = 2,
}

/// Node-wide snapshot state (in `Node`).
pub struct SnapShared {
    /// The `Kind` of the running snapshot, 0 when none runs (one at a
    /// time: captures live in the dbs).
    running: AtomicU8,
    /// BGSAVE SCHEDULE asked while something else ran.
    pub scheduled: AtomicBool,
    /// Unix seconds of the last successful save (LASTSAVE).
    pub last_save: AtomicU64,
    /// Sum of the cores' dirty counters at the last successful save.
    pub dirty_at_save: AtomicU64,
    pub last_ok: AtomicBool,
    /// Unix ms of the last failed attempt (save points retry after 5 s).
    pub last_try_ms: AtomicU64,
    pub last_secs: AtomicI64,
    /// When the running snapshot started (ms), 0 when none runs.
    pub started_ms: AtomicU64,
    pub saves: AtomicU64,
    pub keys_total: AtomicU64,
    pub load_loaded: AtomicU64,
    pub load_expired: AtomicU64,
}

impl Default for SnapShared {
    fn default() -> Self {
        SnapShared {
            running: AtomicU8::new(0),
            scheduled: AtomicBool::new(false),
            last_save: AtomicU64::new(now_ms() / 1000),
            dirty_at_save: AtomicU64::new(0),
            last_ok: AtomicBool::new(true),
            last_try_ms: AtomicU64::new(0),
            last_secs: AtomicI64::new(-1),
            started_ms: AtomicU64::new(0),
            saves: AtomicU64::new(0),
            keys_total: AtomicU64::new(0),
            load_loaded: AtomicU64::new(0),
            load_expired: AtomicU64::new(0),
        }
    }
}

impl SnapShared {
    /// Any snapshot runs (an RDB save or an AOF rewrite's).
    pub fn in_progress(&self) -> bool {
        self.running.load(Ordering::Relaxed) != 0
    }

    /// An RDB save runs (rdb_bgsave_in_progress).
    pub fn rdb_in_progress(&self) -> bool {
        self.running.load(Ordering::Relaxed) == Kind::Rdb as u8
    }

    /// Whether writes are refused: `stop-writes-on-bgsave-error yes`, the
    /// last save failed and save points are configured.
    pub fn refuses_writes(&self, node: &Node) -> bool {
        !self.last_ok.load(Ordering::Relaxed)
            && node
                .config
                .read()
                .is_ok_and(|c| c.stop_writes_on_bgsave_error() && !c.save_params().is_empty())
    }
}

/// The claim on the node's one snapshot at a time.
struct Running(Arc<Node>);

impl Running {
    /// Waits until no snapshot runs, then claims it for `kind`.
    async fn claim(node: &Arc<Node>, kind: Kind) -> Running {
        let s = &node.snapshot;
        while s
            .running
            .compare_exchange(0, kind as u8, Ordering::SeqCst, Ordering::SeqCst)
            .is_err()
        {
            runtime::sleep(Duration::from_millis(10)).await;
        }
        if kind == Kind::Rdb {
            s.started_ms.store(now_ms(), Ordering::Relaxed);
        }
        Running(node.clone())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.0.snapshot.started_ms.store(0, Ordering::Relaxed);
        self.0.snapshot.running.store(0, Ordering::SeqCst);
    }
}

/// How a snapshot writes keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// RDB entries (dump.rdb; AOF bases with `aof-use-rdb-preamble yes`).
    #[default]
    Rdb,
    /// The commands that recreate each key, keys expired at the start
    /// point left out (AOF bases with `aof-use-rdb-preamble no`).
    Commands,
}

/// A core's encoded snapshot bytes waiting to be shipped.
#[derive(Default)]
struct Out {
    buf: Vec<u8>,
    /// The db the buffer's last entries belong to (None at a chunk start).
    db: Option<usize>,
    keys: u64,
    format: Format,
    compress: bool,
    /// Unix ms of the start point.
    now: u64,
}

/// What a db's capture hands slots to: encodes them into the core's `Out`.
struct DbSink {
    db: usize,
    out: Rc<RefCell<Out>>,
}

impl SlotSink for DbSink {
    fn save_slot(&mut self, _slot: usize, table: &SlotTable) {
        let o = &mut *self.out.borrow_mut();
        for (k, e) in table.keys.iter() {
            let exp = table.expires.get(k.as_bytes()).copied();
            if o.format == Format::Commands && exp.is_some_and(|at| at <= o.now) {
                continue;
            }
            if o.db != Some(self.db) {
                match o.format {
                    Format::Rdb => rdb::encode_select_db(&mut o.buf, self.db as u64),
                    Format::Commands => {
                        let n = itoa::Buffer::new().format(self.db).to_string();
                        encode_command(&mut o.buf, &[b"SELECT".as_slice(), n.as_bytes()]);
                    }
                }
                o.db = Some(self.db);
            }
            match o.format {
                Format::Rdb => rdb::encode_entry(
                    &mut o.buf,
                    k.as_bytes(),
                    &e.val,
                    exp.map(|at| at as i64),
                    o.compress,
                ),
                Format::Commands => {
                    encode_key(&mut o.buf, k.as_bytes(), &e.val, exp, false);
                }
            }
            o.keys += 1;
        }
    }
}

impl Out {
    /// The bytes gathered so far; the next entry starts a new chunk.
    fn take(&mut self) -> Vec<u8> {
        self.db = None;
        std::mem::take(&mut self.buf)
    }
}

/// What a core's walk sends to the writing core.
enum Msg {
    Chunk(Vec<u8>),
    /// The core is done, with how many keys it wrote.
    Done(u64),
}

/// Starts captures on every db of `core` (called while every core is
/// held) and spawns the walk that sends the chunks to `tx`.
fn start_core(core: &Rc<Core>, format: Format, compress: bool, tx: mpsc::Sender<Msg>) {
    let out = Rc::new(RefCell::new(Out {
        format,
        compress,
        now: now_ms(),
        ..Out::default()
    }));
    {
        let mut shard = core.shard.borrow_mut();
        for (i, db) in shard.dbs.iter_mut().enumerate() {
            db.start_capture(Box::new(DbSink {
                db: i,
                out: out.clone(),
            }));
        }
    }
    runtime::spawn(walk(core.clone(), out, tx));
}

/// The walk of one core: every pending slot of every db, then the rest of
/// the buffer, then `Done`.
async fn walk(core: Rc<Core>, out: Rc<RefCell<Out>>, mut tx: mpsc::Sender<Msg>) {
    let delay_us = core
        .node
        .config
        .read()
        .map_or(0, |c| c.rdb_key_save_delay().max(0) as u64);
    let ndbs = core.shard.borrow().dbs.len();
    for db in 0..ndbs {
        let mut from = 0;
        loop {
            let before = out.borrow().keys;
            let step = core.shard.borrow_mut().dbs[db].capture_step(from);
            let Some(next) = step else { break };
            from = next;
            let full = out.borrow().buf.len() >= CHUNK;
            if full {
                let chunk = out.borrow_mut().take();
                if tx.send(Msg::Chunk(chunk)).await.is_err() {
                    abort(&core);
                    return;
                }
            }
            let written = out.borrow().keys - before;
            if delay_us > 0 && written > 0 {
                runtime::sleep(Duration::from_micros(delay_us * written)).await;
            } else {
                runtime::yield_now().await;
            }
        }
    }
    let (chunk, keys) = {
        let mut o = out.borrow_mut();
        (o.take(), o.keys)
    };
    if !chunk.is_empty() && tx.send(Msg::Chunk(chunk)).await.is_err() {
        abort(&core);
        return;
    }
    let _ = tx.send(Msg::Done(keys)).await;
}

/// Ends this core's captures without writing the rest (the save failed).
fn abort(core: &Core) {
    for db in core.shard.borrow_mut().dbs.iter_mut() {
        db.abort_capture();
    }
}

/// A `Write` the RDB writer fills and the save drains into the file.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `dir` (absolute) and `dbfilename`.
pub fn rdb_path(node: &Node) -> PathBuf {
    let name = node
        .config
        .read()
        .map_or_else(|_| "dump.rdb".to_string(), |c| c.dbfilename().to_string());
    std::env::current_dir().unwrap_or_default().join(name)
}

fn used_memory() -> u64 {
    crate::observability::memory::used_memory()
}

/// Saves the node's dataset to `dir/dbfilename` (SAVE, BGSAVE, save
/// points, SHUTDOWN): see the module doc. Runs on `core` once no other
/// snapshot runs; `Err` carries the reason, also logged.
pub async fn save(core: &Rc<Core>) -> Result<(), String> {
    save_started(core, None, true).await
}

/// FLUSHALL's save of the emptied dataset (with save points set): as
/// Redis, not counted in rdb_saves.
pub async fn save_after_flush(core: &Rc<Core>) -> Result<(), String> {
    save_started(core, None, false).await
}

/// [`save`] telling `started` once the snapshot's start point is taken
/// (BGSAVE answers then: later writes are not in the file).
async fn save_started(
    core: &Rc<Core>,
    started_tx: Option<futures::channel::oneshot::Sender<()>>,
    counted: bool,
) -> Result<(), String> {
    let node = core.node.clone();
    let claim = Running::claim(&node, Kind::Rdb).await;
    let started = Instant::now();
    let dirty_before = total_dirty(core).await;
    let result = save_to(core, &rdb_path(&node), started_tx).await;
    let s = &node.snapshot;
    s.last_secs
        .store(started.elapsed().as_secs() as i64, Ordering::Relaxed);
    s.last_try_ms.store(now_ms(), Ordering::Relaxed);
    match &result {
        Ok(keys) => {
            s.last_ok.store(true, Ordering::Relaxed);
            node.aof.set_bgsave_failing(false);
            s.last_save.store(now_ms() / 1000, Ordering::Relaxed);
            s.dirty_at_save.store(dirty_before, Ordering::Relaxed);
            if counted {
                s.saves.fetch_add(1, Ordering::Relaxed);
            }
            tracing::info!(
                "DB saved on disk ({} keys, {:.3} s)",
                keys,
                started.elapsed().as_secs_f64()
            );
        }
        Err(e) => {
            s.last_ok.store(false, Ordering::Relaxed);
            node.aof.set_bgsave_failing(s.refuses_writes(&node));
            tracing::warn!("Error saving DB on disk: {}", e);
        }
    }
    drop(claim);
    result.map(|_| ())
}

/// The sum of every core's dirty counter (changes since start).
pub async fn total_dirty(core: &Rc<Core>) -> u64 {
    core.run_on_all(|c| c.shard.borrow().dirty)
        .await
        .into_iter()
        .sum()
}

/// Starts every core's capture at one point (then tells `started`),
/// writes the file as the chunks come, fsyncs and renames it; the number of
/// keys written.
async fn save_to(
    core: &Rc<Core>,
    path: &Path,
    started: Option<futures::channel::oneshot::Sender<()>>,
) -> Result<u64, String> {
    let (compress, checksum) = core
        .node
        .config
        .read()
        .map_or((true, true), |c| (c.rdbcompression(), c.rdbchecksum()));
    let (tx, mut rx) = mpsc::channel::<Msg>(IN_FLIGHT * core.ncores);
    let all: Vec<usize> = (0..core.ncores).collect();
    let walks = core
        .lock_and(
            &all,
            move |c: &Rc<Core>| start_core(c, Format::Rdb, compress, tx.clone()),
            |v| (Vec::new(), v.len()),
        )
        .await;
    if let Some(s) = started {
        let _ = s.send(());
    }
    if walks != core.ncores {
        return Err("a shard went away".into());
    }
    // On an error below `rx` is dropped, which ends the walks.
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let file = LogFile::create(&tmp).await.map_err(|e| {
        format!(
            "Failed opening the temp RDB file {} (in server root dir {}) for saving: {}",
            tmp.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            dir.display(),
            crate::server::aof::strerror(&e)
        )
    })?;
    let buf = Shared::default();
    let r = match RdbWriter::new(
        buf.clone(),
        &Aux::now(used_memory()),
        WriterOptions { compress, checksum },
    ) {
        Ok(w) => drain(&file, Some(w), &buf, &mut rx, walks).await,
        Err(e) => Err(e.to_string()),
    };
    drop(rx);
    let r = match r {
        Ok(keys) => match file.fdatasync().await {
            Ok(()) => Ok(keys),
            Err(e) => Err(format!("fsync: {}", crate::server::aof::strerror(&e))),
        },
        Err(e) => Err(e),
    };
    let _ = file.close().await;
    let r = r.and_then(|keys| {
        std::fs::rename(&tmp, path)
            .map_err(|e| format!("Error moving temp DB file on the final destination: {e}"))?;
        let _ = crate::persistence::manifest::fsync_dir(&dir);
        Ok(keys)
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// Writes the chunks of `walks` walks to `file`; with an RDB writer `w`,
/// after what it wrote so far (header, aux fields), then EOF and the
/// checksum. The number of keys.
async fn drain(
    file: &LogFile,
    mut w: Option<RdbWriter<Shared>>,
    buf: &Shared,
    rx: &mut mpsc::Receiver<Msg>,
    walks: usize,
) -> Result<u64, String> {
    let write_err = |e: std::io::Error| {
        format!(
            "Write error saving DB on disk: {}",
            crate::server::aof::strerror(&e)
        )
    };
    let mut pos = 0u64;
    let mut keys = 0u64;
    let mut done = 0;
    while done < walks {
        let Some(msg) = rx.next().await else {
            return Err("a shard went away".into());
        };
        match msg {
            Msg::Chunk(c) => {
                let data = match w.as_mut() {
                    Some(w) => {
                        let _ = w.raw(&c);
                        std::mem::take(&mut *buf.0.borrow_mut())
                    }
                    None => c,
                };
                // On an error the receiver is dropped, which stops the walks.
                file.write_all_at(&data, pos)
                    .await
                    .map_err(|(_, e)| write_err(e))?;
                pos += data.len() as u64;
            }
            Msg::Done(n) => {
                keys += n;
                done += 1;
            }
        }
    }
    if let Some(w) = w {
        w.finish().map_err(|e| e.to_string())?;
        let data = std::mem::take(&mut *buf.0.borrow_mut());
        file.write_all_at(&data, pos)
            .await
            .map_err(|(_, e)| write_err(e))?;
    }
    Ok(keys)
}

/// One file per core holding that core's keys (the AOF rewrite's bases:
/// RDB with `aof-base` 1, or commands), taken at one start point where
/// `at_start` also runs on every core (the AOF moves to its next
/// increments there). Waits for a running snapshot to end first.
pub async fn save_core_files<F>(
    core: &Rc<Core>,
    paths: Vec<PathBuf>,
    format: Format,
    at_start: F,
) -> Result<(), String>
where
    F: Fn(&Rc<Core>) + Send + Sync + Clone + 'static,
{
    let node = core.node.clone();
    let claim = Running::claim(&node, Kind::AofRewrite).await;
    let (compress, checksum) = node
        .config
        .read()
        .map_or((true, true), |c| (c.rdbcompression(), c.rdbchecksum()));
    let all: Vec<usize> = (0..core.ncores).collect();
    let waits = core
        .lock_and(
            &all,
            move |c: &Rc<Core>| {
                at_start(c);
                let (tx, rx) = mpsc::channel::<Msg>(IN_FLIGHT);
                start_core(c, format, compress, tx);
                let (otx, orx) = futures::channel::oneshot::channel();
                let path = paths.get(c.id).cloned().unwrap_or_default();
                runtime::spawn(async move {
                    let r = write_core_file(&path, rx, format, compress, checksum).await;
                    let _ = otx.send(r);
                });
                orx
            },
            |v| (Vec::new(), v),
        )
        .await;
    let mut result = if waits.len() == core.ncores {
        Ok(())
    } else {
        Err("a shard went away".to_string())
    };
    for w in waits {
        let r = w.await.unwrap_or_else(|_| Err("a shard went away".into()));
        if result.is_ok() {
            result = r;
        }
    }
    drop(claim);
    result
}

async fn write_core_file(
    path: &Path,
    mut rx: mpsc::Receiver<Msg>,
    format: Format,
    compress: bool,
    checksum: bool,
) -> Result<(), String> {
    let file = LogFile::create(path).await.map_err(|e| {
        format!(
            "Can't create {}: {}",
            path.display(),
            crate::server::aof::strerror(&e)
        )
    })?;
    let buf = Shared::default();
    let w = match format {
        Format::Rdb => {
            let mut aux = Aux::now(used_memory());
            aux.aof_base = true;
            let w = RdbWriter::new(buf.clone(), &aux, WriterOptions { compress, checksum })
                .map_err(|e| e.to_string())?;
            Some(w)
        }
        Format::Commands => None,
    };
    let r = drain(&file, w, &buf, &mut rx, 1).await;
    let r = match r {
        Ok(_) => file
            .fdatasync()
            .await
            .map_err(|e| format!("fsync {}: {}", path.display(), e)),
        Err(e) => Err(e),
    };
    let _ = file.close().await;
    r
}

/// BGSAVE: the save runs in the background on `core`.
pub async fn start_bgsave(core: &Rc<Core>) -> Result<(), &'static str> {
    let s = &core.node.snapshot;
    if s.rdb_in_progress() {
        return Err(SAVE_IN_PROGRESS);
    }
    if s.in_progress() {
        return Err(OTHER_SNAPSHOT);
    }
    let c = core.clone();
    let (tx, rx) = futures::channel::oneshot::channel();
    runtime::spawn(async move {
        let _ = save_started(&c, Some(tx), true).await;
    });
    // Answered once the start point is taken, as Redis answers after fork.
    let _ = rx.await;
    Ok(())
}

/// Core 0's snapshot cron, every 100 ms until shutdown: save points
/// (`save <seconds> <changes>`, as Redis's serverCron: a failed save is
/// retried only after 5 s) and a scheduled BGSAVE.
pub async fn cron(core: &Rc<Core>) {
    let node = core.node.clone();
    crate::observability::SHUTDOWN_HANDLED.store(true, Ordering::SeqCst);
    while !node.shutting_down.load(Ordering::Relaxed) {
        runtime::sleep(Duration::from_millis(100)).await;
        if crate::observability::SHUTDOWN_ASKED.load(Ordering::SeqCst) {
            // SIGTERM / SIGINT: as Redis, save first when save points are
            // configured; exit either way.
            let _ = prepare_shutdown(core, None).await;
            crate::observability::shutdown_now();
        }
        let s = &node.snapshot;
        if s.in_progress() {
            continue;
        }
        if s.scheduled.swap(false, Ordering::SeqCst) {
            let _ = start_bgsave(core).await;
            continue;
        }
        let params = node
            .config
            .read()
            .map(|c| c.save_params().to_vec())
            .unwrap_or_default();
        if params.is_empty() {
            continue;
        }
        let dirty = total_dirty(core)
            .await
            .saturating_sub(s.dirty_at_save.load(Ordering::Relaxed));
        let now_s = now_ms() / 1000;
        let since = now_s.saturating_sub(s.last_save.load(Ordering::Relaxed));
        let retry_ok = s.last_ok.load(Ordering::Relaxed)
            || now_ms().saturating_sub(s.last_try_ms.load(Ordering::Relaxed)) > 5000;
        let due = params
            .iter()
            .find(|p| dirty >= p.changes.max(0) as u64 && since >= p.seconds.max(0) as u64);
        if let (Some(p), true) = (due, retry_ok) {
            tracing::info!("{} changes in {} seconds. Saving...", p.changes, p.seconds);
            let _ = start_bgsave(core).await;
        }
    }
}

/// Before exiting (SHUTDOWN, SIGTERM): saves when asked (`Some(true)`:
/// SHUTDOWN SAVE) or, unless told not to (NOSAVE), when save points are
/// configured. A running snapshot is waited for first.
pub async fn prepare_shutdown(core: &Rc<Core>, save_asked: Option<bool>) -> Result<(), String> {
    let node = core.node.clone();
    let wanted = save_asked.unwrap_or_else(|| {
        node.config
            .read()
            .is_ok_and(|c| !c.save_params().is_empty())
    });
    if !wanted {
        return Ok(());
    }
    tracing::info!("Saving the final RDB snapshot before exiting.");
    save(core).await
}

/// The rdb_ lines of INFO persistence, as Redis 7.0.15 prints them;
/// `dirty` is the sum of the cores' change counters.
pub fn info_lines(node: &Node, dirty: u64, out: &mut String) {
    use std::fmt::Write;
    let s = &node.snapshot;
    let started = s.started_ms.load(Ordering::Relaxed);
    let _ = write!(
        out,
        "rdb_changes_since_last_save:{}\r\nrdb_bgsave_in_progress:{}\r\nrdb_last_save_time:{}\r\nrdb_last_bgsave_status:{}\r\nrdb_last_bgsave_time_sec:{}\r\nrdb_current_bgsave_time_sec:{}\r\nrdb_saves:{}\r\nrdb_last_cow_size:0\r\nrdb_last_load_keys_expired:{}\r\nrdb_last_load_keys_loaded:{}\r\n",
        dirty.saturating_sub(s.dirty_at_save.load(Ordering::Relaxed)),
        s.rdb_in_progress() as u8,
        s.last_save.load(Ordering::Relaxed),
        if s.last_ok.load(Ordering::Relaxed) { "ok" } else { "err" },
        s.last_secs.load(Ordering::Relaxed),
        if started == 0 {
            -1
        } else {
            (now_ms().saturating_sub(started) / 1000) as i64
        },
        s.saves.load(Ordering::Relaxed),
        s.load_expired.load(Ordering::Relaxed),
        s.load_loaded.load(Ordering::Relaxed),
    );
}

// ---- loading ----------------------------------------------------------------

/// One key on its way to the core that owns it.
struct Loaded {
    db: usize,
    key: Vec<u8>,
    value: crate::keyspace::Value,
    expire: Option<u64>,
}

/// At start-up with `appendonly no` (core 0, clients get -LOADING):
/// loads `dir/dbfilename` when it exists. An error is fatal.
pub async fn load_at_start(core: &Rc<Core>) -> Result<(), String> {
    let path = rdb_path(&core.node);
    if !path.exists() {
        return Ok(());
    }
    let started = Instant::now();
    let (loaded, expired) = load_file(core, &path).await?;
    // Loading is not a change to save.
    let dirty = total_dirty(core).await;
    let s = &core.node.snapshot;
    s.dirty_at_save.store(dirty, Ordering::Relaxed);
    s.load_loaded.store(loaded, Ordering::Relaxed);
    s.load_expired.store(expired, Ordering::Relaxed);
    tracing::info!(
        "DB loaded from disk: {:.3} seconds",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Loads the RDB file at `path` (dump.rdb, an AOF base), every key on the
/// core that owns its slot; (keys loaded, keys skipped as expired).
pub async fn load_file(core: &Rc<Core>, path: &Path) -> Result<(u64, u64), String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("Can't open the RDB file {}: {e}", path.display()))?;
    let total = file.metadata().map_or(0, |m| m.len());
    let started = Instant::now();
    let name = path.display().to_string();
    let limits = core.node.enc_limits();
    let mut rd =
        RdbReader::with_limits(file, limits).map_err(|e| format!("Bad RDB file {name}: {e}"))?;
    let databases = core.shard.borrow().dbs.len();
    let cluster = core.node.cluster_enabled();
    let mut batches: Vec<Vec<Loaded>> = (0..core.ncores).map(|_| Vec::new()).collect();
    let (mut loaded, mut expired, mut entries) = (0u64, 0u64, 0u64);
    let mut last_log = Instant::now();
    let now = now_ms();
    loop {
        let item = rd
            .next_item()
            .map_err(|e| format!("Bad RDB file {name}: {e} (the file is left as it is)"))?;
        let Some(item) = item else { break };
        let Item::Entry(e) = item else { continue };
        entries += 1;
        let db = e.db as usize;
        if db >= databases || (cluster && db != 0) {
            return Err(format!(
                "Bad RDB file {name}: key in database {db}, {} (offset {})",
                if cluster {
                    "but cluster mode has only database 0"
                } else {
                    "beyond the configured databases"
                },
                rd.offset()
            ));
        }
        let expire = e.meta.expire_ms.map(|at| at.max(0) as u64);
        if expire.is_some_and(|at| at <= now) {
            expired += 1;
            continue;
        }
        let slot = crate::cluster::slot::key_hash_slot(&e.key);
        let owner = core.with_topology(|t| t.core_of(slot));
        batches[owner].push(Loaded {
            db,
            key: e.key,
            value: e.value,
            expire,
        });
        loaded += 1;
        if batches[owner].len() >= LOAD_BATCH {
            let b = std::mem::take(&mut batches[owner]);
            send_batch(core, owner, b).await;
        }
        if entries % 4096 == 0 {
            runtime::yield_now().await;
            if last_log.elapsed() >= Duration::from_secs(2) {
                last_log = Instant::now();
                let secs = started.elapsed().as_secs_f64().max(0.001);
                tracing::info!(
                    "Loading RDB {}: {:.1}% ({} keys, {:.0} keys/s)",
                    name,
                    rd.offset() as f64 * 100.0 / total.max(1) as f64,
                    loaded,
                    loaded as f64 / secs
                );
            }
        }
    }
    for (owner, b) in batches.into_iter().enumerate() {
        if !b.is_empty() {
            send_batch(core, owner, b).await;
        }
    }
    tracing::info!(
        "Done loading RDB {}, keys loaded: {}, keys expired: {}.",
        name,
        loaded,
        expired
    );
    Ok((loaded, expired))
}

async fn send_batch(core: &Rc<Core>, owner: usize, batch: Vec<Loaded>) {
    let insert = move |c: &Rc<Core>| {
        let now = now_ms();
        let mut shard = c.shard.borrow_mut();
        for l in batch {
            let ttl = l.expire.map_or(Ttl::Clear, Ttl::At);
            shard.dbs[l.db].set(&l.key, l.value, ttl, now);
        }
    };
    if owner == core.id {
        insert(core);
    } else {
        core.run_on(owner, insert).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Ttl, Value};
    use crate::persistence::aof::{self, Tail};

    #[test]
    fn command_bases_skip_expired_keys_and_select_dbs() {
        let mut sh = crate::runtime::Shard::new(3);
        sh.dbs[0].set(b"a", Value::str(b"1"), Ttl::Clear, 0);
        sh.dbs[2].set(b"b", Value::str(b"2"), Ttl::At(500), 0);
        sh.dbs[2].set(b"gone", Value::str(b"3"), Ttl::At(50), 0);
        let out = Rc::new(RefCell::new(Out {
            format: Format::Commands,
            now: 100,
            ..Out::default()
        }));
        for (i, db) in sh.dbs.iter().enumerate() {
            let mut sink = DbSink {
                db: i,
                out: out.clone(),
            };
            for (slot, t) in db.tables() {
                sink.save_slot(slot, t);
            }
        }
        let bytes = out.borrow_mut().take();
        let (items, tail) = aof::read_all(&bytes).unwrap();
        assert_eq!(tail, Tail::Clean);
        let cmds: Vec<String> = items
            .into_iter()
            .filter_map(|(_, i)| match i {
                aof::Item::Command(a) => Some(
                    a.iter()
                        .map(|x| String::from_utf8_lossy(x).into_owned())
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            })
            .collect();
        assert_eq!(
            cmds,
            ["SELECT 0", "SET a 1", "SELECT 2", "SET b 2 PXAT 500"]
        );
        assert_eq!(out.borrow().keys, 2);
    }
}
