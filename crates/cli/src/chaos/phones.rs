//! Phones for the scenarios: `crosslock device`'s device dirs (client cores
//! on encrypted SQLite files, talking HTTPS), with an outbox that retries
//! until a provider acknowledges, and a sync that writes what the
//! application got into the ledger.

use std::path::Path;
use std::time::{Duration, Instant};

use crosslock_client::{ClientError, ConversationId, Received, ReceivedContent};
use serde_json::Value;

use super::{Broken, Ledger};
use crate::device::{Report, convo};
use crosslock_sdk::Messenger;

/// A message encrypted but not yet acknowledged by the provider.
#[derive(Debug)]
struct Unsent {
    tag: String,
    recipients: Vec<String>,
    envelope: Vec<u8>,
}

/// One phone.
#[derive(Debug)]
pub(crate) struct Phone {
    pub(crate) number: String,
    pub(crate) dir: Messenger,
    outbox: Vec<Unsent>,
    /// Refusals by the client core of items the DS delivered (other than
    /// replays of what it already processed).
    pub(crate) refused: u64,
    /// Why, for the report.
    pub(crate) refused_why: Vec<String>,
    /// The last answer that kept a message unsent (`507 storage-full`,
    /// a connection error, ...).
    pub(crate) last_refusal: Option<String>,
}

/// What chaos phones present to their carrier (the SIM stand-in).
pub(crate) const SUBSCRIBER_TOKEN: &str = "chaos-sim-secret-0001";

impl Phone {
    /// Creates and enrols a phone at the provider at `url`.
    pub(crate) async fn enrol(
        path: &Path,
        number: &str,
        url: &str,
        ca_pem: String,
        key_packages: usize,
    ) -> Result<Phone, Broken> {
        let mut dir = crate::device::init(path, number, "android", url, ca_pem).await?;
        convo::enroll(
            &mut dir,
            SUBSCRIBER_TOKEN,
            key_packages,
            false,
            &mut Report::default(),
        )
        .await?;
        Ok(Phone::from_dir(number, dir))
    }

    pub(crate) fn from_dir(number: &str, dir: Messenger) -> Phone {
        Phone {
            number: number.to_owned(),
            dir,
            outbox: Vec::new(),
            refused: 0,
            refused_why: Vec::new(),
            last_refusal: None,
        }
    }

    /// Opens the phone again from its directory (after a crash).
    pub(crate) fn reopen(self) -> Result<Phone, Broken> {
        let dir = crate::device::open(self.dir.dir())?;
        Ok(self.with_dir(dir))
    }

    /// The same phone on `dir` (its device opened anew); the old device
    /// object and everything it held in memory are dropped.
    pub(crate) fn with_dir(self, dir: Messenger) -> Phone {
        Phone { dir, ..self }
    }

    /// Encrypts `tag` as a text for the conversation and tries to hand it
    /// to the provider (with everything still unsent before it).
    pub(crate) async fn send(
        &mut self,
        id: &ConversationId,
        tag: &str,
        recipients: &[String],
        ledger: &Ledger,
    ) -> Result<bool, Broken> {
        self.send_padded(id, tag, 0, recipients, ledger).await
    }

    /// [`Phone::send`] with `padding` more bytes of text after the tag.
    pub(crate) async fn send_padded(
        &mut self,
        id: &ConversationId,
        tag: &str,
        padding: usize,
        recipients: &[String],
        ledger: &Ledger,
    ) -> Result<bool, Broken> {
        let text = if padding == 0 {
            tag.to_owned()
        } else {
            format!("{tag} {}", "x".repeat(padding))
        };
        self.prove_members(id).await;
        let sent = self.dir.device_mut().send_text(id, &text)?;
        self.outbox.push(Unsent {
            tag: tag.to_owned(),
            recipients: recipients.to_vec(),
            envelope: sent.outbound.envelope,
        });
        self.flush(ledger).await
    }

    /// Resubmits what is unsent, in order; stops at the first failure (the
    /// provider is down or refusing for now). True when nothing is left.
    pub(crate) async fn flush(&mut self, ledger: &Ledger) -> Result<bool, Broken> {
        let ds = self.dir.api().ds(self.dir.token()?);
        while let Some(first) = self.outbox.first() {
            match ds.message(&first.envelope).await {
                Ok(_) => {
                    ledger.acknowledged(&first.tag, &first.recipients);
                    self.outbox.remove(0);
                }
                Err(e) => {
                    self.last_refusal = Some(match e {
                        crosslock_sdk::SdkError::Server { status, code, .. } => {
                            format!("{status} {code}")
                        }
                        e => format!("no answer: {e}"),
                    });
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Messages not yet acknowledged by a provider.
    pub(crate) fn unsent(&self) -> usize {
        self.outbox.len()
    }

    /// Hands what the client core decrypted but the application has not
    /// taken (a crash came between) to the application.
    pub(crate) fn take_undelivered(&mut self, ledger: &Ledger) -> Result<usize, Broken> {
        let pending = self.dir.device_mut().undelivered()?;
        let n = pending.len();
        for m in pending {
            self.hand_to_app(ledger, &m)?;
        }
        Ok(n)
    }

    fn hand_to_app(
        &mut self,
        ledger: &Ledger,
        m: &crosslock_client::ReceivedMessage,
    ) -> Result<(), Broken> {
        // The tag is the text's first word (the rest may be padding).
        if let ReceivedContent::Mimi { content, .. } = &m.content
            && let Some(tag) = content.text_body().and_then(|t| t.split(' ').next())
        {
            ledger.delivered(&self.number, tag, m.delivery.value());
        }
        if let ReceivedContent::File(received) = &m.content {
            self.dir.keep_received_file(&m.message_id, received)?;
            ledger.delivered(
                &self.number,
                &format!("file:{}", received.file.metadata.safe_file_name()),
                m.delivery.value(),
            );
        }
        self.dir.device_mut().ack(m.delivery)?;
        Ok(())
    }

    /// One inbox page (waiting up to `wait` s): every item to the client
    /// core, texts to the ledger, then the acknowledgement to the DS.
    /// Returns how many items there were.
    pub(crate) async fn sync(&mut self, ledger: &Ledger, wait: u64) -> Result<usize, Broken> {
        let ds = self.dir.api().ds(self.dir.token()?);
        let page = ds.inbox(0, 200, wait).await?;
        let mut seqs = Vec::new();
        let mut changed: Vec<ConversationId> = Vec::new();
        let mut joined: Vec<ConversationId> = Vec::new();
        for item in &page.items {
            match self.dir.device_mut().receive_with_tree(
                &item.message_id,
                &item.envelope.0,
                item.tree(),
            ) {
                Ok(Received::Message(m)) => self.hand_to_app(ledger, &m)?,
                Ok(Received::Joined { conversation, .. }) => {
                    joined.push(conversation.clone());
                    changed.push(conversation);
                }
                Ok(Received::Commit(c)) if !c.added.is_empty() => changed.push(c.conversation),
                Ok(_) | Err(ClientError::Replayed) => {}
                Err(ClientError::Storage(e)) => return Err(Broken(format!("device store: {e}"))),
                Err(e) => {
                    self.refused += 1;
                    tracing::warn!(phone = %self.dir.number(), error = %e, "delivered item refused");
                    self.refused_why.push(e.to_string());
                }
            }
            seqs.push(item.seq);
        }
        let n = seqs.len();
        if n > 0 {
            ds.ack(seqs).await?;
        }
        // New members: prove their keys while the provider answers
        // (KT-MEMBER-3 blocks sending until then).
        changed.dedup();
        for id in changed {
            self.prove_members(&id).await;
        }
        // Members at the other provider prove this phone's keys from its
        // relayed proof (KT-MEMBER-4).
        for id in joined {
            self.dir.announce_own_proof(&id).await?;
        }
        Ok(n)
    }

    /// Whether every member's keys in `id` are proven here.
    pub(crate) fn proven(&mut self, id: &ConversationId) -> Result<bool, Broken> {
        Ok(self.dir.device_mut().lookups_needed(id)?.is_empty())
    }

    /// Records lookup proofs of the conversation's unproven members. A
    /// provider that does not answer now is not an error here: sending
    /// then reports the block.
    async fn prove_members(&mut self, id: &ConversationId) {
        if let Err(e) = self.dir.prove_members(id).await {
            tracing::debug!(phone = %self.dir.number(), error = %e, "lookups for new members failed; retried before sending");
        }
    }

    /// Creates a group with `members` (retrying while their keys are not
    /// yet in the transparency log); returns its id.
    // Times out by the wall clock (human-scale waits), not protocol time.
    #[allow(clippy::disallowed_methods)]
    pub(crate) async fn create_group(
        &mut self,
        members: &[String],
    ) -> Result<ConversationId, Broken> {
        let until = Instant::now() + Duration::from_secs(30);
        loop {
            let mut report = Report::default();
            match convo::group_create(&mut self.dir, members, &mut report).await {
                Ok(()) => {
                    let id = report
                        .get("conversation")
                        .and_then(Value::as_str)
                        .ok_or_else(|| Broken("group create: no conversation id".into()))?;
                    return Ok(convo::conversation_id(id)?);
                }
                Err(e) if Instant::now() < until => {
                    tracing::debug!(error = %e, "group create: retrying");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Err(e) => return Err(Broken(format!("group create: {e}"))),
            }
        }
    }
}

/// Enrols one phone per number at the provider at `url`, in
/// `dir/phone-0`, `dir/phone-1`, ...
pub(crate) async fn enrol_all(
    dir: &Path,
    numbers: &[&str],
    url: &str,
    ca_pem: &str,
    key_packages: usize,
) -> Result<Vec<Phone>, Broken> {
    let mut phones = Vec::new();
    for (i, n) in numbers.iter().enumerate() {
        let path = dir.join(format!("phone-{i}"));
        phones.push(Phone::enrol(&path, n, url, ca_pem.to_owned(), key_packages).await?);
    }
    Ok(phones)
}

/// Fails unless no phone refused an item the DS delivered.
pub(crate) fn no_refusals<'a>(phones: impl Iterator<Item = &'a Phone>) -> Result<(), Broken> {
    let why: Vec<String> = phones
        .flat_map(|p| {
            p.refused_why
                .iter()
                .map(move |w| format!("{}: {w}", p.number))
        })
        .collect();
    super::check(
        why.is_empty(),
        format!("delivered items refused: {}", why.join("; ")),
    )
}

/// Syncs every phone until the ledger is complete and every outbox is
/// empty, or `seconds` pass; flushes outboxes on the way.
// Times out by the wall clock (human-scale waits), not protocol time.
#[allow(clippy::disallowed_methods)]
pub(crate) async fn drain(
    phones: &mut [Phone],
    ledger: &Ledger,
    seconds: u64,
) -> Result<(), Broken> {
    let until = Instant::now() + Duration::from_secs(seconds);
    loop {
        let mut quiet = true;
        for p in phones.iter_mut() {
            let _ = p.flush(ledger).await;
            match p.sync(ledger, 0).await {
                Ok(n) => quiet &= n == 0,
                Err(_) => quiet = false,
            }
        }
        let unsent: usize = phones.iter().map(Phone::unsent).sum();
        if quiet && unsent == 0 && ledger.complete() {
            return Ok(());
        }
        if Instant::now() > until {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
