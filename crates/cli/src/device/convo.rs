//! Enrolment, conversations, the inbox, security state: the device
//! commands' reports over the SDK (`crosslock-sdk` does the work).

use crosslock_client::credential::PhoneNumber;
use crosslock_client::{
    ConversationId, ConversationKind, PendingCommit, SecurityState, TransparencyStatus,
    Verification,
};
use crosslock_sdk::{Event, Messenger};
use serde_json::{Value, json};

use super::{Failure, Report};

fn number(text: &str) -> Result<PhoneNumber, Failure> {
    PhoneNumber::parse(text).map_err(|e| {
        Failure::input(format!(
            "not a phone number ({e}); use +E.164, e.g. +447700900123"
        ))
    })
}

/// A conversation id as `status` prints it: the id itself, or `0x` + hex.
pub(crate) fn conversation_id(text: &str) -> Result<ConversationId, Failure> {
    let bytes = match text.strip_prefix("0x") {
        Some(h) => {
            hex::decode(h).map_err(|e| Failure::input(format!("conversation {text:?}: {e}")))?
        }
        None => text.as_bytes().to_vec(),
    };
    ConversationId::new(bytes)
        .ok_or_else(|| Failure::input(format!("conversation {text:?}: 1 to 255 bytes")))
}

/// Carrier proof, enrolment, credentials, KeyPackages.
pub(crate) async fn enroll(
    dir: &mut Messenger,
    subscriber_token: &str,
    key_packages: usize,
    replace: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    // A command-line device has no hardware attestation to offer.
    let enrolled = dir
        .enroll(subscriber_token, key_packages, None, replace)
        .await?;
    report.set("credentials", json!(enrolled.credentials));
    report.set("key_packages", json!(enrolled.key_packages));
    report.set("key_packages_failed", json!(enrolled.key_packages_failed));
    report.line(format!(
        "enrolled {} at {}: {} credential(s), {} KeyPackages published",
        dir.settings().number,
        dir.settings().provider.name,
        enrolled.credentials,
        enrolled.key_packages
    ));
    if let Some(why) = &enrolled.key_packages_failed {
        report.line(format!(
            "no KeyPackages reached the provider yet ({why}): nobody can add this device \
             until they do; the next `crosslock device` command that talks to the provider \
             uploads them"
        ));
    }
    report.line("your keys appear in the provider's transparency log at its next epoch");
    Ok(())
}

/// Submits a pending commit and applies the verdict.
pub(crate) async fn submit(dir: &mut Messenger, pending: &PendingCommit) -> Result<u64, Failure> {
    dir.submit(pending).await.map_err(|e| match e {
        crosslock_sdk::SdkError::Refused(why) => {
            Failure::refused(format!("{why}; run `crosslock device recv` and try again"))
        }
        other => other.into(),
    })
}

/// The conversation a command addresses: `--conversation`, or the 1:1
/// with `--to` (created when there is none).
pub(crate) async fn target(
    dir: &mut Messenger,
    to: Option<&str>,
    conversation: Option<&str>,
    report: &mut Report,
) -> Result<ConversationId, Failure> {
    match (to, conversation) {
        (_, Some(c)) => conversation_id(c),
        (Some(to), None) => {
            let peer = number(to)?;
            let started = dir.open_chat(peer.as_str()).await?;
            let id = started.conversation;
            if let Some(epoch) = started.epoch {
                report.set("created", json!(id.to_string()));
                report.line(format!(
                    "started an end-to-end encrypted 1:1 with {} (conversation {id}, epoch {epoch})",
                    peer.as_str()
                ));
            }
            Ok(id)
        }
        (None, None) => Err(Failure::input(
            "say where: --to NUMBER or --conversation ID",
        )),
    }
}

pub(crate) async fn send_text(
    dir: &mut Messenger,
    id: &ConversationId,
    text: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let sent = dir.send_text(id, text).await?;
    report.set("conversation", json!(id.to_string()));
    report.set("message_id", json!(sent.message_id));
    report.set("bytes_sent", json!(sent.ciphertext_bytes));
    report.line(format!(
        "sent to {id}: {} bytes of ciphertext (message {})",
        sent.ciphertext_bytes, sent.message_id
    ));
    Ok(())
}

fn sender(s: &crosslock_client::Sender) -> Value {
    json!({"number": s.number.as_str(), "device": s.device})
}

/// One event as the JSON `recv` prints and the line a person reads.
pub(crate) fn event_report(event: &Event) -> (Value, Option<String>) {
    match event {
        Event::Text {
            conversation,
            from,
            text,
            ..
        } => (
            json!({"type": "text", "conversation": conversation.to_string(), "from": sender(from), "text": text}),
            Some(format!("[{conversation}] {}: {text}", from.number.as_str())),
        ),
        Event::Content {
            conversation,
            from: Some(from),
            content_type,
        } if content_type == "application/mimi-content" => (
            json!({"type": "content", "conversation": conversation.to_string(), "from": sender(from)}),
            None,
        ),
        Event::Content {
            conversation,
            content_type,
            ..
        } => (
            json!({"type": "other", "conversation": conversation.to_string(), "content_type": content_type}),
            None,
        ),
        Event::Status {
            conversation,
            from,
            statuses,
        } => (
            json!({"type": "receipt", "conversation": conversation.to_string(), "from": sender(from), "statuses": statuses}),
            Some(format!(
                "[{conversation}] {} receipt: {}",
                from.number.as_str(),
                statuses.join(", ")
            )),
        ),
        Event::Receipt {
            conversation,
            from,
            message_id,
            notification,
        } => (
            json!({"type": "receipt", "conversation": conversation.to_string(), "message_id": message_id, "notification": format!("{notification:?}"), "from": sender(from)}),
            Some(format!(
                "[{conversation}] {} receipt for {message_id}: {notification:?} (signed)",
                from.number.as_str()
            )),
        ),
        Event::FileKey {
            conversation,
            from,
            slot,
        } => (
            json!({"type": "file-info", "conversation": conversation.to_string(), "from": sender(from), "slot": slot}),
            None,
        ),
        Event::File {
            conversation,
            from,
            name,
            media_type,
            size,
            ..
        } => (
            json!({"type": "file", "conversation": conversation.to_string(), "from": sender(from), "name": name, "media_type": media_type, "size": size}),
            Some(format!(
                "[{conversation}] {} sent a file: {name} ({media_type}, {size} bytes); `crosslock device file recv` fetches it",
                from.number.as_str(),
            )),
        ),
        Event::GroupMetadata {
            conversation,
            from,
            kind,
            error,
        } => {
            let kind = format!("{kind:?}").to_lowercase();
            (
                json!({"type": "group-metadata", "conversation": conversation.to_string(), "from": sender(from), "kind": kind, "opened": error.is_none()}),
                Some(match error {
                    None => format!(
                        "[{conversation}] {} sent the group {kind}; opened",
                        from.number.as_str()
                    ),
                    Some(e) => format!("[{conversation}] group {kind} not opened: {e}"),
                }),
            )
        }
        Event::Typing {
            conversation,
            from,
            active,
        } => (
            json!({"type": "typing", "conversation": conversation.to_string(), "from": sender(from), "active": active}),
            Some(format!(
                "[{conversation}] {} is {}",
                from.number.as_str(),
                if *active { "typing…" } else { "idle" }
            )),
        ),
        Event::MembershipChanged {
            conversation,
            epoch,
            added,
            removed,
            removed_self,
            metadata_keys_resent,
            wire_profile_changed,
            ..
        } => (
            json!({"type": "commit", "conversation": conversation.to_string(), "epoch": epoch, "added": added.iter().map(sender).collect::<Vec<_>>(), "removed": removed.iter().map(sender).collect::<Vec<_>>(), "removed_self": removed_self, "metadata_keys_resent": metadata_keys_resent, "wire_profile_changed": wire_profile_changed.map(|p| p.name())}),
            Some(format!(
                "[{conversation}] epoch {epoch}: {} added, {} removed{}{}",
                added.len(),
                removed.len(),
                if *removed_self {
                    " (this device was removed)"
                } else {
                    ""
                },
                match wire_profile_changed {
                    Some(p) if p.extras() => format!(
                        "; wire profile now {}: typing and encrypted receipts are back",
                        p.name()
                    ),
                    Some(p) => format!(
                        "; wire profile now {}: a member reads the deployed formats only, so no typing, and receipts are signed IMDNs",
                        p.name()
                    ),
                    None => String::new(),
                }
            )),
        ),
        Event::Joined {
            conversation,
            added_by,
            suite,
        } => (
            json!({"type": "joined", "conversation": conversation.to_string(), "added_by": sender(added_by), "suite": suite.name()}),
            Some(format!(
                "joined {conversation}, added by {} ({})",
                added_by.number.as_str(),
                suite.name()
            )),
        ),
        Event::Proposal { conversation, from } => (
            json!({"type": "proposal", "conversation": conversation.to_string(), "from": sender(from)}),
            None,
        ),
        Event::NegativeReport {
            conversation,
            failed_message_id,
            reason,
            reporter,
            sent_by_us,
        } => {
            let reason = reason.map(|r| format!("{r:?}"));
            (
                json!({"type": "negative_report", "conversation": conversation.to_string(), "message_id": failed_message_id, "reason": reason, "from": sender(reporter), "sent_by_us": sent_by_us}),
                Some(format!(
                    "{} could not process message {failed_message_id} ({})",
                    reporter.number.as_str(),
                    reason.as_deref().unwrap_or("no reason given")
                )),
            )
        }
        Event::KeyChanged {
            conversation,
            number,
        } => (
            json!({"type": "key_changed", "conversation": conversation.to_string(), "number": number.as_str()}),
            Some(format!(
                "[{conversation}] warning: {}'s keys changed; compare safety numbers (`crosslock device verify`)",
                number.as_str()
            )),
        ),
        Event::TransparencyAlert(alert) => (
            json!({"type": "transparency_alert", "alert": alert}),
            Some(format!(
                "key transparency: {}",
                super::monitor::describe(alert)
            )),
        ),
        Event::SecurityState { conversation } => (
            json!({"type": "security_state", "conversation": conversation.to_string()}),
            None,
        ),
        Event::CredentialRenewalDue { expires_at } => (
            json!({"type": "credential_renewal_due", "expires_at": expires_at}),
            Some(format!(
                "this device's credentials expire at {expires_at} (Unix time) and need renewing with a subscriber token; the command line cannot renew them yet"
            )),
        ),
        Event::Undecryptable { message_id, error } => (
            json!({"type": "error", "message_id": message_id, "error": error}),
            Some(format!("could not process message {message_id}: {error}")),
        ),
    }
}

/// Adds events to the report (`received` in JSON, a line each).
pub(crate) fn report_events(events: &[Event], report: &mut Report) {
    let mut all = match report.json.remove("received") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    for event in events {
        let (value, line) = event_report(event);
        all.push(value);
        if let Some(line) = line {
            report.line(line);
        }
    }
    report.set("received", Value::Array(all));
}

/// Fetches the inbox once (waiting up to `wait` s) and reports what
/// arrived. Returns how many events there were.
pub(crate) async fn sync(
    dir: &mut Messenger,
    wait: u64,
    report: &mut Report,
) -> Result<usize, Failure> {
    let events = dir.sync(wait).await?;
    report_events(&events, report);
    Ok(events.len())
}

/// Runs the lifecycle jobs that are due and reports what they did.
pub(crate) async fn maintain(dir: &mut Messenger, report: &mut Report) -> Result<(), Failure> {
    let done = dir.maintain().await?;
    if !done.revocations.fetched.is_empty() {
        report.set("revocations_fetched", json!(done.revocations.fetched));
    }
    for (home, why) in &done.revocations.failed {
        report.line(format!(
            "  revocation list of {home} not fetched ({why}); trying again later"
        ));
    }
    if done.key_packages_uploaded > 0 {
        report.line(format!(
            "uploaded {} KeyPackages to refill the stock",
            done.key_packages_uploaded
        ));
    }
    for id in &done.credentials_refreshed {
        report.line(format!("presented this device's credential again in {id}"));
    }
    for (job, why) in &done.failed {
        report.line(format!("{job} not done ({why}); trying again later"));
    }
    report.set(
        "maintenance",
        json!({
            "maintenance": done.maintenance,
            "key_packages_uploaded": done.key_packages_uploaded,
            "gossip_sent": done.gossip_sent,
            "credentials_refreshed": done.credentials_refreshed.iter().map(|c| c.to_string()).collect::<Vec<_>>(),
            "own_history_epoch": done.monitored.as_ref().map(|m| m.epoch),
            "failed": done.failed.iter().map(|(j, w)| json!({"job": j, "error": w})).collect::<Vec<_>>(),
        }),
    );
    report_events(&done.events, report);
    Ok(())
}

/// Follows the device's life until Ctrl-C: lifecycle jobs when due, the
/// inbox, each event printed as it arrives.
pub(crate) async fn listen(dir: &mut Messenger, json_lines: bool) -> Result<(), Failure> {
    eprintln!("listening for {}; Ctrl-C stops", dir.number());
    struct Printer {
        json_lines: bool,
    }
    impl crosslock_sdk::EventListener for Printer {
        #[allow(clippy::print_stdout)] // `listen` prints what arrives.
        fn on_event(&self, event: Event) {
            let (value, line) = event_report(&event);
            if self.json_lines {
                println!("{value}");
            } else if let Some(line) = line {
                println!("{line}");
            }
        }
    }
    let stop = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    dir.run(&Printer { json_lines }, stop).await?;
    Ok(())
}

fn state_json(s: &SecurityState) -> Value {
    let members: serde_json::Map<String, Value> = s
        .members
        .iter()
        .map(|(n, devices)| {
            (
                n.as_str().to_owned(),
                Value::Array(
                    devices
                        .iter()
                        .map(|d| json!({"device": d.device_id, "key": d.key_fingerprint, "this_device": d.this_device}))
                        .collect(),
                ),
            )
        })
        .collect();
    let verification: serde_json::Map<String, Value> = s
        .verification
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), json!(verification_name(*v))))
        .collect();
    let transparency: serde_json::Map<String, Value> = s
        .transparency
        .iter()
        .map(|(n, t)| {
            (
                n.as_str().to_owned(),
                match t {
                    TransparencyStatus::Proven { directory, epoch } => {
                        json!({"proven": true, "directory": directory, "epoch": epoch})
                    }
                    TransparencyStatus::Unproven => json!({"proven": false}),
                    TransparencyStatus::Refuted {
                        directory,
                        epoch,
                        device_id,
                    } => json!({
                        "proven": false,
                        "refuted": true,
                        "directory": directory,
                        "epoch": epoch,
                        "device_id": device_id,
                    }),
                },
            )
        })
        .collect();
    json!({
        "conversation": s.conversation.to_string(),
        "kind": kind_name(s.kind),
        "encrypted": s.encrypted,
        "status": format!("{:?}", s.status).to_lowercase(),
        "suite": s.suite.name(),
        "suite_code": s.suite.code(),
        "wire_profile": s.wire_profile.name(),
        "era": s.era,
        "epoch": s.epoch,
        "epoch_authenticator": hex::encode(s.epoch_authenticator),
        "members": members,
        "verification": verification,
        "key_changed": s.verification.values().any(|v| *v == Verification::KeyChanged),
        "transparency": transparency,
        "transparency_alerts": s.transparency_alerts,
        "blocked": s.blocked.as_ref().map(|b| json!({
            "unproven": b.unproven.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            "refuted": b.refuted.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        })),
        "commit_pending": s.commit_pending,
    })
}

fn kind_name(kind: ConversationKind) -> &'static str {
    match kind {
        ConversationKind::OneToOne => "1:1",
        ConversationKind::Group => "group",
    }
}

fn verification_name(v: Verification) -> &'static str {
    match v {
        Verification::Unverified => "unverified",
        Verification::Verified => "verified",
        Verification::KeyChanged => "key-changed",
    }
}

pub(crate) fn status(dir: &mut Messenger, report: &mut Report) -> Result<(), Failure> {
    let mut all = Vec::new();
    report.line(format!(
        "{} ({}, device {}) at {}",
        dir.settings().number,
        dir.settings().profile,
        dir.device_id(),
        dir.settings().provider.name
    ));
    report.set("number", json!(dir.settings().number));
    report.set("device_id", json!(dir.device_mut().device_id()));
    report.set("enrolled", json!(dir.settings().token.is_some()));
    // PROV-DEV-3: a development provider's roots may lack witnesses.
    let development = dir.settings().provider.development;
    report.set("development_provider", json!(development));
    if development {
        report.line(
            "  development provider: transparency roots may go without witness co-signatures",
        );
    }
    for id in dir.device_mut().conversations()? {
        let s = dir.device_mut().security_state(&id)?;
        let others: Vec<String> = s
            .members
            .keys()
            .filter(|n| n.as_str() != dir.settings().number)
            .map(|n| {
                let v = s
                    .verification
                    .get(n)
                    .copied()
                    .unwrap_or(Verification::Unverified);
                format!("{} ({})", n.as_str(), verification_name(v))
            })
            .collect();
        report.line(format!(
            "  {id}  {} {}  {}  {}  epoch {}  auth {}…  with {}",
            kind_name(s.kind),
            if s.encrypted {
                "encrypted"
            } else {
                "NOT ENCRYPTED"
            },
            s.suite.name(),
            s.wire_profile.name(),
            s.epoch,
            &hex::encode(s.epoch_authenticator)[..16],
            others.join(", ")
        ));
        if s.verification
            .values()
            .any(|v| *v == Verification::KeyChanged)
        {
            report.line("    warning: a contact's keys changed; compare safety numbers (`crosslock device verify`)");
        }
        if s.transparency_alerts {
            report.line("    warning: key-transparency alerts on this device");
        }
        all.push(state_json(&s));
    }
    if all.is_empty() {
        report.line("  no conversations yet");
    }
    report.set("conversations", Value::Array(all));
    Ok(())
}

pub(crate) fn verify(
    dir: &mut Messenger,
    with: &str,
    conversation: Option<&str>,
    confirm: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    let peer = number(with)?;
    let id = match conversation {
        Some(c) => conversation_id(c)?,
        None => dir.chat_with(peer.as_str())?.ok_or_else(|| {
            Failure::input(format!(
                "no 1:1 with {}; send them a message first or pass --conversation",
                peer.as_str()
            ))
        })?,
    };
    let safety = dir.safety_number(&id, peer.as_str())?;
    report.set("with", json!(peer.as_str()));
    report.set("safety_number", json!(safety.digits()));
    report.line(format!("safety number with {}:", peer.as_str()));
    report.line(format!("  {}", safety.grouped()));
    match qrcode::QrCode::new(safety.qr_payload()) {
        Ok(code) => {
            let drawn = code
                .render::<qrcode::render::unicode::Dense1x2>()
                .quiet_zone(true)
                .build();
            report.line(drawn);
        }
        Err(e) => report.line(format!("(no QR code: {e})")),
    }
    if confirm {
        dir.confirm_safety_number(&id, peer.as_str(), None)?;
        report.set("verified", json!(true));
        report.line(format!("{} marked verified", peer.as_str()));
    } else {
        report.set("verified", json!(false));
        report.line("compare with your contact's screen, then run again with --confirm");
    }
    Ok(())
}

pub(crate) async fn group_create(
    dir: &mut Messenger,
    members: &[String],
    report: &mut Report,
) -> Result<(), Failure> {
    let started = dir.create_group(members).await?;
    let id = started.conversation;
    let epoch = started.epoch.unwrap_or_default();
    report.set("conversation", json!(id.to_string()));
    report.set("epoch", json!(epoch));
    report.line(format!(
        "group {id} created with {} (epoch {epoch})",
        members.join(", ")
    ));
    Ok(())
}

pub(crate) async fn group_add(
    dir: &mut Messenger,
    conversation: &str,
    member: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let id = conversation_id(conversation)?;
    let n = number(member)?;
    let epoch = dir.add_member(&id, n.as_str()).await?;
    report.set("epoch", json!(epoch));
    report.line(format!("{} added to {id} (epoch {epoch})", n.as_str()));
    Ok(())
}

pub(crate) async fn group_remove(
    dir: &mut Messenger,
    conversation: &str,
    member: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let id = conversation_id(conversation)?;
    let n = number(member)?;
    let epoch = dir.remove_member(&id, n.as_str()).await?;
    report.set("epoch", json!(epoch));
    report.line(format!("{} removed from {id} (epoch {epoch})", n.as_str()));
    Ok(())
}

/// Sends a typing indicator (encrypted like any message).
pub(crate) async fn send_typing(
    dir: &mut Messenger,
    id: &ConversationId,
    report: &mut Report,
) -> Result<usize, Failure> {
    match dir.send_typing(id, true).await? {
        Some(sent) => {
            report.line(format!(
                "typing… ({} bytes of ciphertext)",
                sent.ciphertext_bytes
            ));
            Ok(sent.ciphertext_bytes)
        }
        None => {
            report.line("typing not sent: a member reads the deployed formats only (typing is a Crosslock extra)");
            Ok(0)
        }
    }
}

/// Removes one device of a participant (a lost or retired phone).
pub(crate) async fn remove_device(
    dir: &mut Messenger,
    id: &ConversationId,
    member: &PhoneNumber,
    device_id: &str,
    report: &mut Report,
) -> Result<u64, Failure> {
    let epoch = dir.remove_device(id, member, device_id).await?;
    report.line(format!(
        "removed device {device_id} of {} from {id} (epoch {epoch})",
        member.as_str()
    ));
    Ok(epoch)
}

pub(crate) async fn group_leave(
    dir: &mut Messenger,
    conversation: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let id = conversation_id(conversation)?;
    dir.leave(&id).await?;
    report.line(format!(
        "asked to leave {id}; the next commit by another member removes this device"
    ));
    Ok(())
}
