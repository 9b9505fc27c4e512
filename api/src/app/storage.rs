//! Where file bytes live: one object-store seam, fed by streams. A directory
//! on this machine by default; an S3-compatible store (for several instances)
//! implements the same trait later. Nothing here buffers a whole file: bytes
//! go through in chunks while their size and SHA-256 are counted.

use std::{
    future::Future,
    io,
    path::{Path, PathBuf},
    pin::Pin,
};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// What was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub key: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
}

/// A stream of bytes to store.
pub type ByteStream<'a> = Pin<Box<dyn AsyncRead + Send + 'a>>;

/// An object store.
pub trait ObjectStore: Send + Sync {
    /// Store `body` under `key`, chunk by chunk; the object appears whole or
    /// not at all (a failed or refused stream leaves nothing behind).
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: ByteStream<'a>,
    ) -> Pin<Box<dyn Future<Output = io::Result<Stored>> + Send + 'a>>;

    /// Forget `key` (its bytes are gone; a redaction relies on it).
    fn delete<'a>(
        &'a self,
        key: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>>;
}

/// Bytes read from a stream per step.
const CHUNK: usize = 64 * 1024;

/// Objects as files in one directory.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    root: PathBuf,
}

impl DirectoryStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirectoryStore { root: root.into() }
    }

    /// The file of `key`; keys are ours (ids), never a client's file name,
    /// but anything but `[A-Za-z0-9_-]` is refused all the same.
    fn path_of(&self, key: &str) -> io::Result<PathBuf> {
        if key.is_empty()
            || !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "bad object key",
            ));
        }
        Ok(self.root.join(key))
    }

    async fn write(&self, key: &str, mut body: ByteStream<'_>) -> io::Result<Stored> {
        let target = self.path_of(key)?;
        tokio::fs::create_dir_all(&self.root).await?;
        let partial = self.root.join(format!(".{key}.partial"));
        let result = async {
            let mut file = tokio::fs::File::create(&partial).await?;
            let mut hash = Sha256::new();
            let mut size = 0u64;
            let mut buf = vec![0u8; CHUNK];
            loop {
                let n = body.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                hash.update(&buf[..n]);
                size += n as u64;
                file.write_all(&buf[..n]).await?;
            }
            file.sync_all().await?;
            Ok::<_, io::Error>((size, hash.finalize()))
        }
        .await;
        match result {
            Ok((size, digest)) => {
                tokio::fs::rename(&partial, &target).await?;
                Ok(Stored {
                    key: key.to_owned(),
                    size,
                    sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
                })
            }
            Err(e) => {
                let _ = tokio::fs::remove_file(&partial).await;
                Err(e)
            }
        }
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl ObjectStore for DirectoryStore {
    fn put<'a>(
        &'a self,
        key: &'a str,
        body: ByteStream<'a>,
    ) -> Pin<Box<dyn Future<Output = io::Result<Stored>> + Send + 'a>> {
        Box::pin(self.write(key, body))
    }

    fn delete<'a>(
        &'a self,
        key: &'a str,
    ) -> Pin<Box<dyn Future<Output = io::Result<()>> + Send + 'a>> {
        Box::pin(async move {
            match tokio::fs::remove_file(self.path_of(key)?).await {
                Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
    }
}
