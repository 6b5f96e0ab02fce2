//! MIGRATE: moves keys to another node as DUMP payloads sent with RESTORE
//! (RESTORE-ASKING in cluster mode), as Redis 7.0's migrateCommand does:
//! options, cached connections (10 s), SELECT only when the target db
//! changes, one retry on a cached socket that went stale, and Redis's error
//! texts.
//!
//! Atomicity: the cores holding the keys stay reserved from reading the
//! keys until the successfully restored ones are deleted, so no write to
//! them can land in between and be lost (Redis blocks the whole server for
//! the same reason; here only the keys' cores wait).

use super::flags::*;
use super::{errors, Args, CmdResult, CommandSpec, Handler};
use crate::cluster::slot::key_hash_slot;
use crate::protocol::Reply;
use crate::runtime::{now_ms, Core, Job, TcpStream};
use crate::server::client::Client;
use crate::server::dispatch::{cluster_route, ClusterQuery};
use bytes::Bytes;
use futures::future::LocalBoxFuture;
use futures::{AsyncReadExt, AsyncWriteExt};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

type Fut<'a> = LocalBoxFuture<'a, CmdResult>;

/// Idle cached connections are closed after this long.
const SOCKET_CACHE_TTL_MS: u64 = 10_000;
/// At most this many cached connections per core.
const SOCKET_CACHE_ITEMS: usize = 64;
/// A reply line longer than this is an error (Redis reads into 1 KiB).
const MAX_LINE: usize = 64 * 1024;

pub const COMMANDS: &[CommandSpec] = &[CommandSpec::new(
    "migrate",
    -6,
    WRITE | MOVABLE_KEYS,
    (3, 3, 1),
    Handler::Conn(migrate),
)
.movable(migrate_keys)
.doc(
    "generic",
    "2.6.0",
    "Atomically transfer a key from a Redis instance to another one.",
)];

/// MIGRATE's keys as Redis's migrateGetKeys finds them (COMMAND GETKEYS):
/// argv[3], or everything after the first `KEYS` word when argv[3] is
/// empty. Like Redis it does not skip AUTH arguments; the command itself
/// parses its options properly.
pub fn migrate_keys(argv: &[Bytes]) -> Vec<usize> {
    if argv.get(3).is_some_and(|k| k.is_empty()) {
        if let Some(i) = (6..argv.len()).find(|&i| argv[i].eq_ignore_ascii_case(b"keys")) {
            return (i + 1..argv.len()).collect();
        }
    }
    vec![3]
}

struct Options {
    copy: bool,
    replace: bool,
    auth: Option<(Option<Bytes>, Bytes)>,
    keys: Vec<Bytes>,
    timeout_ms: u64,
    db: i64,
}

fn parse_long(b: &[u8]) -> Result<i64, Reply> {
    super::parse_i64_arg(b)
}

fn parse(argv: &[Bytes]) -> Result<Options, Reply> {
    let mut o = Options {
        copy: false,
        replace: false,
        auth: None,
        keys: argv.get(3).cloned().into_iter().collect(),
        timeout_ms: 0,
        db: 0,
    };
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let a = &argv[j];
        if a.eq_ignore_ascii_case(b"copy") {
            o.copy = true;
        } else if a.eq_ignore_ascii_case(b"replace") {
            o.replace = true;
        } else if a.eq_ignore_ascii_case(b"auth") {
            if more < 1 {
                return Err(Reply::err(errors::SYNTAX));
            }
            o.auth = Some((None, argv[j + 1].clone()));
            j += 1;
        } else if a.eq_ignore_ascii_case(b"auth2") {
            if more < 2 {
                return Err(Reply::err(errors::SYNTAX));
            }
            o.auth = Some((Some(argv[j + 1].clone()), argv[j + 2].clone()));
            j += 2;
        } else if a.eq_ignore_ascii_case(b"keys") {
            if argv.get(3).is_some_and(|k| !k.is_empty()) {
                return Err(Reply::err(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            o.keys = argv[j + 1..].to_vec();
            break;
        } else {
            return Err(Reply::err(errors::SYNTAX));
        }
        j += 1;
    }
    let timeout = parse_long(&argv[5])?;
    o.db = parse_long(&argv[4])?;
    o.timeout_ms = if timeout <= 0 { 1000 } else { timeout as u64 };
    Ok(o)
}

/// A connection to a target kept between MIGRATE calls.
struct Cached {
    stream: TcpStream,
    /// The db last SELECTed on it (-1: unknown).
    last_db: i64,
    last_use_ms: u64,
}

thread_local! {
    static SOCKETS: RefCell<HashMap<String, Cached>> = RefCell::new(HashMap::new());
}

/// A cached connection to `target` or a new one (`-IOERR` when it cannot
/// be made in time).
async fn get_socket(target: &str, timeout: Duration) -> Result<Cached, Reply> {
    let now = now_ms();
    let cached = SOCKETS.with(|s| {
        let mut s = s.borrow_mut();
        s.retain(|_, c| now.saturating_sub(c.last_use_ms) < SOCKET_CACHE_TTL_MS);
        s.remove(target)
    });
    if let Some(c) = cached {
        return Ok(c);
    }
    let ioerr = || Reply::err("IOERR error or timeout connecting to the client");
    let addr = resolve(target).ok_or_else(ioerr)?;
    let stream = TcpStream::connect_timeout(addr, timeout)
        .await
        .map_err(|_| ioerr())?;
    let _ = stream.set_nodelay(true);
    Ok(Cached {
        stream,
        last_db: -1,
        last_use_ms: now,
    })
}

fn resolve(target: &str) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    target.to_socket_addrs().ok()?.next()
}

fn put_socket(target: String, mut c: Cached) {
    c.last_use_ms = now_ms();
    SOCKETS.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() >= SOCKET_CACHE_ITEMS {
            // Redis drops a random entry; any one will do.
            if let Some(k) = s.keys().next().cloned() {
                s.remove(&k);
            }
        }
        s.insert(target, c);
    });
}

/// Appends one command in RESP to `out`.
fn push_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One reply line (without `\r\n`) from `s`, `buf` keeping what was read
/// past it.
async fn read_line(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Vec<u8>> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(p) = buf.windows(2).position(|w| w == b"\r\n") {
            let line = buf[..p].to_vec();
            buf.drain(..p + 2);
            return Ok(line);
        }
        if buf.len() > MAX_LINE {
            return Err(std::io::Error::other("reply line too long"));
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A key read on its core: position in the command, name, DUMP payload,
/// and TTL in ms (0: none).
type Dumped = (usize, Bytes, Vec<u8>, u64);

/// What the network exchange came to.
enum Sent {
    Ok,
    TargetError(String),
    /// Nothing was processed on a cached socket: worth one retry.
    Retry,
    Io {
        writing: bool,
    },
}

/// Sends the AUTH/SELECT/RESTORE pipeline and reads the replies; `done`
/// gets the keys the target acknowledged.
async fn exchange(
    sock: &mut Cached,
    o: &Options,
    dumped: &[Dumped],
    cluster: bool,
    done: &mut Vec<usize>,
) -> Sent {
    let timeout = Duration::from_millis(o.timeout_ms);
    let _ = sock.stream.set_read_timeout(Some(timeout));
    let _ = sock.stream.set_write_timeout(Some(timeout));
    let mut cmd = Vec::new();
    if let Some((user, pass)) = &o.auth {
        match user {
            Some(u) => push_command(&mut cmd, &[b"AUTH", u, pass]),
            None => push_command(&mut cmd, &[b"AUTH", pass]),
        }
    }
    let select = sock.last_db != o.db;
    if select {
        push_command(&mut cmd, &[b"SELECT", o.db.to_string().as_bytes()]);
    }
    let restore: &[u8] = if cluster {
        b"RESTORE-ASKING"
    } else {
        b"RESTORE"
    };
    for (_, key, payload, ttl) in dumped {
        let ttl = ttl.to_string();
        let mut args: Vec<&[u8]> = vec![restore, key, ttl.as_bytes(), payload];
        if o.replace {
            args.push(b"REPLACE");
        }
        push_command(&mut cmd, &args);
    }
    if sock.stream.write_all(&cmd).await.is_err() {
        return Sent::Io { writing: true };
    }
    let mut buf = Vec::new();
    let mut pre_err: Option<Vec<u8>> = None;
    for wanted in [o.auth.is_some(), select] {
        if !wanted {
            continue;
        }
        match read_line(&mut sock.stream, &mut buf).await {
            Ok(l) => {
                if l.first() == Some(&b'-') && pre_err.is_none() {
                    pre_err = Some(l);
                }
            }
            Err(e) => {
                return if e.kind() == std::io::ErrorKind::TimedOut {
                    Sent::Io { writing: false }
                } else {
                    Sent::Retry
                };
            }
        }
    }
    let mut target_err: Option<String> = None;
    for (j, d) in dumped.iter().enumerate() {
        let line = match read_line(&mut sock.stream, &mut buf).await {
            Ok(l) => l,
            Err(e) => {
                if target_err.is_some() {
                    break;
                }
                if j == 0 && e.kind() != std::io::ErrorKind::TimedOut {
                    return Sent::Retry;
                }
                return Sent::Io { writing: false };
            }
        };
        let err = pre_err
            .as_ref()
            .or((line.first() == Some(&b'-')).then_some(&line));
        match err {
            Some(e) => {
                if target_err.is_none() {
                    sock.last_db = -1;
                    target_err = Some(String::from_utf8_lossy(&e[1..]).into_owned());
                }
            }
            None => done.push(d.0),
        }
    }
    match target_err {
        Some(e) => Sent::TargetError(e),
        None => {
            sock.last_db = o.db;
            Sent::Ok
        }
    }
}

fn migrate(c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        let argv = a.into_argv();
        let o = parse(&argv)?;
        let cluster = c.core.node.cluster_enabled();
        let target = format!(
            "{}:{}",
            String::from_utf8_lossy(&argv[1]),
            String::from_utf8_lossy(&argv[2])
        );
        // The keys' cores, after the cluster checks (an open slot is
        // always served here, as in Redis).
        let (cores, by_core) = c.core.with_topology(|t| {
            let mut by_core: HashMap<usize, Vec<(usize, Bytes)>> = HashMap::new();
            let mut first: Option<u16> = None;
            for (i, k) in o.keys.iter().enumerate() {
                let slot = key_hash_slot(k);
                if t.cluster_enabled {
                    match first {
                        None => first = Some(slot),
                        Some(s) if s != slot => return Err(Reply::err(errors::CROSSSLOT)),
                        _ => {}
                    }
                }
                by_core
                    .entry(t.core_of(slot))
                    .or_default()
                    .push((i, k.clone()));
            }
            if let Some(slot) = first {
                let q = ClusterQuery {
                    asking: c.asking,
                    write: true,
                    multiple: o.keys.len() > 1,
                    migrate: true,
                    reads_when_down: false,
                };
                cluster_route(t, slot, &q)?;
            }
            let mut cores: Vec<usize> = by_core.keys().copied().collect();
            cores.sort_unstable();
            Ok((cores, Arc::new(by_core)))
        })?;
        let db = c.db;
        let gather_keys = by_core.clone();
        let gather = move |core: &Rc<Core>| -> Vec<Dumped> {
            let now = now_ms();
            let mut shard = core.shard.borrow_mut();
            let Some(d) = shard.dbs.get_mut(db) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for (i, key) in gather_keys.get(&core.id).into_iter().flatten() {
                let Some(entry) = d.get(key, now) else {
                    continue;
                };
                let payload = crate::persistence::rdb::dump_payload(&entry.val);
                let ttl = match d.expire_of(key) {
                    Some(at) => at.saturating_sub(now).max(1),
                    None => 0,
                };
                out.push((*i, key.clone(), payload, ttl));
            }
            out
        };
        let copy = o.copy;
        let by_core_finish = by_core.clone();
        let ncores = cores.len();
        let cores_for_finish = cores.clone();
        c.core
            .lock_and_async(&cores, gather, |gathered: Vec<Vec<Dumped>>| async move {
                let mut dumped: Vec<Dumped> = gathered.into_iter().flatten().collect();
                dumped.sort_by_key(|d| d.0);
                if dumped.is_empty() {
                    return (Vec::new(), Ok(Reply::Simple("NOKEY".into())));
                }
                let mut done = Vec::new();
                let mut result = Err(Reply::err(
                    "IOERR error or timeout reading to target instance",
                ));
                for attempt in 0..2 {
                    let mut sock =
                        match get_socket(&target, Duration::from_millis(o.timeout_ms)).await {
                            Ok(s) => s,
                            Err(e) => {
                                result = Err(e);
                                break;
                            }
                        };
                    done.clear();
                    match exchange(&mut sock, &o, &dumped, cluster, &mut done).await {
                        Sent::Ok => {
                            put_socket(target.clone(), sock);
                            result = Ok(Reply::OK);
                            break;
                        }
                        Sent::TargetError(e) => {
                            put_socket(target.clone(), sock);
                            result = Err(Reply::err_owned(format!(
                                "ERR Target instance replied with error: {e}"
                            )));
                            break;
                        }
                        Sent::Retry if attempt == 0 => continue,
                        Sent::Retry => {
                            result = Err(Reply::err(
                                "IOERR error or timeout reading to target instance",
                            ));
                        }
                        Sent::Io { writing } => {
                            result = Err(Reply::err_owned(format!(
                                "IOERR error or timeout {} to target instance",
                                if writing { "writing" } else { "reading" }
                            )));
                            break;
                        }
                    }
                }
                // The acknowledged keys leave this node (unless COPY), on
                // their cores, before those are released.
                let mut finish: Vec<Option<Job>> = Vec::with_capacity(ncores);
                for core in &cores_for_finish {
                    let keys: Vec<Bytes> = by_core_finish
                        .get(core)
                        .into_iter()
                        .flatten()
                        .filter(|(i, _)| done.contains(i))
                        .map(|(_, k)| k.clone())
                        .collect();
                    if copy || keys.is_empty() {
                        finish.push(None);
                        continue;
                    }
                    finish.push(Some(Box::new(move |core: &Rc<Core>| {
                        let node = core.node.clone();
                        let mut shard = core.shard.borrow_mut();
                        let mut ctx = super::Ctx {
                            shard: &mut shard,
                            db,
                            now: now_ms(),
                            node: &node,
                        };
                        for key in keys {
                            let now = ctx.now;
                            if ctx.db().remove(&key, now).is_some() {
                                ctx.changed(super::keyspace_events::GENERIC, "del", &key);
                            }
                        }
                    })));
                }
                (finish, result)
            })
            .await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<Bytes> {
        words
            .iter()
            .map(|w| Bytes::copy_from_slice(w.as_bytes()))
            .collect()
    }

    #[test]
    fn keys_are_found_as_redis_finds_them() {
        assert_eq!(
            migrate_keys(&argv(&["migrate", "h", "1", "k", "0", "5"])),
            vec![3]
        );
        let a = argv(&["migrate", "h", "1", "", "0", "5", "COPY", "KEYS", "a", "b"]);
        assert_eq!(migrate_keys(&a), vec![8, 9]);
        let a = argv(&[
            "migrate", "h", "1", "", "0", "5", "AUTH", "keys", "KEYS", "a",
        ]);
        assert_eq!(migrate_keys(&a), vec![8, 9]);
    }

    #[test]
    fn options_and_their_errors() {
        let e = |w: &[&str]| match parse(&argv(w)) {
            Err(Reply::Error(e)) => e.into_owned(),
            Err(other) => format!("{other:?}"),
            Ok(_) => "ok".into(),
        };
        assert_eq!(
            e(&["migrate", "h", "1", "k", "0", "5", "bogus"]),
            "ERR syntax error"
        );
        assert_eq!(
            e(&["migrate", "h", "1", "k", "0", "5", "AUTH"]),
            "ERR syntax error"
        );
        assert_eq!(
            e(&["migrate", "h", "1", "k", "0", "5", "KEYS", "a"]),
            "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string"
        );
        assert_eq!(
            e(&["migrate", "h", "1", "k", "x", "5"]),
            "ERR value is not an integer or out of range"
        );
        let o = parse(&argv(&[
            "migrate", "h", "1", "", "3", "-1", "COPY", "REPLACE", "KEYS", "a", "b",
        ]))
        .expect("parse");
        assert!(o.copy && o.replace);
        assert_eq!((o.db, o.timeout_ms, o.keys.len()), (3, 1000, 2));
    }
}
