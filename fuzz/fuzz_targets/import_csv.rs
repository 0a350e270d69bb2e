//! Bulk import of arbitrary bytes as Csv: parse and validate every record.
//! Must never panic; every outcome is a result.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trygg::ingest::{Format, parse_and_validate};
use trygg::model::observation::ValidationContext;
use trygg::model::{Region, Taxonomy};

fuzz_target!(|data: &[u8]| {
    let taxonomy = Taxonomy::builtin();
    let region = Region::sodertalje();
    let ctx = ValidationContext {
        taxonomy: &taxonomy,
        region: &region,
        now: time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000),
    };
    let _ = parse_and_validate(Format::Csv, data, ctx, &|_| Ok(()), 100);
});
