//! Small value interner: maps repeated strings and ids to dense integers so
//! that index columns stay narrow.

use std::hash::Hash;

use rustc_hash::FxHashMap;

#[derive(Clone)]
pub(super) struct Interner<T> {
    ids: FxHashMap<T, u32>,
    values: Vec<T>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            ids: FxHashMap::default(),
            values: Vec::new(),
        }
    }
}

impl<T: Hash + Eq + Clone> Interner<T> {
    pub(super) fn intern(&mut self, value: T) -> u32 {
        if let Some(&id) = self.ids.get(&value) {
            return id;
        }
        let id = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.values.push(value.clone());
        self.ids.insert(value, id);
        id
    }

    /// The value interned as `id`.
    pub(super) fn name(&self, id: u32) -> Option<&T> {
        self.values.get(id as usize)
    }

    pub(super) fn get<Q>(&self, value: &Q) -> Option<u32>
    where
        T: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.ids.get(value).copied()
    }

    pub(super) fn len(&self) -> usize {
        self.values.len()
    }
}
