//! Files through the core's io_uring (glommio's buffered files): what the
//! append-only files are written and read with. Errors come back as plain
//! `std::io::Error`s carrying the OS error (ENOSPC, EIO, EFBIG ...), so
//! callers can report them as Redis does (`strerror`).

use glommio::io::{BufferedFile, OpenOptions};
use glommio::GlommioError;
use std::io;
use std::path::Path;

/// A file opened for appending at positions the caller tracks.
pub struct LogFile {
    f: BufferedFile,
}

fn os_err<T>(e: GlommioError<T>) -> io::Error {
    match e {
        GlommioError::IoError(e) => e,
        GlommioError::EnhancedIoError { source, .. } => match source.raw_os_error() {
            Some(code) => io::Error::from_raw_os_error(code),
            None => source,
        },
        other => other.into(),
    }
}

impl LogFile {
    /// Opens `path` for writing, creating it when missing (its contents
    /// are kept); returns the file and its size.
    pub async fn open(path: &Path) -> io::Result<(LogFile, u64)> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .buffered_open(path)
            .await
            .map_err(os_err)?;
        let size = f.file_size().await.map_err(os_err)?;
        Ok((LogFile { f }, size))
    }

    /// Creates `path` empty (truncating it when it exists).
    pub async fn create(path: &Path) -> io::Result<LogFile> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .buffered_open(path)
            .await
            .map_err(os_err)?;
        Ok(LogFile { f })
    }

    /// Opens `path` for reading.
    pub async fn open_read(path: &Path) -> io::Result<(LogFile, u64)> {
        let f = BufferedFile::open(path).await.map_err(os_err)?;
        let size = f.file_size().await.map_err(os_err)?;
        Ok((LogFile { f }, size))
    }

    /// Writes `data` at `pos`; the bytes written (fewer than asked when
    /// the device is full, for instance).
    pub async fn write_at(&self, data: &[u8], pos: u64) -> io::Result<usize> {
        self.f.write_at(data.to_vec(), pos).await.map_err(os_err)
    }

    /// Writes all of `data` at `pos`; on an error, how much was written
    /// before it.
    pub async fn write_all_at(&self, data: &[u8], pos: u64) -> Result<(), (usize, io::Error)> {
        let mut done = 0;
        while done < data.len() {
            match self.write_at(&data[done..], pos + done as u64).await {
                Ok(0) => {
                    return Err((done, io::Error::from_raw_os_error(libc::ENOSPC)));
                }
                Ok(n) => done += n,
                Err(e) => return Err((done, e)),
            }
        }
        Ok(())
    }

    /// [`LogFile::write_all_at`] as one pwrite(2) from this thread: for
    /// small appends to the page cache, where going through the ring costs
    /// a hand-off to a kernel worker thread (buffered writes cannot be
    /// issued without blocking) and back.
    pub fn write_all_at_now(&self, data: &[u8], pos: u64) -> Result<(), (usize, io::Error)> {
        use std::os::fd::AsRawFd;
        let fd = self.f.as_raw_fd();
        let mut done = 0;
        while done < data.len() {
            let rest = &data[done..];
            // SAFETY: `fd` is open for as long as `self`; `rest` is a valid
            // buffer of `rest.len()` bytes.
            let n = unsafe {
                libc::pwrite(
                    fd,
                    rest.as_ptr().cast(),
                    rest.len(),
                    (pos + done as u64) as libc::off_t,
                )
            };
            match n {
                0 => return Err((done, io::Error::from_raw_os_error(libc::ENOSPC))),
                n if n > 0 => done += n as usize,
                _ => {
                    let e = io::Error::last_os_error();
                    if e.kind() != io::ErrorKind::Interrupted {
                        return Err((done, e));
                    }
                }
            }
        }
        Ok(())
    }

    /// fdatasync(2) from this thread (blocking it until the data is
    /// durable).
    pub fn fdatasync_now(&self) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        // SAFETY: the descriptor is open for as long as `self`.
        if unsafe { libc::fdatasync(self.f.as_raw_fd()) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Reads up to `len` bytes at `pos` (fewer at the end of the file).
    pub async fn read_at(&self, pos: u64, len: usize) -> io::Result<Vec<u8>> {
        let r = self.f.read_at(pos, len).await.map_err(os_err)?;
        Ok(r.to_vec())
    }

    /// fdatasync(2) on the core's ring: the data written so far is durable.
    pub async fn fdatasync(&self) -> io::Result<()> {
        self.f.fdatasync().await.map_err(os_err)
    }

    pub async fn truncate(&self, size: u64) -> io::Result<()> {
        self.f.truncate(size).await.map_err(os_err)
    }

    pub async fn close(self) -> io::Result<()> {
        self.f.close().await.map_err(os_err)
    }
}
