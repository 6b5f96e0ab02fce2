//! Memory accounting: a global allocator wrapper that counts live bytes per
//! thread (one cache line each, so cores never contend), summed for INFO's
//! `used_memory`; RSS from /proc.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

const SLOTS: usize = 128;

#[repr(align(64))]
struct Padded(AtomicI64);

static COUNTERS: [Padded; SLOTS] = [const { Padded(AtomicI64::new(0)) }; SLOTS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicI64 = AtomicI64::new(0);

thread_local! {
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn my_slot() -> usize {
    SLOT.try_with(|s| {
        let v = s.get();
        if v != usize::MAX {
            return v;
        }
        let n = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SLOTS;
        s.set(n);
        n
    })
    // During thread teardown the thread-local is gone: use a shared slot.
    .unwrap_or(SLOTS - 1)
}

/// Wraps an allocator and counts the bytes it has handed out and not taken back.
pub struct Counting<A>(pub A);

unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = self.0.alloc(l);
        if !p.is_null() {
            COUNTERS[my_slot()]
                .0
                .fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        p
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = self.0.alloc_zeroed(l);
        if !p.is_null() {
            COUNTERS[my_slot()]
                .0
                .fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        self.0.dealloc(p, l);
        COUNTERS[my_slot()]
            .0
            .fetch_sub(l.size() as i64, Ordering::Relaxed);
    }
    #[inline]
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = self.0.realloc(p, l, new);
        if !q.is_null() {
            COUNTERS[my_slot()]
                .0
                .fetch_add(new as i64 - l.size() as i64, Ordering::Relaxed);
        }
        q
    }
}

/// Bytes currently allocated through the counting allocator (0 when it is not
/// the global allocator, as in unit tests).
pub fn used_memory() -> u64 {
    let total: i64 = COUNTERS.iter().map(|c| c.0.load(Ordering::Relaxed)).sum();
    let total = total.max(0);
    PEAK.fetch_max(total, Ordering::Relaxed);
    total as u64
}

pub fn peak_memory() -> u64 {
    used_memory();
    PEAK.load(Ordering::Relaxed).max(0) as u64
}

/// Resident set size of this process in bytes.
pub fn rss() -> u64 {
    let page = 4096u64;
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |p| p * page)
}

pub fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Redis's bytesToHuman: "1.50M".
pub fn human(n: u64) -> String {
    let n = n as f64;
    const UNITS: [(f64, &str); 5] = [
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0, "M"),
        (1024.0, "K"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.2}{}", n / size, unit);
        }
    }
    format!("{}B", n as u64)
}

#[cfg(test)]
mod tests {
    use super::human;

    #[test]
    fn human_sizes() {
        assert_eq!(human(100), "100B");
        assert_eq!(human(1536), "1.50K");
        assert_eq!(human(3 * 1024 * 1024), "3.00M");
    }
}
