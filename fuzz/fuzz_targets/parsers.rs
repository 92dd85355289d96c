//! Coverage-guided fuzzing of every parser of outside input (`yibao_core::fuzzing::parsers`):
//! `cargo fuzz run parsers --sanitizer none` (see docs/RELIABILITY.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| yibao_core::fuzzing::parsers(data));
