//! Byte layout of the records this store keeps as blobs, and the integer
//! conversions between akd's `u64` and SQLite's `INTEGER`.
//!
//! Tree nodes (format 1) are one blob:
//!
//! ```text
//! record := format=0x01 | node(latest) | 0x00                 (no previous value)
//!                                      | 0x01 | node(previous)
//! node   := flags u8 | node_type u8 | last_epoch u64 | min_descendant_epoch u64
//!           | label(parent) | [label(left)] | [label(right)] | [label(own)]
//!           | hash [32]
//! label  := label_len u32 | label_val [32]
//! flags  := bit0 left child present, bit1 right child present,
//!           bit2 the node's own label differs from the record's (never seen
//!           in practice, kept so the encoding is lossless)
//! ```
//!
//! Integers are big-endian. The record's own label is not stored: it is the
//! primary key (`Storable::get_full_binary_id`) and decoded from it.
//!
//! Why not akd's serde support: it writes every label and digest as an
//! upper-case hex *string* (`akd_core::utils::serde_helpers`), so a node
//! with two children and a previous value costs ~870 bytes in bincode
//! against 318 here, and that shape is an akd implementation detail, not a
//! storage format anyone promised to keep. akd's protobuf messages cover
//! proofs, not storage records. What is written here are the public fields
//! akd gives storage backends (its `DbRecord::build_*` helpers exist for
//! backends that store them as columns), so the format changes only when
//! this crate's `SCHEMA_VERSION` does.

use akd::tree_node::{TreeNode, TreeNodeType, TreeNodeWithPreviousValue};
use akd::{AzksValue, NodeLabel};

/// Leading byte of every tree-node blob.
pub(crate) const TREE_NODE_FORMAT: u8 = 1;

const HAS_LEFT: u8 = 0b001;
const HAS_RIGHT: u8 = 0b010;
const OWN_LABEL: u8 = 0b100;

/// Encoded size of one node without optional labels.
const NODE_MIN_LEN: usize = 1 + 1 + 8 + 8 + LABEL_LEN + 32;
const LABEL_LEN: usize = 4 + 32;

/// A stored blob that does not decode: the file was damaged or written by
/// something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed(pub(crate) &'static str);

pub(crate) fn encode_tree_node(record: &TreeNodeWithPreviousValue) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 2 * (NODE_MIN_LEN + 2 * LABEL_LEN));
    out.push(TREE_NODE_FORMAT);
    put_node(&mut out, &record.latest_node, &record.label);
    match &record.previous_node {
        None => out.push(0),
        Some(previous) => {
            out.push(1);
            put_node(&mut out, previous, &record.label);
        }
    }
    out
}

pub(crate) fn decode_tree_node(
    label: NodeLabel,
    bytes: &[u8],
) -> Result<TreeNodeWithPreviousValue, Malformed> {
    let mut reader = Reader(bytes);
    if reader.u8()? != TREE_NODE_FORMAT {
        return Err(Malformed("unknown tree node format"));
    }
    let latest_node = reader.node(label)?;
    let previous_node = match reader.u8()? {
        0 => None,
        1 => Some(reader.node(label)?),
        _ => return Err(Malformed("bad previous-node marker")),
    };
    if !reader.0.is_empty() {
        return Err(Malformed("trailing bytes after tree node"));
    }
    Ok(TreeNodeWithPreviousValue {
        label,
        latest_node,
        previous_node,
    })
}

fn put_node(out: &mut Vec<u8>, node: &TreeNode, record_label: &NodeLabel) {
    let mut flags = 0;
    if node.left_child.is_some() {
        flags |= HAS_LEFT;
    }
    if node.right_child.is_some() {
        flags |= HAS_RIGHT;
    }
    if node.label != *record_label {
        flags |= OWN_LABEL;
    }
    out.push(flags);
    out.push(node.node_type as u8);
    out.extend_from_slice(&node.last_epoch.to_be_bytes());
    out.extend_from_slice(&node.min_descendant_epoch.to_be_bytes());
    put_label(out, &node.parent);
    for child in [&node.left_child, &node.right_child].into_iter().flatten() {
        put_label(out, child);
    }
    if flags & OWN_LABEL != 0 {
        put_label(out, &node.label);
    }
    out.extend_from_slice(&node.hash.0);
}

fn put_label(out: &mut Vec<u8>, label: &NodeLabel) {
    out.extend_from_slice(&label.label_len.to_be_bytes());
    out.extend_from_slice(&label.label_val);
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        let (head, rest) = self
            .0
            .split_first_chunk::<N>()
            .ok_or(Malformed("truncated tree node"))?;
        self.0 = rest;
        Ok(*head)
    }

    fn u8(&mut self) -> Result<u8, Malformed> {
        Ok(self.take::<1>()?[0])
    }

    fn u64(&mut self) -> Result<u64, Malformed> {
        Ok(u64::from_be_bytes(self.take()?))
    }

    fn label(&mut self) -> Result<NodeLabel, Malformed> {
        let label_len = u32::from_be_bytes(self.take()?);
        let label_val = self.take()?;
        Ok(NodeLabel {
            label_val,
            label_len,
        })
    }

    fn node(&mut self, record_label: NodeLabel) -> Result<TreeNode, Malformed> {
        let flags = self.u8()?;
        if flags & !(HAS_LEFT | HAS_RIGHT | OWN_LABEL) != 0 {
            return Err(Malformed("unknown tree node flags"));
        }
        let node_type = match self.u8()? {
            t if t == TreeNodeType::Leaf as u8 => TreeNodeType::Leaf,
            t if t == TreeNodeType::Root as u8 => TreeNodeType::Root,
            t if t == TreeNodeType::Interior as u8 => TreeNodeType::Interior,
            _ => return Err(Malformed("unknown tree node type")),
        };
        let last_epoch = self.u64()?;
        let min_descendant_epoch = self.u64()?;
        let parent = self.label()?;
        let left_child = (flags & HAS_LEFT != 0).then(|| self.label()).transpose()?;
        let right_child = (flags & HAS_RIGHT != 0).then(|| self.label()).transpose()?;
        let label = if flags & OWN_LABEL != 0 {
            self.label()?
        } else {
            record_label
        };
        let hash = AzksValue(self.take()?);
        Ok(TreeNode {
            label,
            last_epoch,
            min_descendant_epoch,
            parent,
            node_type,
            left_child,
            right_child,
            hash,
        })
    }
}

/// akd counts epochs and versions in `u64`; SQLite stores `i64`. Values past
/// `i64::MAX` (never reached: one epoch a second for 292 billion years) are
/// refused rather than wrapped, so the order of the indexes stays the order
/// of the numbers.
pub(crate) fn to_sql_int(value: u64) -> Option<i64> {
    i64::try_from(value).ok()
}

pub(crate) fn from_sql_int(value: i64) -> Result<u64, Malformed> {
    u64::try_from(value).map_err(|_| Malformed("negative epoch, version or count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn label(byte: u8, len: u32) -> NodeLabel {
        NodeLabel {
            label_val: [byte; 32],
            label_len: len,
        }
    }

    fn node(own: NodeLabel, children: bool) -> TreeNode {
        TreeNode {
            label: own,
            last_epoch: 7,
            min_descendant_epoch: 3,
            parent: label(0, 0),
            node_type: if children {
                TreeNodeType::Interior
            } else {
                TreeNodeType::Leaf
            },
            left_child: children.then(|| label(0x0f, 4)),
            right_child: children.then(|| label(0xf0, 4)),
            hash: AzksValue([0xab; 32]),
        }
    }

    #[test]
    fn round_trips_every_shape() {
        let own = label(0x55, 12);
        let shapes = [
            TreeNodeWithPreviousValue {
                label: own,
                latest_node: node(own, true),
                previous_node: None,
            },
            TreeNodeWithPreviousValue {
                label: own,
                latest_node: node(own, true),
                previous_node: Some(node(own, false)),
            },
            // A node whose own label differs from the record's still round-trips.
            TreeNodeWithPreviousValue {
                label: own,
                latest_node: node(label(0x66, 9), false),
                previous_node: Some(node(label(0x77, 3), true)),
            },
        ];
        for record in shapes {
            let bytes = encode_tree_node(&record);
            assert_eq!(decode_tree_node(own, &bytes), Ok(record));
        }
    }

    #[test]
    fn compact() {
        let own = label(1, 256);
        let record = TreeNodeWithPreviousValue {
            label: own,
            latest_node: node(own, true),
            previous_node: Some(node(own, true)),
        };
        assert_eq!(
            encode_tree_node(&record).len(),
            2 + 2 * (NODE_MIN_LEN + 2 * LABEL_LEN)
        );
    }

    #[test]
    fn rejects_damage() {
        let own = label(2, 20);
        let record = TreeNodeWithPreviousValue {
            label: own,
            latest_node: node(own, true),
            previous_node: Some(node(own, false)),
        };
        let bytes = encode_tree_node(&record);
        for cut in 0..bytes.len() {
            assert!(
                decode_tree_node(own, &bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_tree_node(own, &longer).is_err());
        let mut wrong_format = bytes.clone();
        wrong_format[0] = 2;
        assert!(decode_tree_node(own, &wrong_format).is_err());
        let mut wrong_type = bytes.clone();
        wrong_type[2] = 9;
        assert!(decode_tree_node(own, &wrong_type).is_err());
        let mut wrong_flags = bytes;
        wrong_flags[1] |= 0x80;
        assert!(decode_tree_node(own, &wrong_flags).is_err());
    }

    #[test]
    fn integers_keep_their_order_or_are_refused() {
        assert_eq!(to_sql_int(0), Some(0));
        assert_eq!(to_sql_int(i64::MAX as u64), Some(i64::MAX));
        assert_eq!(to_sql_int(u64::MAX), None);
        assert_eq!(from_sql_int(5), Ok(5));
        assert!(from_sql_int(-1).is_err());
    }
}
