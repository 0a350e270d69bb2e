//! The analysis results the hexagon tiles carry per cell: the Gi* hot-spot
//! bin, the emerging-hot-spot category and the perception gap, computed
//! once per resolution, filter and data version for the whole study region
//! and shared by every tile drawn from it.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use h3o::{CellIndex, Resolution};
use rustc_hash::FxHashMap;

use super::emerging::{CubeSettings, Pattern, emerging_in};
use super::gi_star::Standardisation;
use super::hotspots::{RegionCellCache, hot_spots_in};
use super::perception::{Gap, perception_in};
use crate::index::{Filter, ObservationIndex};
use crate::model::{Period, PeriodKind};
use crate::privacy::Disclosure;

/// Most cells of a study region that get hot-spot bins (all of the
/// municipality at resolution 10).
const MAX_REGION_CELLS: usize = 250_000;
/// Most cells × months of the emerging-hot-spot cube behind the tiles.
const MAX_CUBE: usize = 4_000_000;
/// Months of the trend when the filter does not say.
const TREND_MONTHS: i32 = 24;

/// One cell's flags; `None` where the analysis does not reach.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellFlags {
    pub bin: Option<i8>,
    pub trend: Option<Pattern>,
    pub gap: Option<Gap>,
}

/// Flags for the cells of one resolution and filter.
#[derive(Debug, Default)]
pub struct Overlay {
    flags: FxHashMap<CellIndex, CellFlags>,
}

impl Overlay {
    pub fn get(&self, cell: CellIndex) -> CellFlags {
        self.flags.get(&cell).copied().unwrap_or_default()
    }

    /// Computes every flag. The study region is the filter's area, else
    /// `region`; hot spots use the filter as it is, the trend the months
    /// from `filter.from` to `filter.to` (default: the 24 before `now`),
    /// the gap the filter's place and time only — each from the counts as
    /// `d` shows them, so that a flag tells a caller nothing the shown
    /// counts do not.
    #[expect(
        clippy::too_many_arguments,
        reason = "the overlay's inputs, each used once"
    )]
    pub fn compute(
        index: &ObservationIndex,
        cells: &RegionCellCache,
        region: &geo::MultiPolygon<f64>,
        res: Resolution,
        filter: &Filter,
        incident_codes: &[String],
        now: time::OffsetDateTime,
        d: Disclosure,
    ) -> Overlay {
        let mut flags: FxHashMap<CellIndex, CellFlags> = FxHashMap::default();
        let region = filter
            .area
            .as_deref()
            .and_then(|id| {
                index
                    .areas()
                    .find(|(a, _, _)| *a == id)
                    .map(|(_, _, g)| g.clone())
            })
            .unwrap_or_else(|| region.clone());
        if let Ok(study) = cells.cells(&region, res, MAX_REGION_CELLS) {
            for h in hot_spots_in(index, &study, res, filter, 1, d) {
                flags.entry(h.cell).or_default().bin = Some(h.bin);
            }
            let end = filter.to.map_or_else(
                || Period::containing_instant(PeriodKind::Month, now).offset(-1),
                |to| {
                    let t = time::OffsetDateTime::from_unix_timestamp(to - 1).unwrap_or(now);
                    Period::containing_instant(PeriodKind::Month, t)
                },
            );
            let start = filter
                .from
                .and_then(|f| time::OffsetDateTime::from_unix_timestamp(f).ok())
                .map_or(end.offset(1 - TREND_MONTHS), |t| {
                    Period::containing_instant(PeriodKind::Month, t)
                });
            let months = start.periods_until(end) + 1;
            let fits = usize::try_from(months)
                .is_ok_and(|m| m >= 2 && study.len().saturating_mul(m) <= MAX_CUBE);
            if fits {
                let mut bounds: Vec<i64> = (0..months)
                    .map(|i| start.offset(i).unix_bounds().0)
                    .collect();
                bounds.push(end.unix_bounds().1);
                let trend_filter = Filter {
                    from: bounds.first().copied(),
                    to: bounds.last().copied(),
                    ..filter.clone()
                };
                let settings = CubeSettings {
                    k: 1,
                    alpha: 0.05,
                    standardisation: Standardisation::Cube,
                };
                for s in emerging_in(index, &study, res, &trend_filter, &bounds, &settings, d) {
                    flags.entry(s.cell).or_default().trend = Some(s.pattern);
                }
            }
        }
        let place_and_time = Filter {
            kinds: Vec::new(),
            categories: Vec::new(),
            ..filter.clone()
        };
        for c in perception_in(index, res, &place_and_time, incident_codes, 5, d) {
            flags.entry(c.cell).or_default().gap = Some(c.gap);
        }
        Overlay { flags }
    }
}

/// Recently computed overlays, keyed by resolution, filter and data version.
#[derive(Default)]
pub struct OverlayCache {
    entries: Mutex<FxHashMap<String, Arc<OnceLock<Arc<Overlay>>>>>,
}

/// Overlays kept before the cache starts over.
const CACHED_OVERLAYS: usize = 32;

impl OverlayCache {
    /// Claims the making of the overlay for `key`: `true` for the first
    /// caller, who makes it; later callers wait for that one.
    pub fn claim(&self, key: &str) -> bool {
        let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if map.contains_key(key) {
            return false;
        }
        if map.len() >= CACHED_OVERLAYS {
            map.clear();
        }
        map.insert(key.to_owned(), Arc::default());
        true
    }

    /// Gives up a claim that will not be made (no slot for it).
    pub fn forget(&self, key: &str) {
        let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(key).is_some_and(|slot| slot.get().is_none()) {
            map.remove(key);
        }
    }

    /// The overlay for `key`, computed by `make` the first time (concurrent
    /// callers with the same key wait for that one computation).
    pub fn get_or_compute(&self, key: String, make: impl FnOnce() -> Overlay) -> Arc<Overlay> {
        let slot = {
            let mut map = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= CACHED_OVERLAYS && !map.contains_key(&key) {
                map.clear();
            }
            Arc::clone(map.entry(key).or_default())
        };
        Arc::clone(slot.get_or_init(|| Arc::new(make())))
    }
}
