#![no_main]

#[path = "../checks/sha256sums.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
