//! Watching a running Berth (issue 19): Prometheus metrics ([`metrics`]),
//! liveness and readiness checks and the `/metrics` endpoint ([`health`]),
//! and the access log with request ids ([`access`]).
//!
//! The access-log middleware sits outside every face, so it sees each
//! request once, whatever answers it; it learns the registry endpoint or ECR
//! operation from the same parsers the faces use, the console's route
//! template from the router, and the caller's name from the face that
//! authenticated it ([`access::note_user`]). Nothing here calls the database
//! except through the service layer (readiness, storage figures).

pub mod access;
pub mod health;
pub mod metrics;
