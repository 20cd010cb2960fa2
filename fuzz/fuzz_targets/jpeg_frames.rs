#![no_main]

#[path = "../checks/jpeg_frames.rs"]
mod check;

libfuzzer_sys::fuzz_target!(|data: &[u8]| check::run(data));
