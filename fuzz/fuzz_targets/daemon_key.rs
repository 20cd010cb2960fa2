#![no_main]

#[path = "../checks/daemon_key.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
