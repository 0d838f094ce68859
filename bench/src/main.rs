//! `berth-bench`: Berth and CNCF Distribution side by side on free loopback
//! ports, both with HTTP Basic auth for one user and filesystem storage. Each
//! workload runs several times on both, alternately; the table shows the
//! medians and how far ahead Berth is, and the same goes to JSON.
//!
//! `make bench` builds Berth in release mode and runs the full benchmark;
//! `make test` runs `--smoke` (every workload, small, in seconds) so the
//! harness cannot rot. Benchmarks are not pass/fail.

mod client;
mod machine;
mod registry;
mod scan_workloads;
mod scanning;
mod servers;
mod workloads;

use clap::Parser;
use servers::{Kind, Server};
use std::path::PathBuf;
use workloads::{Fixtures, Sizes, Workload};

/// Berth against CNCF Distribution: the same workloads, medians and ratios.
#[derive(Debug, Parser)]
#[command(name = "berth-bench")]
struct Args {
    /// The berth binary (a release build for real figures).
    #[arg(long, default_value = "target/release/berth")]
    berth: PathBuf,
    /// CNCF Distribution's binary (Debian package docker-registry).
    #[arg(long, default_value_os_t = servers::default_distribution())]
    distribution: PathBuf,
    /// Times each workload runs on each registry.
    #[arg(long, default_value_t = 3)]
    rounds: u64,
    /// Every workload, small and once: seconds, to check the harness works.
    #[arg(long)]
    smoke: bool,
    /// Only these workloads (ids as in the JSON, comma-separated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Skip the docker workload (it needs DOCKER_HOST and the docker CLI).
    #[arg(long)]
    no_docker: bool,
    /// Where the JSON results go.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

/// One workload's figures on both registries.
#[derive(Debug, serde::Serialize)]
struct Row {
    id: &'static str,
    title: String,
    unit: &'static str,
    higher_is_better: bool,
    berth: Vec<f64>,
    distribution: Vec<f64>,
    berth_median: f64,
    distribution_median: f64,
    /// How many times better Berth is (over 1: ahead).
    berth_advantage: f64,
}

/// The median, or NaN (`null` in the JSON) when the workload did not run.
fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let sizes = if args.smoke {
        Sizes::smoke()
    } else {
        Sizes::full()
    };
    let rounds = if args.smoke { 1 } else { args.rounds.max(1) };
    let docker = !args.no_docker && std::env::var_os("DOCKER_HOST").is_some();
    let chosen: Vec<Workload> = workloads::all()
        .into_iter()
        .filter(|w| args.only.is_empty() || args.only.iter().any(|id| id == w.id()))
        .filter(|w| w.id() != "docker" || docker)
        .collect();
    if !docker && !args.no_docker {
        eprintln!("note: DOCKER_HOST is not set, so the docker workload is skipped");
    }

    let machine = machine::Machine::measure(args.smoke);
    println!("{}", machine.describe());
    println!(
        "{rounds} round(s) per workload, alternating; both registries start afresh for each workload\n"
    );
    let mut rows = Vec::new();
    for workload in chosen {
        // Fresh registries per workload: what one leaves on disk (gigabytes of
        // pushed blobs) neither slows nor crowds out the next.
        let mut berth = Server::berth(&args.berth);
        let mut distribution = Server::distribution(&args.distribution);
        let mut fixtures = [Fixtures::default(), Fixtures::default()];
        let mut figures = [Vec::new(), Vec::new()];
        for round in 0..rounds {
            // Alternate who goes first, so neither always gets a warm cache or a cool disk.
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for index in order {
                let server = if index == 0 {
                    &mut berth
                } else {
                    &mut distribution
                };
                if !workload.runs_on(server.kind) {
                    continue;
                }
                for _ in 0..workload.repeats(args.smoke) {
                    let value = workload
                        .run(server, &mut fixtures[index], &sizes, round)
                        .await;
                    figures[index].push(value);
                }
            }
        }
        let (b, d) = (median(&figures[0]), median(&figures[1]));
        let advantage = if workload.higher_is_better() {
            b / d
        } else {
            d / b
        };
        let row = Row {
            id: workload.id(),
            title: workload.title(&sizes),
            unit: workload.unit(),
            higher_is_better: workload.higher_is_better(),
            berth: figures[0].clone(),
            distribution: figures[1].clone(),
            berth_median: b,
            distribution_median: d,
            berth_advantage: advantage,
        };
        println!(
            "{:<52} {:>12} {:>12} {:>6}  {:>7}",
            row.title,
            format_value(b),
            format_value(d),
            row.unit,
            if advantage.is_nan() {
                "–".to_string()
            } else {
                format!("{advantage:.2}×")
            }
        );
        rows.push(row);
    }
    write_results(&args, &machine, &sizes, &rows);
}

fn format_value(value: f64) -> String {
    if value.is_nan() {
        "–".to_string()
    } else if value >= 100.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

fn write_results(args: &Args, machine: &machine::Machine, sizes: &Sizes, rows: &[Row]) {
    let now = machine::utc_now();
    let json = serde_json::json!({
        "date": now,
        "smoke": args.smoke,
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": machine,
        "sizes": sizes,
        "registries": [Kind::Berth.name(), Kind::Distribution.name()],
        "workloads": rows,
    });
    std::fs::create_dir_all(&args.out).expect("create the results directory");
    let name = if args.smoke {
        "smoke.json".to_string()
    } else {
        format!("{}.json", now.replace(':', "-"))
    };
    let path = args.out.join(name);
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&json).expect("JSON") + "\n",
    )
    .expect("write the results");
    println!("\nresults written to {}", path.display());
}
