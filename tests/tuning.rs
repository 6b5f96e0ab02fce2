//! The host tuning scripts (tuning/apply.sh, revert.sh, check.sh) against a
//! fake root in a temporary directory: SHARDIS_TUNING_ROOT points them there,
//! so nothing here reads or writes the real host's settings.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn tuning_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tuning")
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs tuning/SCRIPT with the fake root and extra environment.
fn run_env(root: &Path, script: &str, args: &[&str], env: &[(&str, &str)]) -> Out {
    let mut c = Command::new(tuning_dir().join(script));
    c.args(args)
        .env_remove("SHARDIS_TUNING_UID")
        .env("SHARDIS_TUNING_ROOT", root);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn run(root: &Path, script: &str, args: &[&str]) -> Out {
    run_env(root, script, args, &[])
}

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn read(root: &Path, rel: &str) -> String {
    fs::read_to_string(root.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

const THP_ENABLED: &str = "sys/kernel/mm/transparent_hugepage/enabled";
const THP_DEFRAG: &str = "sys/kernel/mm/transparent_hugepage/defrag";
const LIMITS: &str = "etc/security/limits.d/90-shardis.conf";
const STATE: &str = "var/lib/shardis-tuning";

/// The words each fake sysfs choice file offers, as the kernel lists them.
const CHOICES: &[(&str, &[&str])] = &[
    (THP_ENABLED, &["always", "madvise", "never"]),
    (
        THP_DEFRAG,
        &["always", "defer", "defer+madvise", "madvise", "never"],
    ),
];

/// "always madvise [never]\n": the kernel's format with `sel` selected.
fn choice(words: &[&str], sel: &str) -> String {
    let w: Vec<String> = words
        .iter()
        .map(|w| {
            if *w == sel {
                format!("[{w}]")
            } else {
                w.to_string()
            }
        })
        .collect();
    format!("{}\n", w.join(" "))
}

/// Plays the kernel's part after a script ran: the scripts select a word of
/// a choice file by writing it, which leaves a plain file holding just the
/// word; the kernel would show the list with that word bracketed again.
fn settle(root: &Path) {
    for (rel, words) in CHOICES {
        let p = root.join(rel);
        let Ok(s) = fs::read_to_string(&p) else {
            continue;
        };
        if s.contains('[') {
            continue;
        }
        let w = s.trim();
        assert!(
            words.contains(&w),
            "{rel}: wrote {s:?}, not a word the kernel offers"
        );
        fs::write(&p, choice(words, w)).unwrap();
    }
}

/// A host with every setting off: sysctls at kernel defaults, THP always,
/// powersave on 2 CPUs, no limits file, NIC IRQs on every CPU.
fn fake_host() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for (k, v) in [
        ("net/core/somaxconn", "4096"),
        ("net/ipv4/tcp_max_syn_backlog", "1024"),
        ("net/core/netdev_max_backlog", "1000"),
        ("net/ipv4/tcp_keepalive_time", "7200"),
        ("net/ipv4/tcp_keepalive_intvl", "75"),
        ("net/ipv4/tcp_keepalive_probes", "9"),
        ("vm/overcommit_memory", "0"),
        ("vm/swappiness", "60"),
        // Already above the minimum (systemd's value): must stay untouched.
        ("fs/file-max", "9223372036854775807"),
        ("fs/nr_open", "1048576"),
        // Not managed: must stay untouched.
        ("net/ipv4/tcp_rmem", "4096\t131072\t6291456"),
    ] {
        write(r, &format!("proc/sys/{k}"), &format!("{v}\n"));
    }
    write(r, THP_ENABLED, &choice(CHOICES[0].1, "always"));
    write(r, THP_DEFRAG, &choice(CHOICES[1].1, "madvise"));
    for cpu in 0..2 {
        let d = format!("sys/devices/system/cpu/cpu{cpu}/cpufreq");
        write(r, &format!("{d}/scaling_governor"), "powersave\n");
        write(
            r,
            &format!("{d}/scaling_available_governors"),
            "performance powersave\n",
        );
    }
    // Not CPUs, though their names start with "cpu".
    fs::create_dir_all(r.join("sys/devices/system/cpu/cpufreq/policy0")).unwrap();
    write(r, "sys/devices/system/cpu/cpuidle/current_driver", "none\n");
    write(
        r,
        "proc/interrupts",
        "            CPU0       CPU1
   0:         36          0   IO-APIC   2-edge      timer
  24:       1234        567   PCI-MSI 524288-edge      eth0-TxRx-0
  25:        890        123   PCI-MSI 524289-edge      eth0-TxRx-1
  26:         10          0   PCI-MSI 524290-edge      eth0
  27:          5          5   PCI-MSI 1048576-edge      eth1-TxRx-0
  28:          5          5   PCI-MSI 1048577-edge      eth01-TxRx-0
 NMI:          0          0   Non-maskable interrupts
 ERR:          0
",
    );
    for irq in [0, 24, 25, 26, 27, 28] {
        write(r, &format!("proc/irq/{irq}/smp_affinity_list"), "0-1\n");
    }
    fs::create_dir_all(r.join("etc/security/limits.d")).unwrap();
    write(r, "etc/security/limits.d/10-other.conf", "* soft core 0\n");
    fs::create_dir_all(r.join("var/lib")).unwrap();
    dir
}

/// Every file (with its bytes) and directory under root.
type Snapshot = BTreeMap<String, Option<Vec<u8>>>;

fn snapshot(root: &Path) -> Snapshot {
    fn walk(root: &Path, dir: &Path, out: &mut Snapshot) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                out.insert(rel, None);
                walk(root, &p, out);
            } else {
                out.insert(rel, Some(fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Snapshot::new();
    walk(root, root, &mut out);
    out
}

#[track_caller]
fn assert_same(before: &Snapshot, after: &Snapshot, what: &str) {
    let show = |v: &Option<Vec<u8>>| match v {
        None => "(directory)".to_string(),
        Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
    };
    let mut diffs = Vec::new();
    for (k, v) in before {
        match after.get(k) {
            None => diffs.push(format!("  {k}: gone (was {})", show(v))),
            Some(w) if w != v => diffs.push(format!("  {k}: {} -> {}", show(v), show(w))),
            _ => {}
        }
    }
    for (k, w) in after {
        if !before.contains_key(k) {
            diffs.push(format!("  {k}: new ({})", show(w)));
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: the tree changed:\n{}",
        diffs.join("\n")
    );
}

/// The status column of check.sh's row for `setting`.
#[track_caller]
fn status_of(check: &Out, setting: &str) -> String {
    let line = check
        .stdout
        .lines()
        .find(|l| l.starts_with(setting))
        .unwrap_or_else(|| panic!("no row for {setting}: {check:?}"));
    line.split_whitespace().last().unwrap().to_string()
}

const OFF_AT_START: &[&str] = &[
    "net.core.somaxconn",
    "net.ipv4.tcp_max_syn_backlog",
    "net.core.netdev_max_backlog",
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
    "vm.overcommit_memory",
    "vm.swappiness",
    "transparent_hugepage/enabled",
    "transparent_hugepage/defrag",
    "cpufreq scaling_governor",
    "/etc/security/limits.d/90-shardis.conf",
];

#[test]
fn check_apply_is_idempotent_and_revert_restores_every_byte() {
    let dir = fake_host();
    let r = dir.path();
    let original = snapshot(r);
    let irq = ["--irq-cpus", "0", "--nic", "eth0"];

    // check: non-zero, every off setting listed as OFF.
    let c = run(r, "check.sh", &[]);
    assert_eq!(c.code, 1, "{c:?}");
    for s in OFF_AT_START {
        assert_eq!(status_of(&c, s), "OFF", "{s}: {c:?}");
    }
    assert_eq!(status_of(&c, "fs.file-max"), "ok", "{c:?}");
    assert_eq!(status_of(&c, "fs.nr_open"), "ok", "{c:?}");
    assert!(c.stdout.contains("RECOMMENDED") && c.stdout.contains("CURRENT"));
    // IRQs are checked only when asked for.
    assert!(!c.stdout.contains("irq "), "{c:?}");
    let c = run(r, "check.sh", &irq);
    assert_eq!(status_of(&c, "irq 24 (eth0-TxRx-0)"), "OFF", "{c:?}");
    assert_eq!(status_of(&c, "irq 26 (eth0)"), "OFF", "{c:?}");
    assert!(
        !c.stdout.contains("eth1") && !c.stdout.contains("eth01"),
        "{c:?}"
    );
    assert_same(&original, &snapshot(r), "check.sh");

    // --dry-run: says what it would do, changes nothing.
    let d = run(
        r,
        "apply.sh",
        &["--dry-run", "--irq-cpus", "0", "--nic", "eth0"],
    );
    assert_eq!(d.code, 0, "{d:?}");
    assert!(
        d.stdout
            .contains("would set  net.core.somaxconn: 4096 -> 65535"),
        "{d:?}"
    );
    assert!(
        d.stdout
            .contains("would set  irq 25 (eth0-TxRx-1): 0-1 -> 0"),
        "{d:?}"
    );
    assert!(d.stdout.contains("nothing changed"), "{d:?}");
    assert_same(&original, &snapshot(r), "apply.sh --dry-run");

    // apply.
    let a = run(r, "apply.sh", &irq);
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(read(r, "proc/sys/net/core/somaxconn"), "65535\n");
    assert_eq!(read(r, "proc/sys/net/ipv4/tcp_keepalive_time"), "300\n");
    assert_eq!(read(r, "proc/sys/vm/overcommit_memory"), "1\n");
    assert_eq!(read(r, "proc/sys/vm/swappiness"), "1\n");
    assert_eq!(read(r, "proc/sys/fs/file-max"), "9223372036854775807\n");
    // Written as the kernel takes it: the bare word.
    assert_eq!(read(r, THP_ENABLED), "never\n");
    assert_eq!(read(r, THP_DEFRAG), "never\n");
    for cpu in 0..2 {
        let g = format!("sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_governor");
        assert_eq!(read(r, &g), "performance\n");
    }
    for irq in [24, 25, 26] {
        assert_eq!(read(r, &format!("proc/irq/{irq}/smp_affinity_list")), "0\n");
    }
    for irq in [0, 27, 28] {
        assert_eq!(
            read(r, &format!("proc/irq/{irq}/smp_affinity_list")),
            "0-1\n"
        );
    }
    assert_eq!(
        fs::read(r.join(LIMITS)).unwrap(),
        fs::read(tuning_dir().join("limits.conf")).unwrap()
    );
    assert_eq!(
        read(r, "etc/security/limits.d/10-other.conf"),
        "* soft core 0\n"
    );
    assert_eq!(
        read(
            r,
            &format!("{STATE}/saved/files/proc/sys/net/core/somaxconn")
        ),
        "4096\n"
    );
    assert!(!r
        .join(format!("{STATE}/saved/files/proc/sys/fs/file-max"))
        .exists());

    // check reads the bare word a write leaves in the fake file...
    let c = run(r, "check.sh", &[]);
    assert_eq!(c.code, 0, "{c:?}");
    // ...and the kernel's format; it checks the IRQs apply.sh was given.
    settle(r);
    let c = run(r, "check.sh", &[]);
    assert_eq!(c.code, 0, "{c:?}");
    assert!(!c.stdout.contains("OFF"), "{c:?}");
    assert_eq!(status_of(&c, "irq 25 (eth0-TxRx-1)"), "ok", "{c:?}");
    assert_eq!(status_of(&c, "transparent_hugepage/enabled"), "ok", "{c:?}");
    let applied = snapshot(r);

    // apply again (options remembered): nothing changes, the originals stay.
    let a = run(r, "apply.sh", &[]);
    assert_eq!(a.code, 0, "{a:?}");
    assert!(a.stdout.contains("nothing to change"), "{a:?}");
    settle(r);
    assert_same(&applied, &snapshot(r), "second apply.sh");

    // Drift by hand, apply again: fixed, and the saved original is still the
    // true one.
    write(r, "proc/sys/net/core/somaxconn", "128\n");
    write(r, THP_ENABLED, &choice(CHOICES[0].1, "madvise"));
    let c = run(r, "check.sh", &[]);
    assert_eq!(c.code, 1, "{c:?}");
    assert_eq!(status_of(&c, "net.core.somaxconn"), "OFF", "{c:?}");
    let a = run(r, "apply.sh", &irq);
    assert_eq!(a.code, 0, "{a:?}");
    settle(r);
    assert_same(&applied, &snapshot(r), "apply.sh after drift");

    // revert --dry-run changes nothing; revert restores every byte.
    let d = run(r, "revert.sh", &["--dry-run"]);
    assert_eq!(d.code, 0, "{d:?}");
    assert!(
        d.stdout
            .contains("would restore /proc/sys/net/core/somaxconn: 4096"),
        "{d:?}"
    );
    assert_same(&applied, &snapshot(r), "revert.sh --dry-run");
    let v = run(r, "revert.sh", &[]);
    assert_eq!(v.code, 0, "{v:?}");
    settle(r);
    assert_same(&original, &snapshot(r), "revert.sh");
    let c = run(r, "check.sh", &[]);
    assert_eq!(c.code, 1, "{c:?}");
    assert_eq!(status_of(&c, "vm.overcommit_memory"), "OFF", "{c:?}");

    // Nothing left to revert.
    let v = run(r, "revert.sh", &[]);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(v.stdout.contains("nothing to revert"), "{v:?}");
    assert_same(&original, &snapshot(r), "second revert.sh");
}

#[test]
fn refuses_to_change_anything_without_root() {
    let dir = fake_host();
    let r = dir.path();
    let original = snapshot(r);
    let non_root = [("SHARDIS_TUNING_UID", "1000")];
    for script in ["apply.sh", "revert.sh"] {
        let o = run_env(r, script, &[], &non_root);
        assert_eq!(o.code, 1, "{script}: {o:?}");
        assert!(o.stderr.contains("not root (uid 1000)"), "{script}: {o:?}");
        assert_same(&original, &snapshot(r), script);
    }
    // --dry-run and check.sh need no root.
    let d = run_env(r, "apply.sh", &["--dry-run"], &non_root);
    assert_eq!(d.code, 0, "{d:?}");
    let c = run_env(r, "check.sh", &[], &non_root);
    assert_eq!(c.code, 1, "{c:?}");
    assert_same(&original, &snapshot(r), "dry run and check as non-root");
    // The same check lets uid 0 through.
    let a = run_env(r, "apply.sh", &[], &[("SHARDIS_TUNING_UID", "0")]);
    assert_eq!(a.code, 0, "{a:?}");

    // Against the real host (no prefix): only safe to try when not root.
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        println!("skipped: the no-prefix refusal runs only as non-root (this is root; the refusal logic is covered above through SHARDIS_TUNING_UID)");
    } else if !Path::new("/proc/sys").is_dir() {
        println!("skipped: no /proc/sys on this host");
    } else {
        let o = Command::new(tuning_dir().join("apply.sh"))
            .env_remove("SHARDIS_TUNING_ROOT")
            .env_remove("SHARDIS_TUNING_UID")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&o.stderr).contains("not root"));
    }
}

#[test]
fn bare_host_without_thp_cpufreq_or_limits_dir() {
    // A VM-like host: no THP, no cpufreq, no limits.d yet, a missing sysctl
    // key, a limits file of the same name already there on the second root.
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    for (k, v) in [
        ("net/core/somaxconn", "4096"),
        ("net/ipv4/tcp_max_syn_backlog", "65535"),
        ("net/core/netdev_max_backlog", "20000"),
        ("net/ipv4/tcp_keepalive_time", "300"),
        ("net/ipv4/tcp_keepalive_intvl", "10"),
        ("net/ipv4/tcp_keepalive_probes", "5"),
        ("vm/overcommit_memory", "1"),
        ("vm/swappiness", "0"),
        ("fs/file-max", "2097152"),
    ] {
        write(r, &format!("proc/sys/{k}"), &format!("{v}\n"));
    }
    fs::create_dir_all(r.join("etc/security")).unwrap();
    fs::create_dir_all(r.join("var/lib")).unwrap();
    let original = snapshot(r);

    let c = run(r, "check.sh", &[]);
    assert_eq!(c.code, 1, "{c:?}");
    assert_eq!(status_of(&c, "fs.nr_open"), "n/a", "{c:?}");
    assert_eq!(
        status_of(&c, "transparent_hugepage/enabled"),
        "n/a",
        "{c:?}"
    );
    assert_eq!(status_of(&c, "scaling_governor"), "n/a", "{c:?}");
    assert_eq!(status_of(&c, "net.core.somaxconn"), "OFF", "{c:?}");
    assert_eq!(status_of(&c, "vm.swappiness"), "ok", "{c:?}");
    assert_eq!(
        status_of(&c, "/etc/security/limits.d/90-shardis.conf"),
        "OFF"
    );

    let a = run(r, "apply.sh", &[]);
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(read(r, "proc/sys/net/core/somaxconn"), "65535\n");
    assert_eq!(read(r, "proc/sys/net/ipv4/tcp_keepalive_intvl"), "10\n");
    assert!(r.join(LIMITS).is_file());
    assert!(!r.join("proc/sys/fs/nr_open").exists());
    assert_eq!(run(r, "check.sh", &[]).code, 0);
    let v = run(r, "revert.sh", &[]);
    assert_eq!(v.code, 0, "{v:?}");
    // limits.d was created by apply: revert removes it too.
    assert_same(&original, &snapshot(r), "revert.sh");

    // An existing file of the same name is saved and put back.
    write(r, LIMITS, "# someone else's\n* soft nofile 4096\n");
    let before = snapshot(r);
    let c = run(r, "check.sh", &[]);
    assert!(
        c.stdout.contains("differs from tuning/limits.conf"),
        "{c:?}"
    );
    assert_eq!(run(r, "apply.sh", &[]).code, 0);
    assert_eq!(
        fs::read(r.join(LIMITS)).unwrap(),
        fs::read(tuning_dir().join("limits.conf")).unwrap()
    );
    assert_eq!(run(r, "revert.sh", &[]).code, 0);
    assert_same(
        &before,
        &snapshot(r),
        "revert.sh of an existing limits file",
    );

    // No /etc/security at all (no pam_limits): n/a, nothing created.
    fs::remove_dir_all(r.join("etc")).unwrap();
    let c = run(r, "check.sh", &[]);
    assert_eq!(
        status_of(&c, "/etc/security/limits.d/90-shardis.conf"),
        "n/a"
    );
    assert_eq!(c.code, 1, "{c:?}");
    assert_eq!(run(r, "apply.sh", &[]).code, 0);
    assert!(!r.join("etc").exists());
    assert_eq!(run(r, "revert.sh", &[]).code, 0);
}

#[test]
fn thp_madvise_and_skip_are_remembered() {
    let dir = fake_host();
    let r = dir.path();
    let original = snapshot(r);
    let a = run(r, "apply.sh", &["--thp", "madvise", "--governor", "skip"]);
    assert_eq!(a.code, 0, "{a:?}");
    settle(r);
    assert_eq!(read(r, THP_ENABLED), "always [madvise] never\n");
    assert_eq!(
        read(r, THP_DEFRAG),
        "always defer defer+madvise [madvise] never\n"
    );
    let g = "sys/devices/system/cpu/cpu0/cpufreq/scaling_governor";
    assert_eq!(read(r, g), "powersave\n");
    // check.sh takes the options of the last apply...
    let c = run(r, "check.sh", &[]);
    assert_eq!(c.code, 0, "{c:?}");
    assert!(!c.stdout.contains("scaling_governor"), "{c:?}");
    // ...unless told otherwise.
    let c = run(r, "check.sh", &["--thp=never"]);
    assert_eq!(c.code, 1, "{c:?}");
    assert_eq!(
        status_of(&c, "transparent_hugepage/enabled"),
        "OFF",
        "{c:?}"
    );
    // A mode the kernel does not offer is n/a, not written.
    let c = run(r, "check.sh", &["--thp-defrag", "defer"]);
    assert_eq!(status_of(&c, "transparent_hugepage/defrag"), "OFF", "{c:?}");
    write(r, THP_DEFRAG, "always madvise [never]\n");
    let c = run(r, "check.sh", &["--thp-defrag", "defer"]);
    assert_eq!(status_of(&c, "transparent_hugepage/defrag"), "n/a", "{c:?}");
    write(r, THP_DEFRAG, &choice(CHOICES[1].1, "madvise"));
    assert_eq!(run(r, "revert.sh", &[]).code, 0);
    settle(r);
    assert_same(&original, &snapshot(r), "revert.sh");
}

#[test]
fn usage_errors_change_nothing() {
    let dir = fake_host();
    let r = dir.path();
    let original = snapshot(r);
    for script in ["apply.sh", "revert.sh", "check.sh"] {
        let h = run(r, script, &["--help"]);
        assert_eq!(h.code, 0, "{script}: {h:?}");
        assert!(h.stdout.starts_with("Usage: "), "{script}: {h:?}");
        let e = run(r, script, &["--bogus"]);
        assert_eq!(e.code, 2, "{script}: {e:?}");
        assert!(
            e.stderr.contains("unknown argument '--bogus'"),
            "{script}: {e:?}"
        );
    }
    for args in [
        &["--irq-cpus", "0"][..],
        &["--nic", "eth0"],
        &["--irq-cpus", "0-", "--nic", "eth0"],
        &["--irq-cpus", "3-1", "--nic", "eth0"],
        &["--irq-cpus", "0", "--nic", "eth0/../x"],
        &["--thp", "always"],
        &["--thp"],
        &["--governor", "per formance"],
    ] {
        let e = run(r, "apply.sh", args);
        assert_eq!(e.code, 2, "{args:?}: {e:?}");
    }
    // A NIC without IRQs: an error before any change.
    let e = run(r, "apply.sh", &["--irq-cpus", "0", "--nic", "eth9"]);
    assert_eq!(e.code, 1, "{e:?}");
    assert!(e.stderr.contains("IRQs of eth9"), "{e:?}");
    assert!(e.stderr.contains("nothing changed"), "{e:?}");
    // A bad prefix.
    let e = run_env(
        r,
        "check.sh",
        &[],
        &[("SHARDIS_TUNING_ROOT", "relative/dir")],
    );
    assert_eq!(e.code, 2, "{e:?}");
    assert_same(&original, &snapshot(r), "usage errors");
}

#[test]
fn scripts_are_shellcheck_clean() {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("shellcheck").is_file()))
        .unwrap_or(false);
    if !found {
        println!("skipped: shellcheck is not installed (apt-get install shellcheck)");
        return;
    }
    let mut scripts: Vec<PathBuf> = fs::read_dir(tuning_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sh"))
        .collect();
    scripts.sort();
    assert_eq!(scripts.len(), 4, "{scripts:?}");
    let o = Command::new("shellcheck")
        .arg("-x")
        .args(&scripts)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "shellcheck:\n{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
