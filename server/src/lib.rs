//! camhub-server's config, connections, routes and clip store, a library so
//! that the fuzz target and its regression tests drive the very code the
//! binary runs; `main.rs` only parses the command line and starts it.

pub mod config;
pub mod conn;
pub mod routes;
pub mod store;
