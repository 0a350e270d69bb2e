//! Configuration values given as text: the served region (`--region`) and
//! area polygons (GeoJSON geometry as uploaded or stored).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let _ = trygg::model::Region::parse_bbox(data);
    let _ = trygg::ingest::geometry::multipolygon_from_geojson(data);
});
