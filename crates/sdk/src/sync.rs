//! The inbox: fetch (long-poll), hand every item to the client core,
//! answer what needs answering (commits for pending proposals, group keys
//! a member asked for, read receipts), acknowledge, and turn it all into
//! [`Event`]s.

use std::collections::BTreeMap;

use crosslock_client::wire::status::{MessageStatus, PerMessageStatus};
use crosslock_client::wire::typing::ComposingState;
use crosslock_client::{ConversationId, Received, ReceivedContent, Verification};
use crosslock_wire::api::ds::{InboxPage, SubmitReport};

use crate::error::SdkError;
use crate::events::Event;
use crate::messenger::Messenger;
use crate::{conversations, files, keypackages, metadata, recovery};

/// The most inbox items fetched in one page.
const PAGE: usize = 500;

/// Settles commits whose outcome is unknown, hands over what the client
/// core kept but the app never got, then fetches the inbox once (waiting
/// up to `wait_secs` for something) and processes it. The DS's items are
/// acknowledged once the client core stored or refused them (a crash
/// before redelivers; the replay ledger makes the second delivery a
/// no-op); the client core keeps each decrypted message until the events
/// are on their way to the app.
pub(crate) async fn sync(m: &mut Messenger, wait_secs: u64) -> Result<Vec<Event>, SdkError> {
    let (events, _) = sync_until(m, wait_secs, &mut std::future::pending()).await?;
    Ok(events)
}

/// [`sync`], where `stop` ends the long-poll's wait, the one point where
/// stopping loses nothing: nothing was fetched yet, and what was handed
/// over is returned as usual. Once the inbox answered, the page is
/// processed, acknowledged and returned whatever `stop` does. Returns the
/// events and whether `stop` fired (it is not polled again once it has).
pub(crate) async fn sync_until<S>(
    m: &mut Messenger,
    wait_secs: u64,
    stop: &mut S,
) -> Result<(Vec<Event>, bool), SdkError>
where
    S: std::future::Future<Output = ()> + Unpin,
{
    let ds = m.ds()?;
    // A commit accepted while its answer was lost is applied before the
    // messages of the epoch it opened are read.
    conversations::settle_pending(m).await?;
    let mut events = Vec::new();
    let mut reads = Reads::default();
    // Messages the client core decrypted and kept but the app never got
    // (the last sync failed, or the app died, before it returned them).
    let mut delivered = Vec::new();
    for msg in m.device.undelivered()? {
        events.push(message_event(m, &msg, &mut reads).await?);
        delivered.push(msg.delivery);
    }
    let (page, stopped) = tokio::select! {
        // An answer that is there is processed, even if `stop` fired too.
        biased;
        page = ds.inbox(0, PAGE, wait_secs) => (page?, false),
        () = &mut *stop => (InboxPage { items: Vec::new() }, true),
    };
    let mut seqs = Vec::new();
    let mut refill = false;
    let mut joined: Vec<ConversationId> = Vec::new();
    let mut touched: Vec<ConversationId> = Vec::new();
    for item in &page.items {
        seqs.push(item.seq);
        let received =
            match m
                .device
                .receive_with_tree(&item.message_id, &item.envelope.0, item.tree())
            {
                Ok(r) => r,
                Err(e) => {
                    tracing::info!(message_id = %item.message_id, error = %e, "inbox item refused");
                    if let Some(id) = recovery::report_failure(m, item, &e).await {
                        touched.push(id);
                    }
                    events.push(Event::Undecryptable {
                        message_id: item.message_id.clone(),
                        error: e.to_string(),
                    });
                    continue;
                }
            };
        match received {
            Received::Message(msg) => {
                events.push(message_event(m, &msg, &mut reads).await?);
                delivered.push(msg.delivery);
            }
            Received::Typing {
                conversation,
                sender,
                indicator,
            } => events.push(Event::Typing {
                conversation,
                from: sender,
                active: indicator.state == ComposingState::Active,
            }),
            Received::Commit(c) => {
                // 0xF007: a member asked for the group's keys; re-send ours.
                let mut resent = 0;
                for d in &c.metadata_keys_requested {
                    match metadata::send_keys(m, &c.conversation, d.kind, &d.download).await {
                        Ok(()) => resent += 1,
                        Err(e) => tracing::info!(error = %e, "group keys not re-sent"),
                    }
                }
                touched.push(c.conversation.clone());
                events.push(Event::MembershipChanged {
                    conversation: c.conversation.clone(),
                    epoch: c.epoch,
                    added: c.added.clone(),
                    removed: c.removed.clone(),
                    removed_self: c.removed_self,
                    encryption_ended: c.encryption_ended,
                    metadata_keys_resent: resent,
                    wire_profile_changed: c.wire_profile_changed,
                });
            }
            Received::Joined {
                conversation,
                added_by,
                suite,
                refill_key_packages,
                ..
            } => {
                refill |= refill_key_packages;
                joined.push(conversation.clone());
                touched.push(conversation.clone());
                m.credential_presented(&conversation);
                events.push(Event::Joined {
                    conversation,
                    added_by,
                    suite,
                });
            }
            Received::Proposal {
                conversation,
                sender,
                commit_required,
            } => {
                if commit_required {
                    let pending = m.device.commit_pending_proposals(&conversation)?;
                    // Another member may commit first; that is fine.
                    if let Err(e) = conversations::submit(m, &pending).await {
                        tracing::info!(error = %e, "commit of pending proposals not accepted");
                    }
                }
                events.push(Event::Proposal {
                    conversation,
                    from: sender,
                });
            }
            Received::NegativeReport {
                conversation,
                failed_message_id,
                reason,
                reporter,
                sent_by_us,
            } => {
                if sent_by_us {
                    recovery::resend(m, &conversation, &failed_message_id).await;
                }
                events.push(Event::NegativeReport {
                    conversation,
                    failed_message_id,
                    reason,
                    reporter,
                    sent_by_us,
                });
            }
            Received::Receipt(r) => events.push(Event::Receipt {
                conversation: r.conversation,
                from: r.sender,
                message_id: r.message_id,
                notification: r.notification,
            }),
            Received::Transparency {
                conversation,
                alerts,
                ..
            } => {
                touched.push(conversation);
                events.extend(alerts.into_iter().map(Event::TransparencyAlert));
            }
            Received::Duplicate { .. } => {}
        }
    }
    // From here on nothing may lose what was processed: every follow-up
    // is best-effort (logged), and the events are returned whatever
    // happens to them. The client core's copies of the messages are
    // released last, once nothing can fail any more.
    if !seqs.is_empty()
        && let Err(e) = ds.ack(seqs).await
    {
        // The items come again; the replay ledger makes them no-ops.
        tracing::info!(error = %e, "inbox acknowledgement not sent");
    }
    if m.read_receipts
        && let Err(e) = send_read_receipts(m, reads).await
    {
        tracing::info!(error = %e, "read receipts not sent");
    }
    // Members at other providers prove this device's keys from its own
    // relayed proof (KT-MEMBER-4).
    for id in joined {
        if let Err(e) = conversations::announce_own_proof(m, &id).await {
            tracing::info!(error = %e, "own lookup proof not relayed");
        }
    }
    if refill && let Err(e) = keypackages::refill(m).await {
        tracing::info!(error = %e, "KeyPackages not refilled; the lifecycle tries again");
    }
    touched.sort();
    touched.dedup();
    for id in touched {
        if let Err(e) = key_changes(m, &id, &mut events) {
            tracing::info!(error = %e, "key changes not checked");
        }
        events.push(Event::SecurityState { conversation: id });
    }
    for delivery in delivered {
        if let Err(e) = m.device.ack(delivery) {
            // Kept: handed over again by the next sync.
            tracing::warn!(error = %e, "message not released by the client core");
        }
    }
    Ok((events, stopped))
}

/// Read receipts to send once the page is processed.
#[derive(Default)]
struct Reads {
    mimi: Vec<(ConversationId, PerMessageStatus)>,
    imdn: Vec<(ConversationId, String)>,
}

/// The event of a decrypted application message (a file is kept for
/// saving, a group subject or icon fetched and opened).
async fn message_event(
    m: &mut Messenger,
    msg: &crosslock_client::ReceivedMessage,
    reads: &mut Reads,
) -> Result<Event, SdkError> {
    let conversation = msg.conversation.clone();
    let from = msg.sender.clone();
    let event = match &msg.content {
        ReceivedContent::Text(text) => {
            // Deployed profile: the read receipt is a signed
            // display IMDN (fact sheet §5), not MIMI status.
            reads
                .imdn
                .push((conversation.clone(), msg.message_id.clone()));
            Event::Text {
                conversation,
                from,
                message_id: msg.message_id.clone(),
                text: text.clone(),
            }
        }
        ReceivedContent::Mimi { id, content } => match content.text_body() {
            Some(text) => {
                reads.mimi.push((
                    conversation.clone(),
                    PerMessageStatus {
                        message_id: *id,
                        status: MessageStatus::Read,
                    },
                ));
                Event::Text {
                    conversation,
                    from,
                    message_id: msg.message_id.clone(),
                    text: text.to_owned(),
                }
            }
            None => Event::Content {
                conversation,
                from: Some(from),
                content_type: "application/mimi-content".into(),
            },
        },
        ReceivedContent::Status(s) => Event::Status {
            conversation,
            from,
            statuses: s
                .statuses
                .iter()
                .map(|p| format!("{:?}", p.status).to_lowercase())
                .collect(),
        },
        ReceivedContent::FileInfo(info) => Event::FileKey {
            conversation,
            from,
            slot: format!("{:?}", info.slot()).to_lowercase(),
        },
        ReceivedContent::File(received) => {
            files::remember(m, &msg.message_id, received)?;
            let f = &received.file.metadata;
            Event::File {
                conversation,
                from,
                message_id: msg.message_id.clone(),
                name: f.safe_file_name(),
                media_type: f.content_type().to_owned(),
                size: u64::from(f.encryption().length_hint.unwrap_or_default()),
            }
        }
        ReceivedContent::GroupMetadata(d) => {
            // Small (a subject, an icon): fetched and opened now.
            let opened = metadata::open(m, &conversation, d).await;
            Event::GroupMetadata {
                conversation,
                from,
                kind: d.kind,
                error: opened.err().map(|e| e.to_string()),
            }
        }
        ReceivedContent::Other { content_type, .. } => Event::Content {
            conversation,
            from: Some(from),
            content_type: content_type.clone(),
        },
    };
    Ok(event)
}

/// Read receipts: MIMI status reports (one per conversation) where the
/// extras are on, signed display IMDNs for texts on the deployed profile.
async fn send_read_receipts(m: &mut Messenger, reads: Reads) -> Result<(), SdkError> {
    let ds = m.ds()?;
    let mut by_conversation: BTreeMap<ConversationId, Vec<PerMessageStatus>> = BTreeMap::new();
    for (id, status) in reads.mimi {
        by_conversation.entry(id).or_default().push(status);
    }
    for (id, statuses) in by_conversation {
        if let Ok(sent) = m.device.send_status(&id, statuses) {
            ds.message(&sent.outbound.envelope).await?;
        }
    }
    for (id, message_id) in reads.imdn {
        if let Ok(receipt) = m.device.display_receipt(&id, &message_id) {
            ds.report(&SubmitReport {
                group_id: id.as_bytes().to_vec().into(),
                message_id: receipt.message_id.clone(),
                envelope: receipt.envelope.into(),
            })
            .await?;
        }
    }
    Ok(())
}

/// A `KeyChanged` event for each contact of `id` whose keys changed and
/// was not reported yet; forgets the ones no longer changed (verified
/// again), so a later change is reported again.
pub(crate) fn key_changes(
    m: &mut Messenger,
    id: &ConversationId,
    events: &mut Vec<Event>,
) -> Result<(), SdkError> {
    let state = m.device.security_state(id)?;
    let conversation = hex::encode(id.as_bytes());
    for (number, verification) in &state.verification {
        let key = (conversation.clone(), number.as_str().to_owned());
        if *verification == Verification::KeyChanged {
            if m.settings.lifecycle.key_changes.insert(key) {
                events.push(Event::KeyChanged {
                    conversation: id.clone(),
                    number: number.clone(),
                });
            }
        } else {
            m.settings.lifecycle.key_changes.remove(&key);
        }
    }
    m.save()
}
