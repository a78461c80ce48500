//! `crosslock device`: a device whose state lives in a directory, driven
//! over the provider's real HTTP API through the SDK (`crosslock-sdk`):
//! what a phone app does, one command at a time. Every command that talks
//! to the provider first runs the lifecycle jobs that are due
//! (maintenance, KeyPackages, revocations, own-history monitoring,
//! credential refresh); `listen` runs them between inbox waits.
//!
//! Every command prints a short human report, or with `--json` one JSON
//! object (`{"ok": true, ...}` or `{"ok": false, "error": ..., "kind": ...}`).
//! Exit codes: 0 success, 1 refused by the provider or the client core,
//! 2 bad input or missing set-up, 3 provider unreachable.

pub(crate) mod convo;
pub(crate) mod files;
pub(crate) mod monitor;
pub(crate) mod subject;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crosslock_sdk::{Messenger, Options, SdkError, Setup};

/// Creates a device in `path` for `number` at the provider `server`
/// (whose TLS root is `ca_pem`), with the system clock and randomness.
pub(crate) async fn init(
    path: &std::path::Path,
    number: &str,
    profile: &str,
    server: &str,
    ca_pem: String,
) -> Result<Messenger, Failure> {
    let setup = Setup {
        number: number.to_owned(),
        profile: crosslock_sdk::parse_profile(profile)?,
        server: server.to_owned(),
        tls_ca_pem: ca_pem,
    };
    Ok(Messenger::create(path, setup, Options::default()).await?)
}

/// Opens the device in `path` with the system clock and randomness.
pub(crate) fn open(path: &std::path::Path) -> Result<Messenger, Failure> {
    Ok(Messenger::open(path, Options::default())?)
}

/// Options shared by every device command.
#[derive(Args, Debug)]
pub(crate) struct DeviceArgs {
    /// The device's directory (its encrypted state and settings).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "./crosslock-device",
        global = true
    )]
    device_dir: PathBuf,
    /// Print one JSON object instead of the human report.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: DeviceCommand,
}

#[derive(Subcommand, Debug)]
enum DeviceCommand {
    /// Create a device for a number, trusting a provider.
    Init {
        /// The device's number, E.164 (`+447700900123`).
        #[arg(long)]
        number: String,
        /// Which kind of phone this device plays: `android` or `ios`.
        #[arg(long, default_value = "android")]
        profile: String,
        /// The provider's base URL (what `crosslock serve` prints).
        #[arg(long, default_value = "https://127.0.0.1:8443")]
        server: String,
        /// The provider's TLS root, PEM (`crosslock serve` prints where it
        /// is: DATA_DIR/tls/tls-ca.pem).
        #[arg(long, value_name = "FILE")]
        ca: PathBuf,
    },
    /// Prove the number with the carrier, get credentials from the KDS,
    /// publish KeyPackages.
    Enroll {
        /// The subscriber secret the carrier knows this number by (a
        /// development provider accepts any).
        #[arg(long, default_value = "development-subscriber")]
        subscriber_token: String,
        /// How many KeyPackages to publish per suite.
        #[arg(long, default_value_t = 20)]
        key_packages: usize,
        /// This is a reinstall: revoke the number's other devices.
        #[arg(long)]
        replace: bool,
    },
    /// Send a text: to a number (a 1:1, created on first use) or into a
    /// conversation.
    Send {
        /// The recipient's number.
        #[arg(long, conflicts_with = "conversation")]
        to: Option<String>,
        /// A conversation id (as `status` shows it).
        #[arg(long)]
        conversation: Option<String>,
        /// The text.
        text: String,
    },
    /// Fetch and decrypt what waits in the inbox, send read receipts.
    Recv {
        /// Wait up to this many seconds for something to arrive.
        #[arg(long, default_value_t = 0)]
        wait: u64,
    },
    /// Follow the inbox until Ctrl-C, printing what arrives.
    Listen,
    /// Every conversation's security state.
    Status,
    /// Check this number's own key-transparency history: keys this device
    /// never had, devices not approved, a forked log (docs/kt.md).
    Monitor {
        /// Approve a device of this number shown as new (its id): every
        /// credential its alerts show, or only `--credential`.
        #[arg(long)]
        approve: Option<String>,
        /// Approve only this credential (SHA-256, hex, as the alert shows).
        #[arg(long, requires = "approve")]
        credential: Option<String>,
    },
    /// The safety number with a contact, as digits and a QR code.
    Verify {
        /// The contact's number.
        #[arg(long)]
        with: String,
        /// The conversation to take the keys from (default: the 1:1).
        #[arg(long)]
        conversation: Option<String>,
        /// Mark the contact's current keys verified (after comparing).
        #[arg(long)]
        confirm: bool,
    },
    /// Group conversations.
    Group {
        #[command(subcommand)]
        command: GroupCommand,
    },
    /// Encrypted files.
    File {
        #[command(subcommand)]
        command: FileCommand,
    },
}

#[derive(Subcommand, Debug)]
enum GroupCommand {
    /// Create a group with members (every device of each).
    Create {
        /// Members' numbers.
        #[arg(long = "member", required = true)]
        members: Vec<String>,
    },
    /// Add a member (every device of the number).
    Add {
        /// The group.
        #[arg(long)]
        conversation: String,
        /// The number to add.
        #[arg(long)]
        member: String,
    },
    /// Remove a member (every device of the number).
    Remove {
        /// The group.
        #[arg(long)]
        conversation: String,
        /// The number to remove.
        #[arg(long)]
        member: String,
    },
    /// Leave a group (the next commit by another member applies it).
    Leave {
        /// The group.
        #[arg(long)]
        conversation: String,
    },
    /// Show the group's encrypted subject, or set it.
    Subject {
        /// The group.
        #[arg(long)]
        conversation: String,
        /// The new subject.
        #[arg(long, conflicts_with = "request")]
        set: Option<String>,
        /// Ask the members for the keys this device lacks (a late member).
        #[arg(long)]
        request: bool,
    },
    /// Show the group's encrypted icon (and save it), or set it from an
    /// image file of at most 1 MiB.
    Icon {
        /// The group.
        #[arg(long)]
        conversation: String,
        /// The image to set (.jpg, .jpeg, .png, .gif, .heic).
        #[arg(long, conflicts_with = "save")]
        set: Option<std::path::PathBuf>,
        /// Where to write the icon this device holds.
        #[arg(long)]
        save: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum FileCommand {
    /// Encrypt a file on this device, upload it, send its key inside MLS.
    Send {
        /// The recipient's number.
        #[arg(long, conflicts_with = "conversation")]
        to: Option<String>,
        /// A conversation id.
        #[arg(long)]
        conversation: Option<String>,
        /// The media type (default: from the extension).
        #[arg(long)]
        media_type: Option<String>,
        /// The file.
        path: PathBuf,
    },
    /// Download and decrypt every file received so far into a directory.
    Recv {
        /// Where to save the files.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
    },
}

/// Why a command failed, and what kind of failure it is.
#[derive(Debug)]
pub(crate) struct Failure {
    kind: FailureKind,
    message: String,
}

#[derive(Debug, Clone, Copy)]
enum FailureKind {
    Input,
    Refused,
    Network,
    Internal,
}

impl Failure {
    pub(crate) fn input(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::Input,
            message: message.into(),
        }
    }
    pub(crate) fn refused(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::Refused,
            message: message.into(),
        }
    }
    pub(crate) fn network(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::Network,
            message: message.into(),
        }
    }
    pub(crate) fn internal(message: impl Into<String>) -> Failure {
        Failure {
            kind: FailureKind::Internal,
            message: message.into(),
        }
    }
    fn kind_name(&self) -> &'static str {
        match self.kind {
            FailureKind::Input => "input",
            FailureKind::Refused => "refused",
            FailureKind::Network => "network",
            FailureKind::Internal => "internal",
        }
    }
    fn exit(&self) -> ExitCode {
        match self.kind {
            FailureKind::Input => ExitCode::from(2),
            FailureKind::Refused | FailureKind::Internal => ExitCode::FAILURE,
            FailureKind::Network => ExitCode::from(3),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<crosslock_client::ClientError> for Failure {
    fn from(e: crosslock_client::ClientError) -> Self {
        Failure::refused(format!("client core: {e}"))
    }
}

impl From<SdkError> for Failure {
    fn from(e: SdkError) -> Self {
        let message = e.to_string();
        match e.kind() {
            crosslock_sdk::ErrorKind::Input => Failure::input(message),
            crosslock_sdk::ErrorKind::Refused => Failure::refused(message),
            crosslock_sdk::ErrorKind::Network => Failure::network(message),
            crosslock_sdk::ErrorKind::Internal => Failure::internal(message),
        }
    }
}

/// What a command reports: JSON, and the same for a person.
#[derive(Debug, Default)]
pub(crate) struct Report {
    json: serde_json::Map<String, Value>,
    lines: Vec<String>,
}

impl Report {
    pub(crate) fn set(&mut self, key: &str, value: Value) {
        self.json.insert(key.to_owned(), value);
    }
    pub(crate) fn line(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }
    pub(crate) fn lines(&self) -> &[String] {
        &self.lines
    }
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.json.get(key)
    }
}

pub(crate) fn run(args: DeviceArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let json = args.json;
    match runtime.block_on(dispatch(args)) {
        Ok(report) => {
            if json {
                let mut object = report.json;
                object.insert("ok".into(), Value::Bool(true));
                println!("{}", Value::Object(object));
            } else {
                for line in report.lines {
                    println!("{line}");
                }
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            if json {
                println!(
                    "{}",
                    json!({"ok": false, "kind": failure.kind_name(), "error": failure.message})
                );
            } else {
                eprintln!("error: {}", failure.message);
            }
            failure.exit()
        }
    }
}

async fn dispatch(args: DeviceArgs) -> Result<Report, Failure> {
    let path = args.device_dir;
    let mut report = Report::default();
    match args.command {
        DeviceCommand::Init {
            number,
            profile,
            server,
            ca,
        } => {
            let ca_pem = std::fs::read_to_string(&ca)
                .map_err(|e| Failure::input(format!("--ca {}: {e}", ca.display())))?;
            let setup = Setup {
                number,
                profile: crosslock_sdk::parse_profile(&profile)?,
                server,
                tls_ca_pem: ca_pem,
            };
            let dir = Messenger::create(&path, setup, Options::default()).await?;
            let suites: Vec<String> = dir
                .device()
                .suites()
                .iter()
                .map(|s| s.name().to_owned())
                .collect();
            let settings = dir.settings();
            report.set("device_id", json!(dir.device_id()));
            report.set("number", json!(settings.number));
            report.set("profile", json!(settings.profile));
            report.set("provider", json!(settings.provider.name));
            report.set("suites", json!(suites));
            report.line(format!(
                "device {} for {} ({}) created in {}",
                dir.device_id(),
                settings.number,
                settings.profile,
                path.display()
            ));
            report.line(format!(
                "provider {} at {}; suites: {}",
                settings.provider.name,
                settings.server,
                suites.join(", ")
            ));
            report.line("next: crosslock device enroll");
        }
        DeviceCommand::Enroll {
            subscriber_token,
            key_packages,
            replace,
        } => {
            let mut dir = open(&path)?;
            convo::enroll(
                &mut dir,
                &subscriber_token,
                key_packages,
                replace,
                &mut report,
            )
            .await?;
        }
        DeviceCommand::Send {
            to,
            conversation,
            text,
        } => {
            let mut dir = open(&path)?;
            convo::maintain(&mut dir, &mut report).await?;
            convo::sync(&mut dir, 0, &mut report).await?;
            let id = convo::target(
                &mut dir,
                to.as_deref(),
                conversation.as_deref(),
                &mut report,
            )
            .await?;
            convo::send_text(&mut dir, &id, &text, &mut report).await?;
        }
        DeviceCommand::Recv { wait } => {
            let mut dir = open(&path)?;
            convo::maintain(&mut dir, &mut report).await?;
            convo::sync(&mut dir, wait, &mut report).await?;
        }
        DeviceCommand::Listen => {
            let mut dir = open(&path)?;
            convo::listen(&mut dir, args.json).await?;
        }
        DeviceCommand::Status => {
            let mut dir = open(&path)?;
            convo::status(&mut dir, &mut report)?;
        }
        DeviceCommand::Monitor {
            approve,
            credential,
        } => {
            let mut dir = open(&path)?;
            let approval = approve.as_deref().map(|d| (d, credential.as_deref()));
            monitor::monitor(&mut dir, approval, &mut report).await?;
        }
        DeviceCommand::Verify {
            with,
            conversation,
            confirm,
        } => {
            let mut dir = open(&path)?;
            convo::verify(
                &mut dir,
                &with,
                conversation.as_deref(),
                confirm,
                &mut report,
            )?;
        }
        DeviceCommand::Group { command } => {
            let mut dir = open(&path)?;
            convo::maintain(&mut dir, &mut report).await?;
            convo::sync(&mut dir, 0, &mut report).await?;
            match command {
                GroupCommand::Create { members } => {
                    convo::group_create(&mut dir, &members, &mut report).await?
                }
                GroupCommand::Add {
                    conversation,
                    member,
                } => convo::group_add(&mut dir, &conversation, &member, &mut report).await?,
                GroupCommand::Remove {
                    conversation,
                    member,
                } => convo::group_remove(&mut dir, &conversation, &member, &mut report).await?,
                GroupCommand::Leave { conversation } => {
                    convo::group_leave(&mut dir, &conversation, &mut report).await?
                }
                GroupCommand::Subject {
                    conversation,
                    set,
                    request,
                } => {
                    let id = convo::conversation_id(&conversation)?;
                    match set {
                        Some(text) => subject::set(&mut dir, &id, &text, &mut report).await?,
                        None => subject::show(&mut dir, &id, request, &mut report).await?,
                    }
                }
                GroupCommand::Icon {
                    conversation,
                    set,
                    save,
                } => {
                    let id = convo::conversation_id(&conversation)?;
                    match set {
                        Some(path) => subject::set_icon(&mut dir, &id, &path, &mut report).await?,
                        None => {
                            subject::show_icon(&mut dir, &id, save.as_deref(), &mut report).await?
                        }
                    }
                }
            }
        }
        DeviceCommand::File { command } => {
            let mut dir = open(&path)?;
            convo::maintain(&mut dir, &mut report).await?;
            match command {
                FileCommand::Send {
                    to,
                    conversation,
                    media_type,
                    path,
                } => {
                    convo::sync(&mut dir, 0, &mut report).await?;
                    let id = convo::target(
                        &mut dir,
                        to.as_deref(),
                        conversation.as_deref(),
                        &mut report,
                    )
                    .await?;
                    files::send(&mut dir, &id, &path, media_type.as_deref(), &mut report).await?;
                }
                FileCommand::Recv { out } => {
                    convo::sync(&mut dir, 0, &mut report).await?;
                    files::receive_all(&mut dir, &out, &mut report).await?;
                }
            }
        }
    }
    Ok(report)
}
