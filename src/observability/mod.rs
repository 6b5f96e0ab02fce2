//! Logging set-up (Redis-like lines), start-up warnings, signals, and INFO.

pub mod info;
pub mod latency;
pub mod memory;
pub mod metrics;
pub mod slowlog;

use crate::config::Config;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as Redis does: `pid:M 22 Nov 2026 03:10:00.123 * message`
/// (`.` debug, `-` verbose, `*` notice, `#` warning).
struct RedisFormat {
    pid: u32,
}

fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() as libc::time_t;
    let ms = now.subsec_millis();
    // SAFETY: localtime_r and strftime write into local buffers we own.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&secs, &mut tm);
        let mut buf = [0u8; 64];
        let n = libc::strftime(
            buf.as_mut_ptr() as *mut libc::c_char,
            buf.len(),
            c"%d %b %Y %H:%M:%S".as_ptr(),
            &tm,
        );
        format!("{}.{:03}", String::from_utf8_lossy(&buf[..n]), ms)
    }
}

impl<S, N> FormatEvent<S, N> for RedisFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mark = match *event.metadata().level() {
            Level::ERROR | Level::WARN => '#',
            Level::INFO => '*',
            Level::DEBUG => '-',
            Level::TRACE => '.',
        };
        write!(writer, "{}:M {} {} ", self.pid, timestamp(), mark)?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

/// Maps Redis's loglevel names onto tracing levels.
pub fn level_for(loglevel: &str) -> Level {
    match loglevel {
        "debug" => Level::TRACE,
        "verbose" => Level::DEBUG,
        "warning" => Level::WARN,
        _ => Level::INFO,
    }
}

/// Installs the subscriber: stdout, or `logfile` (appended) when set.
pub fn init_logging(cfg: &Config) -> std::io::Result<()> {
    let _ = tracing_log::LogTracer::init();
    let level = level_for(cfg.loglevel());
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .event_format(RedisFormat {
            pid: std::process::id(),
        });
    let logfile = cfg.logfile();
    if logfile.is_empty() {
        let _ = builder.with_writer(std::io::stdout).try_init();
    } else {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(logfile)?;
        let _ = builder.with_writer(std::sync::Mutex::new(f)).try_init();
    }
    Ok(())
}

/// Warns, as Redis does, about host settings that hurt a server.
pub fn startup_warnings(tcp_backlog: u32) {
    if let Ok(s) = std::fs::read_to_string("/proc/sys/net/core/somaxconn") {
        if let Ok(v) = s.trim().parse::<u32>() {
            if v < tcp_backlog {
                tracing::warn!(
                    "WARNING: The TCP backlog setting of {} cannot be enforced because /proc/sys/net/core/somaxconn is set to the lower value of {}.",
                    tcp_backlog,
                    v
                );
            }
        }
    }
    if let Ok(s) = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled") {
        if s.contains("[always]") {
            tracing::warn!(
                "WARNING you have Transparent Huge Pages (THP) support enabled in your kernel. This will create latency and memory usage issues with shardis. To fix this issue run the command 'echo madvise > /sys/kernel/mm/transparent_hugepage/enabled' as root, and add it to your /etc/rc.local in order to retain the setting after a reboot. shardis must be restarted after THP is disabled (set to 'madvise' or 'never')."
            );
        }
    }
    if let Ok(s) = std::fs::read_to_string("/proc/sys/vm/overcommit_memory") {
        if s.trim() == "0" {
            tracing::warn!(
                "WARNING Memory overcommit must be enabled! Without it, a background save or replication may fail under low memory condition. To fix this issue add 'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command 'sysctl vm.overcommit_memory=1' for this to take effect."
            );
        }
    }
}

/// Blocks SIGINT/SIGTERM in every thread (call before the cores start) and
/// handles them on a thread of their own: log and exit cleanly.
pub fn install_signal_handlers() {
    // SAFETY: sigset manipulation on a local set; pthread_sigmask affects this
    // thread and is inherited by the threads spawned afterwards.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sig: libc::c_int = 0;
                if libc::sigwait(&set, &mut sig) == 0 {
                    let name = if sig == libc::SIGINT {
                        "SIGINT"
                    } else {
                        "SIGTERM"
                    };
                    tracing::warn!("Received {} scheduling shutdown...", name);
                    SHUTDOWN_ASKED.store(true, Ordering::SeqCst);
                    // Core 0 saves first when save points are configured
                    // (server::snapshot::cron); bounded, and at once when
                    // nothing is there to do it (still loading).
                    for _ in 0..6000 {
                        if !SHUTDOWN_HANDLED.load(Ordering::SeqCst) {
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    shutdown_now();
                }
            })
            .ok();
    }
}

/// Set by SIGTERM/SIGINT: the node is asked to stop.
pub static SHUTDOWN_ASKED: AtomicBool = AtomicBool::new(false);
/// Set while a core watches `SHUTDOWN_ASKED` to save before exiting.
pub static SHUTDOWN_HANDLED: AtomicBool = AtomicBool::new(false);

/// Logs Redis's farewell and exits. Nothing is buffered in memory that a
/// clean stop would have to write (persistence comes with its own issue).
pub fn shutdown_now() -> ! {
    tracing::warn!("User requested shutdown...");
    tracing::warn!("shardis is now ready to exit, bye bye...");
    std::process::exit(0)
}
