#![recursion_limit = "512"]
//! Berth's console and the pure domain logic shared by the server and the
//! browser. Nothing here performs I/O directly: server functions reach the
//! server through the [`console::ConsoleBackend`] trait object that the server
//! provides as Leptos context, so this crate never depends on the server.

pub mod accounts;
pub mod console;
pub mod lifecycle;
pub mod oci;
pub mod policy;
pub mod wildcard;

pub use console::{shell, App};
