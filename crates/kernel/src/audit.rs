//! Audit records and the rule that chains them.
//!
//! Every change writes an audit row whose hash covers the previous row's hash and every
//! field of its own, so editing, deleting or inserting a row anywhere in the chain breaks
//! every hash after it. `zhongshu audit verify` recomputes the chain with [`chain_hash`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The hash that the first row of a chain points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit row as it is hashed and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Position in the chain, gapless from 1.
    pub seq: i64,
    /// RFC 3339 UTC instant, exactly as stored.
    pub at: String,
    pub company_id: Option<i64>,
    pub actor_id: Option<i64>,
    /// The login (or `system`), kept so the row still reads correctly if the user is renamed.
    pub actor: String,
    /// `create`, `update`, `delete`, `state`, `read`, `login`, …
    pub action: String,
    /// `party.party`, `web.user`, …
    pub resource: String,
    pub resource_id: Option<String>,
    /// JSON object `{field: [before, after]}` (or a free-form object for reads and logins).
    pub changes: String,
    pub prev_hash: String,
}

/// The hash of a row: SHA-256 over the previous hash and each field, separated by a unit
/// separator so no two different rows can serialise to the same bytes.
pub fn chain_hash(record: &AuditRecord) -> String {
    let mut hasher = Sha256::new();
    let opt = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    for part in [
        record.prev_hash.as_str(),
        &record.seq.to_string(),
        &record.at,
        &opt(record.company_id),
        &opt(record.actor_id),
        &record.actor,
        &record.action,
        &record.resource,
        record.resource_id.as_deref().unwrap_or(""),
        &record.changes,
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    hex::encode(hasher.finalize())
}

/// The fields that differ between two JSON snapshots of a record, as `{field: [before, after]}`.
/// A create passes `Value::Null` as `before`; a delete passes it as `after`.
pub fn diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let b = before.as_object().unwrap_or(&empty);
    let a = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut out = Map::new();
    for key in keys {
        let old = b.get(key).cloned().unwrap_or(Value::Null);
        let new = a.get(key).cloned().unwrap_or(Value::Null);
        if old != new {
            out.insert(key.clone(), Value::Array(vec![old, new]));
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record() -> AuditRecord {
        AuditRecord {
            seq: 1,
            at: "2026-11-26T08:00:00.000000Z".into(),
            company_id: Some(1),
            actor_id: Some(1),
            actor: "admin".into(),
            action: "update".into(),
            resource: "party.party".into(),
            resource_id: Some("42".into()),
            changes: r#"{"name":["甲","乙"]}"#.into(),
            prev_hash: GENESIS_HASH.into(),
        }
    }

    #[test]
    fn changing_any_field_changes_the_hash() {
        let original = chain_hash(&record());
        let mut edited = record();
        edited.changes = r#"{"name":["甲","丙"]}"#.into();
        assert_ne!(chain_hash(&edited), original);
        let mut moved = record();
        moved.seq = 2;
        assert_ne!(chain_hash(&moved), original);
    }

    #[test]
    fn diff_lists_only_changed_fields() {
        let d = diff(&json!({"name": "甲", "phone": "13800138000"}), &json!({"name": "乙", "phone": "13800138000"}));
        assert_eq!(d, json!({"name": ["甲", "乙"]}));
        assert_eq!(diff(&Value::Null, &json!({"name": "甲"})), json!({"name": [null, "甲"]}));
    }
}
