//! One submitted GeoJSON Feature (the body of `POST /api/v1/observations`):
//! parse, read as an observation, validate.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use trygg::ingest::feature::{from_feature, parse_feature};
use trygg::model::observation::ValidationContext;
use trygg::model::{Region, Taxonomy};

// Parsed once: the taxonomy is not what is being fuzzed here.
static TAXONOMY: LazyLock<Taxonomy> = LazyLock::new(Taxonomy::builtin);

fuzz_target!(|data: &[u8]| {
    let Ok(feature) = parse_feature(data) else {
        return;
    };
    let Ok(new) = from_feature(&feature) else {
        return;
    };
    let region = Region::sodertalje();
    let ctx = ValidationContext::new(
        &TAXONOMY,
        &region,
        time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
    );
    let _ = new.validate(ctx);
});
