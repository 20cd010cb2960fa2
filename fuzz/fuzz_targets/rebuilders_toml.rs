#![no_main]

#[path = "../checks/rebuilders_toml.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
