//! The fuzz target for request handling (fuzz/fuzz_targets/server_request.rs),
//! replayed on its committed crash inputs and seeds without cargo fuzz.

#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/server_request.rs"]
mod server_request;

#[test]
fn server_request_inputs() {
    replay::replay("server_request", server_request::run);
}
