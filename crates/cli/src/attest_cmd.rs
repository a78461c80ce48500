//! `crosslock attest`: verify a device attestation and print the verdict as
//! JSON. The checks live in `crosslock-attest`; this module reads the files,
//! parses the arguments and prints.
//!
//! Exit status: 0 for an accepted attestation, 1 for a refused one, 2 when
//! the arguments or files cannot be used. Every outcome prints one JSON
//! object on stdout with a `verdict` of `accepted` or `refused`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::SystemTime;

use base64::Engine as _;
use crosslock_attest::{
    AndroidRoots, AttestationPolicy, Refusal, UnverifiedAndroidAttestation, UnverifiedAppAttest,
};

/// Largest input file read (chains and attestation objects are a few KiB).
const MAX_INPUT: u64 = 1024 * 1024;

/// Verify a device attestation at a given time.
#[derive(clap::Subcommand, Debug)]
pub(crate) enum AttestCommand {
    /// Verify an Android Key Attestation certificate chain; prints the
    /// verdict and the KeyDescription.
    Android {
        /// The chain as PEM certificates, leaf first.
        #[arg(long, value_name = "FILE.pem")]
        chain: PathBuf,
        /// Verification time, RFC 3339 (for example 2025-09-26T12:00:00Z).
        #[arg(long, value_name = "RFC3339")]
        at: String,
        /// strict: hardware-backed, locked bootloader, verified boot.
        /// dev: hardware-backed.
        #[arg(long, value_enum, default_value_t = PolicyArg::Strict)]
        policy: PolicyArg,
    },
    /// Verify an Apple App Attest attestation object; prints the verdict,
    /// the environment (development or production, both accepted), the key
    /// id and the public key.
    Apple {
        /// File holding the base64 of the CBOR attestation object.
        #[arg(long, value_name = "FILE")]
        object: PathBuf,
        /// SHA-256 of the client data, base64.
        #[arg(long, value_name = "BASE64")]
        client_data_hash: String,
        /// The app id: team id, a dot, the bundle id.
        #[arg(long, value_name = "TEAMID.BUNDLE")]
        app_id: String,
        /// Verification time, RFC 3339.
        #[arg(long, value_name = "RFC3339")]
        at: String,
    },
}

/// `--policy` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PolicyArg {
    /// Hardware-backed key, locked bootloader, verified boot.
    Strict,
    /// Hardware-backed key.
    Dev,
}

impl From<PolicyArg> for AttestationPolicy {
    fn from(policy: PolicyArg) -> Self {
        match policy {
            PolicyArg::Strict => Self::Strict,
            PolicyArg::Dev => Self::Development,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Accepted,
    Refused,
    Usage,
}

/// Runs the command, prints its JSON report on stdout, and returns the exit status.
pub(crate) fn run(cmd: AttestCommand) -> ExitCode {
    let (outcome, text) = evaluate(cmd);
    let mut out = std::io::stdout().lock();
    // A closed stdout leaves nothing to report to.
    let _ = writeln!(out, "{text}");
    match outcome {
        Outcome::Accepted => ExitCode::SUCCESS,
        Outcome::Refused => ExitCode::from(1),
        Outcome::Usage => ExitCode::from(2),
    }
}

/// Pretty JSON, in the field order of the report types.
fn pretty(report: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| {
        format!(
            "{{\"verdict\": \"refused\", \"reason\": \"internal\", \"message\": {:?}}}",
            e.to_string()
        )
    })
}

/// A refusal before any attestation was looked at: bad arguments or files.
#[derive(serde::Serialize)]
struct UsageError {
    verdict: &'static str,
    reason: &'static str,
    message: String,
}

fn usage(reason: &'static str, message: String) -> String {
    pretty(&UsageError {
        verdict: "refused",
        reason,
        message,
    })
}

fn evaluate(cmd: AttestCommand) -> (Outcome, String) {
    match cmd {
        AttestCommand::Android { chain, at, policy } => {
            match (read_input(&chain, "--chain"), parse_time(&at)) {
                (Ok(pem), Ok(at)) => android(&pem, at, policy.into()),
                (Err(usage), _) | (_, Err(usage)) => (Outcome::Usage, usage),
            }
        }
        AttestCommand::Apple {
            object,
            client_data_hash,
            app_id,
            at,
        } => {
            let inputs = (
                read_input(&object, "--object"),
                parse_client_data_hash(&client_data_hash),
                parse_time(&at),
            );
            match inputs {
                (Ok(object), Ok(hash), Ok(at)) => apple(&object, &hash, &app_id, at),
                (Err(usage), _, _) | (_, Err(usage), _) | (_, _, Err(usage)) => {
                    (Outcome::Usage, usage)
                }
            }
        }
    }
}

fn android(pem: &str, at: SystemTime, policy: AttestationPolicy) -> (Outcome, String) {
    let chain = match UnverifiedAndroidAttestation::from_pem(pem) {
        Ok(chain) => chain,
        Err(e) => return (Outcome::Refused, pretty(&Refusal::new(&e))),
    };
    let verified = AndroidRoots::google().and_then(|roots| chain.verify(&roots, at, policy, None));
    match verified {
        Ok(verified) => (Outcome::Accepted, pretty(&verified)),
        // What the chain claims is shown for diagnosis, marked unverified.
        Err(e) => (
            Outcome::Refused,
            pretty(&Refusal::new(&e).with_unverified_key_description(chain.key_description())),
        ),
    }
}

fn apple(
    object: &str,
    client_data_hash: &[u8; 32],
    app_id: &str,
    at: SystemTime,
) -> (Outcome, String) {
    // The CLI reports the environment rather than requiring production.
    let verified = UnverifiedAppAttest::from_base64(object).and_then(|o| {
        o.verify(
            client_data_hash,
            app_id,
            None,
            AttestationPolicy::Development,
            at,
        )
    });
    match verified {
        Ok(verified) => (Outcome::Accepted, pretty(&verified)),
        Err(e) => (Outcome::Refused, pretty(&Refusal::new(&e))),
    }
}

fn read_input(path: &Path, flag: &str) -> Result<String, String> {
    let unreadable = |e: std::io::Error| {
        usage(
            "unreadable-input",
            format!("{flag} {}: {e}", path.display()),
        )
    };
    let len = std::fs::metadata(path).map_err(unreadable)?.len();
    if len > MAX_INPUT {
        return Err(usage(
            "unreadable-input",
            format!("{flag} {}: larger than {MAX_INPUT} bytes", path.display()),
        ));
    }
    std::fs::read_to_string(path).map_err(unreadable)
}

fn parse_time(text: &str) -> Result<SystemTime, String> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(SystemTime::from)
        .map_err(|e| usage("invalid-argument", format!("--at {text:?}: {e}")))
}

fn parse_client_data_hash(text: &str) -> Result<[u8; 32], String> {
    base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or_else(|| {
            usage(
                "invalid-argument",
                "--client-data-hash must be the base64 of 32 bytes (a SHA-256)".to_string(),
            )
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn eval(cmd: AttestCommand) -> (Outcome, Value) {
        let (outcome, text) = evaluate(cmd);
        (outcome, serde_json::from_str(&text).unwrap())
    }

    fn data(relative: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../attest/tests/data")
            .join(relative)
    }

    fn android_cmd(name: &str, at: &str, policy: PolicyArg) -> AttestCommand {
        AttestCommand::Android {
            chain: data(&format!("android/{name}.pem")),
            at: at.into(),
            policy,
        }
    }

    #[test]
    fn caiman_is_accepted_under_strict_with_the_samples_facts() {
        let (outcome, report) = eval(android_cmd(
            "caiman_sdk36_TEE_EC_RKP",
            "2025-09-26T12:00:00Z",
            PolicyArg::Strict,
        ));
        assert_eq!(outcome, Outcome::Accepted);
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(data("android/caiman_sdk36_TEE_EC_RKP.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(report["verdict"], "accepted");
        assert_eq!(
            report["attestationChallenge"],
            expected["attestationChallenge"]
        );
        assert_eq!(
            report["hardwareEnforced"]["rootOfTrust"],
            expected["hardwareEnforced"]["rootOfTrust"]
        );
    }

    #[test]
    fn marlin_is_refused_under_both_policies() {
        for policy in [PolicyArg::Strict, PolicyArg::Dev] {
            let (outcome, report) = eval(android_cmd(
                "marlin_sdk29_TEE_EC_NONE",
                "2020-01-01T00:00:00Z",
                policy,
            ));
            assert_eq!(outcome, Outcome::Refused);
            assert_eq!(report["verdict"], "refused");
            assert_eq!(report["reason"], "software-root");
        }
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        let (outcome, report) = eval(android_cmd(
            "caiman_sdk36_TEE_EC_RKP",
            "yesterday",
            PolicyArg::Strict,
        ));
        assert_eq!(outcome, Outcome::Usage);
        assert_eq!(report["reason"], "invalid-argument");
        let (outcome, _) = eval(android_cmd(
            "missing",
            "2025-09-26T12:00:00Z",
            PolicyArg::Dev,
        ));
        assert_eq!(outcome, Outcome::Usage);
        assert!(parse_client_data_hash("AAAA").is_err());
    }

    /// The first value of `key: value` in the sample (the attestation document comes first).
    fn yaml_value(text: &str, key: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap()
            .trim_matches('\'')
            .to_string()
    }

    #[test]
    fn apple_samples_are_accepted_and_a_one_byte_change_is_refused() {
        for file in [
            "ios-14.2.yaml",
            "ios-14.3.yaml",
            "ios-14.4-beta-1.yaml",
            "ios-14.4.yaml",
        ] {
            let text = std::fs::read_to_string(data(&format!("apple/{file}"))).unwrap();
            let object = yaml_value(&text, "attestationBase64");
            let run_with = |object: &str| {
                let path = std::env::temp_dir().join(format!(
                    "crosslock-attest-cmd-{}-{file}.b64",
                    std::process::id()
                ));
                std::fs::write(&path, object).unwrap();
                let result = eval(AttestCommand::Apple {
                    object: path.clone(),
                    client_data_hash: yaml_value(&text, "clientDataHashSha256Base64"),
                    app_id: "6MURL8TA57.de.vincent-haupert.apple-appattest-poc".into(),
                    at: yaml_value(&text, "timestamp"),
                });
                std::fs::remove_file(&path).unwrap();
                result
            };
            let (outcome, report) = run_with(&object);
            assert_eq!(outcome, Outcome::Accepted, "{file}: {report}");
            assert_eq!(report["environment"], "development");
            assert_eq!(report["keyId"], yaml_value(&text, "keyIdBase64").as_str());
            // One byte of authData (near the end of the object) changed.
            let mut bytes = base64::engine::general_purpose::STANDARD
                .decode(&object)
                .unwrap();
            let at = bytes.len() - 100;
            bytes[at] ^= 0x01;
            let tampered = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let (outcome, report) = run_with(&tampered);
            assert_eq!(outcome, Outcome::Refused, "{file}");
            assert_eq!(report["verdict"], "refused");
        }
    }
}
