//! Package databases and binaries: each parser turns one file's bytes into
//! [`Found`](super::Found) packages (or, for `os-release`, a
//! [`Distro`](super::Distro)). They read only the bytes they are given;
//! [`layers`](super::layers) decides which files they see.

pub mod apk;
pub mod binary;
pub mod dpkg;
pub mod java;
pub mod npm;
pub mod os_release;
pub mod python;
pub mod rpm;
