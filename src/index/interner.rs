//! Small value interner: maps repeated strings and ids to dense integers so
//! that index columns stay narrow.

use std::hash::Hash;

use rustc_hash::FxHashMap;

pub(super) struct Interner<T> {
    ids: FxHashMap<T, u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            ids: FxHashMap::default(),
        }
    }
}

impl<T: Hash + Eq> Interner<T> {
    pub(super) fn intern(&mut self, value: T) -> u32 {
        let next = u32::try_from(self.ids.len()).expect("fewer than 2^32 distinct values");
        *self.ids.entry(value).or_insert(next)
    }

    pub(super) fn get<Q>(&self, value: &Q) -> Option<u32>
    where
        T: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ids.get(value).copied()
    }

    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }
}
