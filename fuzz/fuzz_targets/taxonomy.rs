//! A taxonomy file (`--taxonomy`, TOML).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &str| {
    let _ = trygg::model::Taxonomy::parse(data);
});
