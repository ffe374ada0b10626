//! The layout loader, validator and planner on arbitrary input: must never
//! panic, hang or blow the stack, whatever the file holds.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(loaded) = nasstrap::layout::load_str("fuzz.yaml", text, &[]) {
        if let Ok(plan) = nasstrap::plan::build(&loaded, &nasstrap::plan::Options::default()) {
            let _ = nasstrap::plan::render::text(&plan);
            let _ = nasstrap::plan::script::sh(&plan);
        }
    }
});
