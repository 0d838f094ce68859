//! The `berth` command's subcommands, one module per command group. Each
//! opens the installation it works on, prints what it did and returns
//! `Err(message)` for `main` to print and exit with 1.

pub mod access_key;
pub mod fsck;
pub mod gc;
pub mod jobs;
pub mod kms;
pub mod lifecycle;
pub mod scan;
pub mod serve;
pub mod signing;
pub mod storage;
pub mod user;
pub mod vulndb;

use berth::config::Settings;
use berth::installation::{Installation, Open};

/// What a subcommand returns: `Err` holds the message `main` prints.
pub type CliResult = Result<(), String>;

/// Opens the installation; only `serve` and `migrate` may create or migrate it.
pub async fn open(settings: Settings, how: Open) -> Result<Installation, String> {
    let installation = Installation::open(settings, how)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(password) = &installation.generated_admin_password {
        println!("Created user 'admin' with password: {password}");
        println!("(shown once; change it with `berth user set-password admin`)");
    }
    Ok(installation)
}
