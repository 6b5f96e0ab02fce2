//! A cheap clock for per-command timing: the CPU's time-stamp counter on
//! x86_64 (calibrated once against the monotonic clock at start-up), a
//! monotonic nanosecond clock elsewhere. Reading the TSC costs a few cycles
//! where `clock_gettime` costs tens of nanoseconds, twice per command.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);
/// Picoseconds per tick; 1000 (one tick = 1 ns) until calibrated.
static PS_PER_TICK: AtomicU64 = AtomicU64::new(1000);
/// Nanoseconds per tick in 32.32 fixed point, for `ticks_to_ns` (no division
/// on the per-command path); 1 << 32 (one tick = 1 ns) until calibrated.
static NS_PER_TICK_Q32: AtomicU64 = AtomicU64::new(1 << 32);

#[inline]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC has no preconditions on x86_64.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        EPOCH.elapsed().as_nanos() as u64
    }
}

/// Measures the tick rate over `over` (call once at start-up).
pub fn calibrate(over: Duration) {
    if !cfg!(target_arch = "x86_64") {
        return;
    }
    let i0 = Instant::now();
    let t0 = ticks();
    std::thread::sleep(over);
    let t1 = ticks();
    let ns = i0.elapsed().as_nanos() as u64;
    let dt = t1.saturating_sub(t0);
    if dt > 0 && ns > 0 {
        PS_PER_TICK.store((ns * 1000 / dt).max(1), Ordering::Relaxed);
        let q32 = ((ns as u128) << 32) / dt as u128;
        NS_PER_TICK_Q32.store(
            u64::try_from(q32).unwrap_or(u64::MAX).max(1),
            Ordering::Relaxed,
        );
    }
    LazyLock::force(&EPOCH);
}

/// Converts a tick count to microseconds.
#[inline]
pub fn ticks_to_us(t: u64) -> u64 {
    ((t as u128 * PS_PER_TICK.load(Ordering::Relaxed) as u128) / 1_000_000) as u64
}

/// Converts a tick count to nanoseconds: one multiply and a shift.
#[inline]
pub fn ticks_to_ns(t: u64) -> u64 {
    let q = NS_PER_TICK_Q32.load(Ordering::Relaxed) as u128;
    u64::try_from((t as u128 * q) >> 32).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calibrated_ticks_track_time() {
        calibrate(Duration::from_millis(20));
        let t0 = ticks();
        std::thread::sleep(Duration::from_millis(30));
        let us = ticks_to_us(ticks() - t0);
        assert!((25_000..200_000).contains(&us), "{us}");
        let t0 = ticks();
        std::thread::sleep(Duration::from_millis(30));
        let ns = ticks_to_ns(ticks() - t0);
        assert!((25_000_000..200_000_000).contains(&ns), "{ns}");
    }
}
