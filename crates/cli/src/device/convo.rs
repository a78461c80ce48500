//! Enrolment, conversations, the inbox, security state: the device
//! commands' work.

use crosslock_acs::ProofRequest;
use crosslock_client::credential::PhoneNumber;
use crosslock_client::wire::status::{MessageStatus, PerMessageStatus};
use crosslock_client::{
    ClientError, ConversationId, ConversationKind, Device, KeyPackageBatch, NewConversation,
    ParticipantKeyPackages, PendingCommit, Received, ReceivedContent, SecurityState,
    TransparencyStatus, Verification,
};
use crosslock_wire::api::B64;
use crosslock_wire::api::ds::{SubmitCommit, SubmitReport};
use crosslock_wire::api::kds::{EnrollRequest, UploadKeyPackages};
use serde_json::{Value, json};

use super::state::DeviceDir;
use super::{Failure, Report, files};

fn number(text: &str) -> Result<PhoneNumber, Failure> {
    PhoneNumber::parse(text)
        .map_err(|e| Failure::input(format!("{text:?}: {e} (use +E.164, e.g. +447700900123)")))
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

/// The upload body for a batch of KeyPackages.
pub(crate) fn upload_body(batch: KeyPackageBatch) -> UploadKeyPackages {
    UploadKeyPackages {
        key_packages: batch
            .key_packages
            .into_iter()
            .map(|(_, k)| B64(k))
            .collect(),
        last_resort: batch.last_resort.into_iter().map(|(_, k)| B64(k)).collect(),
    }
}

/// Installs the credential chains an enrolment answer carries.
pub(crate) fn install_credentials(
    device: &mut Device,
    credentials: Vec<Vec<B64>>,
) -> Result<usize, ClientError> {
    let n = credentials.len();
    device.install_credentials(
        credentials
            .into_iter()
            .map(|c| c.into_iter().map(|b| b.0).collect())
            .collect(),
    )?;
    Ok(n)
}

async fn publish_key_packages(dir: &mut DeviceDir, count: usize) -> Result<usize, Failure> {
    let upload = upload_body(dir.device.generate_key_packages(count)?);
    let n = upload.key_packages.len();
    let token = dir.token()?.to_owned();
    dir.api.upload_key_packages(&token, &upload).await?;
    Ok(n)
}

/// Carrier proof, enrolment, credentials, KeyPackages.
pub(crate) async fn enroll(
    dir: &mut DeviceDir,
    subscriber_token: &str,
    key_packages: usize,
    replace: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    if dir.settings.token.is_some() {
        return Err(Failure::input(
            "this device is already enrolled (a new device needs a new --device-dir)",
        ));
    }
    let keys: Vec<B64> = dir
        .device
        .participant_keys()?
        .iter()
        .map(|k| B64(k.as_bytes().to_vec()))
        .collect();
    let proof = dir
        .api
        .carrier_proof(&ProofRequest {
            number: dir.settings.number.clone(),
            subscriber_token: subscriber_token.to_owned(),
            participant_keys: keys,
            home_kds: dir.settings.provider.name.clone(),
        })
        .await?;
    let nonce = dir.api.nonce().await?;
    let enrolled = dir
        .api
        .enroll(&EnrollRequest {
            nonce: nonce.nonce,
            device_id: dir.device.device_id().to_owned(),
            csrs: dir
                .device
                .certificate_requests()?
                .into_iter()
                .map(B64)
                .collect(),
            carrier_proof: proof.proof,
            // A command-line device has no hardware attestation to offer.
            attestation: None,
            replace_existing: replace,
        })
        .await?;
    let credentials = install_credentials(&mut dir.device, enrolled.credentials)?;
    dir.settings.token = Some(enrolled.device_token);
    dir.save()?;
    let published = publish_key_packages(dir, key_packages).await?;
    report.set("credentials", json!(credentials));
    report.set("key_packages", json!(published));
    report.line(format!(
        "enrolled {} at {}: {credentials} credential(s), {published} KeyPackages published",
        dir.settings.number, dir.settings.provider.name
    ));
    report.line("your keys appear in the provider's transparency log at its next epoch");
    Ok(())
}

/// Submits a pending commit and applies the verdict.
pub(crate) async fn submit(dir: &mut DeviceDir, pending: &PendingCommit) -> Result<u64, Failure> {
    let ds = dir.api.ds(dir.token()?);
    let request = SubmitCommit {
        commit: pending.commit.envelope.clone().into(),
        welcome: pending.welcome.as_ref().map(|w| w.envelope.clone().into()),
        group_info: pending.group_info.clone().into(),
        // Empty only for a commit staged by an older version, whose
        // GroupInfo carries the tree in its extension (MLS-GI-2).
        ratchet_tree: (!pending.ratchet_tree.is_empty())
            .then(|| pending.ratchet_tree.clone().into()),
        external: pending.external,
    };
    match ds.commit(&request).await {
        Ok(accepted) => {
            dir.device.commit_accepted(pending)?;
            Ok(accepted.epoch)
        }
        Err(e) => {
            dir.device.commit_rejected(pending)?;
            Err(Failure::refused(format!(
                "the delivery service refused the commit: {e}; run `crosslock device recv` and try again"
            )))
        }
    }
}

/// Claims `number`'s KeyPackages; the client core checks the credentials
/// and the transparency proof when they are used.
async fn claim(
    dir: &mut DeviceDir,
    number: &PhoneNumber,
) -> Result<ParticipantKeyPackages, Failure> {
    let token = dir.token()?.to_owned();
    let answer = dir.api.claim(&token, number.as_str()).await?;
    if answer.devices.is_empty() {
        return Err(Failure::refused(format!(
            "{} has no enrolled device with KeyPackages",
            number.as_str()
        )));
    }
    Ok(ParticipantKeyPackages::from_claim(&answer)?)
}

/// The 1:1 conversation with `peer`, if there is one.
fn one_to_one(dir: &mut DeviceDir, peer: &PhoneNumber) -> Result<Option<ConversationId>, Failure> {
    for id in dir.device.conversations()? {
        let state = dir.device.security_state(&id)?;
        if state.kind == ConversationKind::OneToOne
            && state.encrypted
            && state.members.contains_key(peer)
        {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// The conversation a command addresses: `--conversation`, or the 1:1
/// with `--to` (created when there is none).
pub(crate) async fn target(
    dir: &mut DeviceDir,
    to: Option<&str>,
    conversation: Option<&str>,
    report: &mut Report,
) -> Result<ConversationId, Failure> {
    match (to, conversation) {
        (_, Some(c)) => conversation_id(c),
        (Some(to), None) => {
            let peer = number(to)?;
            if let Some(id) = one_to_one(dir, &peer)? {
                return Ok(id);
            }
            let participants = claim(dir, &peer).await?;
            let pending = dir
                .device
                .create_conversation(NewConversation::OneToOne, &[participants])?;
            let id = pending.conversation.clone();
            let epoch = submit(dir, &pending).await?;
            announce_own_proof(dir, &id, report).await?;
            report.set("created", json!(id.to_string()));
            report.line(format!(
                "started an end-to-end encrypted 1:1 with {} (conversation {id}, epoch {epoch})",
                peer.as_str()
            ));
            Ok(id)
        }
        (None, None) => Err(Failure::input(
            "say where: --to NUMBER or --conversation ID",
        )),
    }
}

/// Looks up, and records, the members of `id` whose keys key
/// transparency has not proven yet (KT-MEMBER-3: sending waits for them).
pub(crate) async fn prove_members(
    dir: &mut DeviceDir,
    id: &ConversationId,
    report: &mut Report,
) -> Result<(), Failure> {
    for number in dir.device.lookups_needed(id)? {
        let answer = dir.api.lookup(dir.token()?, number.as_str()).await?;
        dir.device.record_lookup(&number, &answer)?;
        report.line(format!(
            "key transparency: recorded a lookup proof of {}",
            number.redacted()
        ));
    }
    Ok(())
}

/// Relays this device's own lookup proof into `id` (KT-MEMBER-4), so
/// members at other providers can prove its keys. Skipped, with a line in
/// the report, when the provider has no transparency log or has not
/// published this device's keys yet.
pub(crate) async fn announce_own_proof(
    dir: &mut DeviceDir,
    id: &ConversationId,
    report: &mut Report,
) -> Result<(), Failure> {
    let own = dir.settings.number.clone();
    let answer = match dir.api.lookup(dir.token()?, &own).await {
        Ok(answer) => answer,
        Err(e) => {
            report.line(format!(
                "key transparency: own lookup proof not relayed ({e})"
            ));
            return Ok(());
        }
    };
    let sent = match dir.device.send_own_proof(id, &answer) {
        Ok(sent) => sent,
        Err(e) => {
            report.line(format!(
                "key transparency: own lookup proof not relayed ({e})"
            ));
            return Ok(());
        }
    };
    dir.api
        .ds(dir.token()?)
        .message(&sent.outbound.envelope)
        .await?;
    Ok(())
}

pub(crate) async fn send_text(
    dir: &mut DeviceDir,
    id: &ConversationId,
    text: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    prove_members(dir, id, report).await?;
    let sent = dir.device.send_text(id, text)?;
    let ds = dir.api.ds(dir.token()?);
    ds.message(&sent.outbound.envelope).await?;
    report.set("conversation", json!(id.to_string()));
    report.set("message_id", json!(sent.outbound.message_id));
    report.set("bytes_sent", json!(sent.outbound.envelope.len()));
    report.line(format!(
        "sent to {id}: {} bytes of ciphertext (message {})",
        sent.outbound.envelope.len(),
        sent.outbound.message_id
    ));
    Ok(())
}

fn sender(s: &crosslock_client::Sender) -> Value {
    json!({"number": s.number.as_str(), "device": s.device})
}

/// Fetches the inbox once (waiting up to `wait` s), hands every item to the
/// client core, acknowledges, sends read receipts for texts. Returns how
/// many items there were.
pub(crate) async fn sync(
    dir: &mut DeviceDir,
    wait: u64,
    report: &mut Report,
) -> Result<usize, Failure> {
    let ds = dir.api.ds(dir.token()?);
    super::revocations::refresh(dir, report).await?;
    let page = ds.inbox(0, 500, wait).await?;
    let mut events = Vec::new();
    let mut seqs = Vec::new();
    let mut reads: Vec<(ConversationId, PerMessageStatus)> = Vec::new();
    let mut imdn_reads: Vec<(ConversationId, String)> = Vec::new();
    let mut refill = false;
    let mut joined: Vec<ConversationId> = Vec::new();
    for item in &page.items {
        seqs.push(item.seq);
        let event = match dir.device.receive_with_tree(
            &item.message_id,
            &item.envelope.0,
            item.tree(),
        ) {
            Ok(Received::Message(m)) => {
                let conversation = m.conversation.to_string();
                let event = match &m.content {
                    ReceivedContent::Text(text) => {
                        // Deployed profile: the read receipt is a signed
                        // display IMDN (fact sheet §5), not MIMI status.
                        imdn_reads.push((m.conversation.clone(), m.message_id.clone()));
                        report.line(format!(
                            "[{conversation}] {}: {text}",
                            m.sender.number.as_str()
                        ));
                        json!({"type": "text", "conversation": conversation, "from": sender(&m.sender), "text": text})
                    }
                    ReceivedContent::Mimi { id, content } => {
                        if let Some(text) = content.text_body() {
                            reads.push((
                                m.conversation.clone(),
                                PerMessageStatus {
                                    message_id: *id,
                                    status: MessageStatus::Read,
                                },
                            ));
                            report.line(format!(
                                "[{conversation}] {}: {text}",
                                m.sender.number.as_str()
                            ));
                            json!({"type": "text", "conversation": conversation, "from": sender(&m.sender), "text": text})
                        } else {
                            json!({"type": "content", "conversation": conversation, "from": sender(&m.sender)})
                        }
                    }
                    ReceivedContent::Status(s) => {
                        let statuses: Vec<String> = s
                            .statuses
                            .iter()
                            .map(|p| format!("{:?}", p.status).to_lowercase())
                            .collect();
                        report.line(format!(
                            "[{conversation}] {} receipt: {}",
                            m.sender.number.as_str(),
                            statuses.join(", ")
                        ));
                        json!({"type": "receipt", "conversation": conversation, "from": sender(&m.sender), "statuses": statuses})
                    }
                    ReceivedContent::FileInfo(info) => {
                        // A chat attachment's key: its link follows in a
                        // descriptor; slots 3 and 4 are group metadata keys.
                        json!({"type": "file-info", "conversation": conversation, "from": sender(&m.sender), "slot": format!("{:?}", info.slot()).to_lowercase()})
                    }
                    ReceivedContent::File(received) => {
                        files::remember(dir, &m.message_id, received)?;
                        let f = &received.file.metadata;
                        let size = f.encryption().length_hint.unwrap_or_default();
                        report.line(format!(
                            "[{conversation}] {} sent a file: {} ({}, {size} bytes); `crosslock device file recv` fetches it",
                            m.sender.number.as_str(),
                            f.safe_file_name(),
                            f.content_type(),
                        ));
                        json!({"type": "file", "conversation": conversation, "from": sender(&m.sender), "name": f.safe_file_name(), "media_type": f.content_type(), "size": size})
                    }
                    ReceivedContent::GroupMetadata(d) => {
                        // Small (a subject, an icon): fetched and opened now.
                        let kind = format!("{:?}", d.kind).to_lowercase();
                        let opened = super::subject::open(dir, &m.conversation, d).await;
                        report.line(match &opened {
                            Ok(()) => format!(
                                "[{conversation}] {} sent the group {kind}; opened",
                                m.sender.number.as_str(),
                            ),
                            Err(e) => format!("[{conversation}] group {kind} not opened: {e}"),
                        });
                        json!({"type": "group-metadata", "conversation": conversation, "from": sender(&m.sender), "kind": kind, "opened": opened.is_ok()})
                    }
                    ReceivedContent::Other { content_type, .. } => {
                        json!({"type": "other", "conversation": conversation, "content_type": content_type})
                    }
                };
                dir.device.ack(m.delivery)?;
                event
            }
            Ok(Received::Typing {
                conversation,
                sender: who,
                indicator,
            }) => {
                let active =
                    indicator.state == crosslock_client::wire::typing::ComposingState::Active;
                report.line(format!(
                    "[{conversation}] {} is {}",
                    who.number.as_str(),
                    if active { "typing…" } else { "idle" }
                ));
                json!({"type": "typing", "conversation": conversation.to_string(), "from": sender(&who), "active": active})
            }
            Ok(Received::Commit(c)) => {
                let added: Vec<Value> = c.added.iter().map(sender).collect();
                let removed: Vec<Value> = c.removed.iter().map(sender).collect();
                report.line(format!(
                    "[{}] epoch {}: {} added, {} removed{}{}",
                    c.conversation,
                    c.epoch,
                    added.len(),
                    removed.len(),
                    if c.removed_self {
                        " (this device was removed)"
                    } else {
                        ""
                    },
                    match c.wire_profile_changed {
                        Some(p) if p.extras() => format!("; wire profile now {}: typing and encrypted receipts are back", p.name()),
                        Some(p) => format!("; wire profile now {}: a member reads the deployed formats only, so no typing, and receipts are signed IMDNs", p.name()),
                        None => String::new(),
                    }
                ));
                // 0xF007: a member asked for the group's keys; re-send ours.
                for d in &c.metadata_keys_requested {
                    if let Err(e) =
                        super::subject::send_keys(dir, &c.conversation, d.kind, &d.download).await
                    {
                        report.line(format!("[{}] keys not re-sent: {e}", c.conversation));
                    }
                }
                json!({"type": "commit", "conversation": c.conversation.to_string(), "epoch": c.epoch, "added": added, "removed": removed, "removed_self": c.removed_self, "metadata_keys_resent": c.metadata_keys_requested.len(), "wire_profile_changed": c.wire_profile_changed.map(|p| p.name())})
            }
            Ok(Received::Joined {
                conversation,
                added_by,
                suite,
                refill_key_packages,
                ..
            }) => {
                refill |= refill_key_packages;
                joined.push(conversation.clone());
                report.line(format!(
                    "joined {conversation}, added by {} ({})",
                    added_by.number.as_str(),
                    suite.name()
                ));
                json!({"type": "joined", "conversation": conversation.to_string(), "added_by": sender(&added_by), "suite": suite.name()})
            }
            Ok(Received::Proposal {
                conversation,
                sender: who,
                commit_required,
            }) => {
                if commit_required {
                    let pending = dir.device.commit_pending_proposals(&conversation)?;
                    // Another member may commit first; that is fine.
                    let _ = submit(dir, &pending).await;
                }
                json!({"type": "proposal", "conversation": conversation.to_string(), "from": sender(&who)})
            }
            Ok(Received::NegativeReport {
                conversation,
                failed_message_id,
                reason,
                reporter,
                sent_by_us,
            }) => {
                // A verified, signed negative delivery IMDN (RCC.16 §7.6).
                let reason = reason.map(|r| format!("{r:?}"));
                report.line(format!(
                    "{} could not process message {failed_message_id} ({})",
                    reporter.number.as_str(),
                    reason.as_deref().unwrap_or("no reason given")
                ));
                json!({"type": "negative_report", "conversation": conversation.to_string(), "message_id": failed_message_id, "reason": reason, "from": sender(&reporter), "sent_by_us": sent_by_us})
            }
            Ok(Received::Receipt(r)) => {
                report.line(format!(
                    "[{}] {} receipt for {}: {:?} (signed)",
                    r.conversation,
                    r.sender.number.as_str(),
                    r.message_id,
                    r.notification
                ));
                json!({"type": "receipt", "conversation": r.conversation.to_string(), "message_id": r.message_id, "notification": format!("{:?}", r.notification), "from": sender(&r.sender)})
            }
            Ok(other) => json!({"type": "event", "debug": format!("{other:?}")}),
            Err(e) => {
                report.line(format!(
                    "could not process message {}: {e}",
                    item.message_id
                ));
                json!({"type": "error", "message_id": item.message_id, "error": e.to_string()})
            }
        };
        events.push(event);
    }
    if !seqs.is_empty() {
        ds.ack(seqs).await?;
    }
    // Read receipts, one report per conversation.
    let mut by_conversation: std::collections::BTreeMap<ConversationId, Vec<PerMessageStatus>> =
        Default::default();
    for (id, status) in reads {
        by_conversation.entry(id).or_default().push(status);
    }
    for (id, statuses) in by_conversation {
        if let Ok(sent) = dir.device.send_status(&id, statuses) {
            ds.message(&sent.outbound.envelope).await?;
        }
    }
    for (id, message_id) in imdn_reads {
        if let Ok(receipt) = dir.device.display_receipt(&id, &message_id) {
            ds.report(&SubmitReport {
                group_id: id.as_bytes().to_vec().into(),
                message_id: receipt.message_id.clone(),
                envelope: receipt.envelope.into(),
            })
            .await?;
        }
    }
    // Members at other providers prove this device's keys from its own
    // relayed proof (KT-MEMBER-4).
    for id in joined {
        announce_own_proof(dir, &id, report).await?;
    }
    if refill {
        publish_key_packages(dir, 20).await?;
    }
    let n = page.items.len();
    let mut all = match report.json.remove("received") {
        Some(Value::Array(a)) => a,
        _ => Vec::new(),
    };
    all.extend(events);
    report.set("received", Value::Array(all));
    Ok(n)
}

/// Follows the inbox until Ctrl-C, printing each batch as it arrives.
pub(crate) async fn listen(dir: &mut DeviceDir, json_lines: bool) -> Result<(), Failure> {
    eprintln!("listening for {}; Ctrl-C stops", dir.settings.number);
    loop {
        let mut report = Report::default();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            result = sync(dir, 25, &mut report) => { result?; }
        }
        if json_lines {
            if let Some(Value::Array(events)) = report.json.get("received") {
                for event in events {
                    println!("{event}");
                }
            }
        } else {
            for line in report.lines {
                println!("{line}");
            }
        }
    }
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

pub(crate) fn status(dir: &mut DeviceDir, report: &mut Report) -> Result<(), Failure> {
    let mut all = Vec::new();
    report.line(format!(
        "{} ({}, device {}) at {}",
        dir.settings.number,
        dir.settings.profile,
        dir.device.device_id(),
        dir.settings.provider.name
    ));
    report.set("number", json!(dir.settings.number));
    report.set("device_id", json!(dir.device.device_id()));
    report.set("enrolled", json!(dir.settings.token.is_some()));
    // PROV-DEV-3: a development provider's roots may lack witnesses.
    let development = dir.settings.provider.development;
    report.set("development_provider", json!(development));
    if development {
        report.line(
            "  development provider: transparency roots may go without witness co-signatures",
        );
    }
    for id in dir.device.conversations()? {
        let s = dir.device.security_state(&id)?;
        let others: Vec<String> = s
            .members
            .keys()
            .filter(|n| n.as_str() != dir.settings.number)
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
    dir: &mut DeviceDir,
    with: &str,
    conversation: Option<&str>,
    confirm: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    let peer = number(with)?;
    let id = match conversation {
        Some(c) => conversation_id(c)?,
        None => one_to_one(dir, &peer)?.ok_or_else(|| {
            Failure::input(format!(
                "no 1:1 with {}; send them a message first or pass --conversation",
                peer.as_str()
            ))
        })?,
    };
    let safety = dir.device.safety_number(&id, &peer)?;
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
        dir.device.confirm_safety_number(&id, &peer, None)?;
        report.set("verified", json!(true));
        report.line(format!("{} marked verified", peer.as_str()));
    } else {
        report.set("verified", json!(false));
        report.line("compare with your contact's screen, then run again with --confirm");
    }
    Ok(())
}

pub(crate) async fn group_create(
    dir: &mut DeviceDir,
    members: &[String],
    report: &mut Report,
) -> Result<(), Failure> {
    let mut participants = Vec::new();
    for m in members {
        let n = number(m)?;
        participants.push(claim(dir, &n).await?);
    }
    let group_id: [u8; 16] = crosslock_client::env::Environment::system().random();
    let pending = dir.device.create_conversation(
        NewConversation::Group {
            group_id: group_id.to_vec(),
        },
        &participants,
    )?;
    let id = pending.conversation.clone();
    let epoch = submit(dir, &pending).await?;
    announce_own_proof(dir, &id, report).await?;
    report.set("conversation", json!(id.to_string()));
    report.set("epoch", json!(epoch));
    report.line(format!(
        "group {id} created with {} (epoch {epoch})",
        members.join(", ")
    ));
    Ok(())
}

pub(crate) async fn group_add(
    dir: &mut DeviceDir,
    conversation: &str,
    member: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let id = conversation_id(conversation)?;
    let n = number(member)?;
    let participant = claim(dir, &n).await?;
    let pending = dir.device.add_participants(&id, &[participant])?;
    membership_change(dir, &pending, &n, "added to", report).await
}

/// Submits a membership commit and reports the new epoch.
async fn membership_change(
    dir: &mut DeviceDir,
    pending: &PendingCommit,
    member: &PhoneNumber,
    what: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let epoch = submit(dir, pending).await?;
    report.set("epoch", json!(epoch));
    report.line(format!(
        "{} {what} {} (epoch {epoch})",
        member.as_str(),
        pending.conversation
    ));
    Ok(())
}

pub(crate) async fn group_remove(
    dir: &mut DeviceDir,
    conversation: &str,
    member: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let id = conversation_id(conversation)?;
    let n = number(member)?;
    let pending = dir.device.remove_participant(&id, &n)?;
    membership_change(dir, &pending, &n, "removed from", report).await
}

/// Sends a typing indicator (encrypted like any message).
pub(crate) async fn send_typing(
    dir: &mut DeviceDir,
    id: &ConversationId,
    report: &mut Report,
) -> Result<usize, Failure> {
    prove_members(dir, id, report).await?;
    let sent = match dir.device.send_typing(id, true) {
        Ok(sent) => sent,
        // A member on the deployed profile alone: typing is a Crosslock
        // extra, never sent unencrypted instead.
        Err(e @ crosslock_client::ClientError::NotNegotiated { .. }) => {
            report.line(format!("typing not sent: {e}"));
            return Ok(0);
        }
        Err(e) => return Err(e.into()),
    };
    dir.api
        .ds(dir.token()?)
        .message(&sent.outbound.envelope)
        .await?;
    report.line(format!(
        "typing… ({} bytes of ciphertext)",
        sent.outbound.envelope.len()
    ));
    Ok(sent.outbound.envelope.len())
}

/// Removes one device of a participant (a lost or retired phone).
pub(crate) async fn remove_device(
    dir: &mut DeviceDir,
    id: &ConversationId,
    member: &PhoneNumber,
    device_id: &str,
    report: &mut Report,
) -> Result<u64, Failure> {
    let pending = dir.device.remove_device(id, member, device_id)?;
    let epoch = submit(dir, &pending).await?;
    report.line(format!(
        "removed device {device_id} of {} from {id} (epoch {epoch})",
        member.as_str()
    ));
    Ok(epoch)
}

pub(crate) async fn group_leave(
    dir: &mut DeviceDir,
    conversation: &str,
    report: &mut Report,
) -> Result<(), Failure> {
    let id = conversation_id(conversation)?;
    let proposal = dir.device.leave(&id)?;
    dir.api.ds(dir.token()?).message(&proposal.envelope).await?;
    report.line(format!(
        "asked to leave {id}; the next commit by another member removes this device"
    ));
    Ok(())
}
