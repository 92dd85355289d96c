//! Uploaded documents: metadata rows in the database, bytes in a content-addressed blob
//! store behind one interface ([`BlobStore`]) with a local-directory default, so that
//! production can put the bytes in object storage.
//!
//! The bytes are written before the row: a crash in between leaves at most an unreferenced
//! blob, never a row without its file. A blob is never overwritten: the same content is
//! stored once under its SHA-256, and every read checks the digest again.

use std::fmt::Debug;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::document::{check_file, clean_file_name, MediaType};

use crate::db::query::fetch_one_by_id;
use crate::registry::fetch_person;
use crate::{Store, StoreError, WriteTx};

/// Where document bytes live, addressed by their lower-case hex SHA-256.
pub trait BlobStore: Send + Sync + Debug {
    /// Stores `bytes` under `sha256` unless already there. Never replaces stored bytes.
    fn put(&self, sha256: &str, bytes: &[u8]) -> io::Result<()>;
    /// The bytes stored under `sha256`.
    fn get(&self, sha256: &str) -> io::Result<Vec<u8>>;
}

/// Blobs as files under a directory: `root/ab/abcdef…` (the first two hex digits fan out).
#[derive(Debug, Clone)]
pub struct LocalBlobs {
    root: PathBuf,
}

impl LocalBlobs {
    pub fn new(root: impl Into<PathBuf>) -> LocalBlobs {
        LocalBlobs { root: root.into() }
    }

    fn path(&self, sha256: &str) -> io::Result<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("not a SHA-256: {sha256:?}")));
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

impl BlobStore for LocalBlobs {
    fn put(&self, sha256: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path(sha256)?;
        if path.exists() {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let mut suffix = [0u8; 8];
        rand::thread_rng().fill_bytes(&mut suffix);
        let tmp = dir.join(format!(".{sha256}.{}.tmp", hex::encode(suffix)));
        std::fs::write(&tmp, bytes)?;
        std::fs::File::open(&tmp)?.sync_all()?;
        // A hard link fails if the name exists, so a blob is never replaced, even by a
        // concurrent upload of the same bytes.
        let linked = std::fs::hard_link(&tmp, &path);
        std::fs::remove_file(&tmp)?;
        match linked {
            Ok(()) => sync_dir(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn get(&self, sha256: &str) -> io::Result<Vec<u8>> {
        let bytes = std::fs::read(self.path(sha256)?)?;
        if hex::encode(Sha256::digest(&bytes)) != sha256 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, format!("blob {sha256} does not match its digest")));
        }
        Ok(bytes)
    }
}

/// An uploaded document's record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub id: i64,
    /// Whose affair it belongs to: only they and the staff who may see them can read it.
    pub person_id: i64,
    pub sha256: String,
    pub media_type: MediaType,
    pub size: i64,
    pub file_name: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

const DOCUMENT_COLS: &str = "id, person_id, sha256, media_type, size, file_name, uploaded_by, uploaded_at";

fn document_from_row(r: &AnyRow) -> Result<Document, StoreError> {
    let media: String = r.try_get(3)?;
    Ok(Document {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        sha256: r.try_get(2)?,
        media_type: MediaType::parse(&media).ok_or_else(|| StoreError::Corrupt(format!("media_type {media:?}")))?,
        size: r.try_get(4)?,
        file_name: r.try_get(5)?,
        uploaded_by: r.try_get(6)?,
        uploaded_at: r.try_get(7)?,
    })
}

impl Store {
    /// Checks an upload by its content, stores its bytes, and records it for `person_id`
    /// in the write transaction (with an audit entry).
    pub async fn save_document(
        &self,
        w: &mut WriteTx,
        blobs: &Arc<dyn BlobStore>,
        person_id: i64,
        file_name: &str,
        bytes: Vec<u8>,
    ) -> Result<Document, StoreError> {
        let checked = check_file(&bytes)?;
        fetch_person(&mut *w.tx, person_id).await?;
        let (store, sha) = (Arc::clone(blobs), checked.sha256.clone());
        tokio::task::spawn_blocking(move || store.put(&sha, &bytes))
            .await
            .map_err(|e| StoreError::Blob(io::Error::other(e.to_string())))??;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO documents (person_id, sha256, media_type, size, file_name, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(person_id)
        .bind(checked.sha256.clone())
        .bind(checked.media_type.mime())
        .bind(i64::try_from(checked.size).unwrap_or(i64::MAX))
        .bind(clean_file_name(file_name))
        .bind(w.actor().label.clone())
        .bind(w.at().to_string())
        .fetch_one(&mut *w.tx)
        .await?;
        let doc = self.document_in(w, id).await?;
        w.record::<(), _>("document.upload", "document", &id.to_string(), None, Some(&doc)).await?;
        Ok(doc)
    }

    pub(crate) async fn document_in(&self, w: &mut WriteTx, id: i64) -> Result<Document, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLS} FROM documents WHERE id = $1");
        fetch_one_by_id(&mut *w.tx, &sql, id, "document", document_from_row).await
    }

    pub async fn document(&self, id: i64) -> Result<Document, StoreError> {
        let sql = format!("SELECT {DOCUMENT_COLS} FROM documents WHERE id = $1");
        fetch_one_by_id(&self.db.pool, &sql, id, "document", document_from_row).await
    }

    /// A document's bytes, checked against its digest.
    pub async fn document_bytes(&self, blobs: &Arc<dyn BlobStore>, doc: &Document) -> Result<Vec<u8>, StoreError> {
        let (store, sha) = (Arc::clone(blobs), doc.sha256.clone());
        Ok(tokio::task::spawn_blocking(move || store.get(&sha))
            .await
            .map_err(|e| StoreError::Blob(io::Error::other(e.to_string())))??)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn local_blobs_are_content_addressed_and_never_replaced() {
        let dir = std::env::temp_dir().join(format!("yibao-blobs-{}", std::process::id()));
        let blobs = LocalBlobs::new(&dir);
        let bytes = b"%PDF-1.7 one".to_vec();
        let sha = hex::encode(Sha256::digest(&bytes));
        blobs.put(&sha, &bytes).unwrap();
        // A second put under the same name (even with other bytes) leaves the first.
        blobs.put(&sha, b"other").unwrap();
        assert_eq!(blobs.get(&sha).unwrap(), bytes);
        // A file changed on disk is detected on read; a bad name is refused.
        std::fs::write(dir.join(&sha[..2]).join(&sha), b"tampered").unwrap();
        assert_eq!(blobs.get(&sha).unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert_eq!(blobs.put("../../etc/passwd", b"x").unwrap_err().kind(), io::ErrorKind::InvalidInput);
        // No temporary files are left behind.
        let left: Vec<_> = std::fs::read_dir(dir.join(&sha[..2])).unwrap().collect();
        assert_eq!(left.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
