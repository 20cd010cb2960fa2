//! The fuzz target for the JPEG frame reader and the motion decoder's size
//! bound (fuzz/fuzz_targets/jpeg_frames.rs), replayed on its committed crash
//! inputs and seeds without cargo fuzz.

#[path = "../../fuzz/checks/jpeg_frames.rs"]
mod jpeg_frames;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;

#[test]
fn jpeg_frames_inputs() {
    replay::replay("jpeg_frames", jpeg_frames::run);
}
