//! An in-memory "disk" of any size that stores only the blocks written to it,
//! so the real `gpt` crate can lay out a 16 TiB table without a device.

use std::collections::HashMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

const CHUNK: u64 = 4096;

/// A sparse, zero-filled virtual block device.
#[derive(Debug)]
pub struct SparseDevice {
    len: u64,
    pos: u64,
    chunks: HashMap<u64, Box<[u8; CHUNK as usize]>>,
}

impl SparseDevice {
    /// A device of `len` bytes, all zero.
    pub fn new(len: u64) -> Self {
        SparseDevice {
            len,
            pos: 0,
            chunks: HashMap::new(),
        }
    }

    /// Bytes `[offset, offset+n)`, zeros where nothing was written.
    pub fn read_at(&self, offset: u64, n: usize) -> Vec<u8> {
        let mut out = vec![0u8; n];
        for (i, b) in out.iter_mut().enumerate() {
            let at = offset + i as u64;
            if let Some(c) = self.chunks.get(&(at / CHUNK)) {
                *b = c[(at % CHUNK) as usize];
            }
        }
        out
    }
}

impl Read for SparseDevice {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.len.saturating_sub(self.pos) as usize);
        let data = self.read_at(self.pos, n);
        buf[..n].copy_from_slice(&data);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Write for SparseDevice {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pos + buf.len() as u64 > self.len {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "write past the end of the device",
            ));
        }
        for (i, b) in buf.iter().enumerate() {
            let at = self.pos + i as u64;
            let c = self
                .chunks
                .entry(at / CHUNK)
                .or_insert_with(|| Box::new([0u8; CHUNK as usize]));
            c[(at % CHUNK) as usize] = *b;
        }
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Seek for SparseDevice {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(o) => Some(o),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_writes_and_zeros() {
        let mut d = SparseDevice::new(1 << 40);
        d.seek(SeekFrom::Start((1 << 40) - 3)).unwrap();
        d.write_all(b"abc").unwrap();
        assert!(d.write(b"x").is_err());
        assert_eq!(d.read_at((1 << 40) - 4, 4), b"\0abc");
        assert_eq!(d.seek(SeekFrom::End(0)).unwrap(), 1 << 40);
    }
}
