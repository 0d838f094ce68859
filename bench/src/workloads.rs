//! The workloads, each measured on one registry at a time. A workload returns
//! one number; the harness runs it several times on both registries,
//! alternately, and compares medians.
//!
//! Each group of workloads is a module of its own ([`crate::registry`]: the
//! registry API; [`crate::scan_workloads`]: scanning, issue 17) with a type
//! that implements [`Measure`] and a list of its workloads; [`all`] names
//! the lists, one line each, in the order they run. State a group keeps
//! between rounds lives in [`Fixtures`], found by its type.

use crate::servers::{Kind, Server};
use futures_util::future::LocalBoxFuture;
use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::time::Duration;

/// A mebibyte.
pub const MIB: usize = 1 << 20;

/// How big the workloads are: the full benchmark, or a seconds-long smoke run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sizes {
    /// Bytes of the pushed and pulled blob.
    pub blob: usize,
    /// Bytes per PATCH of the chunked push.
    pub chunk: usize,
    /// Parallel ranged GETs that cover the blob.
    pub ranges: usize,
    /// Connections of the request-rate workloads.
    pub connections: usize,
    /// How long each request-rate workload runs.
    pub duration: Duration,
    /// Concurrent uploads of the memory workload.
    pub concurrent_uploads: usize,
    /// Bytes of each of those uploads.
    pub concurrent_size: usize,
    /// Tags in one repository, and repositories, for the listings.
    pub listing: usize,
    /// Layers of the docker image, and bytes per layer.
    pub docker_layers: usize,
    /// Bytes per docker layer.
    pub docker_layer_size: usize,
    /// Distinct images in the registry when it starts.
    pub startup_images: usize,
    /// Compressed bytes of the image layer the inventory workload scans.
    pub scan_layer: usize,
    /// Packages in that layer's dpkg database (and the matching workload's).
    pub scan_packages: usize,
    /// OSV records the matching workload imports.
    pub scan_advisories: usize,
    /// Compressed bytes of the layer the scanning memory workload scans.
    pub scan_memory_layer: usize,
    /// Images (distinct manifests, each scanned on push) whose stored
    /// inventories the re-matching workload matches again.
    pub rematch_images: usize,
    /// Distinct layers among them.
    pub rematch_layers: usize,
    /// Packages in each of those layers' dpkg databases.
    pub rematch_packages: usize,
    /// Images the push and pull workloads with scan on push on or off push.
    pub push_scan_images: usize,
    /// Layers per image.
    pub push_scan_layers: usize,
    /// Compressed bytes of each layer.
    pub push_scan_layer: usize,
}

impl Sizes {
    /// The benchmark the issue describes.
    pub fn full() -> Sizes {
        Sizes {
            blob: 1024 * MIB,
            chunk: 8 * MIB,
            ranges: 64,
            connections: 64,
            duration: Duration::from_secs(20),
            concurrent_uploads: 32,
            concurrent_size: 256 * MIB,
            listing: 10_000,
            docker_layers: 10,
            docker_layer_size: 10 * MIB,
            startup_images: 100_000,
            scan_layer: 1024 * MIB,
            scan_packages: 2_000,
            scan_advisories: 500_000,
            scan_memory_layer: 2048 * MIB,
            rematch_images: 10_000,
            rematch_layers: 100,
            rematch_packages: 100,
            push_scan_images: 4,
            push_scan_layers: 4,
            push_scan_layer: 16 * MIB,
        }
    }

    /// Every workload, small: proves the harness works in seconds.
    pub fn smoke() -> Sizes {
        Sizes {
            blob: 8 * MIB,
            chunk: MIB,
            ranges: 8,
            connections: 8,
            duration: Duration::from_millis(500),
            concurrent_uploads: 4,
            concurrent_size: 2 * MIB,
            listing: 120,
            docker_layers: 2,
            docker_layer_size: 64 * 1024,
            startup_images: 200,
            scan_layer: 2 * MIB,
            scan_packages: 50,
            scan_advisories: 500,
            scan_memory_layer: 4 * MIB,
            rematch_images: 20,
            rematch_layers: 4,
            rematch_packages: 20,
            push_scan_images: 2,
            push_scan_layers: 2,
            push_scan_layer: MIB,
        }
    }
}

/// What one workload measures, and how.
pub trait Measure: Sync {
    /// Its short, stable id (JSON, `--only`).
    fn id(&self) -> &'static str;

    /// What the table calls it, with the sizes in use.
    fn title(&self, sizes: &Sizes) -> String;

    /// The unit of its number.
    fn unit(&self) -> &'static str;

    /// Measurements per turn.
    fn repeats(&self, smoke: bool) -> usize {
        let _ = smoke;
        1
    }

    /// Whether it runs on Berth alone (its target is absolute, or
    /// Distribution has no such feature).
    fn berth_only(&self) -> bool {
        false
    }

    /// Runs it once on one registry and returns its number.
    fn run<'a>(
        &'a self,
        server: &'a mut Server,
        fixtures: &'a mut Fixtures,
        sizes: &'a Sizes,
        round: u64,
    ) -> LocalBoxFuture<'a, f64>;

    /// Whether it runs on `kind`.
    fn runs_on(&self, kind: Kind) -> bool {
        kind == Kind::Berth || !self.berth_only()
    }

    /// Whether a bigger number is better.
    fn higher_is_better(&self) -> bool {
        matches!(self.unit(), "MiB/s" | "req/s")
    }
}

/// One workload.
pub type Workload = &'static dyn Measure;

/// Every workload, in the order they run: each group's list, one line each.
pub fn all() -> Vec<Workload> {
    [crate::registry::WORKLOADS, crate::scan_workloads::WORKLOADS].concat()
}

/// What the workloads of one registry keep between rounds (the blob the
/// pulls read, whether the listings are seeded, the scanning workloads'
/// layer and database, …): one value per type, made on first use, so a
/// group of workloads keeps its own without this file naming it.
#[derive(Default)]
pub struct Fixtures(HashMap<TypeId, Box<dyn Any>>);

impl Fixtures {
    /// The `T` kept here, a default one at first.
    pub fn of<T: Default + 'static>(&mut self) -> &mut T {
        self.0
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(T::default()))
            .downcast_mut()
            .expect("each value is kept under its own type")
    }
}

/// `bytes` in `elapsed`, in MiB/s.
pub fn mib(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / MIB as f64 / elapsed.as_secs_f64()
}
