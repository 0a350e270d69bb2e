//! A bounded cache of encoded tiles, holding each tile both plain and
//! gzip-compressed so that a hit costs neither encoding nor compression.
//!
//! The cache owns its invalidation: whoever changes the data tells it where
//! ([`TileCache::changed`], [`TileCache::changed_everywhere`]), and keys
//! carry the tile's data stamp ([`TileCache::stamp`], see `tiles::stamps`):
//! a new observation changes the key of exactly the tiles it touches, and
//! the entries it leaves behind age out first-in, first-out within the
//! byte budget.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use bytes::Bytes;
use rustc_hash::FxHashMap;

use super::TileId;
use super::stamps::TileStamps;

/// What identifies a tile's content: the data version it was made from and
/// a hash of the request (tile, layer, filters, what the caller may see).
/// It stays inside the server: the validator a caller gets is a hash of the
/// bytes it gets ([`CachedTile::etag`]), which orders no writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileKey {
    pub data_version: u64,
    pub request: u64,
}

/// One encoded tile (both bodies `None` for an empty tile), with its `ETag`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedTile {
    pub plain: Option<Bytes>,
    pub gzip: Option<Bytes>,
    /// A quoted hash of the plain bytes: it changes exactly when they do.
    pub etag: String,
}

impl CachedTile {
    /// Keeps `plain` and, with `compress`, its gzip compression.
    pub fn new(plain: Option<Vec<u8>>, compress: bool) -> Self {
        let gzip = plain
            .as_ref()
            .filter(|_| compress)
            .and_then(|p| gzip(p))
            .map(Bytes::from);
        let etag = content_tag(plain.as_deref().unwrap_or_default());
        CachedTile {
            plain: plain.map(Bytes::from),
            gzip,
            etag,
        }
    }

    fn size(&self) -> usize {
        self.plain.as_ref().map_or(0, Bytes::len) + self.gzip.as_ref().map_or(0, Bytes::len) + 96
    }
}

/// A strong validator from the content alone: 128 bits of its SHA-256.
fn content_tag(bytes: &[u8]) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(bytes);
    let mut tag = String::with_capacity(34);
    tag.push('"');
    for b in &digest[..16] {
        use std::fmt::Write;
        let _ = write!(tag, "{b:02x}");
    }
    tag.push('"');
    tag
}

/// gzip at libdeflate's fastest level: whole-buffer compression with no
/// stream state to set up, which for a tile of a few KiB costs a fraction of
/// a streaming zlib (tiles are small and compress well at any level).
fn gzip(plain: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static COMPRESSOR: std::cell::RefCell<libdeflater::Compressor> =
            std::cell::RefCell::new(libdeflater::Compressor::new(libdeflater::CompressionLvl::new(1).unwrap_or_default()));
    }
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        let mut out = vec![0; c.gzip_compress_bound(plain.len())];
        let n = c.gzip_compress(plain, &mut out).ok()?;
        out.truncate(n);
        Some(out)
    })
}

#[derive(Default)]
struct Inner {
    map: FxHashMap<TileKey, Arc<CachedTile>>,
    order: VecDeque<TileKey>,
    bytes: usize,
}

/// The cache; `max_bytes` 0 turns it off.
pub struct TileCache {
    inner: Mutex<Inner>,
    max_bytes: usize,
    /// The data version at which each tile last changed.
    stamps: RwLock<TileStamps>,
}

impl TileCache {
    pub fn new(max_bytes: usize) -> Self {
        TileCache {
            inner: Mutex::default(),
            max_bytes,
            stamps: RwLock::default(),
        }
    }

    /// Records that observations at these points (longitude, latitude,
    /// WGS 84) changed at data `version`: the tiles around them get new keys.
    ///
    /// Call it after the data holds the change, never before: a tile made
    /// from older data must not be cached under the new stamp.
    pub fn changed(&self, points: impl IntoIterator<Item = (f64, f64)>, version: u64) {
        // A cache that keeps nothing needs no stamps.
        if self.is_enabled() {
            let mut stamps = self.stamps.write().unwrap_or_else(PoisonError::into_inner);
            for (lon, lat) in points {
                stamps.touch(lon, lat, version);
            }
        }
    }

    /// Records that anything may have changed at data `version` (a batch
    /// taken in bulk, new areas): every tile gets a new key.
    pub fn changed_everywhere(&self, version: u64) {
        if self.is_enabled() {
            self.stamps
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .touch_all(version);
        }
    }

    /// The data version at which `tile` last changed, for its key; `None`
    /// past [`super::STAMPED_ZOOM`], where the caller keys by every change.
    pub fn stamp(&self, tile: TileId) -> Option<u64> {
        self.stamps
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .stamp(tile)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_enabled(&self) -> bool {
        self.max_bytes > 0
    }

    pub fn get(&self, key: TileKey) -> Option<Arc<CachedTile>> {
        self.lock().map.get(&key).cloned()
    }

    /// Stores a tile, dropping the oldest entries beyond the budget.
    pub fn put(&self, key: TileKey, tile: CachedTile) -> Arc<CachedTile> {
        let tile = Arc::new(tile);
        let size = tile.size();
        if size > self.max_bytes {
            return tile;
        }
        let mut inner = self.lock();
        if let Some(old) = inner.map.insert(key, Arc::clone(&tile)) {
            inner.bytes -= old.size();
        } else {
            inner.order.push_back(key);
        }
        inner.bytes += size;
        while inner.bytes > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.map.remove(&oldest) {
                inner.bytes -= old.size();
            }
        }
        tile
    }

    /// Entries and bytes held.
    pub fn usage(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.map.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_its_budget_oldest_out_first() {
        let cache = TileCache::new(3 * (1000 + 96) + 200);
        let key = |i: u8| TileKey {
            data_version: 1,
            request: u64::from(i),
        };
        let tile = |b: u8| CachedTile::new(Some(vec![b; 1000]), false);
        for i in 0..5u8 {
            cache.put(key(i), tile(i));
        }
        assert!(cache.get(key(0)).is_none() && cache.get(key(1)).is_none());
        assert_eq!(cache.get(key(4)).unwrap().plain.as_ref().unwrap()[0], 4);
        let (entries, bytes) = cache.usage();
        assert_eq!(entries, 3);
        assert!(bytes <= 3 * (1000 + 96) + 200);
    }

    #[test]
    fn gzip_round_trips_and_the_tag_follows_the_bytes_alone() {
        use std::io::Read as _;
        let t = CachedTile::new(Some(b"tile bytes tile bytes tile bytes".to_vec()), true);
        assert_eq!(t.etag.len(), 34);
        assert!(t.etag.starts_with('"') && t.etag.ends_with('"'));
        let same = CachedTile::new(Some(b"tile bytes tile bytes tile bytes".to_vec()), false);
        assert_eq!(same.etag, t.etag);
        let other = CachedTile::new(Some(b"tile bytes tile bytes tile bytez".to_vec()), true);
        assert_ne!(other.etag, t.etag);
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&t.gzip.unwrap()[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"tile bytes tile bytes tile bytes");
        let empty = CachedTile::new(None, true);
        assert!(empty.plain.is_none() && empty.gzip.is_none());
    }

    #[test]
    fn a_change_re_keys_the_tiles_around_it() {
        let cache = TileCache::new(1 << 20);
        let (here, far) = (
            TileId::containing(17.6267, 59.1917, 14),
            TileId::containing(17.40, 59.05, 14),
        );
        assert_eq!(cache.stamp(here), Some(0));
        cache.changed([(17.6267, 59.1917)], 5);
        assert_eq!((cache.stamp(here), cache.stamp(far)), (Some(5), Some(0)));
        cache.changed_everywhere(6);
        assert_eq!((cache.stamp(here), cache.stamp(far)), (Some(6), Some(6)));
        // A cache that keeps nothing keeps no stamps either.
        let off = TileCache::new(0);
        off.changed([(17.6267, 59.1917)], 5);
        assert_eq!(off.stamp(here), Some(0));
    }
}
