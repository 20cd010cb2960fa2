//! The camera hub: frames in, clips around motion out, sealed and uploaded.
//! Both frame sources are always compiled and tested; a binary picks one
//! with its cargo feature.

pub mod motion;
pub mod pipeline;
pub mod recorder;
pub mod source;
pub mod upload;
