#![no_main]

#[path = "../checks/bad_verdict.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
