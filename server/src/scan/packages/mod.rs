//! Package databases and binaries: each parser turns one file's bytes into
//! [`Found`](super::Found) packages.

pub mod binary;
pub mod rpm;
