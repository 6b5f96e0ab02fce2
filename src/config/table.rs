//! The option table: one row per option, in the spirit of Redis's
//! `standardConfig static_configs[]` (config.c, 7.0.15), with the same names,
//! aliases, bounds, defaults and flags, plus shardis's own `threads`,
//! `metrics-port`, `latency-log-dir` and `latency-log-interval`.
//!
//! Rows whose [`Id`] is named come first, in the order of the `Id` enum, so
//! typed getters index the value array directly (a unit test checks the
//! order). The rest follow in Redis's order.
//!
//! Differences from Redis 7.0.15, on purpose:
//! - `port` and `bind` are immutable (every core binds the client port with
//!   SO_REUSEPORT at start; rebinding all listeners at runtime is not
//!   supported), and so is the new `threads` (the number of shards).
//!   `databases` and `cluster-enabled` are immutable in Redis too.
//! - `dir` does not `chdir`: it is validated and stored as an absolute path;
//!   the server joins file names onto it.

/// CONFIG SET refuses it: "can't set immutable config".
pub(crate) const IMMUTABLE: u8 = 1 << 0;
/// CONFIG SET needs `enable-protected-configs` yes (or local and a local
/// client): "can't set protected config".
pub(crate) const PROTECTED: u8 = 1 << 1;
/// Not matched by CONFIG GET patterns, only by its exact name.
pub(crate) const HIDDEN: u8 = 1 << 2;
/// Its value must be redacted from SLOWLOG/MONITOR/command logs.
pub(crate) const SENSITIVE: u8 = 1 << 3;
/// Takes several arguments (a single one is split like a config line).
pub(crate) const MULTI_ARG: u8 = 1 << 4;
/// CONFIG SET answers -LOADING while the dataset is loading.
pub(crate) const DENY_LOADING: u8 = 1 << 5;

/// How a numeric option is written and read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A plain integer (`string2ll`).
    Plain,
    /// Bytes, with `k kb m mb g gb` units (`memtoull`).
    Memory,
    /// Bytes or a percentage `N%` (stored negated, as Redis does).
    MemoryOrPercent,
    /// An octal number (`unixsocketperm`).
    Octal,
}

#[derive(Debug)]
pub(crate) struct NumSpec {
    pub lo: i64,
    pub hi: i64,
    pub default: i64,
    /// The C type is unsigned: bounds compare as `u64` and print with `%llu`.
    pub unsigned: bool,
    pub unit: Unit,
    /// Accepted values outside this range are clamped into it (`hz`).
    pub clamp: Option<(i64, i64)>,
    /// CONFIG SET (not the config file) raises smaller values to this, as
    /// Redis's apply function does (`repl-backlog-size`: 16kb).
    pub set_min: Option<i64>,
}

/// Validates a new boolean value.
pub(crate) type BoolCheck = fn(bool) -> Result<(), &'static str>;
/// Validates a combination of enum flags.
pub(crate) type FlagsCheck = fn(i32) -> Result<(), &'static str>;
/// Validates a string value.
pub(crate) type StrCheck = fn(&[u8]) -> Result<(), String>;

pub(crate) type EnumItems = &'static [(&'static str, i32)];

#[derive(Debug)]
pub(crate) struct EnumSpec {
    pub items: EnumItems,
    pub default: i32,
    /// Validates a combination of flags (multi-arg enums).
    pub check: Option<FlagsCheck>,
}

#[derive(Debug)]
pub(crate) struct StrSpec {
    pub default: Option<&'static str>,
    /// Redis's EMPTY_STRING_IS_NULL: "" unsets the option.
    pub empty_is_null: bool,
    /// An `sds` option (binary safe); otherwise a C string, cut at NUL.
    pub binary: bool,
    pub check: Option<StrCheck>,
}

/// Options with a format of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Special {
    Dir,
    Save,
    ClientOutputBufferLimit,
    OomScoreAdjValues,
    NotifyKeyspaceEvents,
    Bind,
    ReplicaOf,
    LatencyTrackingInfoPercentiles,
}

#[derive(Debug)]
pub(crate) enum Kind {
    /// Default, and a check of the new value.
    Bool(bool, Option<BoolCheck>),
    Num(NumSpec),
    Enum(EnumSpec),
    Str(StrSpec),
    Special(Special),
}

#[derive(Debug)]
pub(crate) struct Spec {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
}

impl Spec {
    pub(crate) fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The options that have typed getters; their rows come first in [`TABLE`],
/// in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Id {
    Port,
    Bind,
    ProtectedMode,
    Threads,
    Dir,
    Logfile,
    Loglevel,
    Databases,
    Maxclients,
    Timeout,
    TcpKeepalive,
    TcpBacklog,
    ProtoMaxBulkLen,
    ClientQueryBufferLimit,
    Requirepass,
    ClusterEnabled,
    ClusterConfigFile,
    ClusterNodeTimeout,
    ClusterPort,
    ClusterAnnounceIp,
    ClusterAnnouncePort,
    ClusterAnnounceBusPort,
    ClusterAnnounceHostname,
    ClusterRequireFullCoverage,
    ClusterAllowReadsWhenDown,
    ClusterReplicaNoFailover,
    ClusterReplicaValidityFactor,
    ClusterMigrationBarrier,
    ClusterAllowReplicaMigration,
    EnableDebugCommand,
    EnableProtectedConfigs,
    Daemonize,
    Pidfile,
    Hz,
    ActiveExpireEffort,
    Activerehashing,
    Maxmemory,
    MaxmemoryPolicy,
    MaxmemorySamples,
    LfuLogFactor,
    LfuDecayTime,
    Save,
    StopWritesOnBgsaveError,
    Rdbcompression,
    Rdbchecksum,
    Dbfilename,
    Appendonly,
    Appendfsync,
    Appendfilename,
    Appenddirname,
    AutoAofRewritePercentage,
    AutoAofRewriteMinSize,
    AofLoadTruncated,
    AofUseRdbPreamble,
    NoAppendfsyncOnRewrite,
    LatencyTracking,
    LatencyTrackingInfoPercentiles,
    LatencyMonitorThreshold,
    SlowlogLogSlowerThan,
    SlowlogMaxLen,
    ClientOutputBufferLimit,
    NotifyKeyspaceEvents,
    LazyfreeLazyEviction,
    LazyfreeLazyExpire,
    LazyfreeLazyServerDel,
    LazyfreeLazyUserDel,
    LazyfreeLazyUserFlush,
    HashMaxListpackEntries,
    HashMaxListpackValue,
    SetMaxIntsetEntries,
    ZsetMaxListpackEntries,
    ZsetMaxListpackValue,
    ListMaxListpackSize,
    ListCompressDepth,
    StreamNodeMaxBytes,
    StreamNodeMaxEntries,
    HllSparseMaxBytes,
    Replicaof,
    Masterauth,
    Masteruser,
    ReplBacklogSize,
    ReplBacklogTtl,
    ReplTimeout,
    ReplPingReplicaPeriod,
    ReplicaReadOnly,
    ReplicaServeStaleData,
    MinReplicasToWrite,
    MinReplicasMaxLag,
    BusyReplyThreshold,
    Unixsocket,
    Unixsocketperm,
    TrackingTableMaxKeys,
    AcllogMaxLen,
    ShutdownTimeout,
    IoThreads,
    MetricsPort,
}

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;
const UINT_MAX: i64 = u32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;
const ULLONG_MAX: i64 = -1; // u64::MAX, reinterpreted
const KB: i64 = 1024;
const MB: i64 = 1024 * 1024;

const fn boolean(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    default: bool,
) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Bool(default, None),
    }
}

const fn num(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    (lo, hi): (i64, i64),
    default: i64,
    unsigned: bool,
    unit: Unit,
) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Num(NumSpec {
            lo,
            hi,
            default,
            unsigned,
            unit,
            clamp: None,
            set_min: None,
        }),
    }
}

/// A signed plain integer (C `int`, `long long`, `time_t`, `off_t`).
const fn int(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    lo: i64,
    hi: i64,
    default: i64,
) -> Spec {
    num(name, alias, flags, (lo, hi), default, false, Unit::Plain)
}

/// An unsigned plain integer (C `unsigned int`, `unsigned long`, `size_t`).
const fn uint(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    lo: i64,
    hi: i64,
    default: i64,
) -> Spec {
    num(name, alias, flags, (lo, hi), default, true, Unit::Plain)
}

/// A memory size (`unsigned` as in the C type).
const fn mem(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    lo: i64,
    hi: i64,
    default: i64,
    unsigned: bool,
) -> Spec {
    num(
        name,
        alias,
        flags,
        (lo, hi),
        default,
        unsigned,
        Unit::Memory,
    )
}

/// A C string option.
const fn string(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    empty_is_null: bool,
    default: Option<&'static str>,
    check: Option<StrCheck>,
) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Str(StrSpec {
            default,
            empty_is_null,
            binary: false,
            check,
        }),
    }
}

/// An `sds` (binary-safe) string option whose empty value means unset.
const fn sds(name: &'static str, flags: u8) -> Spec {
    Spec {
        name,
        alias: None,
        flags,
        kind: Kind::Str(StrSpec {
            default: None,
            empty_is_null: true,
            binary: true,
            check: None,
        }),
    }
}

const fn enumeration(name: &'static str, flags: u8, items: EnumItems, default: i32) -> Spec {
    Spec {
        name,
        alias: None,
        flags,
        kind: Kind::Enum(EnumSpec {
            items,
            default,
            check: None,
        }),
    }
}

const fn special(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    which: Special,
) -> Spec {
    Spec {
        name,
        alias,
        flags,
        kind: Kind::Special(which),
    }
}

pub(crate) const LOGLEVEL: EnumItems =
    &[("debug", 0), ("verbose", 1), ("notice", 2), ("warning", 3)];
const MAXMEMORY_POLICY: EnumItems = &[
    ("volatile-lru", 0),
    ("volatile-lfu", 1),
    ("volatile-random", 2),
    ("volatile-ttl", 3),
    ("allkeys-lru", 4),
    ("allkeys-lfu", 5),
    ("allkeys-random", 6),
    ("noeviction", 7),
];
const APPENDFSYNC: EnumItems = &[("everysec", 2), ("always", 1), ("no", 0)];
const PROTECTED_ACTION: EnumItems = &[("no", 0), ("yes", 1), ("local", 2)];
const SYSLOG_FACILITY: EnumItems = &[
    ("user", 8),
    ("local0", 128),
    ("local1", 136),
    ("local2", 144),
    ("local3", 152),
    ("local4", 160),
    ("local5", 168),
    ("local6", 176),
    ("local7", 184),
];
const SUPERVISED: EnumItems = &[("upstart", 3), ("systemd", 2), ("auto", 1), ("no", 0)];
const SHUTDOWN_ON_SIG: EnumItems = &[
    ("default", 0),
    ("save", 1),
    ("nosave", 2),
    ("now", 4),
    ("force", 8),
];
const REPL_DISKLESS_LOAD: EnumItems = &[("disabled", 0), ("on-empty-db", 1), ("swapdb", 2)];
const TLS_AUTH_CLIENTS: EnumItems = &[("no", 0), ("yes", 1), ("optional", 2)];
const OOM_SCORE_ADJ: EnumItems = &[("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)];
const ACL_PUBSUB_DEFAULT: EnumItems = &[("allchannels", 8), ("resetchannels", 0)];
const SANITIZE_DUMP_PAYLOAD: EnumItems = &[("no", 0), ("yes", 1), ("clients", 2)];
const CLUSTER_PREFERRED_ENDPOINT_TYPE: EnumItems =
    &[("ip", 0), ("hostname", 1), ("unknown-endpoint", 2)];
const PROPAGATION_ERROR_BEHAVIOR: EnumItems =
    &[("ignore", 0), ("panic", 1), ("panic-on-replicas", 2)];

fn check_shutdown_flags(v: i32) -> Result<(), &'static str> {
    if v & 1 != 0 && v & 2 != 0 {
        Err("shutdown options SAVE and NOSAVE can't be used simultaneously")
    } else {
        Ok(())
    }
}

fn check_activedefrag(v: bool) -> Result<(), &'static str> {
    if v {
        Err("Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution")
    } else {
        Ok(())
    }
}

fn is_base_name(v: &[u8]) -> bool {
    !v.contains(&b'/') && !v.contains(&b'\\')
}

fn check_utf8_path(v: &[u8]) -> Result<(), String> {
    match std::str::from_utf8(v) {
        Ok(s) if !s.contains('\0') => Ok(()),
        _ => Err("must be a UTF-8 path".into()),
    }
}

fn check_dbfilename(v: &[u8]) -> Result<(), String> {
    if is_base_name(v) {
        Ok(())
    } else {
        Err("dbfilename can't be a path, just a filename".into())
    }
}

fn check_appendfilename(v: &[u8]) -> Result<(), String> {
    if v.is_empty() {
        Err("appendfilename can't be empty".into())
    } else if !is_base_name(v) {
        Err("appendfilename can't be a path, just a filename".into())
    } else {
        Ok(())
    }
}

fn check_appenddirname(v: &[u8]) -> Result<(), String> {
    if v.is_empty() {
        Err("appenddirname can't be empty".into())
    } else if !is_base_name(v) {
        Err("appenddirname can't be a path, just a dirname".into())
    } else {
        Ok(())
    }
}

fn check_hostname(v: &[u8]) -> Result<(), String> {
    if v.len() >= 256 {
        return Err("Hostnames must be less than 256 characters".into());
    }
    if v.iter()
        .all(|&c| c.is_ascii_alphanumeric() || c == b'-' || c == b'.')
    {
        Ok(())
    } else {
        Err("Hostnames may only contain alphanumeric characters, hyphens or dots".into())
    }
}

/// Redis's `validateProcTitleTemplate`: `{var}` must name a known variable,
/// `{{` is a literal brace, and the expansion (with an empty title) must not
/// be empty.
fn check_proc_title_template(v: &[u8]) -> Result<(), String> {
    const ERR: &str = "template format is invalid or contains unknown variables";
    let mut expanded = 0usize;
    let mut i = 0;
    while i < v.len() {
        if v[i] != b'{' {
            expanded += 1;
            i += 1;
            continue;
        }
        match v.get(i + 1) {
            None => return Err(ERR.into()),
            Some(b'{') => {
                expanded += 1;
                i += 2;
                continue;
            }
            Some(_) => {}
        }
        let close = v[i + 1..].iter().position(|&c| c == b'}').ok_or(ERR)?;
        let var = &v[i + 1..i + 1 + close];
        // Lengths of the expansions when validating: the title is empty,
        // the server mode is empty outside cluster mode, the rest are not.
        expanded += match var {
            b"title" | b"server-mode" | b"unixsocket" => 0,
            b"listen-addr" | b"config-file" | b"port" | b"tls-port" => 1,
            _ => return Err(ERR.into()),
        };
        i += close + 2;
    }
    if expanded == 0 {
        Err(ERR.into())
    } else {
        Ok(())
    }
}

const MOD: u8 = 0;
const IMM: u8 = IMMUTABLE;

/// Every option, hot ones first (see [`Id`]).
pub(crate) static TABLE: &[Spec] = &[
    // ---- rows with an Id, in Id order ----
    int("port", None, IMM, 0, 65535, 6379),
    special("bind", None, IMM | MULTI_ARG, Special::Bind),
    boolean("protected-mode", None, MOD, true),
    // shardis: number of shards (cores); 0 = one per CPU of the affinity mask.
    int("threads", None, IMM, 0, 1024, 0),
    special("dir", None, PROTECTED | DENY_LOADING, Special::Dir),
    string("logfile", None, IMM, false, Some(""), None),
    enumeration("loglevel", MOD, LOGLEVEL, 2),
    int("databases", None, IMM, 1, INT_MAX, 16),
    uint("maxclients", None, MOD, 1, UINT_MAX, 10000),
    int("timeout", None, MOD, 0, INT_MAX, 0),
    int("tcp-keepalive", None, MOD, 0, INT_MAX, 300),
    int("tcp-backlog", None, IMM, 0, INT_MAX, 511),
    mem(
        "proto-max-bulk-len",
        None,
        MOD,
        MB,
        LONG_MAX,
        512 * MB,
        false,
    ),
    mem(
        "client-query-buffer-limit",
        None,
        MOD,
        MB,
        LONG_MAX,
        1024 * MB,
        true,
    ),
    sds("requirepass", SENSITIVE),
    boolean("cluster-enabled", None, IMM, false),
    string(
        "cluster-config-file",
        None,
        IMM,
        false,
        Some("nodes.conf"),
        None,
    ),
    int("cluster-node-timeout", None, MOD, 0, LONG_MAX, 15000),
    int("cluster-port", None, IMM, 0, 65535, 0),
    string("cluster-announce-ip", None, MOD, true, None, None),
    int("cluster-announce-port", None, MOD, 0, 65535, 0),
    int("cluster-announce-bus-port", None, MOD, 0, 65535, 0),
    string(
        "cluster-announce-hostname",
        None,
        MOD,
        true,
        None,
        Some(check_hostname),
    ),
    boolean("cluster-require-full-coverage", None, MOD, true),
    boolean("cluster-allow-reads-when-down", None, MOD, false),
    boolean(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        MOD,
        false,
    ),
    int(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        MOD,
        0,
        INT_MAX,
        10,
    ),
    int("cluster-migration-barrier", None, MOD, 0, INT_MAX, 1),
    boolean("cluster-allow-replica-migration", None, MOD, true),
    enumeration("enable-debug-command", IMM, PROTECTED_ACTION, 0),
    enumeration("enable-protected-configs", IMM, PROTECTED_ACTION, 0),
    boolean("daemonize", None, IMM, false),
    string("pidfile", None, IMM, true, None, None),
    Spec {
        name: "hz",
        alias: None,
        flags: MOD,
        kind: Kind::Num(NumSpec {
            lo: 0,
            hi: INT_MAX,
            default: 10,
            unsigned: false,
            unit: Unit::Plain,
            // "Hz is more a hint from the user": accepted, then capped.
            clamp: Some((1, 500)),
            set_min: None,
        }),
    },
    int("active-expire-effort", None, MOD, 1, 10, 1),
    boolean("activerehashing", None, MOD, true),
    mem("maxmemory", None, MOD, 0, ULLONG_MAX, 0, true),
    enumeration("maxmemory-policy", MOD, MAXMEMORY_POLICY, 7),
    int("maxmemory-samples", None, MOD, 1, INT_MAX, 5),
    int("lfu-log-factor", None, MOD, 0, INT_MAX, 10),
    int("lfu-decay-time", None, MOD, 0, INT_MAX, 1),
    special("save", None, MULTI_ARG, Special::Save),
    boolean("stop-writes-on-bgsave-error", None, MOD, true),
    boolean("rdbcompression", None, MOD, true),
    boolean("rdbchecksum", None, IMM, true),
    string(
        "dbfilename",
        None,
        PROTECTED,
        false,
        Some("dump.rdb"),
        Some(check_dbfilename),
    ),
    boolean("appendonly", None, DENY_LOADING, false),
    enumeration("appendfsync", MOD, APPENDFSYNC, 2),
    string(
        "appendfilename",
        None,
        IMM,
        false,
        Some("appendonly.aof"),
        Some(check_appendfilename),
    ),
    string(
        "appenddirname",
        None,
        IMM,
        false,
        Some("appendonlydir"),
        Some(check_appenddirname),
    ),
    int("auto-aof-rewrite-percentage", None, MOD, 0, INT_MAX, 100),
    mem(
        "auto-aof-rewrite-min-size",
        None,
        MOD,
        0,
        LONG_MAX,
        64 * MB,
        false,
    ),
    boolean("aof-load-truncated", None, MOD, true),
    boolean("aof-use-rdb-preamble", None, MOD, true),
    boolean("no-appendfsync-on-rewrite", None, MOD, false),
    boolean("latency-tracking", None, MOD, true),
    special(
        "latency-tracking-info-percentiles",
        None,
        MULTI_ARG,
        Special::LatencyTrackingInfoPercentiles,
    ),
    int("latency-monitor-threshold", None, MOD, 0, LONG_MAX, 0),
    int("slowlog-log-slower-than", None, MOD, -1, LONG_MAX, 10000),
    uint("slowlog-max-len", None, MOD, 0, LONG_MAX, 128),
    special(
        "client-output-buffer-limit",
        None,
        MULTI_ARG,
        Special::ClientOutputBufferLimit,
    ),
    special(
        "notify-keyspace-events",
        None,
        MOD,
        Special::NotifyKeyspaceEvents,
    ),
    boolean("lazyfree-lazy-eviction", None, MOD, false),
    boolean("lazyfree-lazy-expire", None, MOD, false),
    boolean("lazyfree-lazy-server-del", None, MOD, false),
    boolean("lazyfree-lazy-user-del", None, MOD, false),
    boolean("lazyfree-lazy-user-flush", None, MOD, false),
    uint(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        MOD,
        0,
        LONG_MAX,
        512,
    ),
    mem(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        MOD,
        0,
        LONG_MAX,
        64,
        true,
    ),
    uint("set-max-intset-entries", None, MOD, 0, LONG_MAX, 512),
    uint(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        MOD,
        0,
        LONG_MAX,
        128,
    ),
    mem(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        MOD,
        0,
        LONG_MAX,
        64,
        true,
    ),
    int(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        MOD,
        INT_MIN,
        INT_MAX,
        -2,
    ),
    int("list-compress-depth", None, MOD, 0, INT_MAX, 0),
    mem("stream-node-max-bytes", None, MOD, 0, LONG_MAX, 4096, true),
    int("stream-node-max-entries", None, MOD, 0, LONG_MAX, 100),
    mem("hll-sparse-max-bytes", None, MOD, 0, LONG_MAX, 3000, true),
    special(
        "replicaof",
        Some("slaveof"),
        IMM | MULTI_ARG,
        Special::ReplicaOf,
    ),
    sds("masterauth", SENSITIVE),
    string("masteruser", None, SENSITIVE, true, None, None),
    Spec {
        name: "repl-backlog-size",
        alias: None,
        flags: MOD,
        kind: Kind::Num(NumSpec {
            lo: 1,
            hi: LONG_MAX,
            default: MB,
            unsigned: false,
            unit: Unit::Memory,
            clamp: None,
            set_min: Some(16 * KB),
        }),
    },
    int("repl-backlog-ttl", None, MOD, 0, LONG_MAX, 3600),
    int("repl-timeout", None, MOD, 1, INT_MAX, 60),
    int(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        MOD,
        1,
        INT_MAX,
        10,
    ),
    boolean("replica-read-only", Some("slave-read-only"), MOD, true),
    boolean(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        MOD,
        true,
    ),
    int(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        MOD,
        0,
        INT_MAX,
        0,
    ),
    int(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        MOD,
        0,
        INT_MAX,
        10,
    ),
    int(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        MOD,
        0,
        LONG_MAX,
        5000,
    ),
    string("unixsocket", None, IMM, true, None, None),
    num(
        "unixsocketperm",
        None,
        IMM,
        (0, 0o777),
        0,
        true,
        Unit::Octal,
    ),
    uint("tracking-table-max-keys", None, MOD, 0, LONG_MAX, 1_000_000),
    uint("acllog-max-len", None, MOD, 0, LONG_MAX, 128),
    int("shutdown-timeout", None, MOD, 0, INT_MAX, 10),
    int("io-threads", None, IMM, 1, 128, 1),
    // shardis: port of the Prometheus `GET /metrics` endpoint, on the `bind`
    // addresses; 0 = off.
    int("metrics-port", None, IMM, 0, 65535, 0),
    // ---- the rest, in Redis's order ----
    boolean("io-threads-do-reads", None, IMM, false),
    boolean("always-show-logo", None, IMM, false),
    boolean("rdb-del-sync-files", None, MOD, false),
    boolean("set-proc-title", None, IMM, true),
    boolean("dynamic-hz", None, MOD, true),
    boolean("repl-disable-tcp-nodelay", None, MOD, false),
    boolean("repl-diskless-sync", None, MOD, true),
    boolean("aof-rewrite-incremental-fsync", None, MOD, true),
    boolean("rdb-save-incremental-fsync", None, MOD, true),
    boolean("aof-timestamp-enabled", None, MOD, false),
    boolean("replica-lazy-flush", Some("slave-lazy-flush"), MOD, false),
    boolean(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        MOD,
        true,
    ),
    boolean("jemalloc-bg-thread", None, MOD, true),
    // shardis runs on mimalloc: no active defragmentation, refused like a
    // Redis built without its jemalloc.
    Spec {
        name: "activedefrag",
        alias: None,
        flags: MOD,
        kind: Kind::Bool(false, Some(check_activedefrag)),
    },
    boolean("syslog-enabled", None, IMM, false),
    boolean("cluster-allow-pubsubshard-when-down", None, MOD, true),
    boolean("crash-log-enabled", None, MOD, true),
    boolean("crash-memcheck-enabled", None, MOD, true),
    boolean("use-exit-on-panic", None, HIDDEN, false),
    boolean("disable-thp", None, IMM, true),
    boolean("replica-announced", None, MOD, true),
    boolean("aof-disable-auto-gc", None, MOD, false),
    boolean("replica-ignore-disk-write-errors", None, MOD, false),
    string("aclfile", None, IMM, false, Some(""), None),
    string(
        "replica-announce-ip",
        Some("slave-announce-ip"),
        MOD,
        true,
        None,
        None,
    ),
    string("syslog-ident", None, IMM, false, Some("redis"), None),
    string("server_cpulist", None, IMM, true, None, None),
    string("bio_cpulist", None, IMM, true, None, None),
    string("aof_rewrite_cpulist", None, IMM, true, None, None),
    string("bgsave_cpulist", None, IMM, true, None, None),
    string("ignore-warnings", None, MOD, false, Some(""), None),
    string(
        "proc-title-template",
        None,
        MOD,
        false,
        Some("{title} {listen-addr} {server-mode}"),
        Some(check_proc_title_template),
    ),
    string("bind-source-addr", None, MOD, true, None, None),
    enumeration("supervised", IMM, SUPERVISED, 0),
    enumeration("syslog-facility", IMM, SYSLOG_FACILITY, 128),
    enumeration("repl-diskless-load", DENY_LOADING, REPL_DISKLESS_LOAD, 0),
    enumeration("oom-score-adj", MOD, OOM_SCORE_ADJ, 0),
    enumeration("acl-pubsub-default", MOD, ACL_PUBSUB_DEFAULT, 0),
    enumeration("sanitize-dump-payload", MOD, SANITIZE_DUMP_PAYLOAD, 0),
    enumeration("enable-module-command", IMM, PROTECTED_ACTION, 0),
    enumeration(
        "cluster-preferred-endpoint-type",
        MOD,
        CLUSTER_PREFERRED_ENDPOINT_TYPE,
        0,
    ),
    enumeration(
        "propagation-error-behavior",
        MOD,
        PROPAGATION_ERROR_BEHAVIOR,
        0,
    ),
    Spec {
        name: "shutdown-on-sigint",
        alias: None,
        flags: MULTI_ARG,
        kind: Kind::Enum(EnumSpec {
            items: SHUTDOWN_ON_SIG,
            default: 0,
            check: Some(check_shutdown_flags),
        }),
    },
    Spec {
        name: "shutdown-on-sigterm",
        alias: None,
        flags: MULTI_ARG,
        kind: Kind::Enum(EnumSpec {
            items: SHUTDOWN_ON_SIG,
            default: 0,
            check: Some(check_shutdown_flags),
        }),
    },
    int("active-defrag-cycle-min", None, MOD, 1, 99, 1),
    int("active-defrag-cycle-max", None, MOD, 1, 99, 25),
    int("active-defrag-threshold-lower", None, MOD, 0, 1000, 10),
    int("active-defrag-threshold-upper", None, MOD, 0, 1000, 100),
    int(
        "replica-priority",
        Some("slave-priority"),
        MOD,
        0,
        INT_MAX,
        100,
    ),
    int("repl-diskless-sync-delay", None, MOD, 0, INT_MAX, 5),
    int("maxmemory-eviction-tenacity", None, MOD, 0, 100, 10),
    int(
        "replica-announce-port",
        Some("slave-announce-port"),
        MOD,
        0,
        65535,
        0,
    ),
    int("cluster-announce-tls-port", None, MOD, 0, 65535, 0),
    int("rdb-key-save-delay", None, HIDDEN, INT_MIN, INT_MAX, 0),
    int("key-load-delay", None, HIDDEN, INT_MIN, INT_MAX, 0),
    int("watchdog-period", None, HIDDEN, 0, INT_MAX, 0),
    int("repl-diskless-sync-max-replicas", None, MOD, 0, INT_MAX, 0),
    uint("socket-mark-id", None, IMM, 0, UINT_MAX, 0),
    uint(
        "active-defrag-max-scan-fields",
        None,
        MOD,
        1,
        LONG_MAX,
        1000,
    ),
    mem(
        "cluster-link-sendbuf-limit",
        None,
        MOD,
        0,
        ULLONG_MAX,
        0,
        true,
    ),
    mem(
        "active-defrag-ignore-bytes",
        None,
        MOD,
        1,
        LONG_MAX,
        100 * MB,
        true,
    ),
    num(
        "maxmemory-clients",
        None,
        MOD,
        (-100, LONG_MAX),
        0,
        false,
        Unit::MemoryOrPercent,
    ),
    int(
        "loading-process-events-interval-bytes",
        None,
        HIDDEN,
        KB,
        INT_MAX,
        2 * MB,
    ),
    int("tls-port", None, MOD, 0, 65535, 0),
    int("tls-session-cache-size", None, MOD, 0, INT_MAX, 20 * KB),
    int("tls-session-cache-timeout", None, MOD, 0, INT_MAX, 300),
    boolean("tls-cluster", None, MOD, false),
    boolean("tls-replication", None, MOD, false),
    enumeration("tls-auth-clients", MOD, TLS_AUTH_CLIENTS, 1),
    boolean("tls-prefer-server-ciphers", None, MOD, false),
    boolean("tls-session-caching", None, MOD, true),
    string("tls-cert-file", None, MOD, true, None, None),
    string("tls-key-file", None, MOD, true, None, None),
    string("tls-key-file-pass", None, MOD, true, None, None),
    string("tls-client-cert-file", None, MOD, true, None, None),
    string("tls-client-key-file", None, MOD, true, None, None),
    string("tls-client-key-file-pass", None, MOD, true, None, None),
    string("tls-dh-params-file", None, MOD, true, None, None),
    string("tls-ca-cert-file", None, MOD, true, None, None),
    string("tls-ca-cert-dir", None, MOD, true, None, None),
    string("tls-protocols", None, MOD, true, None, None),
    string("tls-ciphers", None, MOD, true, None, None),
    string("tls-ciphersuites", None, MOD, true, None, None),
    special(
        "oom-score-adj-values",
        None,
        MULTI_ARG,
        Special::OomScoreAdjValues,
    ),
    // shardis: where core 0 writes the per-command latency histograms every
    // latency-log-interval seconds (observability::latency); relative to
    // `dir`; empty (the default) = no dumps. Protected like `dir`: it picks
    // where the server writes files.
    string(
        "latency-log-dir",
        None,
        PROTECTED,
        false,
        Some(""),
        Some(check_utf8_path),
    ),
    int("latency-log-interval", None, MOD, 1, INT_MAX, 60),
];

/// Finds an option by name or alias, case-insensitively. Returns its row
/// and whether `name` was the alias.
pub(crate) fn lookup(name: &[u8]) -> Option<(usize, bool)> {
    TABLE.iter().enumerate().find_map(|(i, s)| {
        if s.name.as_bytes().eq_ignore_ascii_case(name) {
            Some((i, false))
        } else if s
            .alias
            .is_some_and(|a| a.as_bytes().eq_ignore_ascii_case(name))
        {
            Some((i, true))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_rows_come_first_in_id_order() {
        let ids = [
            (Id::Port, "port"),
            (Id::Bind, "bind"),
            (Id::ProtectedMode, "protected-mode"),
            (Id::Threads, "threads"),
            (Id::Dir, "dir"),
            (Id::Logfile, "logfile"),
            (Id::Loglevel, "loglevel"),
            (Id::Databases, "databases"),
            (Id::Maxclients, "maxclients"),
            (Id::Timeout, "timeout"),
            (Id::TcpKeepalive, "tcp-keepalive"),
            (Id::TcpBacklog, "tcp-backlog"),
            (Id::ProtoMaxBulkLen, "proto-max-bulk-len"),
            (Id::ClientQueryBufferLimit, "client-query-buffer-limit"),
            (Id::Requirepass, "requirepass"),
            (Id::ClusterEnabled, "cluster-enabled"),
            (Id::ClusterConfigFile, "cluster-config-file"),
            (Id::ClusterNodeTimeout, "cluster-node-timeout"),
            (Id::ClusterPort, "cluster-port"),
            (Id::ClusterAnnounceIp, "cluster-announce-ip"),
            (Id::ClusterAnnouncePort, "cluster-announce-port"),
            (Id::ClusterAnnounceBusPort, "cluster-announce-bus-port"),
            (Id::ClusterAnnounceHostname, "cluster-announce-hostname"),
            (
                Id::ClusterRequireFullCoverage,
                "cluster-require-full-coverage",
            ),
            (
                Id::ClusterAllowReadsWhenDown,
                "cluster-allow-reads-when-down",
            ),
            (Id::ClusterReplicaNoFailover, "cluster-replica-no-failover"),
            (
                Id::ClusterReplicaValidityFactor,
                "cluster-replica-validity-factor",
            ),
            (Id::ClusterMigrationBarrier, "cluster-migration-barrier"),
            (
                Id::ClusterAllowReplicaMigration,
                "cluster-allow-replica-migration",
            ),
            (Id::EnableDebugCommand, "enable-debug-command"),
            (Id::EnableProtectedConfigs, "enable-protected-configs"),
            (Id::Daemonize, "daemonize"),
            (Id::Pidfile, "pidfile"),
            (Id::Hz, "hz"),
            (Id::ActiveExpireEffort, "active-expire-effort"),
            (Id::Activerehashing, "activerehashing"),
            (Id::Maxmemory, "maxmemory"),
            (Id::MaxmemoryPolicy, "maxmemory-policy"),
            (Id::MaxmemorySamples, "maxmemory-samples"),
            (Id::LfuLogFactor, "lfu-log-factor"),
            (Id::LfuDecayTime, "lfu-decay-time"),
            (Id::Save, "save"),
            (Id::StopWritesOnBgsaveError, "stop-writes-on-bgsave-error"),
            (Id::Rdbcompression, "rdbcompression"),
            (Id::Rdbchecksum, "rdbchecksum"),
            (Id::Dbfilename, "dbfilename"),
            (Id::Appendonly, "appendonly"),
            (Id::Appendfsync, "appendfsync"),
            (Id::Appendfilename, "appendfilename"),
            (Id::Appenddirname, "appenddirname"),
            (Id::AutoAofRewritePercentage, "auto-aof-rewrite-percentage"),
            (Id::AutoAofRewriteMinSize, "auto-aof-rewrite-min-size"),
            (Id::AofLoadTruncated, "aof-load-truncated"),
            (Id::AofUseRdbPreamble, "aof-use-rdb-preamble"),
            (Id::NoAppendfsyncOnRewrite, "no-appendfsync-on-rewrite"),
            (Id::LatencyTracking, "latency-tracking"),
            (
                Id::LatencyTrackingInfoPercentiles,
                "latency-tracking-info-percentiles",
            ),
            (Id::LatencyMonitorThreshold, "latency-monitor-threshold"),
            (Id::SlowlogLogSlowerThan, "slowlog-log-slower-than"),
            (Id::SlowlogMaxLen, "slowlog-max-len"),
            (Id::ClientOutputBufferLimit, "client-output-buffer-limit"),
            (Id::NotifyKeyspaceEvents, "notify-keyspace-events"),
            (Id::LazyfreeLazyEviction, "lazyfree-lazy-eviction"),
            (Id::LazyfreeLazyExpire, "lazyfree-lazy-expire"),
            (Id::LazyfreeLazyServerDel, "lazyfree-lazy-server-del"),
            (Id::LazyfreeLazyUserDel, "lazyfree-lazy-user-del"),
            (Id::LazyfreeLazyUserFlush, "lazyfree-lazy-user-flush"),
            (Id::HashMaxListpackEntries, "hash-max-listpack-entries"),
            (Id::HashMaxListpackValue, "hash-max-listpack-value"),
            (Id::SetMaxIntsetEntries, "set-max-intset-entries"),
            (Id::ZsetMaxListpackEntries, "zset-max-listpack-entries"),
            (Id::ZsetMaxListpackValue, "zset-max-listpack-value"),
            (Id::ListMaxListpackSize, "list-max-listpack-size"),
            (Id::ListCompressDepth, "list-compress-depth"),
            (Id::StreamNodeMaxBytes, "stream-node-max-bytes"),
            (Id::StreamNodeMaxEntries, "stream-node-max-entries"),
            (Id::HllSparseMaxBytes, "hll-sparse-max-bytes"),
            (Id::Replicaof, "replicaof"),
            (Id::Masterauth, "masterauth"),
            (Id::Masteruser, "masteruser"),
            (Id::ReplBacklogSize, "repl-backlog-size"),
            (Id::ReplBacklogTtl, "repl-backlog-ttl"),
            (Id::ReplTimeout, "repl-timeout"),
            (Id::ReplPingReplicaPeriod, "repl-ping-replica-period"),
            (Id::ReplicaReadOnly, "replica-read-only"),
            (Id::ReplicaServeStaleData, "replica-serve-stale-data"),
            (Id::MinReplicasToWrite, "min-replicas-to-write"),
            (Id::MinReplicasMaxLag, "min-replicas-max-lag"),
            (Id::BusyReplyThreshold, "busy-reply-threshold"),
            (Id::Unixsocket, "unixsocket"),
            (Id::Unixsocketperm, "unixsocketperm"),
            (Id::TrackingTableMaxKeys, "tracking-table-max-keys"),
            (Id::AcllogMaxLen, "acllog-max-len"),
            (Id::ShutdownTimeout, "shutdown-timeout"),
            (Id::IoThreads, "io-threads"),
            (Id::MetricsPort, "metrics-port"),
        ];
        for (pos, (id, name)) in ids.iter().enumerate() {
            assert_eq!(*id as usize, pos, "{name}: Id order");
            assert_eq!(TABLE[pos].name, *name, "row {pos}");
        }
    }

    #[test]
    fn names_and_aliases_are_unique_and_lowercase() {
        let mut seen = std::collections::HashSet::new();
        for s in TABLE {
            for n in std::iter::once(s.name).chain(s.alias) {
                assert_eq!(n, n.to_ascii_lowercase());
                assert!(seen.insert(n), "duplicate {n}");
            }
        }
    }

    #[test]
    fn defaults_are_within_bounds() {
        for s in TABLE {
            if let Kind::Num(n) = &s.kind {
                if n.unsigned {
                    let d = n.default as u64;
                    assert!(d >= n.lo as u64 && d <= n.hi as u64, "{}", s.name);
                } else {
                    assert!(n.default >= n.lo && n.default <= n.hi, "{}", s.name);
                }
            }
        }
    }

    #[test]
    fn proc_title_templates() {
        assert!(check_proc_title_template(b"{title} {listen-addr} {server-mode}").is_ok());
        assert!(check_proc_title_template(b"x {{").is_ok());
        assert!(check_proc_title_template(b"{title}").is_err());
        assert!(check_proc_title_template(b"{nope}").is_err());
        assert!(check_proc_title_template(b"{port").is_err());
        assert!(check_proc_title_template(b"a{").is_err());
    }
}
