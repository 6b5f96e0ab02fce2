//! MULTI, EXEC, DISCARD, WATCH, UNWATCH. The logic lives with the
//! connection (src/server/transaction.rs): these rows only hand over.

use super::flags::*;
use super::{Args, CmdResult, CommandSpec, Handler};
use crate::server::client::Client;
use futures::future::LocalBoxFuture;

type Fut<'a> = LocalBoxFuture<'a, CmdResult>;

const fn t(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i16, i16, i16),
    f: super::ConnFn,
    since: &'static str,
    summary: &'static str,
) -> CommandSpec {
    CommandSpec::new(name, arity, flags, keys, Handler::Conn(f)).doc("transactions", since, summary)
}

pub const COMMANDS: &[CommandSpec] = &[
    t(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        multi,
        "1.2.0",
        "Mark the start of a transaction block",
    ),
    t(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG,
        (0, 0, 0),
        exec,
        "1.2.0",
        "Execute all commands issued after MULTI",
    ),
    t(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        discard,
        "2.0.0",
        "Discard all commands issued after MULTI",
    ),
    t(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        watch,
        "2.2.0",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
    ),
    t(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        unwatch,
        "2.2.0",
        "Forget about all watched keys",
    ),
];

fn multi(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { c.multi() })
}

fn exec(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { c.exec_transaction().await })
}

fn discard(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move { c.discard() })
}

fn watch(c: &mut Client, mut a: Args) -> Fut<'_> {
    Box::pin(async move {
        let keys = a.rest().to_vec();
        c.watch_keys(keys).await
    })
}

fn unwatch(c: &mut Client, _a: Args) -> Fut<'_> {
    Box::pin(async move {
        c.unwatch();
        Ok(crate::protocol::Reply::OK)
    })
}
