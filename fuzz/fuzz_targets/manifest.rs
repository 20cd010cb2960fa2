#![no_main]

#[path = "../checks/manifest.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
