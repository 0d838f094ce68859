//! The authorization matrix's parts: callers, endpoints and the fixture.

pub(crate) use crate::common::oci::{random_bytes, sha256_digest, Registry, OCI_MANIFEST};
pub(crate) use crate::common::{berth_binary, unique, TestServer, ADMIN_PASSWORD};
pub(crate) use reqwest::header::HeaderMap;
pub(crate) use reqwest::{Method, RequestBuilder, StatusCode};
pub(crate) use serde_json::{json, Value};
pub(crate) use sha2::{Digest as _, Sha256};
pub(crate) use sqlx::SqlitePool;
pub(crate) use std::fmt::Write as _;
pub(crate) use std::process::{Command, Output};
pub(crate) use std::time::{SystemTime, UNIX_EPOCH};

mod callers;
mod endpoints;
mod fixture;

pub(crate) use callers::*;
pub(crate) use endpoints::*;
pub(crate) use fixture::*;
