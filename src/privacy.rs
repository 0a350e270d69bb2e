//! What public (non-analyst) views may show of a count: the cell-key
//! method with rounding to base k.
//!
//! This is the one rule for every value a caller other than an analyst can
//! see: counts as [`Disclosure::shown`] gives them (1..k−1 shown as 0, like
//! an empty cell; the rest rounded to base k); statistics derived from
//! counts (Gi*, emerging categories, perception scores, indicator trends)
//! computed from those shown counts; a cell's total, and each of its
//! months and categories, as the sum of its kinds as shown, and one
//! category at a time, so that parts of 1..k−1 asked for together add up
//! to nothing; spatial filters that select whole
//! cells (`index::ObservationIndex::hexagon_counts_whole_cells`), time
//! filters taken to whole months (`index::Filter::whole_months`) and times
//! of day limited to a few periods (`http::filters::PUBLIC_HOURS`), so that
//! no edge can be moved across one observation, nor a day or an hour at a
//! time to see when a count changes; cells no finer than
//! resolution 11; and tile validators that hash the bytes served.
//!
//! Hiding cells with 1..k−1 observations is not enough on its own: with exact
//! counts everywhere else, a small count falls out of a subtraction — a cell
//! minus the same cell filtered to one kind, a parent cell minus its
//! children, one period minus a period one day shorter. So every count a
//! public view shows passes through [`Disclosure::publish`]:
//!
//! - 0 is shown as 0; 1..k−1 is withheld (the cell or value is left out);
//! - n ≥ k is shown rounded to a multiple of k — down to k·⌊n/k⌋ or up to
//!   k·⌈n/k⌉, up with probability (n mod k)/k, so that sums of many rounded
//!   counts stay unbiased.
//!
//! Every shown count is a multiple of k, so every sum or difference of shown
//! counts is too: no arithmetic on public answers yields a value in 1..k−1.
//!
//! Whether a count is rounded up is decided by its *cell key* (the method
//! Statistics Sweden uses for its tables from 2025): every observation has a
//! fixed pseudo-random record key ([`record_key`]); a count's cell key is the
//! sum of its records' keys modulo 2³². The same set of observations
//! always gets the same key, however the question was put — asking the same
//! thing many ways and averaging gives nothing new — while sets differing by
//! one observation get unrelated keys.

use uuid::Uuid;

/// An observation's record key: its id, mixed (the `SplitMix64` finaliser) so
/// that keys are uniform over `u32` and unrelated for neighbouring ids.
pub fn record_key(id: &Uuid) -> u32 {
    let v = id.as_u128();
    #[expect(clippy::cast_possible_truncation, reason = "folding 128 bits to 64")]
    let mut z = (v as u64) ^ ((v >> 64) as u64).rotate_left(29);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    u32::try_from(z >> 32).unwrap_or_default()
}

/// A count and the cell key of the observations counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keyed {
    pub n: u32,
    pub key: u32,
}

impl Keyed {
    /// Counts one more observation with the given record key.
    #[inline]
    pub fn add(&mut self, record_key: u32) {
        self.n += 1;
        self.key = self.key.wrapping_add(record_key);
    }

    /// Adds another count of disjoint observations.
    #[inline]
    pub fn absorb(&mut self, other: Keyed) {
        self.n += other.n;
        self.key = self.key.wrapping_add(other.key);
    }
}

/// How counts are shown to one caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disclosure {
    /// Analysts: exact counts.
    Exact,
    /// Everyone else: small counts withheld, the rest rounded to base `k`.
    Rounded { k: u32 },
}

impl Disclosure {
    /// Exact for callers who read raw data, rounded to base `k` otherwise.
    pub fn for_caller(reads_raw: bool, k: u32) -> Self {
        if reads_raw {
            Disclosure::Exact
        } else {
            Disclosure::Rounded { k: k.max(1) }
        }
    }

    pub fn is_exact(self) -> bool {
        self == Disclosure::Exact
    }

    /// The smallest count shown (`k`), if counts are rounded.
    pub fn k(self) -> Option<u32> {
        match self {
            Disclosure::Exact => None,
            Disclosure::Rounded { k } => Some(k),
        }
    }

    /// Whether a count of `n` is withheld (1..k−1).
    pub fn withholds(self, n: u32) -> bool {
        self.k().is_some_and(|k| n > 0 && n < k)
    }

    /// The value a caller sees for a count: withheld counts (1..k−1) are
    /// shown as 0, exactly like an empty cell, so that nothing marks a
    /// cell as "a few here". Every public statistic is computed from these.
    pub fn shown(self, c: Keyed) -> u32 {
        self.publish(c).unwrap_or(0)
    }

    /// The value shown for a count, `None` when it is withheld.
    pub fn publish(self, c: Keyed) -> Option<u32> {
        let k = match self {
            Disclosure::Exact => return Some(c.n),
            Disclosure::Rounded { k } => k,
        };
        if self.withholds(c.n) {
            return None;
        }
        let (q, r) = (c.n / k, c.n % k);
        // Up with probability r/k: key/2³² < r/k.
        let up = u64::from(c.key) * u64::from(k) < u64::from(r) << 32;
        Some(k * (q + u32::from(up)))
    }
}

/// What a caller sees of a cell: its total and its split by kind, each
/// part shown on its own (a withheld part as 0). Every value is a multiple
/// of k, so the total minus the other parts cannot give 1..k−1 either.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShownCell {
    pub total: u32,
    pub by_kind: [u32; 3],
}

impl Disclosure {
    /// A cell with `total` observations split by kind; `None` when the cell
    /// shows nothing: left out like an empty cell. For the public the total
    /// is the sum of the kinds as shown, so that kinds asked for together
    /// show exactly what they show one by one — two kinds of 1..k−1 each
    /// cannot add up to a shown count.
    pub fn cell(self, total: Keyed, by_kind: [Keyed; 3]) -> Option<ShownCell> {
        let by_kind = by_kind.map(|c| self.shown(c));
        let total = if self.is_exact() {
            total.n
        } else {
            by_kind.iter().sum()
        };
        (total > 0).then_some(ShownCell { total, by_kind })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed(n: u32, key: u32) -> Keyed {
        Keyed { n, key }
    }

    #[test]
    fn small_counts_are_withheld_and_the_rest_are_multiples_of_k() {
        let d = Disclosure::Rounded { k: 5 };
        assert_eq!(d.publish(keyed(0, 123)), Some(0));
        for n in 1..5 {
            assert_eq!(d.publish(keyed(n, 0)), None, "{n}");
        }
        for n in 5..200 {
            for key in [0, 1 << 20, u32::MAX / 3, u32::MAX / 2, u32::MAX] {
                let shown = d.publish(keyed(n, key)).unwrap();
                assert_eq!(shown % 5, 0, "{n}");
                assert!(shown >= 5 && shown.abs_diff(n) < 5, "{n} → {shown}");
            }
        }
        assert_eq!(Disclosure::Exact.publish(keyed(3, 9)), Some(3));
        assert_eq!(
            Disclosure::for_caller(false, 1).publish(keyed(3, 9)),
            Some(3)
        );
    }

    #[test]
    fn rounding_is_unbiased_over_record_keys() {
        // 12 = 2·5 + 2: rounded up (to 15) for 2 keys in 5.
        let d = Disclosure::Rounded { k: 5 };
        let ids: Vec<Uuid> = (0..20_000u128).map(Uuid::from_u128).collect();
        let mut ups = 0;
        for chunk in ids.chunks(12).filter(|c| c.len() == 12) {
            let mut c = Keyed::default();
            for id in chunk {
                c.add(record_key(id));
            }
            if d.publish(c) == Some(15) {
                ups += 1;
            }
        }
        let share = f64::from(ups) / f64::from(20_000 / 12);
        assert!((share - 0.4).abs() < 0.04, "{share}");
    }

    #[test]
    fn the_same_observations_always_get_the_same_key() {
        let ids = [Uuid::from_u128(7), Uuid::from_u128(1 << 70), Uuid::now_v7()];
        let (mut a, mut b) = (Keyed::default(), Keyed::default());
        for id in &ids {
            a.add(record_key(id));
        }
        for id in ids.iter().rev() {
            b.add(record_key(id));
        }
        assert_eq!(a, b);
        // Neighbouring ids get unrelated keys.
        assert_ne!(
            record_key(&Uuid::from_u128(1)) >> 28,
            record_key(&Uuid::from_u128(2)) >> 28
        );
    }
}
