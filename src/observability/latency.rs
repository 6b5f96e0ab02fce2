//! Latency: per-command histograms (LATENCY HISTOGRAM, INFO latencystats,
//! periodic dumps in the HdrHistogram interval-log format) and the latency
//! monitor's events (LATENCY LATEST / HISTORY / GRAPH / DOCTOR / RESET).
//!
//! Recording: `dispatch::record` measures every command in clock ticks on
//! the core that runs it and calls `observe`, which, reading its options as
//! atomics (`Tunables`), records the time in nanoseconds into that core's
//! histogram for the command (a plain array increment, allocated the first
//! time a command runs on the core), adds a latency-monitor sample when the
//! command took `latency-monitor-threshold` ms or more, and makes a SLOWLOG
//! entry when it took `slowlog-log-slower-than` µs or more.
//!
//! Units are Redis's: histograms hold nanoseconds from 1 ns to 1 s with two
//! significant digits (server.h LATENCY_HISTOGRAM_*), so LATENCY HISTOGRAM's
//! power-of-two buckets (1, 2, 4, 8, 16, 33, 66 ... µs) and INFO's
//! percentiles (`p50=1.003`) come out as Redis's do for the same times.
//!
//! Reading: every core's histograms are copied out (`run_on_all`) and added
//! up per command; the monitor's per-core time series are merged by second.
//!
//! Dumps (`dump_loop`, core 0): when `latency-log-dir` is set, every
//! `latency-log-interval` seconds core 0 gathers every core's histograms,
//! subtracts the previous gathering and writes the difference as one file,
//! `latency-<port>-<unix seconds>.hlog`: an HdrHistogram interval log (v1.3
//! text, V2 deflate-compressed base64 histograms, values in ns, max column in
//! ms) with one untagged histogram (every command together) and one per
//! command tagged with its name, readable by HdrHistogram's
//! HistogramLogProcessor (`-tag get` for one command). Next to it goes
//! `latency-<port>-<unix seconds>.csv`, the same intervals as percentiles in
//! µs, which scripts/latency-report.sh turns into a table and a plot.

use crate::command::TABLE;
use crate::protocol::Reply;
use crate::runtime::{now_ms, Core, Shard};
use bytes::Bytes;
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::Ordering;

/// Redis's LATENCY_HISTOGRAM_MIN_VALUE: 1 ns.
pub const LOWEST_NS: u64 = 1;
/// Redis's LATENCY_HISTOGRAM_MAX_VALUE: 1 s; longer times count as 1 s.
pub const HIGHEST_NS: u64 = 1_000_000_000;
/// Redis's LATENCY_HISTOGRAM_PRECISION.
pub const SIGFIG: u8 = 2;

pub type Hist = Histogram<u64>;

/// An empty histogram with Redis's bounds.
pub fn new_hist() -> Hist {
    // Constant, valid bounds: creation cannot fail.
    Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGFIG)
        .unwrap_or_else(|_| unreachable!("constant histogram bounds"))
}

/// The highest value the histogram's counts reach: the end of its last
/// bucket, 2^30 - 1 ns for these bounds (hdr_histogram's counts_len).
fn last_value(h: &Hist) -> u64 {
    // sub_bucket_count (256 for 2 digits) << (buckets - 1), minus one.
    let sub_bucket_bits = (2.0 * 10f64.powi(h.sigfig() as i32)).log2().ceil() as u32;
    (1u64 << (sub_bucket_bits + h.buckets() as u32 - 1)) - 1
}

/// One core's histograms, by command id (see `TABLE`). Part of
/// `ShardStats`, so CONFIG RESETSTAT clears them, as in Redis.
#[derive(Debug, Default, Clone)]
pub struct CmdHistograms {
    by_id: Vec<Option<Box<Hist>>>,
}

impl CmdHistograms {
    /// Records one call of command `id` that took `ns` nanoseconds.
    #[inline]
    pub fn record(&mut self, id: usize, ns: u64) {
        if id >= self.by_id.len() {
            self.by_id.resize_with(TABLE.all.len().max(id + 1), || None);
        }
        let h = self.by_id[id].get_or_insert_with(|| Box::new(new_hist()));
        h.saturating_record(ns.clamp(LOWEST_NS, HIGHEST_NS));
    }

    /// Copies of the histograms with calls, by command id.
    pub fn snapshot(&self) -> Vec<(usize, Hist)> {
        self.by_id
            .iter()
            .enumerate()
            .filter_map(|(id, h)| match h {
                Some(h) if !h.is_empty() => Some((id, (**h).clone())),
                _ => None,
            })
            .collect()
    }
}

/// Adds up every core's histograms per command id.
pub fn merge(per_core: Vec<Vec<(usize, Hist)>>) -> BTreeMap<usize, Hist> {
    let mut out: BTreeMap<usize, Hist> = BTreeMap::new();
    for core in per_core {
        for (id, h) in core {
            match out.get_mut(&id) {
                // Same bounds everywhere: adding cannot fail.
                Some(m) => {
                    let _ = m.add(&h);
                }
                None => {
                    out.insert(id, h);
                }
            }
        }
    }
    out
}

/// Every core's histograms, merged (run on the asking core).
pub async fn gather(core: &Core) -> BTreeMap<usize, Hist> {
    merge(
        core.run_on_all(|c| c.shard.borrow().stats.latency.snapshot())
            .await,
    )
}

/// What `dispatch::record` calls for every command: histogram, latency
/// monitor and slowlog, each when its option asks for it. `ns` is the time
/// the command took; `argv` its arguments (empty when the slowlog is off).
#[inline]
pub fn observe(
    shard: &mut Shard,
    node: &crate::node::Node,
    spec: &crate::command::CommandSpec,
    id: usize,
    ns: u64,
    argv: &[Bytes],
) {
    if shard.is_copy {
        return;
    }
    let t = &node.tun;
    if t.latency_tracking.load(Ordering::Relaxed) {
        shard.stats.latency.record(id, ns);
    }
    let slow = t.slowlog_ns.load(Ordering::Relaxed);
    if slow >= 0 && ns >= slow as u64 {
        slow_entry(shard, node, spec, ns, argv);
    }
    let monitor = t.latency_monitor_ns.load(Ordering::Relaxed);
    if monitor > 0 && ns >= monitor {
        let event = if spec.has(crate::command::flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        let now = (now_ms() / 1000) as i64;
        shard.latency_events.add(event, ns / 1_000_000, now);
    }
}

#[cold]
fn slow_entry(
    shard: &mut Shard,
    node: &crate::node::Node,
    spec: &crate::command::CommandSpec,
    ns: u64,
    argv: &[Bytes],
) {
    // Blocked commands served when a key became ready run inside another
    // client's command: not logged as that client's (Redis logs them when
    // the blocked client is unblocked).
    if spec.has(crate::command::flags::SKIP_SLOWLOG) || shard.is_serving() || argv.is_empty() {
        return;
    }
    let t = &node.tun;
    let e = super::slowlog::Entry {
        id: t.slowlog_next_id.fetch_add(1, Ordering::Relaxed),
        time: (now_ms() / 1000) as i64,
        duration_us: ns / 1000,
        argv: super::slowlog::log_argv(argv),
        peer: String::new(),
        name: String::new(),
    };
    let max = t.slowlog_max_len.load(Ordering::Relaxed);
    shard.slowlog.add(e, max);
}

// ---------------------------------------------------------------- replies

/// The cumulative distribution LATENCY HISTOGRAM shows for one histogram,
/// as Redis's fillCommandCDF: hdr_iter_log from 1024 ns doubling, each step
/// reported as (highest equivalent value / 1000 µs, cumulative count) when
/// the count grew.
pub fn cdf(h: &Hist) -> Vec<(u64, u64)> {
    let total = h.len();
    let mut out = Vec::new();
    if total == 0 {
        return out;
    }
    let last = last_value(h);
    let recorded: Vec<(u64, u64)> = h
        .iter_recorded()
        .map(|v| (v.value_iterated_to(), v.count_at_value()))
        .collect();
    let mut next = recorded.iter().peekable();
    let (mut cum, mut prev) = (0u64, 0u64);
    let mut level: u64 = 1024;
    loop {
        if h.lowest_equivalent(level) > last {
            // The iterator ran off the end of the counts: it reports the
            // last bucket with every count.
            if total > prev {
                out.push((last / 1000, total));
            }
            break;
        }
        let top = h.highest_equivalent(level);
        while let Some(&&(v, c)) = next.peek() {
            if v > top {
                break;
            }
            cum += c;
            next.next();
        }
        if cum > prev {
            out.push((top / 1000, cum));
        }
        prev = cum;
        if cum >= total {
            break;
        }
        level = level.saturating_mul(2);
    }
    out
}

/// `{calls, histogram_usec}` for one command.
pub fn cdf_reply(h: &Hist) -> Reply {
    let buckets = cdf(h)
        .into_iter()
        .map(|(us, n)| (Reply::Int(us as i64), Reply::Int(n as i64)))
        .collect();
    Reply::Map(vec![
        (Reply::simple_bulk("calls"), Reply::Int(h.len() as i64)),
        (Reply::simple_bulk("histogram_usec"), Reply::Map(buckets)),
    ])
}

/// hdr_value_at_percentile as Redis's bundled hdr_histogram computes it:
/// the count at the percentile is rounded half up (not up), and the value is
/// its bucket's highest equivalent value (lowest for percentile 0).
pub fn value_at_percentile(h: &Hist, percentile: f64) -> u64 {
    let p = percentile.min(100.0);
    let total = h.len();
    let want = (((p / 100.0) * total as f64) + 0.5) as u64;
    let want = want.max(1);
    let mut cum = 0u64;
    let mut value = 0u64;
    for v in h.iter_recorded() {
        cum += v.count_at_value();
        if cum >= want {
            value = v.value_iterated_to();
            break;
        }
    }
    if percentile == 0.0 {
        h.lowest_equivalent(value)
    } else {
        h.highest_equivalent(value)
    }
}

/// `%f` trimmed of trailing zeros and dot (Redis's trimDoubleString): 99.9.
pub fn percentile_label(p: f64) -> String {
    let s = format!("{p:.6}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_string()
}

/// One INFO latencystats line (fillPercentileDistributionLatencies).
pub fn info_line(out: &mut String, name: &str, h: &Hist, percentiles: &[f64]) {
    let safe: String = name
        .chars()
        .map(|c| if "#:\n\r".contains(c) { '_' } else { c })
        .collect();
    let _ = write!(out, "latency_percentiles_usec_{safe}:");
    for (i, &p) in percentiles.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let v = value_at_percentile(h, p) as f64 / 1000.0;
        let _ = write!(out, "p{}={:.3}", percentile_label(p), v);
    }
    out.push_str("\r\n");
}

/// The INFO latencystats section's lines, commands in table order.
pub fn info_section(merged: &BTreeMap<usize, Hist>, percentiles: &[f64]) -> String {
    let mut out = String::new();
    for (&id, h) in merged {
        info_line(&mut out, TABLE.fullname(id), h, percentiles);
    }
    out
}

// ---------------------------------------------------------- latency monitor

/// Redis's LATENCY_TS_LEN: samples kept per event.
pub const TS_LEN: usize = 160;

/// One event's time series (Redis's latencyTimeSeries): the worst latency of
/// each second with an event, the last 160 such seconds, and the all-time
/// worst.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// Where the next sample goes.
    pub idx: usize,
    pub max: u32,
    /// (unix seconds, ms); time 0 = unused.
    pub samples: [(i32, u32); TS_LEN],
}

impl Default for Series {
    fn default() -> Self {
        Series {
            idx: 0,
            max: 0,
            samples: [(0, 0); TS_LEN],
        }
    }
}

impl Series {
    /// latencyAddSample.
    pub fn add(&mut self, latency_ms: u32, now: i32) {
        self.max = self.max.max(latency_ms);
        let prev = (self.idx + TS_LEN - 1) % TS_LEN;
        if self.samples[prev].0 == now {
            self.samples[prev].1 = self.samples[prev].1.max(latency_ms);
            return;
        }
        self.samples[self.idx] = (now, latency_ms);
        self.idx = (self.idx + 1) % TS_LEN;
    }

    /// The samples in use, oldest first.
    pub fn in_order(&self) -> Vec<(i32, u32)> {
        (0..TS_LEN)
            .map(|j| self.samples[(self.idx + j) % TS_LEN])
            .filter(|s| s.0 != 0)
            .collect()
    }

    /// The sample added last.
    pub fn latest(&self) -> (i32, u32) {
        self.samples[(self.idx + TS_LEN - 1) % TS_LEN]
    }
}

/// Merges one event's series from several cores: per second the worst
/// latency, the newest 160 seconds, the worst all-time maximum.
pub fn merge_series(list: &[Series]) -> Series {
    let mut by_time: BTreeMap<i32, u32> = BTreeMap::new();
    let mut max = 0;
    for s in list {
        max = max.max(s.max);
        for (t, l) in s.in_order() {
            let e = by_time.entry(t).or_insert(0);
            *e = (*e).max(l);
        }
    }
    let all: Vec<(i32, u32)> = by_time.into_iter().collect();
    let keep = &all[all.len().saturating_sub(TS_LEN)..];
    let mut out = Series {
        max,
        ..Default::default()
    };
    for (i, &s) in keep.iter().enumerate() {
        out.samples[i] = s;
    }
    out.idx = keep.len() % TS_LEN;
    out
}

/// One core's latency monitor: its events' series, by event name.
#[derive(Debug, Default, Clone)]
pub struct Monitor {
    pub events: BTreeMap<String, Series>,
}

impl Monitor {
    pub fn add(&mut self, event: &str, latency_ms: u64, now: i64) {
        let ms = u32::try_from(latency_ms).unwrap_or(u32::MAX);
        let now = i32::try_from(now).unwrap_or(i32::MAX);
        match self.events.get_mut(event) {
            Some(s) => s.add(ms, now),
            None => {
                let mut s = Series::default();
                s.add(ms, now);
                self.events.insert(event.to_string(), s);
            }
        }
    }

    /// latencyResetEvent: deletes `event` (case-insensitively), or every
    /// event; returns the names deleted.
    pub fn reset(&mut self, event: Option<&[u8]>) -> Vec<String> {
        let names: Vec<String> = self
            .events
            .keys()
            .filter(|k| event.is_none_or(|e| k.as_bytes().eq_ignore_ascii_case(e)))
            .cloned()
            .collect();
        for n in &names {
            self.events.remove(n);
        }
        names
    }
}

/// Every core's events, merged per event name.
pub async fn gather_events(core: &Core) -> BTreeMap<String, Series> {
    let per_core = core
        .run_on_all(|c| c.shard.borrow().latency_events.events.clone())
        .await;
    let mut by_name: BTreeMap<String, Vec<Series>> = BTreeMap::new();
    for m in per_core {
        for (k, s) in m {
            by_name.entry(k).or_default().push(s);
        }
    }
    by_name
        .into_iter()
        .map(|(k, v)| (k, merge_series(&v)))
        .collect()
}

/// Redis's latencyStats for one series at `now`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub avg: u32,
    pub min: u32,
    pub max: u32,
    pub mad: u32,
    pub samples: u32,
    pub period: i64,
}

/// analyzeLatencyForEvent.
pub fn analyze(s: &Series, now: i64) -> Stats {
    let samples = s.in_order();
    let mut st = Stats::default();
    if samples.is_empty() {
        return st;
    }
    let mut sum: u64 = 0;
    let mut oldest: i64 = 0;
    for (i, &(t, l)) in samples.iter().enumerate() {
        if i == 0 {
            st.min = l;
            st.max = l;
        } else {
            st.min = st.min.min(l);
            st.max = st.max.max(l);
        }
        sum += l as u64;
        if oldest == 0 || (t as i64) < oldest {
            oldest = t as i64;
        }
    }
    st.samples = samples.len() as u32;
    st.avg = (sum / samples.len() as u64) as u32;
    st.period = now - oldest;
    if st.period == 0 {
        st.period = 1;
    }
    let dev: u64 = samples
        .iter()
        .map(|&(_, l)| (st.avg as i64 - l as i64).unsigned_abs())
        .sum();
    st.mad = (dev / samples.len() as u64) as u32;
    st
}

/// Bytes of anonymous huge pages this process uses (Redis's
/// THPGetAnonHugePagesSize reads the same field of /proc/self/smaps).
pub fn anon_huge_pages() -> u64 {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")
        .or_else(|_| std::fs::read_to_string("/proc/self/smaps"))
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("AnonHugePages:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

/// What DOCTOR needs besides the events.
pub struct DoctorInput {
    pub monitor_threshold_ms: u64,
    pub slowlog_log_slower_than: i64,
    pub now: i64,
    pub anon_huge_pages: u64,
}

/// LATENCY DOCTOR's report, as Redis's createLatencyReport words it for the
/// events shardis raises (`command`, `fast-command`).
pub fn doctor(events: &BTreeMap<String, Series>, i: &DoctorInput) -> String {
    let mut r = String::new();
    if events.is_empty() && i.monitor_threshold_ms == 0 {
        r.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
        return r;
    }
    let mut advices = 0;
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut large_objects, mut disable_thp) = (false, false, false);
    for (n, (event, ts)) in events.iter().enumerate() {
        let num = n + 1;
        if num == 1 {
            r.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let ls = analyze(ts, i.now);
        let _ = write!(
            r,
            "{}. {}: {} latency spikes (average {}ms, mean deviation {}ms, period {:.2} sec). Worst all time event {}ms.",
            num,
            event,
            ls.samples,
            ls.avg,
            ls.mad,
            ls.period as f64 / ls.samples.max(1) as f64,
            ts.max
        );
        if event.eq_ignore_ascii_case("command") {
            if i.slowlog_log_slower_than < 0 {
                slowlog_enabled = true;
                advices += 1;
            } else if i.slowlog_log_slower_than / 1000 > i.monitor_threshold_ms as i64 {
                slowlog_tuning = true;
                advices += 1;
            }
            slowlog_inspect = true;
            large_objects = true;
            advices += 2;
        }
        if event.eq_ignore_ascii_case("fast-command") {
            scheduler = true;
            advices += 1;
        }
        r.push('\n');
    }
    if i.anon_huge_pages > 0 {
        disable_thp = true;
        advices += 1;
    }
    if events.is_empty() && advices == 0 {
        r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if !events.is_empty() && advices == 0 {
        r.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        r.push_str("\nI have a few advices for you:\n\n");
        let threshold_us = i.monitor_threshold_ms.saturating_mul(1000);
        if slowlog_enabled {
            let _ = writeln!(r, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {threshold_us}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.");
        }
        if slowlog_tuning {
            let _ = writeln!(r, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {threshold_us}'.");
        }
        if slowlog_inspect {
            r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if scheduler {
            r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if large_objects {
            r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        if disable_thp {
            r.push_str("- I detected a non zero amount of anonymous huge pages used by your process. This creates very serious latency events in different conditions, especially when Redis is persisting on disk. To disable THP support use the command 'echo never > /sys/kernel/mm/transparent_hugepage/enabled', make sure to also add it into /etc/rc.local so that the command will be executed again after a reboot. Note that even if you have already disabled THP, you still need to restart the Redis process to get rid of the huge pages already created.\n");
        }
    }
    r
}

const GRAPH_COLS: usize = 80;
const SPARK_ROWS: usize = 4;
const CHARSET_FILL: &[u8] = b"_o#";

/// LATENCY GRAPH's text (latencyCommandGenSparkeline + sparkline.c with
/// SPARKLINE_FILL): a header, 80 dashes, then 4 rows of bars and the
/// "how long ago" labels written downwards, 80 samples per block.
pub fn graph(event: &str, ts: &Series, now: i64) -> String {
    let samples = ts.in_order();
    let (mut min, mut max) = (0u32, 0u32);
    let mut seq: Vec<(f64, String)> = Vec::with_capacity(samples.len());
    for (i, &(t, l)) in samples.iter().enumerate() {
        if i == 0 {
            min = l;
            max = l;
        } else {
            max = max.max(l);
            min = min.min(l);
        }
        let elapsed = now - t as i64;
        let label = if elapsed < 60 {
            format!("{elapsed}s")
        } else if elapsed < 3600 {
            format!("{}m", elapsed / 60)
        } else if elapsed < 3600 * 24 {
            format!("{}h", elapsed / 3600)
        } else {
            format!("{}d", elapsed / (3600 * 24))
        };
        seq.push((l as f64, label));
    }
    let mut out = format!(
        "{event} - high {max} ms, low {min} ms (all time high {} ms)\n",
        ts.max
    );
    out.push_str(&"-".repeat(GRAPH_COLS));
    out.push('\n');
    out.push_str(&sparkline(&seq, GRAPH_COLS, SPARK_ROWS));
    out
}

/// sparklineRender with SPARKLINE_FILL over (value, label) samples.
fn sparkline(seq: &[(f64, String)], columns: usize, rows: usize) -> String {
    let mut out = String::new();
    if seq.is_empty() {
        return out;
    }
    let min = seq.iter().map(|s| s.0).fold(f64::INFINITY, f64::min);
    let max = seq.iter().map(|s| s.0).fold(f64::NEG_INFINITY, f64::max);
    for (n, chunk) in seq.chunks(columns).enumerate() {
        if n != 0 {
            out.push('\n');
        }
        render_range(&mut out, chunk, min, max, rows);
    }
    out
}

/// sparklineRenderRange (fill, linear scale).
fn render_range(out: &mut String, part: &[(f64, String)], min: f64, max: f64, rows: usize) {
    let charset_len = CHARSET_FILL.len() as i64;
    let mut relmax = max - min;
    if relmax == 0.0 {
        relmax = 1.0;
    }
    let steps = charset_len * rows as i64;
    let has_labels = part.iter().any(|s| !s.1.is_empty());
    let mut row = 0usize;
    loop {
        let mut more = false;
        let mut chars = vec![b' '; part.len()];
        for (j, (value, label)) in part.iter().enumerate() {
            let relval = value - min;
            // C: (int)(relval*steps) / relmax, truncated to int.
            let mut step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
            step = step.clamp(0, steps - 1);
            if row < rows {
                let charidx = step - (rows - row - 1) as i64 * charset_len;
                more = true;
                if (0..charset_len).contains(&charidx) {
                    chars[j] = CHARSET_FILL[charidx as usize];
                } else if charidx >= charset_len {
                    chars[j] = b'|';
                }
            } else {
                // One blank line between the bars and the labels.
                if has_labels && row - rows < 1 {
                    more = true;
                    break;
                }
                let label_char = row - rows - 1;
                if let Some(&c) = label.as_bytes().get(label_char) {
                    more = true;
                    chars[j] = c;
                }
            }
        }
        if !more {
            break;
        }
        row += 1;
        out.push_str(&String::from_utf8_lossy(&chars));
        out.push('\n');
    }
}

// ------------------------------------------------------------------ dumps

/// Where and how often to dump, from the config.
fn dump_settings(core: &Core) -> Option<(PathBuf, u64)> {
    let cfg = core.node.config.read().ok()?;
    let dir = cfg.get("latency-log-dir").unwrap_or_default();
    if dir.is_empty() {
        return None;
    }
    let interval: u64 = cfg
        .get("latency-log-interval")
        .and_then(|v| v.parse().ok())
        .unwrap_or(60)
        .max(1);
    let base = PathBuf::from(cfg.dir());
    Some((base.join(dir), interval))
}

/// Core 0's dump task: see the module doc. Checks the options every second,
/// so CONFIG SET latency-log-dir / latency-log-interval apply at once; the
/// first interval starts when the directory is set.
pub async fn dump_loop(core: Rc<Core>) {
    let mut state: Option<(BTreeMap<usize, Hist>, u64)> = None;
    loop {
        crate::runtime::sleep(std::time::Duration::from_secs(1)).await;
        if core.node.shutting_down.load(Ordering::Relaxed) {
            return;
        }
        let Some((dir, interval)) = dump_settings(&core) else {
            state = None;
            continue;
        };
        let now = now_ms();
        let Some((prev, since)) = &state else {
            state = Some((gather(&core).await, now));
            continue;
        };
        if now.saturating_sub(*since) < interval * 1000 {
            continue;
        }
        let current = gather(&core).await;
        let delta = interval_histograms(&current, prev);
        let info = DumpInfo {
            port: core.node.tcp_port,
            node_start_ms: core.node.start_unix_ms,
            start_ms: *since,
            end_ms: now,
        };
        if let Err(e) = write_dump(&dir, &info, &delta) {
            tracing::warn!("Failed writing the latency log to {}: {}", dir.display(), e);
        }
        state = Some((current, now));
    }
}

/// Each command's histogram minus the previous gathering (all of it when
/// the counts went down: CONFIG RESETSTAT in between).
pub fn interval_histograms(
    current: &BTreeMap<usize, Hist>,
    prev: &BTreeMap<usize, Hist>,
) -> BTreeMap<usize, Hist> {
    let mut out = BTreeMap::new();
    for (&id, h) in current {
        let mut d = h.clone();
        if let Some(p) = prev.get(&id) {
            if d.subtract(p).is_err() {
                d = h.clone();
            }
        }
        if !d.is_empty() {
            out.insert(id, d);
        }
    }
    out
}

/// What a dump file says about its interval.
pub struct DumpInfo {
    pub port: u16,
    pub node_start_ms: u64,
    pub start_ms: u64,
    pub end_ms: u64,
}

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The interval log text for one interval (see the module doc):
///
/// ```text
/// #[Logged with shardis 0.1.0, port 6379, interval 1700000000.000-1700000060.000]
/// #[Histogram log format version 1.3]
/// #[StartTime: <node start> (seconds since epoch)]
/// #[BaseTime: <node start> (seconds since epoch)]
/// "StartTimestamp","Interval_Length","Interval_Max","Interval_Compressed_Histogram"
/// #[MaxValueDivisor: 1000000.000]
/// <start - BaseTime>,<length>,<max ms>,<base64 V2 deflate histogram>   (all commands)
/// Tag=get,<start - BaseTime>,<length>,<max ms>,<base64 ...>           (one per command)
/// ```
pub fn interval_log(info: &DumpInfo, delta: &BTreeMap<usize, Hist>) -> Result<Vec<u8>, String> {
    use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
    use hdrhistogram::serialization::V2DeflateSerializer;
    let mut buf = Vec::new();
    let start = secs(info.node_start_ms);
    let _ = write!(
        StringSink(&mut buf),
        "#[Logged with shardis {}, port {}, interval {}-{}]\n#[Histogram log format version 1.3]\n#[StartTime: {start} (seconds since epoch)]\n#[BaseTime: {start} (seconds since epoch)]\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n",
        crate::VERSION,
        info.port,
        secs(info.start_ms),
        secs(info.end_ms),
    );
    let mut ser = V2DeflateSerializer::new();
    let mut w = IntervalLogWriterBuilder::new()
        .with_max_value_divisor(1_000_000.0)
        .begin_log_with(&mut buf, &mut ser)
        .map_err(|e| e.to_string())?;
    let offset = std::time::Duration::from_millis(info.start_ms.saturating_sub(info.node_start_ms));
    let length = std::time::Duration::from_millis(info.end_ms.saturating_sub(info.start_ms));
    let mut all = new_hist();
    for h in delta.values() {
        let _ = all.add(h);
    }
    w.write_histogram(&all, offset, length, None)
        .map_err(|e| e.to_string())?;
    for (&id, h) in delta {
        let name = TABLE.fullname(id);
        w.write_histogram(h, offset, length, Tag::new(name))
            .map_err(|e| e.to_string())?;
    }
    Ok(buf)
}

/// `write!` into a byte vector.
struct StringSink<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for StringSink<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// The CSV next to each interval log: a header, then `all` (every command)
/// and one row per command, most calls first; times in µs.
///
/// ```text
/// tag,count,min_us,mean_us,p50_us,p90_us,p99_us,p99.9_us,p99.99_us,max_us
/// all,1200,0.512,1.204,1.003,1.503,4.015,16.063,32.127,40.191
/// get,1000,...
/// ```
pub fn interval_csv(delta: &BTreeMap<usize, Hist>) -> String {
    let mut out =
        String::from("tag,count,min_us,mean_us,p50_us,p90_us,p99_us,p99.9_us,p99.99_us,max_us\n");
    let row = |out: &mut String, tag: &str, h: &Hist| {
        let us = |ns: u64| ns as f64 / 1000.0;
        let _ = writeln!(
            out,
            "{tag},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3}",
            h.len(),
            us(h.min()),
            h.mean() / 1000.0,
            us(h.value_at_quantile(0.5)),
            us(h.value_at_quantile(0.9)),
            us(h.value_at_quantile(0.99)),
            us(h.value_at_quantile(0.999)),
            us(h.value_at_quantile(0.9999)),
            us(h.highest_equivalent(h.max())),
        );
    };
    let mut all = new_hist();
    for h in delta.values() {
        let _ = all.add(h);
    }
    row(&mut out, "all", &all);
    let mut by_calls: Vec<(&usize, &Hist)> = delta.iter().collect();
    by_calls.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(b.0)));
    for (&id, h) in by_calls {
        row(&mut out, TABLE.fullname(id), h);
    }
    out
}

/// Writes `<dir>/latency-<port>-<end secs>.csv` then `.hlog`, each through a
/// temporary file and a rename, so readers never see half a file.
pub fn write_dump(
    dir: &Path,
    info: &DumpInfo,
    delta: &BTreeMap<usize, Hist>,
) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let stem = format!("latency-{}-{}", info.port, info.end_ms / 1000);
    let put = |ext: &str, data: &[u8]| -> Result<PathBuf, String> {
        let path = dir.join(format!("{stem}.{ext}"));
        let tmp = dir.join(format!(".{stem}.{ext}.tmp"));
        std::fs::write(&tmp, data).map_err(|e| e.to_string())?;
        std::fs::rename(&tmp, &path).map_err(|e| e.to_string())?;
        Ok(path)
    };
    put("csv", interval_csv(delta).as_bytes())?;
    put("hlog", &interval_log(info, delta)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values_ns: &[u64]) -> Hist {
        let mut h = new_hist();
        for &v in values_ns {
            h.saturating_record(v.clamp(LOWEST_NS, HIGHEST_NS));
        }
        h
    }

    #[test]
    fn layout_matches_redis_hdr_histogram() {
        let h = new_hist();
        // hdr_init(1, 1e9, 2): 256 sub-buckets, 23 buckets, 3072 counts.
        assert_eq!(h.buckets(), 23);
        assert_eq!(h.distinct_values(), 3072);
        assert_eq!(last_value(&h), (1 << 30) - 1);
        assert_eq!(h.highest_equivalent(1024), 1031);
        assert_eq!(h.highest_equivalent(32768), 33023);
    }

    #[test]
    fn cdf_has_redis_power_of_two_buckets() {
        // Redis records whole microseconds: 0 µs becomes 1 ns.
        let h = hist(&[1, 1000, 5000, 40_000, 40_000]);
        assert_eq!(cdf(&h), vec![(1, 2), (8, 3), (66, 5)]);
        assert!(cdf(&new_hist()).is_empty());
        // Everything above 1 s counts as 1 s, reported in the last bucket.
        let h = hist(&[2_000_000_000]);
        assert_eq!(cdf(&h), vec![(1_073_741, 1)]);
        let h = hist(&[300_000_000]);
        assert_eq!(cdf(&h), vec![(541_065, 1)]);
    }

    #[test]
    fn percentiles_as_redis_computes_them() {
        let h = hist(&[1000; 10]);
        assert_eq!(value_at_percentile(&h, 50.0), 1003);
        let mut out = String::new();
        info_line(&mut out, "get", &h, &[50.0, 99.0, 99.9]);
        assert_eq!(
            out,
            "latency_percentiles_usec_get:p50=1.003,p99=1.003,p99.9=1.003\r\n"
        );
        // Half-up rounding of the count: 1 of 3 values is below p20.
        let h = hist(&[1000, 2000, 3000]);
        assert_eq!(value_at_percentile(&h, 20.0), 1003);
        assert_eq!(value_at_percentile(&h, 100.0), 3007);
        assert_eq!(value_at_percentile(&h, 0.0), 1000);
        assert_eq!(percentile_label(99.9), "99.9");
        assert_eq!(percentile_label(50.0), "50");
        assert_eq!(percentile_label(0.5), "0.5");
    }

    #[test]
    fn merging_adds_cores_up() {
        let a = vec![(3, hist(&[1000])), (5, hist(&[2000]))];
        let b = vec![(3, hist(&[1000, 3000]))];
        let m = merge(vec![a, b]);
        assert_eq!(m[&3].len(), 3);
        assert_eq!(m[&5].len(), 1);
        let mut c = CmdHistograms::default();
        c.record(2, 0);
        c.record(2, 5_000_000_000);
        let s = c.snapshot();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].1.len(), 2);
    }

    #[test]
    fn series_keeps_the_worst_per_second() {
        let mut s = Series::default();
        s.add(10, 100);
        s.add(30, 100);
        s.add(20, 100);
        s.add(5, 101);
        assert_eq!(s.in_order(), vec![(100, 30), (101, 5)]);
        assert_eq!(s.latest(), (101, 5));
        assert_eq!(s.max, 30);
        for t in 0..200 {
            s.add(1, 1000 + t);
        }
        assert_eq!(s.in_order().len(), TS_LEN);
        assert_eq!(s.in_order()[0], (1040, 1));
        let mut other = Series::default();
        other.add(50, 1199);
        other.add(7, 2000);
        let m = merge_series(&[s, other]);
        let o = m.in_order();
        assert_eq!(o.len(), TS_LEN);
        assert_eq!(o[TS_LEN - 2], (1199, 50));
        assert_eq!(m.latest(), (2000, 7));
        assert_eq!(m.max, 50);
    }

    #[test]
    fn doctor_texts() {
        let none = BTreeMap::new();
        let mut i = DoctorInput {
            monitor_threshold_ms: 0,
            slowlog_log_slower_than: 10000,
            now: 1000,
            anon_huge_pages: 0,
        };
        assert!(doctor(&none, &i).starts_with("I'm sorry, Dave, I can't do that."));
        i.monitor_threshold_ms = 100;
        assert!(doctor(&none, &i).starts_with("Dave, no latency spike was observed"));
        let mut ev = BTreeMap::new();
        let mut s = Series::default();
        s.add(200, 990);
        s.add(400, 995);
        ev.insert("command".to_string(), s);
        let r = doctor(&ev, &i);
        assert!(r.contains("1. command: 2 latency spikes (average 300ms, mean deviation 100ms, period 5.00 sec). Worst all time event 400ms.\n"), "{r}");
        assert!(r.contains("\nI have a few advices for you:\n\n- Check your Slow Log"));
        assert!(!r.contains("slowlog-log-slower-than 100000"));
        i.slowlog_log_slower_than = -1;
        assert!(doctor(&ev, &i).contains("'CONFIG SET slowlog-log-slower-than 100000'"));
    }

    #[test]
    fn graph_draws_bars_and_labels() {
        let mut s = Series::default();
        s.add(10, 100);
        s.add(20, 130);
        let g = graph("command", &s, 160);
        let lines: Vec<&str> = g.lines().collect();
        assert_eq!(
            lines[0],
            "command - high 20 ms, low 10 ms (all time high 20 ms)"
        );
        assert_eq!(lines[1], "-".repeat(80));
        // min maps to step 0 (bottom row '_'), max to step 11 (full bars).
        assert_eq!(lines[2], " #");
        assert_eq!(lines[3], " |");
        assert_eq!(lines[4], " |");
        assert_eq!(lines[5], "_|");
        assert_eq!(lines[6], "  ");
        // "1m" and "30s" ago, written downwards.
        assert_eq!(lines[7], "13");
        assert_eq!(lines[8], "m0");
        assert_eq!(lines[9], " s");
        assert_eq!(lines.len(), 10);
    }

    #[test]
    fn dump_files_round_trip() {
        use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
        use hdrhistogram::serialization::Deserializer;
        let get = TABLE.get("get").map(|g| g.0).unwrap_or(0);
        let set = TABLE.get("set").map(|g| g.0).unwrap_or(1);
        let mut delta = BTreeMap::new();
        delta.insert(get, hist(&[1000, 2000, 3000]));
        delta.insert(set, hist(&[5000]));
        let info = DumpInfo {
            port: 7000,
            node_start_ms: 1_700_000_000_000,
            start_ms: 1_700_000_010_000,
            end_ms: 1_700_000_070_500,
        };
        let log = interval_log(&info, &delta).expect("log");
        let text = String::from_utf8_lossy(&log).to_string();
        assert!(text.contains("#[StartTime: 1700000000.000 (seconds since epoch)]\n"));
        let mut seen = Vec::new();
        let mut de = Deserializer::new();
        for e in IntervalLogIterator::new(&log) {
            match e.expect("parse") {
                LogEntry::Interval(ilh) => {
                    assert_eq!(ilh.start_timestamp().as_millis(), 10_000);
                    assert_eq!(ilh.duration().as_millis(), 60_500);
                    let raw = base64_decode(ilh.encoded_histogram());
                    let h: Hist = de.deserialize(&mut &raw[..]).expect("histogram");
                    seen.push((ilh.tag().map(|t| t.as_str().to_string()), h.len()));
                }
                LogEntry::StartTime(t) | LogEntry::BaseTime(t) => {
                    assert_eq!(t.as_secs(), 1_700_000_000)
                }
            }
        }
        assert_eq!(
            seen,
            vec![
                (None, 4),
                (Some("get".to_string()), 3),
                (Some("set".to_string()), 1)
            ]
        );
        let csv = interval_csv(&delta);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(lines[1].starts_with("all,4,"));
        assert!(lines[2].starts_with("get,3,1.000,"), "{}", lines[2]);
        assert!(lines[2].contains(",2.007,"), "{}", lines[2]);
        assert!(lines[3].starts_with("set,1,"));
    }

    /// Standard base64, for the round-trip test.
    fn base64_decode(s: &str) -> Vec<u8> {
        let val = |c: u8| -> u32 {
            match c {
                b'A'..=b'Z' => (c - b'A') as u32,
                b'a'..=b'z' => (c - b'a' + 26) as u32,
                b'0'..=b'9' => (c - b'0' + 52) as u32,
                b'+' => 62,
                _ => 63,
            }
        };
        let mut out = Vec::new();
        for chunk in s.trim_end_matches('=').as_bytes().chunks(4) {
            let mut n = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                n |= val(c) << (18 - 6 * i);
            }
            let bytes = n.to_be_bytes();
            out.extend_from_slice(&bytes[1..chunk.len()]);
        }
        out
    }
}
