use h3o::{CellIndex, Resolution};
use proptest::prelude::*;
use time::macros::datetime;
use uuid::Uuid;

use super::*;
use crate::model::{AreaType, Kind};

fn entry(
    seq: i64,
    kind: Kind,
    lon: f64,
    lat: f64,
    t: time::OffsetDateTime,
    cat: &str,
) -> IndexEntry {
    IndexEntry {
        seq,
        id: Uuid::from_u128(u128::try_from(seq).unwrap()),
        kind,
        lon,
        lat,
        cell: base_cell(lon, lat).map(u64::from).unwrap(),
        observed_at: t.unix_timestamp(),
        category: cat.into(),
        walk_id: None,
        organisation: None,
    }
}

/// Reference cells computed with the H3 reference implementation
/// (Python `h3` 4.x, `latlng_to_cell`).
#[test]
fn known_points_land_in_known_cells() {
    let cases = [
        (
            17.626,
            59.196,
            "85088647fffffff",
            "89088645e97ffff",
            "8c088645e94a5ff",
        ),
        (
            17.587,
            59.1785,
            "85088647fffffff",
            "89088645033ffff",
            "8c08864503109ff",
        ),
        (
            0.0,
            0.0,
            "85754e67fffffff",
            "89754e64993ffff",
            "8c754e649929dff",
        ),
    ];
    for (lon, lat, r5, r9, r12) in cases {
        let idx = ObservationIndex::from_entries([entry(
            1,
            Kind::Insecurity,
            lon,
            lat,
            datetime!(2026-01-01 0:00 UTC),
            "x",
        )]);
        let cell_at = |res| {
            idx.hexagon_counts(res, &Filter::default())[0]
                .cell
                .to_string()
        };
        assert_eq!(cell_at(Resolution::Five), r5);
        assert_eq!(cell_at(Resolution::Nine), r9);
        assert_eq!(cell_at(Resolution::Twelve), r12);
    }
}

proptest! {
    #[test]
    fn ancestor_agrees_with_h3o(lon in 17.3f64..17.95, lat in 58.9f64..59.32, res in 5u8..=12) {
        let cell = base_cell(lon, lat).unwrap();
        let r = Resolution::try_from(res).unwrap();
        let expected = cell.parent(r).unwrap();
        prop_assert_eq!(hexagons::ancestor(u64::from(cell), res), u64::from(expected));
    }

    #[test]
    fn cell_counts_add_up_to_matching_observations(
        points in prop::collection::vec((17.3f64..17.95, 58.9f64..59.32, 0u8..3, 0i64..(2 * 365 * 86400)), 1..300),
        res in 5u8..=12,
    ) {
        let base = datetime!(2025-01-01 0:00 UTC);
        let entries: Vec<_> = points.iter().enumerate().map(|(i, (lon, lat, k, dt))| {
            entry(i64::try_from(i).unwrap() + 1, Kind::from_index(*k).unwrap(), *lon, *lat, base + time::Duration::seconds(*dt), "c")
        }).collect();
        let idx = ObservationIndex::from_entries(entries.clone());
        let r = Resolution::try_from(res).unwrap();
        let all = idx.hexagon_counts(r, &Filter::default());
        prop_assert_eq!(all.iter().map(|c| c.total as usize).sum::<usize>(), entries.len());
        for c in &all {
            prop_assert_eq!(c.by_kind.iter().sum::<u32>(), c.total);
            prop_assert_eq!(c.cell.resolution(), r);
        }
        // A time filter partitions the counts.
        let mid = (base + time::Duration::days(365)).unix_timestamp();
        let before = idx.hexagon_counts(r, &Filter { to: Some(mid), ..Filter::default() });
        let after = idx.hexagon_counts(r, &Filter { from: Some(mid), ..Filter::default() });
        let sum = |v: &[CellCount]| v.iter().map(|c| c.total as usize).sum::<usize>();
        prop_assert_eq!(sum(&before) + sum(&after), entries.len());
        prop_assert_eq!(sum(&before), entries.iter().filter(|e| e.observed_at < mid).count());
    }

    #[test]
    fn the_runs_answer_exactly_as_a_scan_does(
        points in prop::collection::vec((17.55f64..17.70, 59.15f64..59.23, 0u8..3, 0i64..(2 * 365 * 86400)), 1..400),
        later in prop::collection::vec((17.55f64..17.70, 59.15f64..59.23, 0u8..3, 0i64..(2 * 365 * 86400)), 0..50),
        res in 5u8..=11,
        kinds in 1u8..8,
        from in prop::option::of(0i64..(2 * 365 * 86400)),
        to in prop::option::of(0i64..(2 * 365 * 86400)),
        near in prop::option::of((17.55f64..17.70, 59.15f64..59.23, 0.001f64..0.05)),
    ) {
        let base = datetime!(2025-01-01 0:00 UTC);
        let make = |offset: usize, v: &[(f64, f64, u8, i64)]| -> Vec<IndexEntry> {
            v.iter().enumerate().map(|(i, (lon, lat, k, dt))| {
                entry(i64::try_from(offset + i).unwrap() + 1, Kind::from_index(*k).unwrap(), *lon, *lat, base + time::Duration::seconds(*dt), "c")
            }).collect()
        };
        // Bulk-loaded, then some inserted one at a time.
        let mut idx = ObservationIndex::from_entries(make(0, &points));
        for e in make(points.len(), &later) {
            idx.insert(&e);
        }
        let r = Resolution::try_from(res).unwrap();
        let filter = Filter {
            kinds: Kind::ALL.into_iter().filter(|k| kinds & (1 << k.index()) != 0).collect(),
            from: from.map(|s| base.unix_timestamp() + s),
            to: to.map(|s| base.unix_timestamp() + s),
            ..Filter::default()
        };
        let fast = idx.hexagon_counts(r, &filter);
        let scanned = hexagons::cell_counts(idx.slow_tally(r, &filter));
        prop_assert_eq!(&fast, &scanned);
        if let Some((lon, lat, d)) = near {
            let area = crate::model::Region { west: lon - d, south: lat - d / 2.0, east: lon + d, north: lat + d / 2.0 };
            // Whole counts for every cell with an observation in the box.
            let touching = idx.hexagon_counts_touching(r, &filter, area);
            let mut drawn: Vec<CellCount> = idx.cells_touching(r, &filter, area).into_iter().map(|(c, ring)| {
                assert!(ring.len() >= 5, "{c:?} has an outline");
                c
            }).collect();
            drawn.sort_unstable_by_key(|c| c.cell);
            prop_assert_eq!(&drawn, &touching);
            let inside = idx.hexagon_counts(r, &Filter { bbox: Some(area), ..filter.clone() });
            for c in &inside {
                let whole = scanned.iter().find(|s| s.cell == c.cell).unwrap();
                prop_assert!(touching.contains(whole), "{whole:?} not whole near the box");
            }
        }
    }

    #[test]
    fn bin_counts_equal_time_filtered_counts(
        points in prop::collection::vec((17.3f64..17.95, 58.9f64..59.32, 0i64..(2 * 365 * 86400)), 1..300),
        res in 5u8..=12,
        cuts in prop::collection::btree_set(0i64..(2 * 365 * 86400), 2..6),
    ) {
        let base = datetime!(2025-01-01 0:00 UTC);
        let entries: Vec<_> = points.iter().enumerate().map(|(i, (lon, lat, dt))| {
            entry(i64::try_from(i).unwrap() + 1, Kind::Insecurity, *lon, *lat, base + time::Duration::seconds(*dt), "c")
        }).collect();
        let idx = ObservationIndex::from_entries(entries);
        let r = Resolution::try_from(res).unwrap();
        let bounds: Vec<i64> = cuts.iter().map(|c| base.unix_timestamp() + c).collect();
        let binned = idx.cell_bin_counts(r, &Filter::default(), &bounds);
        for (b, w) in bounds.windows(2).enumerate() {
            let filtered = idx.hexagon_counts(r, &Filter { from: Some(w[0]), to: Some(w[1]), ..Filter::default() });
            let from_bins: Vec<(CellIndex, crate::privacy::Keyed)> = binned.iter().map(|(c, n)| (*c, n[b])).filter(|(_, n)| n.n > 0).collect();
            let expected: Vec<(CellIndex, crate::privacy::Keyed)> = filtered.iter().map(|c| (c.cell, c.keyed())).collect();
            prop_assert_eq!(from_bins, expected);
        }
    }

    #[test]
    fn one_by_one_equals_bulk(points in prop::collection::vec((17.3f64..17.95, 58.9f64..59.32), 1..100)) {
        let t = datetime!(2026-01-01 0:00 UTC);
        let entries: Vec<_> = points.iter().enumerate()
            .map(|(i, (lon, lat))| entry(i64::try_from(i).unwrap() + 1, Kind::Insecurity, *lon, *lat, t, "c"))
            .collect();
        let bulk = ObservationIndex::from_entries(entries.clone());
        let mut single = ObservationIndex::new();
        for e in &entries {
            prop_assert!(single.insert(e));
        }
        let f = Filter { bbox: Some(crate::model::Region { west: 17.4, south: 59.0, east: 17.7, north: 59.2 }), ..Filter::default() };
        prop_assert_eq!(bulk.hexagon_counts(Resolution::Nine, &f), single.hexagon_counts(Resolution::Nine, &f));
        prop_assert_eq!(bulk.select(&f, None, 1000), single.select(&f, None, 1000));
    }
}

#[test]
fn filters_narrow_counts() {
    let winter_night = datetime!(2026-01-10 22:30 UTC); // 23:30 local
    let summer_noon = datetime!(2026-07-10 10:00 UTC); // 12:00 local
    let idx = ObservationIndex::from_entries([
        entry(
            1,
            Kind::Insecurity,
            17.626,
            59.196,
            winter_night,
            "dark_area",
        ),
        entry(2, Kind::Insecurity, 17.626, 59.196, summer_noon, "litter"),
        entry(
            3,
            Kind::PlaceObservation,
            17.626,
            59.196,
            winter_night,
            "vandalism",
        ),
        entry(
            4,
            Kind::WalkFinding,
            17.587,
            59.1785,
            summer_noon,
            "lighting",
        ),
    ]);
    let total = |f: Filter| {
        idx.hexagon_counts(Resolution::Nine, &f)
            .iter()
            .map(|c| c.total)
            .sum::<u32>()
    };
    assert_eq!(total(Filter::default()), 4);
    assert_eq!(
        total(Filter {
            kinds: vec![Kind::Insecurity],
            ..Filter::default()
        }),
        2
    );
    assert_eq!(
        total(Filter {
            kinds: vec![Kind::Insecurity, Kind::WalkFinding],
            ..Filter::default()
        }),
        3
    );
    assert_eq!(
        total(Filter {
            categories: vec!["litter".into(), "lighting".into()],
            ..Filter::default()
        }),
        2
    );
    assert_eq!(
        total(Filter {
            categories: vec!["never_used".into()],
            ..Filter::default()
        }),
        0
    );
    assert_eq!(
        total(Filter {
            hours: Some(HourSet::parse("22-6").unwrap()),
            ..Filter::default()
        }),
        2
    );
    assert_eq!(
        total(Filter {
            from: Some(datetime!(2026-06-01 0:00 UTC).unix_timestamp()),
            ..Filter::default()
        }),
        2
    );
    let cells = idx.hexagon_counts(Resolution::Nine, &Filter::default());
    let centre = cells
        .iter()
        .find(|c| c.cell.to_string() == "89088645e97ffff")
        .unwrap();
    assert_eq!(centre.by_kind, [2, 0, 1]);
    assert_eq!(centre.of_kind(Kind::PlaceObservation), 1);
}

#[test]
fn areas_count_members_and_follow_inserts() {
    let t = datetime!(2026-01-10 12:00 UTC);
    let mut idx = ObservationIndex::from_entries([
        entry(1, Kind::Insecurity, 17.626, 59.196, t, "a"),
        entry(2, Kind::Insecurity, 17.587, 59.1785, t, "a"),
    ]);
    let square = geo::MultiPolygon::new(vec![geo::Polygon::new(
        geo::LineString::from(vec![
            (17.62, 59.19),
            (17.63, 59.19),
            (17.63, 59.20),
            (17.62, 59.20),
            (17.62, 59.19),
        ]),
        vec![],
    )]);
    idx.set_areas(&[crate::model::Area {
        id: "centrum".into(),
        name: "Centrum".into(),
        area_type: AreaType::District,
        geometry: square,
        approximate: true,
    }]);
    let in_area = |idx: &ObservationIndex| {
        idx.hexagon_counts(
            Resolution::Nine,
            &Filter {
                area: Some("centrum".into()),
                ..Filter::default()
            },
        )
        .iter()
        .map(|c| c.total)
        .sum::<u32>()
    };
    assert_eq!(in_area(&idx), 1);
    assert!(idx.insert(&entry(3, Kind::Insecurity, 17.625, 59.195, t, "a")));
    assert!(
        !idx.insert(&entry(3, Kind::Insecurity, 17.625, 59.195, t, "a")),
        "same id twice is ignored"
    );
    assert_eq!(in_area(&idx), 2);
    assert_eq!(idx.areas_containing(17.625, 59.195), ["centrum"]);
    let unknown = Filter {
        area: Some("nowhere".into()),
        ..Filter::default()
    };
    assert!(idx.hexagon_counts(Resolution::Nine, &unknown).is_empty());
}

#[test]
fn select_pages_by_id() {
    let t = datetime!(2026-01-10 12:00 UTC);
    let idx = ObservationIndex::from_entries(
        (1..=25).map(|i| entry(i, Kind::Insecurity, 17.626, 59.196, t, "a")),
    );
    let (page1, more) = idx.select(&Filter::default(), None, 10);
    assert!(more);
    assert_eq!(page1.first(), Some(&Uuid::from_u128(1)));
    let (page3, more) = idx.select(&Filter::default(), Some(Uuid::from_u128(20)), 10);
    assert!(!more);
    assert_eq!(page3, (21..=25).map(Uuid::from_u128).collect::<Vec<_>>());
}

#[test]
fn nearby_is_nearest_first_within_radius() {
    let t = datetime!(2026-01-10 12:00 UTC);
    let idx = ObservationIndex::from_entries([
        entry(1, Kind::WalkFinding, 17.6260, 59.1960, t, "a"),
        entry(2, Kind::WalkFinding, 17.6262, 59.1960, t, "a"), // ~11 m east
        entry(3, Kind::WalkFinding, 17.6300, 59.1960, t, "a"), // ~228 m east
    ]);
    let near = idx.nearby(17.6261, 59.1960, 50.0, &Filter::default(), 10);
    assert_eq!(near.len(), 2);
    assert!(near[0].distance_m <= near[1].distance_m);
    assert!(
        (near[0].distance_m - 5.7).abs() < 0.5,
        "{}",
        near[0].distance_m
    );
    let far = idx.nearby(17.6261, 59.1960, 500.0, &Filter::default(), 10);
    assert_eq!(far.len(), 3);
    assert!(
        (far[2].distance_m - 222.0).abs() < 5.0,
        "{}",
        far[2].distance_m
    );
}

#[test]
fn cell_parse_roundtrip() {
    let c: CellIndex = "89088645e97ffff".parse().unwrap();
    assert_eq!(c.resolution(), Resolution::Nine);
}

#[test]
fn cell_summary_agrees_with_hexagon_counts() {
    let t = datetime!(2026-01-10 20:00 UTC);
    let idx = ObservationIndex::from_entries([
        entry(1, Kind::Insecurity, 17.626, 59.196, t, "dark_area"),
        entry(
            2,
            Kind::Insecurity,
            17.6261,
            59.1961,
            t + time::Duration::days(40),
            "dark_area",
        ),
        entry(3, Kind::PlaceObservation, 17.6259, 59.1959, t, "vandalism"),
        entry(4, Kind::Insecurity, 17.587, 59.1785, t, "litter"),
    ]);
    let counts = idx.hexagon_counts(Resolution::Nine, &Filter::default());
    for c in &counts {
        let s = idx.cell_summary(c.cell, &Filter::default());
        // The same observations, however counted, have the same cell key.
        assert_eq!(s.total, c.keyed());
        assert_eq!(s.by_kind, c.keyed_kinds());
        let sum =
            |parts: &[[crate::privacy::Keyed; 3]]| parts.iter().map(sum_of_kinds).sum::<u32>();
        assert_eq!(
            sum(&s.by_category.iter().map(|(_, n)| *n).collect::<Vec<_>>()),
            c.total
        );
        assert_eq!(
            sum(&s.by_month.iter().map(|(_, n)| *n).collect::<Vec<_>>()),
            c.total
        );
    }
    let centre: CellIndex = "89088645e97ffff".parse().unwrap();
    let s = idx.cell_summary(centre, &Filter::default());
    assert_eq!(
        (
            s.by_category[0].0.as_str(),
            sum_of_kinds(&s.by_category[0].1)
        ),
        ("dark_area", 2)
    );
    let months: Vec<_> = s
        .by_month
        .iter()
        .map(|(m, c)| (*m, sum_of_kinds(c)))
        .collect();
    assert_eq!(months, [((2026, 1), 2), ((2026, 2), 1)]);
}

/// Points within centimetres to metres of the edges and corners of the
/// cells around `(lon, lat)` at every served resolution: where a cell's
/// digit ancestor and the cell holding the point part ways.
fn points_near_edges(lon: f64, lat: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let Ok(centre) = h3o::LatLng::new(lat, lon) else {
        return out;
    };
    for res in 5..=12u8 {
        let r = Resolution::try_from(res).unwrap();
        for cell in centre.to_cell(r).grid_disk::<Vec<_>>(1) {
            let c = h3o::LatLng::from(cell);
            let corners: Vec<h3o::LatLng> = cell.boundary().iter().copied().collect();
            for (i, v) in corners.iter().enumerate() {
                let w = corners[(i + 1) % corners.len()];
                let middle = (
                    f64::midpoint(v.lng(), w.lng()),
                    f64::midpoint(v.lat(), w.lat()),
                );
                for (px, py) in [(v.lng(), v.lat()), middle] {
                    // Towards the centre and away from it, by 1 cm to 3 m.
                    let metres = ((c.lat() - py) * 111_320.0)
                        .hypot((c.lng() - px) * 111_320.0 * py.to_radians().cos());
                    for d in [-3.0, -0.4, -0.01, 0.01, 0.4, 3.0] {
                        let t = d / metres.max(1e-9);
                        out.push((px + (c.lng() - px) * t, py + (c.lat() - py) * t));
                    }
                }
            }
        }
    }
    out
}

fn totals(v: Vec<CellCount>) -> std::collections::BTreeMap<u64, u32> {
    v.into_iter()
        .map(|c| (u64::from(c.cell), c.total))
        .collect()
}

/// The smallest box holding the points.
fn bounds(points: &[(f64, f64)]) -> crate::model::Region {
    let (mut w, mut s, mut e, mut n) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &(lon, lat) in points {
        (w, s, e, n) = (w.min(lon), s.min(lat), e.max(lon), n.max(lat));
    }
    crate::model::Region {
        west: w,
        south: s,
        east: e,
        north: n,
    }
}

/// The same entries indexed at once, one record at a time, and as an
/// import's prepared batch.
fn built_three_ways(entries: &[IndexEntry]) -> [ObservationIndex; 3] {
    let bulk = ObservationIndex::from_entries(entries.to_vec());
    let mut single = ObservationIndex::new();
    for e in entries {
        single.insert(e);
    }
    let mut prepared = ObservationIndex::from_entries(entries[..1].to_vec());
    let batch = prepared
        .prepare_bulk(&entries[1..])
        .expect("a batch to prepare");
    let last = entries.last().unwrap().seq;
    assert!(prepared.take_prepared(batch, entries.len() - 1, last));
    [bulk, single, prepared]
}

/// Every answer that counts observations per cell — from the runs and from
/// a scan, whole region and near a tile, per cell and per time bin — at
/// every resolution 5–12, against h3o's `to_cell` for each point; for an
/// index built at once, one record at a time, and from a prepared batch.
fn counts_agree_with_to_cell(points: &[(f64, f64)]) {
    // Enough records for an import's prepared batch.
    let points: Vec<(f64, f64)> = points
        .iter()
        .copied()
        .cycle()
        .take(points.len().max(10_001))
        .collect();
    let points = &points[..];
    let base = datetime!(2025-01-01 0:00 UTC);
    let entries: Vec<IndexEntry> = points
        .iter()
        .enumerate()
        .map(|(i, &(lon, lat))| {
            let seq = i64::try_from(i).unwrap() + 1;
            let t = base + time::Duration::hours(seq * 7);
            entry(seq, Kind::ALL[i % 3], lon, lat, t, "c")
        })
        .collect();
    let mid = (base + time::Duration::hours(7 * i64::try_from(points.len()).unwrap() / 2))
        .unix_timestamp();
    let indexes = built_three_ways(&entries);
    let region = bounds(points);
    for idx in &indexes {
        for res in 5..=12u8 {
            let r = Resolution::try_from(res).unwrap();
            let mut expected: std::collections::BTreeMap<u64, [u32; 2]> =
                std::collections::BTreeMap::default();
            for (e, &(lon, lat)) in entries.iter().zip(points) {
                let cell = u64::from(h3o::LatLng::new(lat, lon).unwrap().to_cell(r));
                expected.entry(cell).or_default()[usize::from(e.observed_at >= mid)] += 1;
            }
            let whole: std::collections::BTreeMap<u64, u32> =
                expected.iter().map(|(&c, n)| (c, n[0] + n[1])).collect();
            let later: std::collections::BTreeMap<u64, u32> = expected
                .iter()
                .filter(|(_, n)| n[1] > 0)
                .map(|(&c, n)| (c, n[1]))
                .collect();
            // The runs (resolution 11 and coarser) and a scan (a category).
            assert_eq!(
                totals(idx.hexagon_counts(r, &Filter::default())),
                whole,
                "res {res}"
            );
            let scan = Filter {
                categories: vec!["c".into()],
                ..Filter::default()
            };
            assert_eq!(
                totals(idx.hexagon_counts(r, &scan)),
                whole,
                "scan, res {res}"
            );
            let since = Filter {
                from: Some(mid),
                ..Filter::default()
            };
            assert_eq!(
                totals(idx.hexagon_counts(r, &since)),
                later,
                "from, res {res}"
            );
            // Near a tile: every cell given is counted whole.
            for c in idx.hexagon_counts_touching(r, &since, region) {
                assert_eq!(
                    Some(&c.total),
                    later.get(&u64::from(c.cell)),
                    "tile, res {res}"
                );
            }
            for (c, _) in idx.cells_touching(r, &Filter::default(), region) {
                assert_eq!(
                    Some(&c.total),
                    whole.get(&u64::from(c.cell)),
                    "tile, res {res}"
                );
            }
            // Per cell, and per time bin.
            for (&cell, &n) in &whole {
                let summary =
                    idx.cell_summary(CellIndex::try_from(cell).unwrap(), &Filter::default());
                assert_eq!(summary.total.n, n, "cell {cell:x}");
            }
            let bins = idx.cell_bin_counts(r, &Filter::default(), &[i64::MIN + 1, mid, i64::MAX]);
            let binned: std::collections::BTreeMap<u64, [u32; 2]> = bins
                .into_iter()
                .map(|(c, b)| (u64::from(c), [b[0].n, b[1].n]))
                .collect();
            assert_eq!(binned, expected, "bins, res {res}");
            for (i, &(lon, lat)) in points.iter().enumerate() {
                let want = h3o::LatLng::new(lat, lon).unwrap().to_cell(r);
                assert_eq!(idx.cell_of(u32::try_from(i).unwrap(), r), Some(want));
            }
        }
    }
}

#[test]
fn observations_near_cell_edges_count_in_the_cell_they_lie_in() {
    let points = points_near_edges(17.625, 59.195);
    // Enough of them straddle an edge for the digits to be wrong.
    let moved = points
        .iter()
        .filter(|&&(lon, lat)| {
            let ll = h3o::LatLng::new(lat, lon).unwrap();
            let c12 = ll.to_cell(Resolution::Twelve);
            c12.parent(Resolution::Nine) != Some(ll.to_cell(Resolution::Nine))
        })
        .count();
    assert!(moved > 50, "{moved}");
    counts_agree_with_to_cell(&points);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    /// Anywhere on Earth: icosahedron edges, pentagons, the antimeridian.
    #[test]
    fn near_cell_edges_anywhere_counts_follow_to_cell(
        lon in -179.9f64..179.9,
        lat in -85.0f64..85.0,
    ) {
        counts_agree_with_to_cell(&points_near_edges(lon, lat));
    }
}

#[test]
fn positions_from_a_length_are_what_was_added_since() {
    let t = datetime!(2026-01-10 12:00 UTC);
    let mut idx = ObservationIndex::from_entries([entry(1, Kind::Insecurity, 17.6, 59.1, t, "a")]);
    let first = idx.len();
    let added = [
        entry(2, Kind::Insecurity, 17.61, 59.11, t, "a"),
        entry(1, Kind::Insecurity, 17.6, 59.1, t, "a"),
        entry(3, Kind::WalkFinding, 17.62, 59.12, t, "b"),
    ];
    assert_eq!(idx.insert_many(&added), 2);
    let positions: Vec<_> = idx.positions_from(first).collect();
    assert_eq!(positions, [(17.61, 59.11), (17.62, 59.12)]);
    assert_eq!(idx.positions_from(idx.len() + 1).count(), 0);
}
