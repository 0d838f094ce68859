//! The command line: `berth` and its subcommands (the settings every
//! subcommand shares are [`super::SettingsArgs`]).

use super::SettingsArgs;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// `berth`: a self-hosted container registry with Amazon ECR's API and concepts.
#[derive(Debug, Parser)]
#[command(name = "berth", version, about, long_about = None)]
pub struct Cli {
    /// Settings shared by every subcommand.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Berth's subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the registry: the OCI registry API under /v2/ and the console, on one port.
    Serve,
    /// Create the installation in the data directory, or bring its database
    /// up to this berth's schema. `serve` does this too when it starts; the
    /// other commands never do, and refuse a database at another version.
    Migrate,
    /// Manage console and registry users.
    #[command(subcommand)]
    User(UserCommand),
    /// Delete blobs that no repository links any more (online; safe while serving).
    Gc(GcArgs),
    /// Scan an image now (beside a running server or not) and print its scan
    /// status and findings per severity. Exit status: 0 when the scan is
    /// COMPLETE, 1 when it FAILED (or on any other error), 3 when the image is
    /// UNSUPPORTED_IMAGE (no OS or package recognised, so nothing was checked).
    Scan {
        /// `REPOSITORY[:TAG|@DIGEST]` (the tag `latest` when neither is given).
        image: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show the findings continuous scanning saw appear or disappear for an
    /// image (when its stored inventory was matched against a newer
    /// vulnerability database), oldest first.
    ScanHistory {
        /// `REPOSITORY[:TAG|@DIGEST]` (the tag `latest` when neither is given).
        image: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the persisted jobs (garbage collections, delayed lifecycle
    /// applications, scans), newest first, with their status.
    Jobs {
        /// Only jobs of this kind: `gc`, `lifecycle`, `scan` or `encrypt`.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 20)]
        limit: u32,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Check every blob's bytes against its digest and every manifest's references;
    /// exits non-zero if anything is wrong.
    Fsck {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Apply lifecycle policies, or show what they expired.
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
    /// Copy every blob from one store to another (e.g. the filesystem to S3),
    /// verifying each digest; blobs already there are skipped, so it can be run
    /// again. Then set `storage.kind` to the new store and restart.
    MigrateStorage {
        /// The store to copy from: `filesystem` or `s3`.
        #[arg(long, value_name = "KIND")]
        from: String,
        /// The store to copy to: `filesystem` or `s3`.
        #[arg(long, value_name = "KIND")]
        to: String,
    },
    /// Manage access keys (for the AWS CLI and SDKs, and `docker login`).
    #[command(subcommand)]
    AccessKey(AccessKeyCommand),
    /// Managed signing's keys (signing profiles), with certificates issued
    /// by the installation's signing CA.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// Show an image's managed signing per signing profile (IN_PROGRESS,
    /// COMPLETE, or FAILED with the reason).
    SigningStatus {
        /// `REPOSITORY[:TAG|@DIGEST]` (the tag `latest` when neither is given).
        image: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The vulnerability database scans match against: import OSV records,
    /// download the configured sources, show what it holds.
    #[command(subcommand)]
    Vulndb(VulndbCommand),
    /// The key service standing in for AWS KMS: keys that encrypt
    /// repositories, named by id, ARN, alias or alias ARN.
    #[command(subcommand)]
    Kms(KmsCommand),
}

/// A key named on the command line, and the output format.
#[derive(Debug, clap::Args)]
pub struct KmsKeyArgs {
    /// The key: its id, ARN (arn:aws:kms:REGION:REGISTRY:key/ID), alias
    /// (alias/NAME) or alias ARN.
    pub key: String,
    /// Print the key as JSON (KMS's KeyMetadata).
    #[arg(long)]
    pub json: bool,
}

/// `berth kms …`, named as the AWS CLI's `aws kms` commands.
#[derive(Debug, Subcommand)]
pub enum KmsCommand {
    /// Make a key with fresh material, enabled.
    CreateKey {
        /// An alias for it (NAME or alias/NAME).
        #[arg(long)]
        alias: Option<String>,
        /// What it is for (at most 8192 characters, as in KMS).
        #[arg(long, default_value = "")]
        description: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List every key with its state (the registry key and the default key
    /// too, once made).
    ListKeys {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a key and the repositories it protects.
    DescribeKey(KmsKeyArgs),
    /// Enable a disabled key.
    EnableKey(KmsKeyArgs),
    /// Disable a key: what it protects can be neither pushed nor pulled.
    DisableKey(KmsKeyArgs),
    /// Delete a key when the waiting period ends; what only it protects
    /// becomes unreadable then. Cancel with cancel-key-deletion until then.
    ScheduleKeyDeletion {
        #[command(flatten)]
        key: KmsKeyArgs,
        /// The waiting period, 7 to 30 days.
        #[arg(long, default_value_t = 30)]
        pending_window_in_days: u32,
    },
    /// Cancel a scheduled deletion; the key is left disabled.
    CancelKeyDeletion(KmsKeyArgs),
    /// Rotate the key's material automatically every year.
    EnableKeyRotation(KmsKeyArgs),
    /// Stop rotating the key automatically.
    DisableKeyRotation(KmsKeyArgs),
    /// Add a version of material now; data made before still opens.
    RotateKeyOnDemand(KmsKeyArgs),
    /// Give a key another alias.
    CreateAlias {
        /// The alias (NAME or alias/NAME).
        alias: String,
        /// The key (id, ARN or alias).
        key: String,
    },
    /// Remove an alias (the key stays).
    DeleteAlias {
        /// The alias (NAME or alias/NAME).
        alias: String,
    },
}

/// `berth vulndb …`
#[derive(Debug, Subcommand)]
pub enum VulndbCommand {
    /// Replace one source's records with the OSV records of a zip (such as
    /// osv.dev's per-ecosystem all.zip) or of a directory of .json files.
    /// Malformed records are skipped, counted and reported.
    Import {
        /// The zip file or directory.
        path: PathBuf,
        /// The source the records replace [default: import:<file name>].
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
    },
    /// Download every configured source (vulndb_sources) that changed and
    /// import it; exits non-zero if any source failed (its previous records
    /// stay in service).
    Update,
    /// Show each source: when it last updated, how many records it holds and
    /// skipped, and its last error.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Match the stored inventories of images that continuous scanning
    /// covers (ENHANCED CONTINUOUS_SCAN rules) against the database in
    /// service now, as a running server does within seconds of an update,
    /// and record the findings that appeared or disappeared. Images already
    /// matched against it are left alone.
    Rematch,
}

/// `berth lifecycle …`
#[derive(Debug, Subcommand)]
pub enum LifecycleCommand {
    /// Apply the lifecycle policy of one repository, or of every repository that has one.
    Run {
        /// Only this repository.
        #[arg(long)]
        repository: Option<String>,
        /// Report what would expire without expiring anything.
        #[arg(long)]
        dry_run: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show past expirations, newest first.
    History {
        /// Only this repository.
        #[arg(long)]
        repository: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `berth signing-key …`
#[derive(Debug, Subcommand)]
pub enum SigningKeyCommand {
    /// Create a signing profile: a new ECDSA P-256 key and a code-signing
    /// certificate from the installation's signing CA (made on first use).
    Create {
        /// The profile's name: 2 to 64 letters, digits or '_'.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the signing profiles.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a signing profile, with its certificate.
    Describe {
        /// The profile's name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete a signing profile that no signing rule names (signatures it
    /// made stay, and verify until its certificate expires).
    Delete {
        /// The profile's name.
        name: String,
    },
    /// Print the signing CA certificate (PEM), for verifiers' trust stores.
    Ca,
}

/// `berth access-key …`
#[derive(Debug, Subcommand)]
pub enum AccessKeyCommand {
    /// Create an access key for a user; the secret is printed once.
    Create {
        /// The user who owns the key.
        user: String,
        /// Print JSON (accessKeyId, secretAccessKey, userName, createdAt).
        #[arg(long)]
        json: bool,
    },
    /// List a user's access keys (without secrets).
    List {
        /// The user.
        user: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Delete one of a user's access keys.
    Delete {
        /// The user.
        user: String,
        /// The access key id.
        id: String,
    },
}

/// `berth user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List users.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Create a user; the password is read from BERTH_USER_PASSWORD or generated and printed.
    Create {
        /// The new user's name.
        name: String,
        /// Managed policies to attach (repeatable), e.g. AmazonEC2ContainerRegistryPowerUser.
        #[arg(long = "policy", value_name = "POLICY")]
        policies: Vec<String>,
    },
    /// Attach a managed policy (AmazonEC2ContainerRegistryFullAccess, …PowerUser, …ReadOnly, …PullOnly).
    AttachPolicy {
        /// The user.
        name: String,
        /// The managed policy's name or ARN.
        policy: String,
    },
    /// Attach (or replace) an inline IAM policy read from a JSON file.
    PutPolicy {
        /// The user.
        name: String,
        /// A name for the inline policy.
        policy_name: String,
        /// The policy document (IAM JSON).
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
    },
    /// Detach a policy (managed or inline) by name.
    DetachPolicy {
        /// The user.
        name: String,
        /// The policy's name.
        policy: String,
    },
    /// List a user's policies.
    Policies {
        /// The user.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Set a user's password from BERTH_USER_PASSWORD, or generate and print one.
    SetPassword {
        /// The user's name.
        name: String,
    },
    /// Delete a user.
    Delete {
        /// The user's name.
        name: String,
    },
}

/// `berth gc …`
#[derive(Debug, Args)]
pub struct GcArgs {
    /// Report what would be deleted without deleting anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Only delete blobs whose last link was touched longer ago than this many
    /// seconds [default: the gc_grace setting, 3600].
    #[arg(long)]
    pub grace_seconds: Option<u64>,
}
