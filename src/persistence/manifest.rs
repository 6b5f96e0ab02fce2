//! The AOF manifest: which files make up the append-only log, in the spirit
//! of Redis 7's multi-part AOF, extended with the core that wrote each file.
//!
//! # Format
//!
//! A text file `<appendfilename>.manifest` in the AOF directory, one line per
//! file, each line ending in `\n`:
//!
//! ```text
//! file <name> seq <n> type <b|i> core <c>
//! ```
//!
//! - `name`: a plain file name in the AOF directory (no `/`, no spaces, at
//!   most 255 bytes), e.g. `appendonly.aof.0.3.incr.aof`
//!   (`<appendfilename>.<core>.<seq>.<base|incr>.aof`).
//! - `seq`: the generation, an integer ≥ 1. A generation is one set of files
//!   written by one set of cores: each core's optional base file and its
//!   incremental file. A new generation starts when the AOF is turned on,
//!   when it is rewritten, and at start-up when the number of cores changed.
//! - `type`: `b` a base (a core's keys as commands, written at one moment),
//!   `i` an incremental file (the commands the core ran after that).
//! - `core`: the core that wrote the file (0-based).
//!
//! The four pairs may come in any order after `file <name>`; empty lines
//! and lines starting with `#` are ignored, as Redis does. Unknown keys are
//! refused (a manifest we do not understand is not loaded by guesswork).
//!
//! # Load order
//!
//! Generations by ascending `seq`. Within a generation, every base (in any
//! order: each holds the keys of the slots its core owned, disjoint from the
//! others'), then the incremental files together, segment by segment between
//! barriers (see [`super::aof`]).
//!
//! The file is replaced atomically: written to a temporary name, fsynced,
//! renamed over the old one, and the directory fsynced.

use std::fmt;
use std::io::Write;
use std::path::Path;

/// Biggest manifest accepted (it lists a few files per core).
pub const MAX_SIZE: usize = 4 << 20;
const MAX_NAME: usize = 255;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Base,
    Incr,
}

impl Kind {
    fn letter(self) -> char {
        match self {
            Kind::Base => 'b',
            Kind::Incr => 'i',
        }
    }
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    pub name: String,
    pub seq: u64,
    pub kind: Kind,
    pub core: u32,
}

/// The files of one generation, each list ordered by core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generation {
    pub seq: u64,
    pub bases: Vec<FileEntry>,
    pub incrs: Vec<FileEntry>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    pub files: Vec<FileEntry>,
}

/// A manifest that cannot be read, with the line (1-based, 0 for the file
/// as a whole) and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "Invalid AOF manifest file format: {}", self.reason)
        } else {
            write!(
                f,
                "Invalid AOF manifest file format at line {}: {}",
                self.line, self.reason
            )
        }
    }
}

impl std::error::Error for ManifestError {}

/// `<appendfilename>.<core>.<seq>.incr.aof`
pub fn incr_name(base: &str, core: usize, seq: u64) -> String {
    format!("{base}.{core}.{seq}.incr.aof")
}

/// `<appendfilename>.<core>.<seq>.base.aof`
pub fn base_name(base: &str, core: usize, seq: u64) -> String {
    format!("{base}.{core}.{seq}.base.aof")
}

/// `<appendfilename>.<core>.<seq>.base.rdb`: a base in RDB format
/// (`aof-use-rdb-preamble yes`).
pub fn base_rdb_name(base: &str, core: usize, seq: u64) -> String {
    format!("{base}.{core}.{seq}.base.rdb")
}

/// `<appendfilename>.manifest`
pub fn manifest_name(base: &str) -> String {
    format!("{base}.manifest")
}

fn valid_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= MAX_NAME
        && n != "."
        && n != ".."
        && !n
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace())
}

impl Manifest {
    /// Parses a manifest's bytes.
    pub fn parse(text: &[u8]) -> Result<Manifest, ManifestError> {
        let whole = |reason: &str| ManifestError {
            line: 0,
            reason: reason.to_string(),
        };
        if text.len() > MAX_SIZE {
            return Err(whole("the manifest is too large"));
        }
        let text = std::str::from_utf8(text).map_err(|_| whole("not UTF-8"))?;
        let mut m = Manifest::default();
        for (i, raw) in text.split('\n').enumerate() {
            let lineno = i + 1;
            let err = |reason: String| ManifestError {
                line: lineno,
                reason,
            };
            let line = raw.strip_suffix('\r').unwrap_or(raw).trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_ascii_whitespace().collect();
            if !words.len().is_multiple_of(2) {
                return Err(err("odd number of words".into()));
            }
            let (mut name, mut seq, mut kind, mut core) = (None, None, None, None);
            for pair in words.chunks_exact(2) {
                let (k, v) = (pair[0], pair[1]);
                let dup = |k: &str| err(format!("'{k}' given twice"));
                match k {
                    "file" => {
                        if !valid_name(v) {
                            return Err(err(format!("invalid file name '{v}'")));
                        }
                        if name.replace(v.to_string()).is_some() {
                            return Err(dup(k));
                        }
                    }
                    "seq" => {
                        let n: u64 = v
                            .parse()
                            .ok()
                            .filter(|&n| n >= 1)
                            .ok_or_else(|| err(format!("invalid seq '{v}'")))?;
                        if seq.replace(n).is_some() {
                            return Err(dup(k));
                        }
                    }
                    "type" => {
                        let t = match v {
                            "b" => Kind::Base,
                            "i" => Kind::Incr,
                            _ => return Err(err(format!("invalid type '{v}'"))),
                        };
                        if kind.replace(t).is_some() {
                            return Err(dup(k));
                        }
                    }
                    "core" => {
                        let c: u32 = v
                            .parse()
                            .ok()
                            .filter(|&c| c < 65536)
                            .ok_or_else(|| err(format!("invalid core '{v}'")))?;
                        if core.replace(c).is_some() {
                            return Err(dup(k));
                        }
                    }
                    _ => return Err(err(format!("unknown key '{k}'"))),
                }
            }
            let (Some(name), Some(seq), Some(kind), Some(core)) = (name, seq, kind, core) else {
                return Err(err("a line needs file, seq, type and core".into()));
            };
            if m.files.iter().any(|f| f.name == name) {
                return Err(err(format!("file '{name}' listed twice")));
            }
            if m.files
                .iter()
                .any(|f| f.seq == seq && f.kind == kind && f.core == core)
            {
                return Err(err(format!(
                    "two files of type {} for core {core} in seq {seq}",
                    kind.letter()
                )));
            }
            m.files.push(FileEntry {
                name,
                seq,
                kind,
                core,
            });
        }
        Ok(m)
    }

    /// The manifest's text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            s.push_str(&format!(
                "file {} seq {} type {} core {}\n",
                f.name,
                f.seq,
                f.kind.letter(),
                f.core
            ));
        }
        s
    }

    pub fn last_seq(&self) -> Option<u64> {
        self.files.iter().map(|f| f.seq).max()
    }

    /// The generations in load order.
    pub fn generations(&self) -> Vec<Generation> {
        let mut seqs: Vec<u64> = self.files.iter().map(|f| f.seq).collect();
        seqs.sort_unstable();
        seqs.dedup();
        seqs.into_iter()
            .map(|seq| {
                let of = |k: Kind| {
                    let mut v: Vec<FileEntry> = self
                        .files
                        .iter()
                        .filter(|f| f.seq == seq && f.kind == k)
                        .cloned()
                        .collect();
                    v.sort_by_key(|f| f.core);
                    v
                };
                Generation {
                    seq,
                    bases: of(Kind::Base),
                    incrs: of(Kind::Incr),
                }
            })
            .collect()
    }

    /// A generation of `cores` incremental files (and bases when `bases`),
    /// named after `appendfilename`.
    pub fn new_generation(appendfilename: &str, seq: u64, cores: usize, bases: bool) -> Manifest {
        let mut m = Manifest::default();
        for c in 0..cores {
            if bases {
                m.files.push(FileEntry {
                    name: base_name(appendfilename, c, seq),
                    seq,
                    kind: Kind::Base,
                    core: c as u32,
                });
            }
        }
        for c in 0..cores {
            m.files.push(FileEntry {
                name: incr_name(appendfilename, c, seq),
                seq,
                kind: Kind::Incr,
                core: c as u32,
            });
        }
        m
    }

    /// Reads `dir/name`: `None` when there is no manifest.
    pub fn read(dir: &Path, name: &str) -> Result<Option<Manifest>, String> {
        let path = dir.join(name);
        match std::fs::metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "Can't stat the AOF manifest {}: {e}",
                    path.display()
                ))
            }
            Ok(md) if md.len() > MAX_SIZE as u64 => {
                return Err(format!("The AOF manifest {} is too large", path.display()))
            }
            Ok(_) => {}
        }
        let text = std::fs::read(&path)
            .map_err(|e| format!("Can't read the AOF manifest {}: {e}", path.display()))?;
        Manifest::parse(&text)
            .map(Some)
            .map_err(|e| format!("{e} ({})", path.display()))
    }

    /// Replaces `dir/name` with this manifest atomically: temporary file,
    /// fsync, rename, fsync of the directory.
    pub fn write_atomic(&self, dir: &Path, name: &str) -> std::io::Result<()> {
        write_atomic(dir, name, self.render().as_bytes())
    }
}

/// Replaces `dir/name` with `data`: written to `dir/temp-name`, fsynced,
/// renamed over `name`, then the directory is fsynced so the rename lasts.
pub fn write_atomic(dir: &Path, name: &str, data: &[u8]) -> std::io::Result<()> {
    let tmp = dir.join(format!("temp-{name}"));
    let dst = dir.join(name);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    if let Err(e) = std::fs::rename(&tmp, &dst) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    fsync_dir(dir)
}

/// Makes a directory's entries (created, renamed, removed files) durable.
pub fn fsync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut m = Manifest::new_generation("appendonly.aof", 3, 2, true);
        m.files
            .extend(Manifest::new_generation("appendonly.aof", 4, 3, false).files);
        let text = m.render();
        assert!(text.starts_with("file appendonly.aof.0.3.base.aof seq 3 type b core 0\n"));
        assert_eq!(Manifest::parse(text.as_bytes()).unwrap(), m);
        let g = m.generations();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].seq, 3);
        assert_eq!(g[0].bases.len(), 2);
        assert_eq!(g[0].incrs.len(), 2);
        assert_eq!(
            g[1].incrs.iter().map(|f| f.core).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert_eq!(m.last_seq(), Some(4));
    }

    #[test]
    fn keys_in_any_order_comments_and_crlf() {
        let m = Manifest::parse(
            b"# hello\r\n\r\ncore 1 type i seq 2 file a.aof\r\nfile b.aof seq 1 type b core 0\n",
        )
        .unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(m.files[0].core, 1);
        assert_eq!(m.files[0].kind, Kind::Incr);
        assert_eq!(m.generations()[0].seq, 1);
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        let bad: &[(&[u8], &str)] = &[
            (b"file a seq 1 type i\n", "needs file, seq, type and core"),
            (b"file a seq 1 type x core 0\n", "invalid type"),
            (b"file a seq 0 type i core 0\n", "invalid seq"),
            (b"file a seq -1 type i core 0\n", "invalid seq"),
            (b"file a seq 1 type i core 70000\n", "invalid core"),
            (b"file ../a seq 1 type i core 0\n", "invalid file name"),
            (b"file a seq 1 type i core 0 color red\n", "unknown key"),
            (b"file a seq 1 type i core\n", "odd number"),
            (b"file a seq 1 seq 2 type i core 0\n", "twice"),
            (
                b"file a seq 1 type i core 0\nfile a seq 2 type i core 0\n",
                "listed twice",
            ),
            (
                b"file a seq 1 type i core 0\nfile b seq 1 type i core 0\n",
                "two files",
            ),
            (b"\xff\n", "UTF-8"),
        ];
        for (text, want) in bad {
            let e = Manifest::parse(text).unwrap_err();
            assert!(e.to_string().contains(want), "{e} for {text:?}");
        }
        let e = Manifest::parse(b"\nfile a seq 1 type q core 0\n").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn fuzzed_bytes_never_panic() {
        let good = Manifest::new_generation("appendonly.aof", 7, 4, true).render();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut b = good.clone().into_bytes();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % b.len();
                match next() % 3 {
                    0 => b[i] = next() as u8,
                    1 => {
                        b.remove(i);
                    }
                    _ => b.truncate(i),
                }
                if b.is_empty() {
                    break;
                }
            }
            let _ = Manifest::parse(&b);
        }
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("shardis-manifest-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = Manifest::new_generation("x.aof", 1, 1, false);
        m.write_atomic(&dir, "x.aof.manifest").unwrap();
        let m2 = Manifest::new_generation("x.aof", 2, 2, true);
        m2.write_atomic(&dir, "x.aof.manifest").unwrap();
        assert_eq!(Manifest::read(&dir, "x.aof.manifest").unwrap(), Some(m2));
        assert!(!dir.join("temp-x.aof.manifest").exists());
        assert_eq!(Manifest::read(&dir, "missing.manifest").unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
