//! The append-only file, server side: one file per core, written by a task
//! on that core from its propagation stream (`command::propagate`); the
//! manifest naming every core's files (`persistence::manifest`); turning the
//! AOF on and off at run time; loading it at start-up; and what INFO
//! persistence shows.
//!
//! # Writing and group commit
//!
//! Each core's writer task takes everything the core propagated since its
//! last turn, writes it with one pwrite(2) to the page cache (from the
//! core's thread, as Redis does: through io_uring a buffered write is
//! handed to a kernel worker and back, which measured slower here), and,
//! with `appendfsync always`, fsyncs once (see `sync` for why on the
//! core's thread). A reply leaves only when
//! what its core had propagated by then is written (every policy, as Redis
//! writes its AOF buffer before answering) or fsynced (`always`): see
//! `runtime::Durable`. Commands arriving while a write or an fsync is in
//! flight accumulate and share the next ones, so a pipeline, or every
//! forwarded batch that reached a core meanwhile, costs one write and one
//! fsync on that core. A forwarded command's reply is sent back by its core
//! only once that core's data is durable.
//!
//! `everysec`: the writer fsyncs when a second has passed since its last
//! fsync. `no`: it never fsyncs.
//!
//! A failed write or fsync (ENOSPC, EIO, EFBIG ...) keeps the unwritten
//! bytes, is retried every 100 ms, and refuses write commands (`-MISCONF`)
//! until it succeeds; the replies waiting on those bytes wait with them, so
//! nothing acknowledged is lost.
//!
//! # Loading
//!
//! At start-up with `appendonly yes` core 0 reads the manifest and every
//! file in load order (see `persistence::manifest`), and applies each
//! command on the core that owns its keys' slots now (the number of cores
//! may have changed): commands of one core go in batches, commands whose
//! keys span cores and transactions spanning cores run as multi-core
//! operations. Meanwhile clients get `-LOADING`.

use crate::command::{Args, Ctx, Handler, TABLE};
use crate::config::AppendFsync;
use crate::node::Node;
use crate::persistence::aof::{Item, Scanner, Tail};
use crate::persistence::manifest::{self, FileEntry, Kind, Manifest};
use crate::protocol::Reply;
use crate::runtime::file::LogFile;
use crate::runtime::{self, now_ms, Core, WaitFor};
use crate::server::client::{Client, ClientInfo};
use crate::server::dispatch::Request;
use crate::server::snapshot::{self, Format};
use bytes::Bytes;
use futures::channel::oneshot;
use std::collections::VecDeque;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How long a failed write or fsync waits before it is tried again.
const RETRY: Duration = Duration::from_millis(100);
/// Bytes read from a file per read while loading.
const READ_CHUNK: usize = 1 << 20;
/// Commands per batch sent to a core while loading.
const LOAD_BATCH: usize = 512;
/// An fsync slower than this counts as a delayed fsync (Redis postpones a
/// write for up to 2 s while a background fsync runs, then counts one).
const DELAYED_FSYNC: Duration = Duration::from_secs(2);

const GATE_LOADING: u8 = 1;
const GATE_FAILING: u8 = 2;
const GATE_BGSAVE: u8 = 4;

/// Redis's reply to writes after a failed RDB save (stop-writes-on-bgsave-error).
pub const MISCONF_RDB: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

pub const LOADING_ERR: &str = "LOADING Redis is loading the dataset in memory";

/// Node-wide AOF state (in `Node`).
pub struct AofShared {
    /// aof_enabled.
    pub enabled: AtomicBool,
    /// `GATE_*` bits: loading, a core failing to write. One load per
    /// command on the data path.
    gate: AtomicU8,
    /// Cores whose last write or fsync failed.
    failing: AtomicUsize,
    /// strerror of the last failure.
    last_error: Mutex<String>,
    /// Next barrier id.
    barrier: AtomicU64,
    pub loading_start: AtomicU64,
    pub loading_total: AtomicU64,
    pub loading_loaded: AtomicU64,
    /// Bytes in files of the manifest other than the cores' current
    /// incremental files (bases, older generations).
    other_size: AtomicU64,
    base_size: AtomicU64,
    pub rewrites: AtomicU64,
    pub last_rewrite_secs: AtomicI64,
    /// When the running rewrite started (ms), 0 when none runs.
    rewrite_started: AtomicU64,
    /// Rewrites failed in a row.
    rewrite_failures: AtomicU64,
    /// Serialises turning the AOF on and off.
    switching: AtomicBool,
    /// BGREWRITEAOF asked while an RDB save ran (aof_rewrite_scheduled);
    /// core 0's cron starts it once the save is over.
    scheduled: AtomicBool,
}

impl Default for AofShared {
    fn default() -> Self {
        AofShared {
            enabled: AtomicBool::new(false),
            gate: AtomicU8::new(0),
            failing: AtomicUsize::new(0),
            last_error: Mutex::new(String::new()),
            barrier: AtomicU64::new(now_ms()),
            loading_start: AtomicU64::new(0),
            loading_total: AtomicU64::new(0),
            loading_loaded: AtomicU64::new(0),
            other_size: AtomicU64::new(0),
            base_size: AtomicU64::new(0),
            rewrites: AtomicU64::new(0),
            last_rewrite_secs: AtomicI64::new(-1),
            rewrite_started: AtomicU64::new(0),
            rewrite_failures: AtomicU64::new(0),
            switching: AtomicBool::new(false),
            scheduled: AtomicBool::new(false),
        }
    }
}

impl AofShared {
    pub fn loading(&self) -> bool {
        self.gate.load(Ordering::Relaxed) & GATE_LOADING != 0
    }

    pub fn set_loading(&self, on: bool) {
        if on {
            self.gate.fetch_or(GATE_LOADING, Ordering::SeqCst);
            self.loading_start.store(now_ms() / 1000, Ordering::Relaxed);
        } else {
            self.gate.fetch_and(!GATE_LOADING, Ordering::SeqCst);
        }
    }

    /// A new barrier id (barriers are written while every core is held).
    pub fn next_barrier(&self) -> u64 {
        self.barrier.fetch_add(1, Ordering::Relaxed)
    }

    pub fn write_ok(&self) -> bool {
        self.failing.load(Ordering::Relaxed) == 0
    }

    fn set_failing(&self, core_failing: bool, err: Option<&str>) {
        if core_failing {
            if let (Some(e), Ok(mut l)) = (err, self.last_error.lock()) {
                *l = e.to_string();
            }
            self.failing.fetch_add(1, Ordering::SeqCst);
            self.gate.fetch_or(GATE_FAILING, Ordering::SeqCst);
        } else if self.failing.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.gate.fetch_and(!GATE_FAILING, Ordering::SeqCst);
        }
    }

    /// After a save: writes are refused (`MISCONF_RDB`) while `on`.
    pub fn set_bgsave_failing(&self, on: bool) {
        if on {
            self.gate.fetch_or(GATE_BGSAVE, Ordering::SeqCst);
        } else {
            self.gate.fetch_and(!GATE_BGSAVE, Ordering::SeqCst);
        }
    }

    fn misconf(&self) -> Reply {
        let e = self
            .last_error
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        Reply::err_owned(format!("MISCONF Errors writing to the AOF file: {e}"))
    }
}

/// Refuses a command as Redis's processCommand does while the AOF cannot
/// be written (write commands and PING: `-MISCONF`) or is being loaded
/// (commands without the `loading` flag: `-LOADING`). One atomic load when
/// neither applies.
pub fn refuse(
    node: &Node,
    spec: &crate::command::CommandSpec,
    queued_write: impl FnOnce() -> bool,
) -> Option<Reply> {
    use crate::command::flags;
    let gate = node.aof.gate.load(Ordering::Relaxed);
    if gate == 0 {
        return None;
    }
    if gate & (GATE_FAILING | GATE_BGSAVE) != 0
        && (spec.has(flags::WRITE)
            || spec.name == "ping"
            || (spec.name == "exec" && queued_write()))
    {
        if gate & GATE_BGSAVE != 0 {
            return Some(Reply::err(MISCONF_RDB));
        }
        return Some(node.aof.misconf());
    }
    if gate & GATE_LOADING != 0 && !spec.has(flags::LOADING) {
        return Some(Reply::err(LOADING_ERR));
    }
    None
}

/// One core's AOF writer state (in `Core`).
#[derive(Default)]
pub struct CoreAof {
    /// A writer task runs.
    pub running: bool,
    /// Asked to stop: write what is left, fsync, close.
    stop: bool,
    policy: Option<AppendFsync>,
    /// The incremental file written now, and its size.
    pub file: String,
    pub size: u64,
    /// Bytes taken from the stream and not written yet.
    pub unwritten: usize,
    pub fsync_in_flight: bool,
    pub delayed_fsync: u64,
    pub writes: u64,
    pub fsyncs: u64,
    failing: bool,
    last_error_log: Option<Instant>,
    /// Wakes the writer (stop, policy change).
    wake: Option<Waker>,
    /// Told when the writer has finished.
    done: Vec<oneshot::Sender<()>>,
    /// A move to another incremental file (AOF rewrite), asked at a start
    /// point: see [`switch_file`].
    switch: Option<Switch>,
}

/// What the writer does at a rewrite's start point: finish the old file
/// with the bytes propagated before that point, then go on in `path`.
struct Switch {
    before: Option<(Vec<u8>, u64)>,
    path: PathBuf,
    name: String,
}

/// At a rewrite's start point (the core held, nothing running): what this
/// core propagated so far stays in its current incremental file, what
/// follows goes to `path`. The writer makes the move; replies keep waiting
/// on the stream offsets as before, so nothing acknowledged depends on the
/// new file before it exists.
pub fn switch_file(core: &Core, path: PathBuf, name: String) {
    let before = core.shard.borrow_mut().propagate.take();
    core.aof.borrow_mut().switch = Some(Switch { before, path, name });
    wake_writer(core);
}

fn wait_for(p: AppendFsync) -> WaitFor {
    match p {
        AppendFsync::Always => WaitFor::Synced,
        _ => WaitFor::Written,
    }
}

/// strerror(3)'s text for an I/O error, as Redis prints it.
pub fn strerror(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            let s = std::io::Error::from_raw_os_error(code).to_string();
            match s.rfind(" (os error ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

/// Waits until the core's stream has bytes, or the writer is woken.
struct Wake<'a> {
    core: &'a Core,
    first: bool,
}

impl Future for Wake<'_> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let c = self.core;
        let asked = {
            let a = c.aof.borrow();
            a.stop || a.switch.is_some()
        };
        if asked || c.shard.borrow().propagate.pending() > 0 {
            return Poll::Ready(());
        }
        if !self.first {
            // Woken through `CoreAof::wake` (policy change ...).
            return Poll::Ready(());
        }
        self.first = false;
        c.shard.borrow_mut().propagate.set_consumer(cx.waker());
        c.aof.borrow_mut().wake = Some(cx.waker().clone());
        Poll::Pending
    }
}

fn wake_writer(core: &Core) {
    let w = core.aof.borrow_mut().wake.take();
    if let Some(w) = w {
        w.wake();
    }
}

/// The writer task of one core: see the module doc.
async fn writer(core: Rc<Core>, mut file: LogFile, mut pos: u64) {
    let node = core.node.clone();
    let mut data: Vec<u8> = Vec::new();
    let mut data_end = 0u64;
    let mut written = core.durable.written();
    let mut synced = core.durable.synced();
    let mut last_sync = Instant::now();
    // Where to go once `data` (the bytes before a switch) is in the old file.
    let mut next: Option<(PathBuf, String)> = None;
    loop {
        let (stop, policy) = {
            let a = core.aof.borrow();
            (a.stop, a.policy.unwrap_or(AppendFsync::Everysec))
        };
        if data.is_empty() && next.is_none() {
            let switch = core.aof.borrow_mut().switch.take();
            if let Some(sw) = switch {
                if let Some((b, end)) = sw.before {
                    data = b;
                    data_end = end;
                }
                next = Some((sw.path, sw.name));
            }
        }
        if data.is_empty() && next.is_some() {
            // The old file is complete: make it durable, then move on.
            if written > synced {
                if let Err(e) = sync(&core, &file, policy).await {
                    failed(&core, &node, "fsync'ing", &e);
                    runtime::sleep(RETRY).await;
                    continue;
                }
                synced = written;
                last_sync = Instant::now();
                core.durable.progress(written, synced);
            }
            let (path, name) = next.take().unwrap_or_default();
            match LogFile::open(&path).await {
                Ok((f, size)) => {
                    let old = std::mem::replace(&mut file, f);
                    let _ = old.close().await;
                    pos = size;
                    let mut a = core.aof.borrow_mut();
                    a.file = name;
                    a.size = size;
                }
                Err(e) => {
                    failed(&core, &node, "opening", &e);
                    next = Some((path, name));
                    runtime::sleep(RETRY).await;
                    continue;
                }
            }
            recovered(&core, &node);
            continue;
        }
        if data.is_empty() && core.shard.borrow().propagate.pending() > 0 {
            // Let the connections already woken run first, so their
            // commands share this write and fsync.
            runtime::yield_now().await;
        }
        if data.is_empty() {
            if let Some((b, end)) = core.shard.borrow_mut().propagate.take() {
                data = b;
                data_end = end;
                core.aof.borrow_mut().unwritten = data.len();
            }
        }
        if !data.is_empty() {
            let res = file.write_all_at_now(&data, pos);
            let n = match &res {
                Ok(()) => data.len(),
                Err((n, _)) => *n,
            };
            pos += n as u64;
            data.drain(..n);
            {
                let mut a = core.aof.borrow_mut();
                a.size = pos;
                a.unwritten = data.len();
                a.writes += 1;
            }
            if let Err((_, e)) = res {
                failed(&core, &node, "writing to", &e);
                runtime::sleep(RETRY).await;
                continue;
            }
            written = data_end;
            if policy == AppendFsync::Always {
                match sync(&core, &file, policy).await {
                    Ok(()) => {
                        synced = written;
                        last_sync = Instant::now();
                    }
                    Err(e) => {
                        core.durable.progress(written, synced);
                        failed(&core, &node, "fsync'ing", &e);
                        runtime::sleep(RETRY).await;
                        continue;
                    }
                }
            }
            recovered(&core, &node);
            core.durable.progress(written, synced);
            continue;
        }
        let due = match policy {
            AppendFsync::Always => true,
            AppendFsync::Everysec => last_sync.elapsed() >= Duration::from_secs(1),
            AppendFsync::No => false,
        };
        if written > synced && (due || stop) {
            match sync(&core, &file, policy).await {
                Ok(()) => {
                    synced = written;
                    last_sync = Instant::now();
                    recovered(&core, &node);
                    core.durable.progress(written, synced);
                }
                Err(e) => {
                    failed(&core, &node, "fsync'ing", &e);
                    runtime::sleep(RETRY).await;
                }
            }
            continue;
        }
        if stop {
            break;
        }
        let wait = match policy {
            AppendFsync::Everysec if written > synced => {
                Duration::from_secs(1).saturating_sub(last_sync.elapsed())
            }
            _ => Duration::from_secs(1),
        };
        let timer = runtime::sleep(wait);
        let woken = Wake {
            core: &core,
            first: true,
        };
        futures::pin_mut!(timer);
        futures::future::select(woken, timer).await;
    }
    let _ = file.close().await;
    let done = {
        let mut a = core.aof.borrow_mut();
        a.running = false;
        a.stop = false;
        if a.failing {
            a.failing = false;
            node.aof.set_failing(false, None);
        }
        std::mem::take(&mut a.done)
    };
    core.durable.set_mode(WaitFor::Nothing);
    for d in done {
        let _ = d.send(());
    }
}

/// fdatasync(2) of the current file. With `always` it runs on the core's
/// thread, as Redis's main thread does: a reply is waiting on it anyway, and
/// through the ring the fsync runs in a kernel worker that inherits the
/// core's CPU and competes with it (measured here, one CPU per server:
/// SET P=1 34k -> 44k rps, P=16 310k -> 400k). `everysec` and `no` fsync
/// through the ring, so a slow fsync never stalls the core.
async fn sync(core: &Core, file: &LogFile, policy: AppendFsync) -> std::io::Result<()> {
    core.aof.borrow_mut().fsync_in_flight = true;
    let started = Instant::now();
    let r = if policy == AppendFsync::Always {
        file.fdatasync_now()
    } else {
        file.fdatasync().await
    };
    let mut a = core.aof.borrow_mut();
    a.fsync_in_flight = false;
    a.fsyncs += 1;
    if started.elapsed() >= DELAYED_FSYNC && core.shard.borrow().propagate.pending() > 0 {
        a.delayed_fsync += 1;
    }
    r
}

fn failed(core: &Core, node: &Node, what: &str, e: &std::io::Error) {
    let text = strerror(e);
    let mut a = core.aof.borrow_mut();
    if !a.failing {
        a.failing = true;
        node.aof.set_failing(true, Some(&text));
    } else if let Ok(mut l) = node.aof.last_error.lock() {
        *l = text.clone();
    }
    // Logged at most every 30 s, as Redis's AOF_WRITE_LOG_ERROR_RATE.
    if a.last_error_log
        .is_none_or(|t| t.elapsed() >= Duration::from_secs(30))
    {
        a.last_error_log = Some(Instant::now());
        tracing::warn!(
            "Error {} the AOF file {} (shard {}): {}",
            what,
            a.file,
            core.id,
            text
        );
    }
}

fn recovered(core: &Core, node: &Node) {
    let mut a = core.aof.borrow_mut();
    if a.failing {
        a.failing = false;
        a.last_error_log = None;
        node.aof.set_failing(false, None);
        tracing::warn!("AOF write error looks solved, Redis can write again.");
    }
}

/// Opens `path` on `core` (created when missing, appended to), starts the
/// core's propagation stream and its writer.
async fn open_writer(core: &Rc<Core>, path: PathBuf, name: String) -> Result<(), String> {
    let (file, size) = LogFile::open(&path).await.map_err(|e| {
        format!(
            "Can't open the append-only file {}: {}",
            path.display(),
            strerror(&e)
        )
    })?;
    begin_writer(core, configured_policy(&core.node), name, size);
    runtime::spawn(writer(core.clone(), file, size));
    Ok(())
}

fn configured_policy(node: &Node) -> AppendFsync {
    node.config
        .read()
        .map(|c| c.appendfsync())
        .unwrap_or(AppendFsync::Everysec)
}

/// Starts `core`'s stream and marks its writer running on file `name`
/// (`size` bytes); the caller spawns the writer.
fn begin_writer(core: &Rc<Core>, policy: AppendFsync, name: String, size: u64) {
    start_stream(core, policy);
    let mut a = core.aof.borrow_mut();
    a.running = true;
    a.stop = false;
    a.policy = Some(policy);
    a.file = name;
    a.size = size;
}

/// Starts `core`'s propagation stream with replies waiting as `policy` says.
fn start_stream(core: &Rc<Core>, policy: AppendFsync) {
    let (unlink_expired, unlink_server_del) = core
        .node
        .config
        .read()
        .map(|c| (c.lazyfree_lazy_expire(), c.lazyfree_lazy_server_del()))
        .unwrap_or((false, false));
    let mut shard = core.shard.borrow_mut();
    let p = &mut shard.propagate;
    p.unlink_expired = unlink_expired;
    p.unlink_server_del = unlink_server_del;
    if !p.is_on() {
        p.start();
        let end = p.end_offset();
        core.durable.progress(end, end);
    }
    core.durable.set_mode(wait_for(policy));
}

/// Stops `core`'s stream and writer (what was propagated is written and
/// fsynced first); resolves when the writer is done.
fn stop_writer(core: &Rc<Core>) -> oneshot::Receiver<()> {
    let (tx, rx) = oneshot::channel();
    {
        let mut shard = core.shard.borrow_mut();
        shard.propagate.stop();
        if !core.aof.borrow().running {
            // No writer to take what is left: it goes nowhere.
            shard.propagate.discard();
        }
    }
    let running = {
        let mut a = core.aof.borrow_mut();
        if a.running {
            a.stop = true;
            a.done.push(tx);
            true
        } else {
            let _ = tx.send(());
            false
        }
    };
    if running {
        wake_writer(core);
    } else {
        core.durable.set_mode(WaitFor::Nothing);
    }
    rx
}

/// CONFIG SET appendfsync / lazyfree-lazy-*: applied on every core.
pub async fn apply_config(core: &Rc<Core>) {
    if !core.node.aof.enabled.load(Ordering::Relaxed) {
        return;
    }
    core.run_on_all(|c| {
        let running = c.aof.borrow().running;
        if running {
            let policy = configured_policy(&c.node);
            c.aof.borrow_mut().policy = Some(policy);
            start_stream(c, policy);
            wake_writer(c);
        }
    })
    .await;
}

/// Waits until every core's propagated commands so far are durable (after
/// a command whose writes landed on other cores).
pub async fn durable_everywhere(core: &Rc<Core>) {
    durable_on(core, 0..core.ncores).await;
}

/// Waits until what `cores` have propagated so far is durable.
pub async fn durable_on(core: &Rc<Core>, cores: impl Iterator<Item = usize>) {
    if core.durable.mode() == WaitFor::Nothing {
        return;
    }
    let waits: Vec<_> = cores.map(|c| core.durable_barrier(c)).collect();
    for w in waits {
        w.await;
    }
}

/// Logs the keys a multi-core command wrote back on this core (their new
/// values), as one unit.
pub fn log_written_keys(shard: &mut crate::runtime::Shard, keys: &[(usize, Bytes)]) {
    if keys.is_empty() || !shard.propagate.is_on() {
        return;
    }
    shard.propagate_unit_begin();
    for (db, k) in keys {
        shard.propagate_key(*db, k);
    }
    shard.propagate_unit_end();
}

// ---- files and the manifest ------------------------------------------------

/// `dir`/appenddirname, absolute, and appendfilename.
fn aof_location(node: &Node) -> Result<(PathBuf, String), String> {
    let (dirname, filename) = node
        .config
        .read()
        .map(|c| {
            (
                c.appenddirname().to_string(),
                c.appendfilename().to_string(),
            )
        })
        .map_err(|_| "config unavailable".to_string())?;
    let cwd =
        std::env::current_dir().map_err(|e| format!("Can't get the working directory: {e}"))?;
    Ok((cwd.join(dirname), filename))
}

/// [`aof_location`], with the directory created when missing.
fn aof_dir_created(node: &Node) -> Result<(PathBuf, String), String> {
    let (dir, filename) = aof_location(node)?;
    std::fs::create_dir_all(&dir).map_err(|e| {
        format!(
            "Can't open or create append-only dir {}: {e}",
            dir.display()
        )
    })?;
    Ok((dir, filename))
}

fn file_size(dir: &Path, name: &str) -> u64 {
    std::fs::metadata(dir.join(name)).map_or(0, |m| m.len())
}

/// Records the sizes INFO reports for `m` (all but the current incrs).
fn account_sizes(node: &Node, dir: &Path, m: &Manifest, seq: u64) {
    let other: u64 = m
        .files
        .iter()
        .filter(|f| !(f.seq == seq && f.kind == Kind::Incr))
        .map(|f| file_size(dir, &f.name))
        .sum();
    let base: u64 = m
        .files
        .iter()
        .filter(|f| f.seq == seq && f.kind == Kind::Base)
        .map(|f| file_size(dir, &f.name))
        .sum();
    node.aof.other_size.store(other, Ordering::Relaxed);
    node.aof.base_size.store(base, Ordering::Relaxed);
}

/// Creates the files of a new generation that do not exist (empty), so the
/// manifest never names a missing file.
fn create_empty(dir: &Path, files: &[FileEntry]) -> Result<(), String> {
    for f in files {
        let p = dir.join(&f.name);
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
            .and_then(|f| f.sync_all())
            .map_err(|e| format!("Can't create the append-only file {}: {e}", p.display()))?;
    }
    manifest::fsync_dir(dir).map_err(|e| format!("Can't fsync {}: {e}", dir.display()))
}

/// Starts every core's writer on the incremental files of generation `seq`.
async fn open_all(core: &Rc<Core>, dir: &Path, filename: &str, seq: u64) -> Result<(), String> {
    let mut waits = Vec::new();
    for c in 0..core.ncores {
        let name = manifest::incr_name(filename, c, seq);
        let path = dir.join(&name);
        waits.push(core.run_on(c, move |core| {
            let (tx, rx) = oneshot::channel();
            let core = core.clone();
            runtime::spawn(async move {
                let _ = tx.send(open_writer(&core, path, name).await);
            });
            rx
        }));
    }
    for w in waits {
        match w.await {
            Some(rx) => rx
                .await
                .unwrap_or_else(|_| Err("a shard went away".into()))?,
            None => return Err("a shard went away".into()),
        }
    }
    Ok(())
}

// ---- start-up ---------------------------------------------------------------

/// At start-up with `appendonly yes` (core 0, before clients are served):
/// loads the AOF named by the manifest, then starts every core's writer.
/// An error is fatal: the caller logs it and exits.
pub async fn startup(core: &Rc<Core>) -> Result<(), String> {
    let node = core.node.clone();
    let on = node.config.read().map(|c| c.appendonly()).unwrap_or(false);
    if !on {
        snapshot::load_at_start(core).await?;
        node.aof.set_loading(false);
        return Ok(());
    }
    let (dir, filename) = aof_dir_created(&node)?;
    let mname = manifest::manifest_name(&filename);
    let found = Manifest::read(&dir, &mname)?;
    let started = Instant::now();
    let (mut m, seq) = match found {
        Some(m) => {
            load(core, &dir, &m).await?;
            let keys = dbsize(core).await;
            tracing::info!(
                "DB loaded from append only file: {:.3} seconds ({} keys)",
                started.elapsed().as_secs_f64(),
                keys
            );
            let last = m.last_seq().unwrap_or(0);
            let same = m.generations().last().is_some_and(|g| {
                g.incrs.len() == core.ncores
                    && g.incrs
                        .iter()
                        .enumerate()
                        .all(|(i, f)| f.core as usize == i)
            });
            if same {
                (m, last)
            } else {
                (m, last + 1)
            }
        }
        None => (Manifest::default(), 1),
    };
    if !m.files.iter().any(|f| f.seq == seq) {
        let fresh = Manifest::new_generation(&filename, seq, core.ncores, false);
        create_empty(&dir, &fresh.files)?;
        m.files.extend(fresh.files);
        m.write_atomic(&dir, &mname).map_err(|e| {
            format!(
                "Can't write the AOF manifest {}: {e}",
                dir.join(&mname).display()
            )
        })?;
        tracing::info!(
            "Creating AOF incr files {} ({} shards)",
            manifest::incr_name(&filename, 0, seq).replace(".0.", ".<shard>."),
            core.ncores
        );
    }
    account_sizes(&node, &dir, &m, seq);
    open_all(core, &dir, &filename, seq).await?;
    node.aof.enabled.store(true, Ordering::SeqCst);
    node.aof.set_loading(false);
    Ok(())
}

async fn dbsize(core: &Rc<Core>) -> usize {
    core.run_on_all(|c| c.shard.borrow().dbs.iter().map(|d| d.len()).sum::<usize>())
        .await
        .into_iter()
        .sum()
}

// ---- loading ----------------------------------------------------------------

/// One file being read while loading.
struct Reader {
    name: String,
    path: PathBuf,
    file: LogFile,
    size: u64,
    read: u64,
    scanner: Scanner,
    /// The db commands run in (files start in db 0).
    db: usize,
    /// A transaction being collected (MULTI seen, EXEC not yet).
    multi: Option<Vec<Request>>,
    eof: bool,
    /// The incremental files of the last generation may end truncated.
    may_truncate: bool,
}

/// What the loader applies commands with.
struct Loader {
    core: Rc<Core>,
    client: Client,
    databases: usize,
    batches: Vec<Vec<Request>>,
    inflight: VecDeque<oneshot::Receiver<u64>>,
    commands: u64,
    errors: u64,
    last_log: Instant,
    started: Instant,
    loaded: u64,
    total: u64,
    truncated_ok: bool,
}

fn fake_client(core: &Rc<Core>) -> Client {
    let nowhere = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let info = Rc::new(ClientInfo::new(0, nowhere, nowhere, -1, "aof-loader"));
    Client::new(core.clone(), info, true, true)
}

/// Runs keyed commands on this core's shard as Redis's loader does: the
/// command's function only, no statistics, nothing propagated, nothing
/// blocks. Returns how many answered an error.
fn apply_here(core: &Rc<Core>, reqs: Vec<Request>) -> u64 {
    let now = now_ms();
    let node = core.node.clone();
    let mut errors = 0;
    let mut shard = core.shard.borrow_mut();
    shard.no_block = true;
    for r in reqs {
        let Handler::Keyed(f) = r.spec.handler else {
            continue;
        };
        let mut args = Args::new(r.argv, r.argpos);
        let mut ctx = Ctx {
            shard: &mut shard,
            db: r.db as usize,
            now,
            node: &node,
        };
        let reply = f(&mut ctx, &mut args).unwrap_or_else(|e| e);
        if reply.is_error() {
            errors += 1;
        }
        shard.block = None;
    }
    shard.no_block = false;
    shard.events.clear();
    shard.drain_expired(0);
    shard.events.clear();
    errors
}

impl Loader {
    fn new(core: &Rc<Core>, total: u64, truncated_ok: bool) -> Loader {
        let databases = core.shard.borrow().dbs.len();
        Loader {
            core: core.clone(),
            client: fake_client(core),
            databases,
            batches: (0..core.ncores).map(|_| Vec::new()).collect(),
            inflight: VecDeque::new(),
            commands: 0,
            errors: 0,
            last_log: Instant::now(),
            started: Instant::now(),
            loaded: 0,
            total,
            truncated_ok,
        }
    }

    /// Sends core `c`'s batch.
    async fn send(&mut self, c: usize) {
        let reqs = std::mem::take(&mut self.batches[c]);
        if reqs.is_empty() {
            return;
        }
        if c == self.core.id {
            self.errors += apply_here(&self.core, reqs);
            return;
        }
        let (tx, rx) = oneshot::channel();
        self.core.post(
            c,
            None,
            Box::new(move |core| {
                let _ = tx.send(apply_here(core, reqs));
            }),
        );
        self.inflight.push_back(rx);
        while self.inflight.len() > 2 * self.core.ncores {
            if let Some(rx) = self.inflight.pop_front() {
                self.errors += rx.await.unwrap_or(0);
            }
        }
    }

    /// Applies everything sent so far, on every core.
    async fn settle(&mut self) {
        for c in 0..self.batches.len() {
            self.send(c).await;
        }
        while let Some(rx) = self.inflight.pop_front() {
            self.errors += rx.await.unwrap_or(0);
        }
    }

    /// The cores holding `reqs`' keys now.
    fn cores_of(&self, reqs: &[Request]) -> Vec<usize> {
        let mut cores: Vec<usize> = self.core.with_topology(|t| {
            reqs.iter()
                .flat_map(|r| {
                    r.spec
                        .keys_of(&r.argv)
                        .filter_map(|i| r.argv.get(i))
                        .map(|k| t.core_of(crate::cluster::slot::key_hash_slot(k)))
                        .collect::<Vec<_>>()
                })
                .collect()
        });
        cores.sort_unstable();
        cores.dedup();
        cores
    }

    /// Runs `reqs` (one command, or a transaction) atomically where their
    /// keys are now.
    async fn run_atomic(&mut self, reqs: Vec<Request>) {
        let cores = self.cores_of(&reqs);
        match cores.len() {
            0 | 1 => {
                let c = cores.first().copied().unwrap_or(self.core.id);
                self.batches[c].extend(reqs);
                if self.batches[c].len() >= LOAD_BATCH {
                    self.send(c).await;
                }
            }
            _ => {
                self.settle().await;
                let n = reqs.len();
                let r = self.client.exec_cores(reqs, cores, None, false).await;
                match r.replies {
                    Some(v) => self.errors += v.iter().filter(|r| r.is_error()).count() as u64,
                    None => self.errors += n as u64,
                }
            }
        }
    }

    /// A node-wide command (FLUSHALL, FLUSHDB, SWAPDB), on every core.
    async fn node_wide(&mut self, name: &str, rd: &Reader, argv: &[Bytes]) -> Result<(), String> {
        self.settle().await;
        let db = rd.db;
        let n = self.databases;
        let parse_db = |b: Option<&Bytes>| -> Result<usize, String> {
            b.and_then(|b| crate::keyspace::value::parse_i64(b))
                .filter(|&x| x >= 0 && (x as usize) < n)
                .map(|x| x as usize)
                .ok_or_else(|| {
                    format!(
                        "invalid DB index in SWAPDB reading the append only file {}",
                        rd.name
                    )
                })
        };
        match name {
            "flushall" => {
                self.core
                    .run_on_all(|c| {
                        for d in c.shard.borrow_mut().dbs.iter_mut() {
                            d.clear();
                        }
                    })
                    .await;
            }
            "flushdb" => {
                self.core
                    .run_on_all(move |c| {
                        if let Some(d) = c.shard.borrow_mut().dbs.get_mut(db) {
                            d.clear();
                        }
                    })
                    .await;
            }
            _ => {
                let (x, y) = (parse_db(argv.get(1))?, parse_db(argv.get(2))?);
                self.core
                    .run_on_all(move |c| c.shard.borrow_mut().dbs.swap(x, y))
                    .await;
            }
        }
        Ok(())
    }

    /// Applies one command read from `rd` at `offset`.
    async fn apply(
        &mut self,
        rd: &mut Reader,
        offset: u64,
        argv: Vec<Bytes>,
    ) -> Result<(), String> {
        self.commands += 1;
        let res = TABLE.resolve(&argv).map_err(|e| {
            let name =
                String::from_utf8_lossy(argv.first().map_or(&b""[..], |b| &b[..])).into_owned();
            let why = match e {
                Reply::Error(m) => m.to_string(),
                _ => String::new(),
            };
            format!(
                "Can't run '{name}' read from the append only file {} at offset {offset}: {why}",
                rd.path.display()
            )
        })?;
        let name = res.spec.name;
        if res.argpos == 1 {
            match name {
                "select" => {
                    let db = argv
                        .get(1)
                        .and_then(|b| crate::keyspace::value::parse_i64(b))
                        .filter(|&x| x >= 0 && (x as usize) < self.databases)
                        .ok_or_else(|| {
                            format!(
                                "Invalid SELECT reading the append only file {} at offset {offset}",
                                rd.name
                            )
                        })?;
                    rd.db = db as usize;
                    return Ok(());
                }
                "multi" => {
                    if rd.multi.is_some() {
                        return Err(format!(
                            "MULTI inside MULTI reading the append only file {} at offset {offset}",
                            rd.name
                        ));
                    }
                    rd.multi = Some(Vec::new());
                    return Ok(());
                }
                "exec" => {
                    let Some(reqs) = rd.multi.take() else {
                        return Err(format!(
                            "EXEC without MULTI reading the append only file {} at offset {offset}",
                            rd.name
                        ));
                    };
                    if !reqs.is_empty() {
                        self.run_atomic(reqs).await;
                    }
                    return Ok(());
                }
                "flushall" | "flushdb" | "swapdb" => return self.node_wide(name, rd, &argv).await,
                _ => {}
            }
        }
        let Handler::Keyed(_) = res.spec.handler else {
            // Nothing else changes the dataset (PING, PUBLISH ...).
            return Ok(());
        };
        let req = Request {
            id: res.id,
            spec: res.spec,
            argv,
            argpos: res.argpos,
            db: rd.db as u16,
            slot: None,
            open: None,
        };
        match rd.multi.as_mut() {
            Some(q) => q.push(req),
            None => self.run_atomic(vec![req]).await,
        }
        Ok(())
    }

    fn progress(&mut self, bytes: u64) {
        self.loaded += bytes;
        let node = &self.core.node;
        node.aof
            .loading_loaded
            .store(self.loaded, Ordering::Relaxed);
        if self.last_log.elapsed() >= Duration::from_secs(1) {
            self.last_log = Instant::now();
            let secs = self.started.elapsed().as_secs_f64().max(1e-3);
            tracing::info!(
                "Loading the AOF: {:.2}% of {} bytes, {} commands ({:.0} commands/s)",
                self.loaded as f64 * 100.0 / self.total.max(1) as f64,
                self.total,
                self.commands,
                self.commands as f64 / secs
            );
        }
    }

    /// Applies `rd`'s items up to its next barrier (or its end). True
    /// when it stopped at a barrier.
    async fn segment(&mut self, rd: &mut Reader) -> Result<bool, String> {
        loop {
            loop {
                let item = rd.scanner.next().map_err(|e| {
                    format!(
                        "Bad file format reading the append only file {} {e}. Make a backup of the file, then use redis-check-aof --fix <file> (or restore it) and restart",
                        rd.path.display()
                    )
                })?;
                let Some((offset, item)) = item else { break };
                match item {
                    Item::Barrier(_) => return Ok(true),
                    Item::Annotation => {}
                    Item::Command(argv) => self.apply(rd, offset, argv).await?,
                }
                if self.commands.is_multiple_of(4096) {
                    runtime::yield_now().await;
                }
            }
            if rd.eof {
                self.finish_file(rd).await?;
                return Ok(false);
            }
            let want = rd.scanner.wants().max(READ_CHUNK);
            let len = want.min((rd.size - rd.read) as usize).max(1);
            let data = rd.file.read_at(rd.read, len).await.map_err(|e| {
                format!(
                    "Error reading the append only file {}: {}",
                    rd.path.display(),
                    strerror(&e)
                )
            })?;
            if data.is_empty() || rd.read + data.len() as u64 >= rd.size {
                rd.eof = true;
            }
            rd.read += data.len() as u64;
            self.progress(data.len() as u64);
            rd.scanner.feed(&data);
        }
    }

    /// A file's end: a truncated tail is cut off when allowed, else fatal.
    async fn finish_file(&mut self, rd: &mut Reader) -> Result<(), String> {
        let Tail::Truncated {
            valid_up_to,
            in_multi,
        } = rd.scanner.tail()
        else {
            return Ok(());
        };
        rd.multi = None;
        if !(rd.may_truncate && self.truncated_ok) {
            let hint = if rd.may_truncate {
                "You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <file>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
            } else {
                "Only the last file of each shard may end truncated: make a backup, then repair it with ./redis-check-aof --fix <file>."
            };
            return Err(format!(
                "Unexpected end of file reading the append only file {} at offset {valid_up_to} ({}, {} bytes): {hint}",
                rd.path.display(),
                if in_multi {
                    "inside a MULTI/EXEC transaction"
                } else {
                    "incomplete command"
                },
                rd.size
            ));
        }
        if in_multi {
            tracing::warn!(
                "Revert incomplete MULTI/EXEC transaction in AOF file {}",
                rd.name
            );
        }
        tracing::warn!(
            "!!! Warning: short read while loading the AOF file {}!!!",
            rd.name
        );
        tracing::warn!(
            "!!! Truncating the AOF {} at offset {} !!!",
            rd.name,
            valid_up_to
        );
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&rd.path)
            .and_then(|f| f.set_len(valid_up_to).and_then(|_| f.sync_all()));
        if let Err(e) = f {
            return Err(format!(
                "Error truncating the AOF file {}: {e}",
                rd.path.display()
            ));
        }
        tracing::warn!(
            "AOF {} loaded anyway because aof-load-truncated is enabled",
            rd.name
        );
        Ok(())
    }
}

async fn open_reader(dir: &Path, f: &FileEntry, may_truncate: bool) -> Result<Reader, String> {
    let path = dir.join(&f.name);
    let (file, size) = LogFile::open_read(&path).await.map_err(|e| {
        format!(
            "Can't open the append only file {} (listed in the manifest): {}",
            path.display(),
            strerror(&e)
        )
    })?;
    Ok(Reader {
        name: f.name.clone(),
        path,
        file,
        size,
        read: 0,
        scanner: Scanner::new(),
        db: 0,
        multi: None,
        eof: size == 0,
        may_truncate,
    })
}

/// Whether a base file is in RDB format (`aof-use-rdb-preamble yes`): it
/// starts with "REDIS", as Redis tells them apart.
fn is_rdb(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"REDIS"
}

/// Loads every file of `m` in load order.
async fn load(core: &Rc<Core>, dir: &Path, m: &Manifest) -> Result<(), String> {
    let node = core.node.clone();
    let truncated_ok = node
        .config
        .read()
        .map(|c| c.aof_load_truncated())
        .unwrap_or(true);
    let mut total = 0;
    for f in &m.files {
        let p = dir.join(&f.name);
        total += std::fs::metadata(&p)
            .map_err(|e| {
                format!(
                    "The AOF file {} (listed in the manifest) can't be read: {e}",
                    p.display()
                )
            })?
            .len();
    }
    node.aof.loading_total.store(total, Ordering::Relaxed);
    let mut loader = Loader::new(core, total, truncated_ok);
    let gens = m.generations();
    let last = gens.len().saturating_sub(1);
    for (gi, g) in gens.iter().enumerate() {
        for b in &g.bases {
            let path = dir.join(&b.name);
            if is_rdb(&path) {
                loader.settle().await;
                snapshot::load_file(core, &path).await?;
                loader.progress(file_size(dir, &b.name));
                continue;
            }
            let mut rd = open_reader(dir, b, false).await?;
            while loader.segment(&mut rd).await? {}
            loader.settle().await;
            let _ = rd.file.close().await;
        }
        let mut readers = Vec::with_capacity(g.incrs.len());
        for f in &g.incrs {
            readers.push(open_reader(dir, f, gi == last).await?);
        }
        // Segment by segment: every file up to its next barrier, in core
        // order, until every file is done.
        let mut open: Vec<bool> = vec![true; readers.len()];
        while open.iter().any(|&o| o) {
            for (i, rd) in readers.iter_mut().enumerate() {
                if open[i] && !loader.segment(rd).await? {
                    open[i] = false;
                }
            }
            loader.settle().await;
        }
        for rd in readers {
            let _ = rd.file.close().await;
        }
    }
    loader.settle().await;
    if loader.errors > 0 {
        tracing::warn!(
            "{} of the {} commands loaded from the AOF answered an error",
            loader.errors,
            loader.commands
        );
    }
    Ok(())
}

// ---- turning it on and off at run time -------------------------------------

/// The claim on the node's one AOF switch or rewrite at a time; released
/// when dropped.
struct Switching(std::sync::Arc<Node>);

impl Switching {
    fn claim(node: &std::sync::Arc<Node>) -> Option<Switching> {
        if node.aof.switching.swap(true, Ordering::SeqCst) {
            None
        } else {
            Some(Switching(node.clone()))
        }
    }
}

impl Drop for Switching {
    fn drop(&mut self) {
        self.0.aof.switching.store(false, Ordering::SeqCst);
    }
}

/// What a rewrite is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// CONFIG SET appendonly yes: writers start at the start point.
    TurnOn,
    /// BGREWRITEAOF or the automatic rewrite: running writers move to the
    /// next generation's incremental files at the start point.
    Rewrite,
}

/// BGREWRITEAOF's reply when no rewrite can start now.
pub const REWRITE_IN_PROGRESS: &str =
    "ERR Background append only file rewriting already in progress";

/// Whether BGREWRITEAOF started a rewrite or scheduled one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    Started,
    /// An RDB save runs: the rewrite starts after it (as Redis schedules
    /// it while another child runs).
    Scheduled,
}

/// Starts a rewrite in the background (BGREWRITEAOF, the automatic
/// rewrite), or schedules it while an RDB save runs; `Err` when one
/// already runs. The outcome goes to the log and INFO persistence.
pub fn start_rewrite(core: &Rc<Core>) -> Result<Rewrite, &'static str> {
    let node = &core.node;
    if node.aof.switching.load(Ordering::SeqCst) {
        return Err(REWRITE_IN_PROGRESS);
    }
    if node.snapshot.rdb_in_progress() {
        node.aof.scheduled.store(true, Ordering::SeqCst);
        return Ok(Rewrite::Scheduled);
    }
    let claim = Switching::claim(node).ok_or(REWRITE_IN_PROGRESS)?;
    node.aof.scheduled.store(false, Ordering::SeqCst);
    let core = core.clone();
    runtime::spawn(async move {
        if let Err(e) = rewrite(&core, Purpose::Rewrite, claim).await {
            tracing::warn!("Background append only file rewriting failed: {}", e);
        }
    });
    Ok(Rewrite::Started)
}

/// CONFIG SET appendonly yes: a rewrite whose start point also starts
/// every core's writer; on failure the AOF stays off.
pub async fn turn_on(core: &Rc<Core>) -> Result<(), String> {
    if core.node.aof.enabled.load(Ordering::SeqCst) {
        return Ok(());
    }
    let claim = Switching::claim(&core.node).ok_or_else(|| REWRITE_IN_PROGRESS[4..].to_string())?;
    rewrite(core, Purpose::TurnOn, claim).await
}

/// The automatic rewrite (`auto-aof-rewrite-percentage`,
/// `auto-aof-rewrite-min-size`), checked by core 0's cron as Redis's
/// serverCron does: the AOF has grown by the percentage over its size after
/// the last rewrite (its base) and is at least the minimum size.
pub fn rewrite_due(core: &Rc<Core>, cores: &[CoreFigures]) -> bool {
    let node = &core.node;
    let a = &node.aof;
    if !a.enabled.load(Ordering::Relaxed)
        || a.switching.load(Ordering::Relaxed)
        || node.snapshot.in_progress()
    {
        return false;
    }
    let (perc, min) = node
        .config
        .read()
        .map(|c| {
            (
                c.auto_aof_rewrite_percentage(),
                c.auto_aof_rewrite_min_size(),
            )
        })
        .unwrap_or((0, 0));
    let size = cores.iter().map(|c| c.size).sum::<u64>() + a.other_size.load(Ordering::Relaxed);
    if perc == 0 || size < min {
        return false;
    }
    let base = a.base_size.load(Ordering::Relaxed).max(1);
    size.saturating_sub(base) * 100 / base >= perc as u64
}

/// Core 0's AOF cron, every 100 ms until shutdown: starts a scheduled
/// rewrite once no RDB save runs, and the automatic rewrite when it is due.
pub async fn cron(core: &Rc<Core>) {
    let node = core.node.clone();
    while !node.shutting_down.load(Ordering::Relaxed) {
        runtime::sleep(Duration::from_millis(100)).await;
        if node.aof.scheduled.load(Ordering::SeqCst) && !node.snapshot.in_progress() {
            let _ = start_rewrite(core);
            continue;
        }
        if !node.aof.enabled.load(Ordering::Relaxed) {
            continue;
        }
        let cores = core.run_on_all(|c| figures(c)).await;
        if rewrite_due(core, &cores) && start_rewrite(core) == Ok(Rewrite::Started) {
            let perc = core
                .node
                .config
                .read()
                .map_or(0, |c| c.auto_aof_rewrite_percentage());
            tracing::info!("Starting automatic rewriting of AOF on {}% growth", perc);
        }
    }
}

/// Starts the writer of a core whose AOF was off, at a start point: its
/// stream starts now (replies wait for it), the file opens in a task.
fn start_writer_at(core: &Rc<Core>, path: PathBuf, name: String, policy: AppendFsync) {
    begin_writer(core, policy, name, 0);
    let core = core.clone();
    runtime::spawn(async move {
        loop {
            match LogFile::open(&path).await {
                Ok((file, size)) => {
                    core.aof.borrow_mut().size = size;
                    recovered(&core, &core.node);
                    writer(core, file, size).await;
                    return;
                }
                Err(e) => {
                    failed(&core, &core.node, "opening", &e);
                    runtime::sleep(RETRY).await;
                }
            }
        }
    });
}

/// A rewrite: the next generation `seq` gets every core's base (its keys
/// at one start point, taken while every core is held) and incremental file
/// (what the core runs after that point). Before the start point the
/// manifest lists the new incremental files after the old generations, so a
/// crash at any moment loads old files, then the new increments; once every
/// base is written the manifest names only the new generation and the old
/// files are removed. On failure the partial bases are removed and the
/// writers stay on the new incremental files (still after the old ones in
/// the manifest), so nothing acknowledged is lost.
async fn rewrite(core: &Rc<Core>, purpose: Purpose, _claim: Switching) -> Result<(), String> {
    let node = core.node.clone();
    node.aof.rewrite_started.store(now_ms(), Ordering::Relaxed);
    let started = Instant::now();
    let result = rewrite_files(core, purpose).await;
    let secs = started.elapsed().as_secs() as i64;
    node.aof.rewrite_started.store(0, Ordering::Relaxed);
    node.aof.last_rewrite_secs.store(secs, Ordering::Relaxed);
    match &result {
        Ok(()) => {
            node.aof.rewrite_failures.store(0, Ordering::Relaxed);
            node.aof.rewrites.fetch_add(1, Ordering::Relaxed);
            if purpose == Purpose::TurnOn {
                node.aof.enabled.store(true, Ordering::SeqCst);
            }
            tracing::info!(
                "Background AOF rewrite finished successfully ({} shards, {:.3} s)",
                core.ncores,
                started.elapsed().as_secs_f64()
            );
        }
        Err(_) => {
            node.aof.rewrite_failures.fetch_add(1, Ordering::Relaxed);
        }
    }
    result
}

async fn rewrite_files(core: &Rc<Core>, purpose: Purpose) -> Result<(), String> {
    let node = core.node.clone();
    let (dir, filename) = aof_dir_created(&node)?;
    let mname = manifest::manifest_name(&filename);
    let old = Manifest::read(&dir, &mname)?.unwrap_or_default();
    let seq = old.last_seq().unwrap_or(0) + 1;
    let fresh = Manifest::new_generation(&filename, seq, core.ncores, true);
    let incrs: Vec<FileEntry> = fresh
        .files
        .iter()
        .filter(|f| f.kind == Kind::Incr)
        .cloned()
        .collect();
    create_empty(&dir, &incrs)?;
    let enabled = node.aof.enabled.load(Ordering::SeqCst);
    if purpose == Purpose::Rewrite && enabled {
        // Before any write lands in them, the new increments are listed
        // after the old generations.
        let mut m = old.clone();
        m.files.extend(incrs.iter().cloned());
        m.write_atomic(&dir, &mname)
            .map_err(|e| format!("Can't write the AOF manifest: {e}"))?;
    }
    let (policy, preamble) = node
        .config
        .read()
        .map(|c| (c.appendfsync(), c.aof_use_rdb_preamble()))
        .unwrap_or((AppendFsync::Everysec, true));
    let (d2, f2) = (dir.clone(), filename.clone());
    let at_start = move |c: &Rc<Core>| {
        let name = manifest::incr_name(&f2, c.id, seq);
        let path = d2.join(&name);
        match purpose {
            Purpose::TurnOn => start_writer_at(c, path, name, policy),
            Purpose::Rewrite if c.aof.borrow().running => switch_file(c, path, name),
            Purpose::Rewrite => {}
        }
    };
    // The bases, written by the fork-less snapshot while the cores serve:
    // RDB files (`<appendfilename>.<core>.<seq>.base.rdb`), or commands
    // with aof-use-rdb-preamble no.
    let mut fresh = fresh;
    let format = if preamble {
        for f in fresh.files.iter_mut().filter(|f| f.kind == Kind::Base) {
            f.name = manifest::base_rdb_name(&filename, f.core as usize, seq);
        }
        Format::Rdb
    } else {
        Format::Commands
    };
    let mut paths = vec![PathBuf::new(); core.ncores];
    for f in fresh.files.iter().filter(|f| f.kind == Kind::Base) {
        if let Some(p) = paths.get_mut(f.core as usize) {
            *p = dir.join(&f.name);
        }
    }
    let r = snapshot::save_core_files(core, paths, format, at_start).await;
    finish_rewrite(core, purpose, enabled, &dir, &mname, &old, fresh, seq, r).await
}

/// The end of a rewrite whose bases are written (`result`): the manifest
/// of the new generation and the old files' removal, or on failure the
/// partial bases' removal (and, turning on, the writers stopped).
#[allow(clippy::too_many_arguments)]
async fn finish_rewrite(
    core: &Rc<Core>,
    purpose: Purpose,
    enabled: bool,
    dir: &Path,
    mname: &str,
    old: &Manifest,
    fresh: Manifest,
    seq: u64,
    result: Result<(), String>,
) -> Result<(), String> {
    let node = core.node.clone();
    let result = result.and_then(|()| {
        let m = if purpose == Purpose::Rewrite && !enabled {
            // No writers: the bases alone.
            Manifest {
                files: fresh
                    .files
                    .iter()
                    .filter(|f| f.kind == Kind::Base)
                    .cloned()
                    .collect(),
            }
        } else {
            fresh.clone()
        };
        m.write_atomic(dir, mname)
            .map_err(|e| format!("Can't write the AOF manifest: {e}"))
            .map(|()| m)
    });
    let m = match result {
        Ok(m) => m,
        Err(e) => {
            for f in fresh.files.iter().filter(|f| f.kind == Kind::Base) {
                let _ = std::fs::remove_file(dir.join(&f.name));
            }
            if purpose == Purpose::TurnOn {
                // Back to off: streams stopped, writers closed.
                let waits: Vec<_> = (0..core.ncores)
                    .map(|c| core.run_on(c, stop_writer))
                    .collect();
                for w in waits {
                    if let Some(rx) = w.await {
                        let _ = rx.await;
                    }
                }
            }
            return Err(e);
        }
    };
    for f in &old.files {
        if !m.files.iter().any(|x| x.name == f.name) {
            let _ = std::fs::remove_file(dir.join(&f.name));
        }
    }
    let _ = manifest::fsync_dir(dir);
    account_sizes(&node, dir, &m, seq);
    Ok(())
}

/// CONFIG SET appendonly no: every core writes and fsyncs what it has
/// propagated, then stops.
pub async fn turn_off(core: &Rc<Core>) {
    let node = core.node.clone();
    if !node.aof.enabled.swap(false, Ordering::SeqCst) {
        return;
    }
    let waits: Vec<_> = (0..core.ncores)
        .map(|c| core.run_on(c, stop_writer))
        .collect();
    for w in waits {
        if let Some(rx) = w.await {
            let _ = rx.await;
        }
    }
    tracing::info!("Background append only file writing stopped (appendonly no)");
}

// ---- INFO -------------------------------------------------------------------

/// One core's AOF figures for INFO.
#[derive(Debug, Default, Clone, Copy)]
pub struct CoreFigures {
    pub size: u64,
    pub buffer: u64,
    pub fsync_in_flight: bool,
    pub delayed_fsync: u64,
    pub writes: u64,
    pub fsyncs: u64,
}

pub fn figures(core: &Core) -> CoreFigures {
    let a = core.aof.borrow();
    let pending = core.shard.try_borrow().map_or(0, |s| s.propagate.pending());
    CoreFigures {
        size: a.size,
        buffer: (pending + a.unwritten) as u64,
        fsync_in_flight: a.fsync_in_flight,
        delayed_fsync: a.delayed_fsync,
        writes: a.writes,
        fsyncs: a.fsyncs,
    }
}

/// The AOF part of INFO persistence, as Redis 7.0.15 prints it: the lines
/// from aof_enabled to module_fork_last_cow_size, then, when the AOF is on,
/// aof_current_size ... aof_delayed_fsync; then the loading lines while
/// loading.
pub fn info_lines(node: &Node, cores: &[CoreFigures], out: &mut String) {
    use std::fmt::Write;
    let a = &node.aof;
    let enabled = a.enabled.load(Ordering::Relaxed);
    let failures = a.rewrite_failures.load(Ordering::Relaxed);
    let _ = write!(
        out,
        "aof_enabled:{}\r\naof_rewrite_in_progress:{}\r\naof_rewrite_scheduled:{}\r\naof_last_rewrite_time_sec:{}\r\naof_current_rewrite_time_sec:{}\r\naof_last_bgrewrite_status:{}\r\naof_rewrites:{}\r\naof_rewrites_consecutive_failures:{}\r\naof_last_write_status:{}\r\naof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
        enabled as u8,
        a.switching.load(Ordering::Relaxed) as u8,
        a.scheduled.load(Ordering::Relaxed) as u8,
        a.last_rewrite_secs.load(Ordering::Relaxed),
        match a.rewrite_started.load(Ordering::Relaxed) {
            0 => -1,
            t => (now_ms().saturating_sub(t) / 1000) as i64,
        },
        if failures > 0 { "err" } else { "ok" },
        a.rewrites.load(Ordering::Relaxed),
        failures,
        if a.write_ok() { "ok" } else { "err" },
    );
    if enabled {
        let sum = |f: fn(&CoreFigures) -> u64| cores.iter().map(f).sum::<u64>();
        let _ = write!(
            out,
            "aof_current_size:{}\r\naof_base_size:{}\r\naof_pending_rewrite:0\r\naof_buffer_length:{}\r\naof_pending_bio_fsync:{}\r\naof_delayed_fsync:{}\r\n",
            sum(|c| c.size) + a.other_size.load(Ordering::Relaxed),
            a.base_size.load(Ordering::Relaxed),
            sum(|c| c.buffer),
            sum(|c| c.fsync_in_flight as u64),
            sum(|c| c.delayed_fsync),
        );
    }
    if a.loading() {
        let total = a.loading_total.load(Ordering::Relaxed);
        let loaded = a.loading_loaded.load(Ordering::Relaxed);
        let start = a.loading_start.load(Ordering::Relaxed);
        let elapsed = (now_ms() / 1000).saturating_sub(start);
        let perc = if total > 0 {
            loaded as f64 * 100.0 / total as f64
        } else {
            0.0
        };
        let eta = if elapsed == 0 {
            1
        } else {
            elapsed * total.saturating_sub(loaded).max(1) / (loaded + 1)
        };
        let _ = write!(
            out,
            "loading_start_time:{start}\r\nloading_total_bytes:{total}\r\nloading_rdb_used_mem:0\r\nloading_loaded_bytes:{loaded}\r\nloading_loaded_perc:{perc:.2}\r\nloading_eta_seconds:{eta}\r\n"
        );
    }
}

/// Whether a node-wide write (FLUSHALL ...) must leave a barrier and its
/// own command in the cores' streams.
pub fn propagating(node: &Node) -> bool {
    node.aof.enabled.load(Ordering::Relaxed) || node.aof.switching.load(Ordering::Relaxed)
}

/// What a node-wide write leaves in core `core_id`'s stream: a barrier
/// (every core), then on core 0 the command itself.
pub fn log_node_wide(
    shard: &mut crate::runtime::Shard,
    core_id: usize,
    barrier: u64,
    db: usize,
    argv: &[&[u8]],
) {
    if !shard.propagate.is_on() {
        return;
    }
    shard.propagate_expired();
    shard.propagate.barrier(barrier);
    if core_id == 0 {
        shard.propagate.push(db, argv);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_like_c() {
        let e = std::io::Error::from_raw_os_error(libc::ENOSPC);
        assert_eq!(strerror(&e), "No space left on device");
        let e = std::io::Error::from_raw_os_error(libc::EFBIG);
        assert_eq!(strerror(&e), "File too large");
    }
}
