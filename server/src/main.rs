//! The `berth` command: `serve`, and the admin subcommands that work on the same
//! installation (also while `serve` runs on it). This file only parses the
//! command line and dispatches; each command group is a module of `cli/`.

mod cli;

use berth::config::{Cli, Command, LogFormat, Settings};
use clap::Parser;
use std::process::ExitCode;

/// See `mimalloc` in Cargo.toml: matching's many small allocations, and no
/// allocator lock shared with the scan thread at `SCHED_IDLE`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.settings) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berth: {e}");
            return ExitCode::from(2);
        }
    };
    start_logging(settings.log_format);
    let result = match cli.command {
        Command::Serve => cli::serve::run(settings).await,
        Command::Migrate => cli::serve::migrate(settings).await,
        Command::User(command) => cli::user::run(settings, command).await,
        Command::Gc(args) => cli::gc::run(settings, args).await,
        Command::Jobs { kind, limit, json } => {
            cli::jobs::run(settings, kind.as_deref(), limit, json).await
        }
        Command::AccessKey(command) => cli::access_key::run(settings, command).await,
        Command::Lifecycle(command) => cli::lifecycle::run(settings, command).await,
        Command::Fsck { json } => cli::fsck::run(settings, json).await,
        Command::Scan { image, json } => match cli::scan::run(settings, &image, json).await {
            Ok(cli::scan::ScanEnded::Unsupported) => {
                return ExitCode::from(cli::scan::UNSUPPORTED_IMAGE_EXIT)
            }
            ended => ended.map(|_| ()),
        },
        Command::ScanHistory { image, json } => cli::scan::history(settings, &image, json).await,
        Command::MigrateStorage { from, to } => cli::storage::run(settings, &from, &to).await,
        Command::Vulndb(command) => cli::vulndb::run(settings, command).await,
        Command::Kms(command) => cli::kms::run(settings, command).await,
        Command::SigningKey(command) => cli::signing::run(settings, command).await,
        Command::SigningStatus { image, json } => {
            cli::signing::status(settings, &image, json).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("berth: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to standard error, filtered by `RUST_LOG`, as `log_format` says.
fn start_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "berth=info,warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        // Colours only on a terminal: logs piped to a file or a test stay plain text.
        LogFormat::Plain => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        // Each event's fields at the top level, beside the request span's
        // (`span.request_id`) when there is one.
        LogFormat::Json => logs
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
