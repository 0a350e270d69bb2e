//! Bulk import of arbitrary bytes as NdJson: parse and validate every record.
//! Must never panic; every outcome is a result.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use trygg::ingest::{Format, parse_and_validate};
use trygg::model::observation::ValidationContext;
use trygg::model::{Region, Taxonomy};

// Parsed once: the taxonomy is not what is being fuzzed here.
static TAXONOMY: LazyLock<Taxonomy> = LazyLock::new(Taxonomy::builtin);

fuzz_target!(|data: &[u8]| {
    let region = Region::sodertalje();
    let ctx = ValidationContext::new(
        &TAXONOMY,
        &region,
        time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
    );
    let _ = parse_and_validate(Format::NdJson, data, ctx, &|_| Ok(()), 100);
});
