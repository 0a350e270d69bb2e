//! The in-memory index over one million demo observations: hexagon queries
//! for the whole municipality, hot-spot analyses, and building the index.
//!
//! Run: `cargo bench --bench index`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use h3o::Resolution;
use time::macros::{date, datetime};
use trygg::analysis::overlay::Overlay;
use trygg::analysis::{
    AreaInput, CubeSettings, RegionCellCache, Standardisation, analyse_area, emerging_in,
    hot_spots_in, region_cells,
};
use trygg::index::{Filter, HourSet, IndexEntry, ObservationIndex};
use trygg::model::{Kind, Period, PeriodKind, Region, Taxonomy};
use trygg::privacy::Disclosure;
use trygg::tiles::{TileId, layers, resolution_for_zoom};

fn entries() -> Vec<IndexEntry> {
    let data = trygg::demo::generate(1, 1_000_000, date!(2026 - 11 - 01), &Taxonomy::builtin());
    data.observations
        .iter()
        .enumerate()
        .map(|(i, o)| IndexEntry::from_observation(i64::try_from(i).unwrap() + 1, o))
        .collect()
}

fn hexagons(c: &mut Criterion) {
    let entries = entries();
    let mut index = ObservationIndex::from_entries(entries.clone());
    index.set_areas(&trygg::demo::areas());
    let last_year = Filter {
        from: Some(datetime!(2025-11-01 0:00 UTC).unix_timestamp()),
        to: Some(datetime!(2026-11-01 0:00 UTC).unix_timestamp()),
        ..Filter::default()
    };
    let mut g = c.benchmark_group("hexagons_1m");
    g.bench_function("res9_time_filter", |b| {
        b.iter(|| black_box(index.hexagon_counts(Resolution::Nine, black_box(&last_year))));
    });
    g.bench_function("res9_all", |b| {
        b.iter(|| black_box(index.hexagon_counts(Resolution::Nine, &Filter::default())));
    });
    let evening_reports = Filter {
        kinds: vec![Kind::Insecurity],
        hours: Some(HourSet::parse("18-6").unwrap()),
        ..last_year.clone()
    };
    g.bench_function("res9_kind_hours_time", |b| {
        b.iter(|| black_box(index.hexagon_counts(Resolution::Nine, &evening_reports)));
    });
    let hovsjo = Filter {
        area: Some("hovsjo".into()),
        ..last_year.clone()
    };
    g.bench_function("res11_area_time", |b| {
        b.iter(|| black_box(index.hexagon_counts(Resolution::Eleven, &hovsjo)));
    });
    g.bench_function("nearby_50m", |b| {
        b.iter(|| black_box(index.nearby(17.6267, 59.1917, 50.0, &Filter::default(), 20)));
    });
    g.finish();

    analyses(c, &index, &last_year);
    tiles(c, &index);

    let mut g = c.benchmark_group("index_build_1m");
    g.sample_size(10);
    g.bench_function("from_entries", |b| {
        b.iter(|| black_box(ObservationIndex::from_entries(entries.clone())));
    });
    g.finish();
}

/// Hot spots, emerging hot spots, an area analysis and the tile overlay.
fn analyses(c: &mut Criterion, index: &ObservationIndex, last_year: &Filter) {
    let mut g = c.benchmark_group("analysis_1m");
    let r = Region::sodertalje();
    let municipality = geo::MultiPolygon::new(vec![
        geo::Rect::new((r.west, r.south), (r.east, r.north)).to_polygon(),
    ]);
    let res10 = region_cells(&municipality, Resolution::Ten, 1_000_000).unwrap();
    println!("{} resolution-10 cells in the served region", res10.len());
    g.bench_function("gi_star_res10_region_cells", |b| {
        b.iter(|| black_box(region_cells(&municipality, Resolution::Ten, 1_000_000)));
    });
    g.bench_function("gi_star_res10_last_year", |b| {
        b.iter(|| {
            black_box(hot_spots_in(
                index,
                &res10,
                Resolution::Ten,
                last_year,
                1,
                Disclosure::Exact,
            ))
        });
    });
    let areas = trygg::demo::areas();
    let hovsjo = areas.iter().find(|a| a.id == "hovsjo").unwrap();
    let plan: Vec<_> = trygg::demo::action_plan()
        .into_iter()
        .filter(|a| a.area.as_deref() == Some("hovsjo"))
        .collect();
    let input = AreaInput {
        area: hovsjo,
        period: "2026-Q3".parse().unwrap(),
        base: Filter::default(),
        region: r,
        findings: &[],
        actions: &plan,
        now: datetime!(2026-11-01 0:00 UTC),
    };
    g.bench_function("area_analysis_hovsjo_quarter", |b| {
        b.iter(|| black_box(analyse_area(index, &input)));
    });
    let incidents = Taxonomy::builtin().incident_codes();
    let cells_cache = RegionCellCache::default();
    g.bench_function("tile_overlay_res9_24_months", |b| {
        b.iter(|| {
            black_box(Overlay::compute(
                index,
                &cells_cache,
                &municipality,
                Resolution::Nine,
                &Filter::default(),
                &incidents,
                datetime!(2026-11-01 0:00 UTC),
                Disclosure::Exact,
            ))
        });
    });
    let res9 = region_cells(&municipality, Resolution::Nine, 1_000_000).unwrap();
    let end = Period::containing(PeriodKind::Month, date!(2026 - 10 - 01));
    let mut bounds: Vec<i64> = (0..24)
        .map(|i| end.offset(i - 23).unix_bounds().0)
        .collect();
    bounds.push(end.unix_bounds().1);
    g.sample_size(10);
    g.bench_function("emerging_res9_24_months", |b| {
        b.iter(|| {
            black_box(emerging_in(
                index,
                &res9,
                Resolution::Nine,
                &Filter::default(),
                &bounds,
                &CubeSettings {
                    k: 1,
                    alpha: 0.05,
                    standardisation: Standardisation::Cube,
                },
                Disclosure::Exact,
            ))
        });
    });
    g.finish();
}

/// Hexagon tiles over the town, counted, built and encoded.
fn tiles(c: &mut Criterion, index: &ObservationIndex) {
    // The benchmark script's tile list (`benches/tiles.sh`): at each zoom
    // 9–16 the tiles over the town, at most 14 × 14; anonymous, with the
    // script's time filter.
    let tiles = town_tiles();
    let since = Filter {
        from: Some(datetime!(2025-11-01 0:00 UTC).unix_timestamp()),
        ..Filter::default()
    };
    let public = Disclosure::Rounded { k: 5 };
    let mut g = c.benchmark_group("tiles_1m");
    g.sample_size(10);
    g.bench_function("hexagon_counts_497_tiles", |b| {
        b.iter(|| {
            for &t in &tiles {
                let [west, south, east, north] = t.bounds();
                let area = Region {
                    west,
                    south,
                    east,
                    north,
                };
                black_box(index.hexagon_counts_touching(resolution_for_zoom(t.z), &since, area));
            }
        });
    });
    g.bench_function("hexagon_tiles_497_encoded", |b| {
        b.iter(|| {
            for &t in &tiles {
                let res = resolution_for_zoom(t.z);
                black_box(layers::hexagon_tile(index, t, res, &since, public, None));
            }
        });
    });
    g.finish();
}

/// The tiles of `benches/tiles.sh`.
fn town_tiles() -> Vec<TileId> {
    let mut tiles = Vec::new();
    for z in 9..=16u8 {
        let (nw, se) = (
            TileId::containing(17.55, 59.23, z),
            TileId::containing(17.70, 59.15, z),
        );
        let (mut x0, mut x1, mut y0, mut y1) = (nw.x, se.x, nw.y, se.y);
        let (cx, cy) = (u32::midpoint(x0, x1), u32::midpoint(y0, y1));
        if x1 - x0 > 13 {
            (x0, x1) = (cx - 7, cx + 6);
        }
        if y1 - y0 > 13 {
            (y0, y1) = (cy - 7, cy + 6);
        }
        for x in x0..=x1 {
            for y in y0..=y1 {
                tiles.push(TileId { z, x, y });
            }
        }
    }
    tiles
}

criterion_group!(benches, hexagons);
criterion_main!(benches);
