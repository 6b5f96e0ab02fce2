//! The slot table: which core holds each slot's keys on this node.
//!
//! The slots the node owns are split, in slot order, into `cores`
//! consecutive groups whose sizes differ by at most one: core `i` takes the
//! owned slots of rank `ceil(i*owned/cores)` up to the next core's first, so
//! core 0 takes the lowest slots (and at least one, if any is owned). A
//! slot the node does not own (it may still hold keys, as in Redis after
//! DELSLOTS) goes to the core of the nearest owned slot below it, or core 0
//! if there is none, so the table never decreases and each core holds one
//! contiguous stretch of slots. A node owning all slots with `n` cores (a
//! divisor of 16384) gives core `i` exactly `[i*16384/n, (i+1)*16384/n)`;
//! for other `n` each boundary is within one slot of that.
//!
//! The table depends only on the owned set and the core count, so every
//! core computes the same table from the same topology snapshot.

use crate::cluster::slot::{SlotSet, SLOTS};

/// `slot -> core` for a node owning `owned`, over `cores` cores (at least 1,
/// at most 16384). The result has 16384 entries.
pub fn assign_cores(owned: &SlotSet, cores: usize) -> Vec<u16> {
    let cores = cores.clamp(1, SLOTS);
    let total = owned.count();
    // Rank (among owned slots) of the first slot of `core`.
    let first_rank = |core: usize| (core * total).div_ceil(cores);

    let mut table = vec![0u16; SLOTS];
    let mut core = 0usize;
    let mut rank = 0usize;
    let mut current: u16 = 0;
    for (slot, entry) in table.iter_mut().enumerate() {
        if owned.contains(slot as u16) {
            while core + 1 < cores && rank >= first_rank(core + 1) {
                core += 1;
            }
            rank += 1;
            current = core as u16;
        }
        *entry = current;
    }
    table
}

/// The inclusive slot ranges `table` gives to `core`, ascending.
pub fn core_ranges(table: &[u16], core: u16) -> Vec<(u16, u16)> {
    let mut ranges = Vec::new();
    let mut start: Option<usize> = None;
    for (slot, &c) in table.iter().enumerate().take(SLOTS) {
        match (c == core, start) {
            (true, None) => start = Some(slot),
            (false, Some(s)) => {
                ranges.push((s as u16, (slot - 1) as u16));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        ranges.push((s as u16, (table.len().min(SLOTS) - 1) as u16));
    }
    ranges
}

/// The slots whose core changes from `old` to `new`, as
/// `(slot, old_core, new_core)`: the slot tables to hand over by message
/// when the node gains or loses slots.
pub fn moved_slots(old: &[u16], new: &[u16]) -> Vec<(u16, u16, u16)> {
    old.iter()
        .zip(new)
        .enumerate()
        .take(SLOTS)
        .filter(|(_, (o, n))| o != n)
        .map(|(slot, (&o, &n))| (slot as u16, o, n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns() -> Vec<(&'static str, SlotSet)> {
        let mut scattered = SlotSet::new();
        let mut x: u32 = 7;
        for _ in 0..3000 {
            x = x.wrapping_mul(1664525).wrapping_add(1013904223);
            scattered.insert((x >> 18) as u16);
        }
        vec![
            ("all", SlotSet::full()),
            ("none", SlotSet::new()),
            ("one slot", SlotSet::from_ranges(&[(9000, 9000)])),
            (
                "three slots",
                SlotSet::from_ranges(&[(1, 1), (500, 500), (16383, 16383)]),
            ),
            ("one range", SlotSet::from_ranges(&[(5461, 10922)])),
            ("low range", SlotSet::from_ranges(&[(0, 5460)])),
            (
                "two ranges",
                SlotSet::from_ranges(&[(0, 99), (16000, 16383)]),
            ),
            (
                "every 7th",
                (0..SLOTS as u16).filter(|s| s % 7 == 3).collect(),
            ),
            ("scattered", scattered),
            ("all but one", {
                let mut s = SlotSet::full();
                s.remove(8191);
                s
            }),
        ]
    }

    /// The properties every table must have.
    fn check(name: &str, owned: &SlotSet, cores: usize, table: &[u16]) {
        let ctx = format!("{name}, {cores} cores");
        assert_eq!(table.len(), SLOTS, "{ctx}");
        assert!(table.iter().all(|&c| usize::from(c) < cores), "{ctx}");
        // Never decreasing: every core holds one contiguous stretch.
        assert!(table.windows(2).all(|w| w[0] <= w[1]), "{ctx}");

        let mut counts = vec![0usize; cores];
        for slot in owned.iter() {
            counts[usize::from(table[usize::from(slot)])] += 1;
        }
        assert_eq!(counts.iter().sum::<usize>(), owned.count(), "{ctx}");
        let (min, max) = (
            counts.iter().copied().min().unwrap_or(0),
            counts.iter().copied().max().unwrap_or(0),
        );
        assert!(max - min <= 1, "{ctx}: {counts:?}");
        if let Some(lowest) = owned.iter().next() {
            assert_eq!(table[usize::from(lowest)], 0, "{ctx}");
        }

        // Unowned slots follow the nearest owned slot below, else core 0.
        let mut below: Option<u16> = None;
        for slot in 0..SLOTS as u16 {
            if owned.contains(slot) {
                below = Some(table[usize::from(slot)]);
            } else {
                assert_eq!(
                    table[usize::from(slot)],
                    below.unwrap_or(0),
                    "{ctx}, slot {slot}"
                );
            }
        }

        // core_ranges covers the table exactly.
        let mut covered = 0usize;
        for core in 0..cores as u16 {
            for (start, end) in core_ranges(table, core) {
                assert!(start <= end, "{ctx}");
                for slot in start..=end {
                    assert_eq!(table[usize::from(slot)], core, "{ctx}");
                }
                covered += usize::from(end - start) + 1;
            }
        }
        assert_eq!(covered, SLOTS, "{ctx}");
    }

    #[test]
    fn balanced_for_every_pattern_and_core_count() {
        for (name, owned) in patterns() {
            for cores in 1..=8 {
                let table = assign_cores(&owned, cores);
                check(name, &owned, cores, &table);
            }
        }
    }

    #[test]
    fn all_slots_split_evenly() {
        for cores in 1..=8usize {
            let table = assign_cores(&SlotSet::full(), cores);
            for core in 0..cores {
                let ranges = core_ranges(&table, core as u16);
                let [(start, end)] = ranges.as_slice() else {
                    panic!("{cores} cores, core {core}: {ranges:?}");
                };
                let ideal_start = core * SLOTS / cores;
                let ideal_end = (core + 1) * SLOTS / cores;
                assert!(
                    usize::from(*start).abs_diff(ideal_start) <= 1,
                    "{cores}/{core}"
                );
                assert!(
                    (usize::from(*end) + 1).abs_diff(ideal_end) <= 1,
                    "{cores}/{core}"
                );
                if SLOTS.is_multiple_of(cores) {
                    assert_eq!(
                        (usize::from(*start), usize::from(*end) + 1),
                        (ideal_start, ideal_end)
                    );
                }
            }
        }
        assert_eq!(
            core_ranges(&assign_cores(&SlotSet::full(), 2), 1),
            vec![(8192, 16383)]
        );
        assert_eq!(
            core_ranges(&assign_cores(&SlotSet::full(), 3), 0),
            vec![(0, 5461)]
        );
    }

    #[test]
    fn small_owned_sets_and_edge_core_counts() {
        // Fewer owned slots than cores: spread out, core 0 first.
        let owned = SlotSet::from_ranges(&[(1, 1), (500, 500), (16383, 16383)]);
        let table = assign_cores(&owned, 8);
        assert_eq!((table[1], table[500], table[16383]), (0, 2, 5));
        assert_eq!(table[0], 0);
        assert_eq!(table[16382], 2);
        assert_eq!(core_ranges(&table, 7), vec![]);
        assert_eq!(core_ranges(&table, 1), vec![]);

        // Nothing owned: everything on core 0.
        let table = assign_cores(&SlotSet::new(), 4);
        assert!(table.iter().all(|&c| c == 0));

        // Zero cores means one.
        let table = assign_cores(&SlotSet::full(), 0);
        assert!(table.iter().all(|&c| c == 0));

        // A single range: slots below it on core 0, above it on the last core.
        let table = assign_cores(&SlotSet::from_ranges(&[(5461, 10922)]), 2);
        assert_eq!(core_ranges(&table, 0), vec![(0, 8191)]);
        assert_eq!(core_ranges(&table, 1), vec![(8192, 16383)]);
    }

    #[test]
    fn moves_when_ownership_changes() {
        let before = assign_cores(&SlotSet::full(), 2);
        let mut owned = SlotSet::full();
        for slot in 0..100 {
            owned.remove(slot);
        }
        let after = assign_cores(&owned, 2);
        let moved = moved_slots(&before, &after);
        // The boundary moves up by 50 slots; the deleted slots stay on core 0.
        assert_eq!(moved.len(), 50);
        assert!(moved
            .iter()
            .all(|&(slot, from, to)| (8192..8242).contains(&slot) && from == 1 && to == 0));
        assert!(moved_slots(&before, &before).is_empty());
    }
}
