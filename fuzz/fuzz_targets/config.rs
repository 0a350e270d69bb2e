//! Configuration values given as text: the served region (`--region`),
//! area polygons (GeoJSON geometry as uploaded or stored) and walk routes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let _ = trygg::model::Region::parse_bbox(data);
    let _ = trygg::ingest::geometry::multipolygon_from_geojson(data);
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(data) {
        let _ =
            trygg::ingest::geometry::route_from_value(&value, &trygg::model::Region::sodertalje());
    }
});
