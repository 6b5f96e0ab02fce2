//! Connection commands: PING, ECHO, HELLO, AUTH, SELECT, QUIT, RESET, CLIENT,
//! and COMMAND (generated from the command table).

use super::flags::*;
use super::keys::help_reply;
use super::{errors, flags, Args, CmdResult, CommandSpec, Handler, TABLE};
use crate::protocol::{Proto, Reply};
use crate::runtime::now_ms;
use crate::server::client::Client;
use bytes::Bytes;
use futures::future::LocalBoxFuture;

type Fut<'a> = LocalBoxFuture<'a, CmdResult>;

const fn c(
    name: &'static str,
    arity: i32,
    flags: u32,
    f: super::ConnFn,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, (0, 0, 0), Handler::Conn(f)).doc(group, since, summary)
}

const CLIENT_SUBS: &[CommandSpec] = &[
    c(
        "id",
        2,
        NOSCRIPT | LOADING | STALE,
        client_id,
        "connection",
        "5.0.0",
        "Returns the client ID for the current connection",
    ),
    c(
        "setname",
        3,
        NOSCRIPT | LOADING | STALE,
        client_setname,
        "connection",
        "2.6.9",
        "Set the current connection name",
    ),
    c(
        "getname",
        2,
        NOSCRIPT | LOADING | STALE,
        client_getname,
        "connection",
        "2.6.9",
        "Get the current connection name",
    ),
    c(
        "list",
        -2,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_list,
        "connection",
        "2.4.0",
        "Get the list of client connections",
    ),
    c(
        "info",
        2,
        NOSCRIPT | LOADING | STALE,
        client_info,
        "connection",
        "6.2.0",
        "Returns information about the current client connection.",
    ),
    c(
        "kill",
        -3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_kill,
        "connection",
        "2.4.0",
        "Kill the connection of a client",
    ),
    c(
        "no-evict",
        3,
        ADMIN | NOSCRIPT | LOADING | STALE,
        client_no_evict,
        "connection",
        "7.0.0",
        "Set client eviction mode for the current connection",
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        client_help,
        "connection",
        "5.0.0",
        "Show helpful text about the different subcommands",
    ),
];

const COMMAND_SUBS: &[CommandSpec] = &[
    c(
        "count",
        2,
        LOADING | STALE,
        command_count,
        "server",
        "2.8.13",
        "Get total number of Redis commands",
    ),
    c(
        "info",
        -2,
        LOADING | STALE,
        command_info,
        "server",
        "2.8.13",
        "Get array of specific Redis command details, or all when no argument is given.",
    ),
    c(
        "docs",
        -2,
        LOADING | STALE,
        command_docs,
        "server",
        "7.0.0",
        "Get array of specific Redis command documentation",
    ),
    c(
        "list",
        -2,
        LOADING | STALE,
        command_list,
        "server",
        "7.0.0",
        "Get an array of Redis command names",
    ),
    c(
        "getkeys",
        -4,
        LOADING | STALE,
        command_getkeys,
        "server",
        "2.8.13",
        "Extract keys given a full Redis command",
    ),
    c(
        "help",
        2,
        LOADING | STALE,
        command_help,
        "server",
        "5.0.0",
        "Show helpful text about the different subcommands",
    ),
];

pub const COMMANDS: &[CommandSpec] = &[
    c(
        "ping",
        -1,
        FAST | SENTINEL,
        ping,
        "connection",
        "1.0.0",
        "Ping the server",
    ),
    c(
        "echo",
        2,
        LOADING | STALE | FAST,
        echo,
        "connection",
        "1.0.0",
        "Echo the given string",
    ),
    c(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        hello,
        "connection",
        "6.0.0",
        "Handshake with Redis",
    ),
    c(
        "auth",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | SENTINEL | ALLOW_BUSY,
        auth,
        "connection",
        "1.0.0",
        "Authenticate to the server",
    ),
    c(
        "select",
        2,
        LOADING | STALE | FAST,
        select,
        "connection",
        "1.0.0",
        "Change the selected database for the current connection",
    ),
    c(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH,
        quit,
        "connection",
        "1.0.0",
        "Close the connection",
    ),
    c(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY,
        reset,
        "connection",
        "6.2.0",
        "Reset the connection",
    ),
    CommandSpec::new("client", -2, SENTINEL, (0, 0, 0), Handler::Container)
        .doc(
            "connection",
            "2.4.0",
            "A container for client connection commands",
        )
        .subs(CLIENT_SUBS),
    CommandSpec::new(
        "command",
        -1,
        LOADING | STALE | SENTINEL,
        (0, 0, 0),
        Handler::Conn(command),
    )
    .doc("server", "2.8.13", "Get array of Redis command details")
    .subs(COMMAND_SUBS),
];

fn ping(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        if c.in_subscribed_mode() {
            // RESP2 subscribers get PING's answer as a message-like array.
            let arg = if a.remaining() > 0 {
                a.next_bytes()?
            } else {
                Bytes::new()
            };
            if a.remaining() > 0 {
                return Err(Reply::err_owned(errors::wrong_args("ping")));
            }
            return Ok(Reply::Array(vec![
                Reply::simple_bulk("pong"),
                Reply::Bulk(arg),
            ]));
        }
        match a.remaining() {
            0 => Ok(Reply::simple("PONG")),
            1 => Ok(Reply::Bulk(a.next_bytes()?)),
            _ => Err(Reply::err_owned(errors::wrong_args("ping"))),
        }
    })
}

fn echo(_c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(Reply::Bulk(a.next_bytes()?)) })
}

/// Checks a password for `user` against requirepass (the default user is the
/// only user until ACLs exist).
fn check_auth(c: &Client, user: &[u8], pass: &[u8]) -> Result<(), Reply> {
    let cfg = c
        .core
        .node
        .config
        .read()
        .map_err(|_| Reply::err("ERR config unavailable"))?;
    let ok = user == b"default"
        && match cfg.requirepass() {
            None => true,
            Some(p) => p == pass,
        };
    if ok {
        Ok(())
    } else {
        Err(Reply::err(errors::WRONGPASS))
    }
}

fn auth(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let (user, pass) = match a.remaining() {
            1 => {
                let has_pass = c
                    .core
                    .node
                    .config
                    .read()
                    .map(|cfg| cfg.requirepass().is_some())
                    .unwrap_or(false);
                if !has_pass {
                    return Err(Reply::err(errors::AUTH_NOPASS));
                }
                (Bytes::from_static(b"default"), a.next_bytes()?)
            }
            2 => (a.next_bytes()?, a.next_bytes()?),
            _ => return Err(Reply::err(errors::SYNTAX)),
        };
        check_auth(c, &user, &pass)?;
        c.authenticated = true;
        Ok(Reply::OK)
    })
}

fn hello(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let mut proto = None;
        if a.remaining() > 0 {
            let v = a.next_bytes()?;
            let v = crate::keyspace::value::parse_i64(&v).ok_or_else(|| {
                Reply::err("ERR Protocol version is not an integer or out of range")
            })?;
            proto = Some(match v {
                2 => Proto::Resp2,
                3 => Proto::Resp3,
                _ => return Err(Reply::err(errors::NOPROTO)),
            });
        }
        let mut setname = None;
        let mut creds = None;
        while a.remaining() > 0 {
            let raw = a.next_bytes()?;
            let opt = String::from_utf8_lossy(&raw).to_ascii_uppercase();
            if opt == "AUTH" && a.remaining() >= 2 {
                creds = Some((a.next_bytes()?, a.next_bytes()?));
            } else if opt == "SETNAME" && a.remaining() >= 1 {
                setname = Some(a.next_bytes()?);
            } else {
                return Err(Reply::err_owned(format!(
                    "ERR Syntax error in HELLO option '{}'",
                    errors::c_str(&raw, usize::MAX)
                )));
            }
        }
        if let Some((u, p)) = creds {
            check_auth(c, &u, &p)?;
            c.authenticated = true;
        }
        if !c.authenticated {
            return Err(Reply::err("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
        }
        if let Some(name) = setname {
            validate_name(&name)?;
            *c.info.name.borrow_mut() = String::from_utf8_lossy(&name).into_owned();
        }
        if let Some(p) = proto {
            c.set_proto(p);
        }
        let mode = if c.core.node.cluster_enabled() {
            "cluster"
        } else {
            "standalone"
        };
        let s = |v: &str| Reply::Bulk(Bytes::from(v.to_string()));
        Ok(Reply::Map(vec![
            (s("server"), s("redis")),
            (s("version"), s(crate::REDIS_COMPAT_VERSION)),
            (
                s("proto"),
                Reply::Int(if c.proto == Proto::Resp3 { 3 } else { 2 }),
            ),
            (s("id"), Reply::Int(c.info.id as i64)),
            (s("mode"), s(mode)),
            (s("role"), s("master")),
            (s("modules"), Reply::Array(vec![])),
        ]))
    })
}

fn select(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let v = i64::from(super::parse_i32_arg(a.next_slice()?)?);
        if c.core.node.cluster_enabled() && v != 0 {
            return Err(Reply::err(errors::SELECT_CLUSTER));
        }
        let n = c.core.shard.borrow().dbs.len() as i64;
        if v < 0 || v >= n {
            return Err(Reply::err(errors::DB_INDEX));
        }
        c.select(v as usize);
        Ok(Reply::OK)
    })
}

fn quit(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        c.close_after_reply = true;
        Ok(Reply::OK)
    })
}

fn reset(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        c.multi = None;
        c.unwatch();
        c.unsubscribe_all();
        c.select(0);
        c.set_proto(Proto::Resp2);
        c.info.name.borrow_mut().clear();
        c.info.readonly.set(false);
        c.info.no_evict.set(false);
        let needs_auth = c
            .core
            .node
            .config
            .read()
            .map(|cfg| cfg.requirepass().is_some())
            .unwrap_or(false);
        c.authenticated = !needs_auth;
        Ok(Reply::simple("RESET"))
    })
}

// ---- CLIENT ---------------------------------------------------------------

fn client_id(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(Reply::Int(c.info.id as i64)) })
}

fn validate_name(name: &[u8]) -> Result<(), Reply> {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(Reply::err(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client_setname(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let name = a.next_bytes()?;
        validate_name(&name)?;
        *c.info.name.borrow_mut() = String::from_utf8_lossy(&name).into_owned();
        Ok(Reply::OK)
    })
}

fn client_getname(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let n = c.info.name.borrow();
        Ok(if n.is_empty() {
            Reply::Nil
        } else {
            Reply::Bulk(Bytes::from(n.clone()))
        })
    })
}

fn client_list(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let mut ids: Option<Vec<u64>> = None;
        while a.remaining() > 0 {
            let opt = a.next_keyword()?;
            match opt.as_str() {
                "TYPE" => {
                    let t = a.next_keyword()?;
                    match t.as_str() {
                        "NORMAL" => {}
                        "MASTER" | "REPLICA" | "SLAVE" | "PUBSUB" => ids = Some(vec![]),
                        _ => {
                            return Err(Reply::err_owned(format!(
                                "ERR Unknown client type '{}'",
                                t.to_lowercase()
                            )))
                        }
                    }
                }
                "ID" => {
                    let mut v = Vec::new();
                    while a.remaining() > 0 {
                        let id = a.next_i64()?;
                        if id <= 0 {
                            return Err(Reply::err("ERR Invalid client ID"));
                        }
                        v.push(id as u64);
                    }
                    ids = Some(v);
                }
                _ => return Err(Reply::err(errors::SYNTAX)),
            }
        }
        let lines = c
            .core
            .run_on_all(move |core| {
                let now = now_ms();
                core.clients
                    .borrow()
                    .clients
                    .values()
                    .filter(|ci| ids.as_ref().is_none_or(|v| v.contains(&ci.id)))
                    .map(|ci| (ci.id, ci.line(now)))
                    .collect::<Vec<_>>()
            })
            .await;
        let mut all: Vec<(u64, String)> = lines.into_iter().flatten().collect();
        all.sort_by_key(|(id, _)| *id);
        let mut out = String::new();
        for (_, l) in all {
            out.push_str(&l);
            out.push('\n');
        }
        Ok(Reply::Verbatim("txt", Bytes::from(out)))
    })
}

fn client_info(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        let mut l = c.info.line(now_ms());
        l.push('\n');
        Ok(Reply::Verbatim("txt", Bytes::from(l)))
    })
}

/// A CLIENT KILL filter, sent to every core.
#[derive(Clone, Default)]
struct KillFilter {
    id: Option<u64>,
    addr: Option<String>,
    laddr: Option<String>,
    skip_id: Option<u64>,
    none: bool,
}

fn client_kill(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let old_style = a.remaining() == 1;
        let mut f = KillFilter::default();
        if old_style {
            f.addr = Some(String::from_utf8_lossy(&a.next_bytes()?).into_owned());
        } else {
            f.skip_id = Some(c.info.id);
            if !a.remaining().is_multiple_of(2) {
                return Err(Reply::err(errors::SYNTAX));
            }
            while a.remaining() > 0 {
                let opt = a.next_keyword()?;
                let val = a.next_bytes()?;
                let s = String::from_utf8_lossy(&val).into_owned();
                match opt.as_str() {
                    "ID" => {
                        let id = crate::keyspace::value::parse_i64(&val)
                            .filter(|&v| v > 0)
                            .ok_or_else(|| Reply::err("ERR client-id should be greater than 0"))?;
                        f.id = Some(id as u64);
                    }
                    "ADDR" => f.addr = Some(s),
                    "LADDR" => f.laddr = Some(s),
                    "USER" => {
                        if s != "default" {
                            return Err(Reply::err_owned(format!("ERR No such user '{s}'")));
                        }
                    }
                    "TYPE" => match s.to_ascii_lowercase().as_str() {
                        "normal" => {}
                        "master" | "replica" | "slave" | "pubsub" => f.none = true,
                        _ => {
                            return Err(Reply::err_owned(format!("ERR Unknown client type '{s}'")))
                        }
                    },
                    "SKIPME" => match s.to_ascii_lowercase().as_str() {
                        "yes" => f.skip_id = Some(c.info.id),
                        "no" => f.skip_id = None,
                        _ => return Err(Reply::err(errors::SYNTAX)),
                    },
                    _ => return Err(Reply::err(errors::SYNTAX)),
                }
            }
        }
        let me = c.info.id;
        let filter = f.clone();
        let killed: usize = c
            .core
            .run_on_all(move |core| {
                if filter.none {
                    return 0;
                }
                let reg = core.clients.borrow();
                let mut n = 0;
                for ci in reg.clients.values() {
                    if filter.skip_id == Some(ci.id)
                        || filter.id.is_some_and(|id| id != ci.id)
                        || filter
                            .addr
                            .as_ref()
                            .is_some_and(|a| *a != ci.addr.to_string())
                        || filter
                            .laddr
                            .as_ref()
                            .is_some_and(|a| *a != ci.laddr.to_string())
                    {
                        continue;
                    }
                    // The caller's own connection is closed after its reply.
                    if ci.id != me {
                        ci.kill();
                    }
                    n += 1;
                }
                n
            })
            .await
            .into_iter()
            .sum();
        let self_hit = f.skip_id.is_none()
            && f.id.is_none_or(|id| id == me)
            && f.addr
                .as_ref()
                .is_none_or(|a| *a == c.info.addr.to_string())
            && f.laddr
                .as_ref()
                .is_none_or(|a| *a == c.info.laddr.to_string())
            && !f.none;
        if self_hit {
            c.close_after_reply = true;
        }
        if old_style {
            if killed == 0 {
                return Err(Reply::err(errors::NO_SUCH_CLIENT));
            }
            return Ok(Reply::OK);
        }
        Ok(Reply::Int(killed as i64))
    })
}

fn client_no_evict(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let v = a.next_keyword()?;
        match v.as_str() {
            "ON" => c.info.no_evict.set(true),
            "OFF" => c.info.no_evict.set(false),
            _ => return Err(Reply::err(errors::SYNTAX)),
        }
        Ok(Reply::OK)
    })
}

/// Redis's CLIENT HELP, word for word (subcommands shardis lacks included, so
/// tools that parse it see the same text).
fn client_help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "CLIENT",
            &[
                "CACHING (YES|NO)",
                "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
                "GETREDIR",
                "    Return the client ID we are redirecting to when tracking is enabled.",
                "GETNAME",
                "    Return the name of the current connection.",
                "ID",
                "    Return the ID of the current connection.",
                "INFO",
                "    Return information about the current client connection.",
                "KILL <ip:port>",
                "    Kill connection made from <ip:port>.",
                "KILL <option> <value> [<option> <value> [...]]",
                "    Kill connections. Options are:",
                "    * ADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made from the specified address",
                "    * LADDR (<ip:port>|<unixsocket>:0)",
                "      Kill connections made to specified local address",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Kill connections by type.",
                "    * USER <username>",
                "      Kill connections authenticated by <username>.",
                "    * SKIPME (YES|NO)",
                "      Skip killing current connection (default: yes).",
                "LIST [options ...]",
                "    Return information about client connections. Options:",
                "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
                "      Return clients of specified type.",
                "UNPAUSE",
                "    Stop the current client pause, resuming traffic.",
                "PAUSE <timeout> [WRITE|ALL]",
                "    Suspend all, or just write, clients for <timeout> milliseconds.",
                "REPLY (ON|OFF|SKIP)",
                "    Control the replies sent to the current connection.",
                "SETNAME <name>",
                "    Assign the name <name> to the current connection.",
                "UNBLOCK <clientid> [TIMEOUT|ERROR]",
                "    Unblock the specified blocked client.",
                "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
                "         [OPTIN] [OPTOUT] [NOLOOP]",
                "    Control server assisted client side caching.",
                "TRACKINGINFO",
                "    Report tracking status for the current connection.",
                "NO-EVICT (ON|OFF)",
                "    Protect current client connection from eviction.",
            ],
        ))
    })
}

// ---- COMMAND --------------------------------------------------------------

fn flag_set(spec: &CommandSpec) -> Reply {
    // A command with its own key finder has movable keys.
    let mine = spec.flags
        | if spec.find_keys.is_some() {
            flags::MOVABLE_KEYS
        } else {
            0
        };
    Reply::Set(
        flags::NAMES
            .iter()
            .filter(|(f, _)| mine & f != 0)
            .map(|(_, n)| Reply::simple(n))
            .collect(),
    )
}

fn acl_categories(spec: &CommandSpec) -> Reply {
    let mut v = Vec::new();
    match spec.group {
        "string" => v.push("@string"),
        "generic" => v.push("@keyspace"),
        "connection" => v.push("@connection"),
        "list" => v.push("@list"),
        "hash" => v.push("@hash"),
        "set" => v.push("@set"),
        "sorted-set" => v.push("@sortedset"),
        "bitmap" => v.push("@bitmap"),
        "hyperloglog" => v.push("@hyperloglog"),
        "pubsub" => v.push("@pubsub"),
        "transactions" => v.push("@transaction"),
        "server" => {}
        "cluster" => {}
        _ => {}
    }
    if spec.has(WRITE) {
        v.push("@write");
    }
    if spec.has(READONLY) {
        v.push("@read");
    }
    if spec.has(ADMIN) {
        v.push("@admin");
        v.push("@dangerous");
    }
    if spec.has(FAST) {
        v.push("@fast");
    } else {
        v.push("@slow");
    }
    if spec.has(BLOCKING) {
        v.push("@blocking");
    }
    // Redis lists categories in the order of its category table.
    const ORDER: &[&str] = &[
        "@keyspace",
        "@read",
        "@write",
        "@set",
        "@sortedset",
        "@list",
        "@hash",
        "@string",
        "@bitmap",
        "@hyperloglog",
        "@geo",
        "@stream",
        "@pubsub",
        "@admin",
        "@fast",
        "@slow",
        "@blocking",
        "@dangerous",
        "@connection",
        "@transaction",
        "@scripting",
    ];
    v.sort_by_key(|c| ORDER.iter().position(|o| o == c).unwrap_or(ORDER.len()));
    Reply::Set(v.into_iter().map(Reply::simple).collect())
}

fn key_specs(spec: &CommandSpec) -> Reply {
    // Redis replies key specs as a set, and its key spec flags other than
    // RO/RW/OW/RM in lowercase.
    if spec.keys.first <= 0 {
        return Reply::Set(vec![]);
    }
    let s = |v: &'static str| Reply::bulk(v);
    let flags = if spec.has(WRITE) {
        vec![Reply::simple("RW"), Reply::simple("update")]
    } else {
        vec![Reply::simple("RO"), Reply::simple("access")]
    };
    let last = if spec.keys.last < 0 {
        spec.keys.last as i64
    } else {
        (spec.keys.last - spec.keys.first) as i64
    };
    Reply::Set(vec![Reply::Map(vec![
        (s("flags"), Reply::Set(flags)),
        (
            s("begin_search"),
            Reply::Map(vec![
                (s("type"), s("index")),
                (
                    s("spec"),
                    Reply::Map(vec![(s("index"), Reply::Int(spec.keys.first as i64))]),
                ),
            ]),
        ),
        (
            s("find_keys"),
            Reply::Map(vec![
                (s("type"), s("range")),
                (
                    s("spec"),
                    Reply::Map(vec![
                        (s("lastkey"), Reply::Int(last)),
                        (s("keystep"), Reply::Int(spec.keys.step as i64)),
                        (s("limit"), Reply::Int(0)),
                    ]),
                ),
            ]),
        ),
    ])])
}

fn command_info_reply(spec: &CommandSpec, fullname: &str) -> Reply {
    let subs: Vec<Reply> = spec
        .subcommands
        .iter()
        .map(|s| command_info_reply(s, &format!("{}|{}", fullname, s.name)))
        .collect();
    // No subcommands: an empty set, as Redis replies.
    let subs = if subs.is_empty() {
        Reply::Set(subs)
    } else {
        Reply::Array(subs)
    };
    Reply::Array(vec![
        Reply::Bulk(Bytes::from(fullname.to_string())),
        Reply::Int(spec.arity as i64),
        flag_set(spec),
        Reply::Int(spec.keys.first as i64),
        Reply::Int(spec.keys.last as i64),
        Reply::Int(spec.keys.step as i64),
        acl_categories(spec),
        // Redis replies an empty set when a command has no tips.
        Reply::Set(vec![]),
        key_specs(spec),
        subs,
    ])
}

fn command_docs_reply(spec: &CommandSpec, fullname: &str) -> Reply {
    let s = |v: &str| Reply::Bulk(Bytes::from(v.to_string()));
    let mut m = vec![
        (s("summary"), s(spec.summary)),
        (s("since"), s(spec.since)),
        (s("group"), s(spec.group)),
    ];
    if !spec.subcommands.is_empty() {
        let subs = spec
            .subcommands
            .iter()
            .flat_map(|sub| {
                let full = format!("{}|{}", fullname, sub.name);
                [s(&full), command_docs_reply(sub, &full)]
            })
            .collect::<Vec<_>>();
        let pairs = subs
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        m.push((s("subcommands"), Reply::Map(pairs)));
    }
    Reply::Map(m)
}

fn command(_c: &mut Client, a: Args) -> Fut<'_> {
    Box::pin(async move {
        if a.remaining() > 0 {
            return Err(Reply::err_owned(errors::unknown_subcommand(
                &a.argv()[1],
                "command",
            )));
        }
        let t = &*TABLE;
        Ok(Reply::Array(
            t.top
                .iter()
                .map(|&id| command_info_reply(t.all[id].0, &t.all[id].1))
                .collect(),
        ))
    })
}

fn command_count(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { Ok(Reply::Int(TABLE.top.len() as i64)) })
}

fn lookup_names(a: &mut Args) -> Vec<Option<(usize, &'static CommandSpec)>> {
    a.rest()
        .iter()
        .map(|n| TABLE.get(&String::from_utf8_lossy(n).to_ascii_lowercase()))
        .collect()
}

fn command_info(_c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let t = &*TABLE;
        if a.remaining() == 0 {
            return Ok(Reply::Array(
                t.top
                    .iter()
                    .map(|&id| command_info_reply(t.all[id].0, &t.all[id].1))
                    .collect(),
            ));
        }
        Ok(Reply::Array(
            lookup_names(&mut a)
                .into_iter()
                .map(|r| match r {
                    Some((id, spec)) => command_info_reply(spec, t.fullname(id)),
                    // addReplyNull: $-1 in RESP2, _ in RESP3.
                    None => Reply::Nil,
                })
                .collect(),
        ))
    })
}

fn command_docs(_c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let t = &*TABLE;
        let ids: Vec<usize> = if a.remaining() == 0 {
            t.top.clone()
        } else {
            lookup_names(&mut a)
                .into_iter()
                .flatten()
                .map(|(id, _)| id)
                .collect()
        };
        Ok(Reply::Map(
            ids.into_iter()
                .map(|id| {
                    let name = t.fullname(id);
                    (
                        Reply::Bulk(Bytes::from(name.to_string())),
                        command_docs_reply(t.all[id].0, name),
                    )
                })
                .collect(),
        ))
    })
}

fn command_list(_c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let t = &*TABLE;
        let mut pattern: Option<Bytes> = None;
        let mut aclcat: Option<String> = None;
        if a.remaining() > 0 {
            if !a.eat("FILTERBY") || a.remaining() != 2 {
                return Err(Reply::err(errors::SYNTAX));
            }
            let kind = a.next_keyword()?;
            let val = a.next_bytes()?;
            match kind.as_str() {
                "PATTERN" => pattern = Some(val),
                "ACLCAT" => aclcat = Some(String::from_utf8_lossy(&val).to_lowercase()),
                "MODULE" => return Ok(Reply::Array(vec![])),
                _ => return Err(Reply::err(errors::SYNTAX)),
            }
        }
        let names = t.all.iter().filter(|(spec, full)| {
            if let Some(p) = &pattern {
                return crate::keyspace::glob::glob_match(p, full.as_bytes(), true);
            }
            if let Some(cat) = &aclcat {
                let Reply::Set(cats) = acl_categories(spec) else {
                    return false;
                };
                return cats
                    .iter()
                    .any(|c| matches!(c, Reply::Simple(s) if s.trim_start_matches('@') == cat));
            }
            true
        });
        Ok(Reply::Array(
            names
                .map(|(_, full)| Reply::Bulk(Bytes::from(full.clone())))
                .collect(),
        ))
    })
}

fn command_getkeys(_c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let argv: Vec<Bytes> = a.rest().to_vec();
        let res = match TABLE.resolve(&argv) {
            Ok(r) => r,
            Err(Reply::Error(e)) if e.starts_with("ERR wrong number") => {
                return Err(Reply::err(
                    "ERR Invalid number of arguments specified for command",
                ))
            }
            Err(_) => return Err(Reply::err("ERR Invalid command specified")),
        };
        let keys: Vec<Reply> = res
            .spec
            .keys_of(&argv)
            .filter_map(|i| argv.get(i).cloned().map(Reply::Bulk))
            .collect();
        if keys.is_empty() {
            return Err(Reply::err("ERR The command has no key arguments"));
        }
        Ok(Reply::Array(keys))
    })
}

fn command_help(_c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        Ok(help_reply(
            "COMMAND",
            &[
                "(no subcommand)",
                "    Return details about all Redis commands.",
                "COUNT",
                "    Return the total number of commands in this Redis server.",
                "LIST",
                "    Return a list of all commands in this Redis server.",
                "INFO [<command-name> ...]",
                "    Return details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "DOCS [<command-name> ...]",
                "    Return documentation details about multiple Redis commands.",
                "    If no command names are given, documentation details for all",
                "    commands are returned.",
                "GETKEYS <full-command>",
                "    Return the keys from a full Redis command.",
            ],
        ))
    })
}
