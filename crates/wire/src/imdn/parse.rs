//! A strict IMDN parser over the `quick-xml` pull reader.
//!
//! The reader tokenises, checks well-formedness and resolves namespaces;
//! this module first builds a small tree of the IMDN-namespace elements
//! (bounded in depth and count; foreign elements and their content are
//! dropped), then reads the RFC 5438 structure from it. It never expands
//! entities: a DOCTYPE is refused outright, and a general reference is
//! resolved only if it is a character reference or one of the five
//! predefined entities (XML 1.0 §4.6).

use super::error::ImdnError;
use super::{
    ClientReason, DeliveryStatus, DisplayStatus, FailureArm, Imdn, MAX_DOCUMENT_BYTES, NAMESPACE,
    Notification, ServerReason,
};
use crate::xml::excerpt;
use crate::xml::{check_declaration, resolve_reference, strict_reader};
use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

/// The deepest element nesting accepted (the RCC.16 arm needs 6).
const MAX_DEPTH: usize = 8;
/// The most elements kept.
const MAX_ELEMENTS: usize = 32;

/// An element of the IMDN namespace.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

pub(super) fn parse(bytes: &[u8]) -> Result<Imdn, ImdnError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(ImdnError::TooLarge);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ImdnError::InvalidUtf8)?;
    read(&tree(text)?)
}

fn xml(e: impl ToString) -> ImdnError {
    ImdnError::Xml(excerpt(&e.to_string()))
}

/// The tree of IMDN-namespace elements.
fn tree(text: &str) -> Result<Node, ImdnError> {
    let mut reader = strict_reader(text);
    // The open elements; `None` for a foreign one (its subtree is dropped).
    let mut open: Vec<Option<Node>> = Vec::new();
    let mut root = None;
    let mut count = 0usize;
    let mut first = true;
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(xml)?;
        match event {
            Event::Eof => break,
            Event::Start(e) => {
                if root.is_some() {
                    return Err(ImdnError::Malformed("content after the root element"));
                }
                for attribute in e.attributes() {
                    attribute.map_err(xml)?;
                }
                if open.len() >= MAX_DEPTH {
                    return Err(ImdnError::TooDeep);
                }
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(ImdnError::TooLarge);
                }
                let ours = matches!(ns, ResolveResult::Bound(Namespace(n)) if n == NAMESPACE);
                let inside_foreign = open.iter().any(Option::is_none);
                let local = e.local_name().into_inner().to_owned();
                if open.is_empty() && !ours {
                    return Err(ImdnError::WrongRoot);
                }
                open.push((ours && !inside_foreign).then(|| Node {
                    name: local,
                    ..Node::default()
                }));
            }
            Event::End(_) => {
                let node = open
                    .pop()
                    .ok_or(ImdnError::Malformed("unbalanced end tag"))?;
                match (node, open.last_mut()) {
                    (Some(node), Some(Some(parent))) => parent.children.push(node),
                    (Some(node), None) => root = Some(node),
                    _ => {}
                }
            }
            Event::Text(t) => push_text(&mut open, &t.xml10_content())?,
            Event::CData(c) => push_text(&mut open, &c.xml10_content())?,
            Event::GeneralRef(r) => {
                push_text(&mut open, resolve_reference(&r)?.encode_utf8(&mut [0; 4]))?
            }
            Event::Comment(_) => {}
            Event::Decl(_) if !first => {
                return Err(ImdnError::Malformed("XML declaration not at the start"));
            }
            Event::Decl(d) => check_declaration(&d)?,
            Event::DocType(_) => return Err(ImdnError::Dtd),
            Event::PI(_) => return Err(ImdnError::Malformed("processing instruction")),
            Event::Empty(_) => return Err(ImdnError::Malformed("unexpected empty element")),
        }
        first = false;
    }
    match (root, open.is_empty()) {
        (Some(root), true) => Ok(root),
        _ => Err(ImdnError::Malformed("incomplete document")),
    }
}

fn push_text(open: &mut [Option<Node>], s: &str) -> Result<(), ImdnError> {
    match open.last_mut() {
        Some(Some(node)) => {
            node.text.push_str(s);
            Ok(())
        }
        // Inside a foreign element: dropped.
        Some(None) => Ok(()),
        None if s.trim().is_empty() => Ok(()),
        None => Err(ImdnError::Malformed("text outside the root element")),
    }
}

/// The children of a structural element (its own text must be blank).
fn structural(node: &Node) -> Result<&[Node], ImdnError> {
    if !node.text.trim().is_empty() {
        return Err(ImdnError::Malformed("text inside a structural element"));
    }
    Ok(&node.children)
}

/// The one child of a structural element.
fn only_child<'a>(node: &'a Node, missing: &'static str) -> Result<&'a Node, ImdnError> {
    match structural(node)? {
        [child] => Ok(child),
        [] => Err(ImdnError::MissingElement(missing)),
        [_, second, ..] => Err(ImdnError::UnexpectedElement(excerpt(&second.name))),
    }
}

/// The text of a simple element (no children).
fn simple(node: &Node) -> Result<String, ImdnError> {
    if let Some(child) = node.children.first() {
        return Err(ImdnError::UnexpectedElement(excerpt(&child.name)));
    }
    Ok(node.text.trim().to_owned())
}

fn leaf(node: &Node) -> Result<(), ImdnError> {
    if !simple(node)?.is_empty() {
        return Err(ImdnError::Malformed("text inside a status element"));
    }
    Ok(())
}

fn read(root: &Node) -> Result<Imdn, ImdnError> {
    if root.name != "imdn" {
        return Err(ImdnError::WrongRoot);
    }
    let mut message_id = None;
    let mut datetime = None;
    let mut recipient_uri = None;
    let mut original_recipient_uri = None;
    let mut subject = None;
    let mut notification = None;
    for child in structural(root)? {
        let slot = match child.name.as_str() {
            "message-id" => &mut message_id,
            "datetime" => &mut datetime,
            "recipient-uri" => &mut recipient_uri,
            "original-recipient-uri" => &mut original_recipient_uri,
            "subject" => &mut subject,
            "delivery-notification" | "display-notification" => {
                if notification.is_some() {
                    return Err(ImdnError::DuplicateElement("notification".into()));
                }
                notification = Some(read_notification(child)?);
                continue;
            }
            "processing-notification" => {
                return Err(ImdnError::Unsupported("processing-notification"));
            }
            other => return Err(ImdnError::UnexpectedElement(excerpt(other))),
        };
        if slot.is_some() {
            return Err(ImdnError::DuplicateElement(excerpt(&child.name)));
        }
        *slot = Some(simple(child)?);
    }
    Ok(Imdn {
        message_id: message_id.ok_or(ImdnError::MissingElement("message-id"))?,
        datetime: datetime.ok_or(ImdnError::MissingElement("datetime"))?,
        recipient_uri,
        original_recipient_uri,
        subject,
        notification: notification.ok_or(ImdnError::MissingElement("notification"))?,
    })
}

fn read_notification(node: &Node) -> Result<Notification, ImdnError> {
    let status = only_child(node, "status")?;
    if status.name != "status" {
        return Err(ImdnError::UnexpectedElement(excerpt(&status.name)));
    }
    let value = only_child(status, "status value")?;
    if node.name == "display-notification" {
        let status = match value.name.as_str() {
            "displayed" => DisplayStatus::Displayed,
            "forbidden" => DisplayStatus::Forbidden,
            "error" => DisplayStatus::Error,
            other => return Err(ImdnError::UnexpectedElement(excerpt(other))),
        };
        if !value.children.is_empty() {
            // §5 arm rule: a reason arm only in a delivery notification.
            return Err(ImdnError::ArmNotAllowed("a display notification"));
        }
        leaf(value)?;
        return Ok(Notification::Display(status));
    }
    let status = match value.name.as_str() {
        "delivered" => DeliveryStatus::Delivered,
        "failed" => DeliveryStatus::Failed(read_arm(value)?),
        "forbidden" => DeliveryStatus::Forbidden,
        "error" => DeliveryStatus::Error,
        other => return Err(ImdnError::UnexpectedElement(excerpt(other))),
    };
    if !matches!(status, DeliveryStatus::Failed(_)) {
        if !value.children.is_empty() {
            // §5 arm rule: a reason arm only with status failed.
            return Err(ImdnError::ArmNotAllowed("a status other than failed"));
        }
        leaf(value)?;
    }
    Ok(Notification::Delivery(status))
}

/// The failure-reason arm inside `<failed>`: none or exactly one (§5).
fn read_arm(failed: &Node) -> Result<Option<FailureArm>, ImdnError> {
    let arm = match structural(failed)? {
        [] => return Ok(None),
        [arm] => arm,
        [_, _, ..] => return Err(ImdnError::ArmNotAllowed("more than one failure reason")),
    };
    let token = only_child(arm, "failure reason token")?;
    leaf(token)?;
    let unknown = || ImdnError::UnknownReason(excerpt(&token.name));
    Ok(Some(match arm.name.as_str() {
        "mls-client-failure-reason" => {
            FailureArm::Client(ClientReason::from_token(&token.name).ok_or_else(unknown)?)
        }
        "mls-server-failure-reason" => {
            FailureArm::Server(ServerReason::from_token(&token.name).ok_or_else(unknown)?)
        }
        other => return Err(ImdnError::UnexpectedElement(excerpt(other))),
    }))
}
