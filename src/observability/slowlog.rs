//! SLOWLOG: commands slower than `slowlog-log-slower-than` microseconds
//! (0 logs every command, negative turns it off), at most `slowlog-max-len`
//! entries, newest first, as Redis's slowlog.c.
//!
//! Where entries are made: a command's time is measured on the core that
//! runs it (`dispatch::record`), which for a forwarded command is not the
//! connection's core, and only the connection knows the client's address and
//! name. So a slow command becomes an entry at once (id from the node-wide
//! counter `Tunables::slowlog_next_id`, time, duration, trimmed argv) and:
//!
//! - while a dispatch path that knows the client is *capturing* (the
//!   connection's own core running its command, or a batch forwarded by
//!   one connection), the entry waits in `pending`; the connection takes
//!   it (`take_pending`, sent back with the batch's replies), fills in the
//!   client's address and name and logs it on its own core;
//! - otherwise (commands run inside MULTI/EXEC on another core, blocked
//!   commands served when a key becomes ready) it is logged on the core that
//!   ran it with an empty client address and name.
//!
//! Every core keeps at most `slowlog-max-len` entries; SLOWLOG GET and LEN
//! gather every core's log and merge by id (ids grow node-wide), which gives
//! the node-wide newest `slowlog-max-len` entries, as Redis's single list.

use bytes::Bytes;
use std::collections::VecDeque;

/// Redis's SLOWLOG_ENTRY_MAX_ARGC: more arguments are summarised.
pub const MAX_ARGC: usize = 32;
/// Redis's SLOWLOG_ENTRY_MAX_STRING: longer arguments are cut.
pub const MAX_STRING: usize = 128;

/// One slow command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    /// Unix time in seconds when the entry was made.
    pub time: i64,
    pub duration_us: u64,
    /// The arguments as Redis logs them (see `log_argv`).
    pub argv: Vec<Bytes>,
    /// `ip:port` of the client; empty when unknown.
    pub peer: String,
    /// CLIENT SETNAME's name; empty when none.
    pub name: String,
}

/// The arguments as Redis's slowlogCreateEntry keeps them: at most 32, the
/// last of which then says "... (N more arguments)"; each at most 128 bytes,
/// followed by "... (N more bytes)" when cut. Secrets are redacted the way
/// Redis 7.0 redacts them (AUTH, HELLO ... AUTH, MIGRATE ... AUTH/AUTH2).
pub fn log_argv(argv: &[Bytes]) -> Vec<Bytes> {
    let argc = argv.len();
    let kept = argc.min(MAX_ARGC);
    let redact = redacted(argv);
    let mut out = Vec::with_capacity(kept);
    for (j, a) in argv.iter().take(kept).enumerate() {
        if kept != argc && j == kept - 1 {
            out.push(Bytes::from(format!(
                "... ({} more arguments)",
                argc - kept + 1
            )));
        } else if redact.contains(&j) {
            out.push(Bytes::from_static(b"(redacted)"));
        } else if a.len() > MAX_STRING {
            let mut s = Vec::with_capacity(MAX_STRING + 32);
            s.extend_from_slice(&a[..MAX_STRING]);
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            out.push(Bytes::from(s));
        } else {
            out.push(a.clone());
        }
    }
    out
}

/// Positions of arguments Redis replaces with "(redacted)" in logs.
fn redacted(argv: &[Bytes]) -> Vec<usize> {
    let Some(name) = argv.first() else {
        return Vec::new();
    };
    let is = |b: &Bytes, s: &str| b.eq_ignore_ascii_case(s.as_bytes());
    let mut out = Vec::new();
    if is(name, "auth") {
        out.extend(1..argv.len());
    } else if is(name, "hello") {
        let mut j = 2;
        while j < argv.len() {
            if is(&argv[j], "auth") && j + 2 < argv.len() {
                out.extend([j + 1, j + 2]);
                j += 3;
            } else if is(&argv[j], "setname") && j + 1 < argv.len() {
                j += 2;
            } else {
                j += 1;
            }
        }
    } else if is(name, "migrate") {
        for (j, a) in argv.iter().enumerate().skip(6) {
            if is(a, "keys") {
                break;
            }
            if is(a, "auth") {
                out.push(j + 1);
            } else if is(a, "auth2") {
                out.extend([j + 1, j + 2]);
            }
        }
    }
    out
}

/// One core's slow log and its entries waiting for their client.
#[derive(Debug, Default)]
pub struct CoreSlowlog {
    /// Newest first.
    pub entries: VecDeque<Entry>,
    /// Entries made while `capturing`, waiting for the connection that ran
    /// them to add its address and name (see the module doc).
    pub pending: Vec<Entry>,
    /// Set around command execution by dispatch paths that know the client.
    pub capturing: bool,
}

impl CoreSlowlog {
    /// Adds a new entry: to `pending` while capturing, else to the log.
    pub fn add(&mut self, e: Entry, max_len: usize) {
        if self.capturing {
            self.pending.push(e);
        } else {
            self.push(e, max_len);
        }
    }

    /// Logs an entry and trims the log to `max_len`.
    pub fn push(&mut self, e: Entry, max_len: usize) {
        // Entries from another core may arrive late: keep newest first.
        let at = self
            .entries
            .iter()
            .position(|x| x.id < e.id)
            .unwrap_or(self.entries.len());
        self.entries.insert(at, e);
        self.entries.truncate(max_len);
    }

    /// The pending entries, for the connection that ran their commands.
    pub fn take_pending(&mut self) -> Vec<Entry> {
        std::mem::take(&mut self.pending)
    }

    pub fn reset(&mut self) {
        self.entries.clear();
        self.pending.clear();
    }
}

/// Merges every core's entries: the newest `max_len` node-wide, newest first.
pub fn merge(per_core: Vec<Vec<Entry>>, max_len: usize) -> Vec<Entry> {
    let mut all: Vec<Entry> = per_core.into_iter().flatten().collect();
    all.sort_unstable_by_key(|e| std::cmp::Reverse(e.id));
    all.truncate(max_len);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(s: &str) -> Bytes {
        Bytes::copy_from_slice(s.as_bytes())
    }

    fn entry(id: u64) -> Entry {
        Entry {
            id,
            time: 0,
            duration_us: 1,
            argv: vec![b("ping")],
            peer: String::new(),
            name: String::new(),
        }
    }

    #[test]
    fn long_arguments_are_cut_as_redis_does() {
        let long = "x".repeat(200);
        let out = log_argv(&[b("set"), b("k"), b(&long)]);
        assert_eq!(out.len(), 3);
        let want = format!("{}... (72 more bytes)", "x".repeat(128));
        assert_eq!(out[2], b(&want));
        let exact = "y".repeat(128);
        assert_eq!(log_argv(&[b(&exact)])[0], b(&exact));
    }

    #[test]
    fn many_arguments_are_summarised() {
        let argv: Vec<Bytes> = (0..40).map(|i| b(&i.to_string())).collect();
        let out = log_argv(&argv);
        assert_eq!(out.len(), 32);
        assert_eq!(out[30], b("30"));
        assert_eq!(out[31], b("... (9 more arguments)"));
        let argv: Vec<Bytes> = (0..32).map(|i| b(&i.to_string())).collect();
        assert_eq!(log_argv(&argv), argv);
        let argv: Vec<Bytes> = (0..33).map(|i| b(&i.to_string())).collect();
        assert_eq!(log_argv(&argv)[31], b("... (2 more arguments)"));
    }

    #[test]
    fn secrets_are_redacted() {
        let r = log_argv(&[b("AUTH"), b("user"), b("pass")]);
        assert_eq!(r[1], b("(redacted)"));
        assert_eq!(r[2], b("(redacted)"));
        let r = log_argv(&[
            b("hello"),
            b("3"),
            b("AUTH"),
            b("u"),
            b("p"),
            b("SETNAME"),
            b("n"),
        ]);
        assert_eq!(
            r,
            vec![
                b("hello"),
                b("3"),
                b("AUTH"),
                b("(redacted)"),
                b("(redacted)"),
                b("SETNAME"),
                b("n")
            ]
        );
    }

    #[test]
    fn log_keeps_newest_first_and_trims() {
        let mut l = CoreSlowlog::default();
        for id in [1, 2, 3] {
            l.add(entry(id), 2);
        }
        let ids: Vec<u64> = l.entries.iter().map(|e| e.id).collect();
        assert_eq!(ids, [3, 2]);
        // A late entry from another core goes to its place by id.
        l.push(entry(0), 5);
        l.push(entry(5), 5);
        l.push(entry(4), 5);
        let ids: Vec<u64> = l.entries.iter().map(|e| e.id).collect();
        assert_eq!(ids, [5, 4, 3, 2, 0]);
        l.push(entry(9), 0);
        assert!(l.entries.is_empty());
    }

    #[test]
    fn capturing_holds_entries_for_the_client() {
        let mut l = CoreSlowlog {
            capturing: true,
            ..Default::default()
        };
        l.add(entry(7), 10);
        assert!(l.entries.is_empty());
        assert_eq!(l.take_pending().len(), 1);
        assert!(l.pending.is_empty());
    }

    #[test]
    fn merge_takes_the_newest_node_wide() {
        let m = merge(vec![vec![entry(5), entry(1)], vec![entry(4), entry(3)]], 3);
        let ids: Vec<u64> = m.iter().map(|e| e.id).collect();
        assert_eq!(ids, [5, 4, 3]);
    }
}
