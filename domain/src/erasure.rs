//! What erasing a clinic's personal data at the end of its contract means (APPI;
//! the medical-information guideline's rules for entrusted data): which values
//! are replaced, by what, and when it is allowed. The writing is persistence's.

use crate::{ContractStatus, ValidationError};

/// Why an erasure was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureRefusal {
    /// The contract is active or suspended: the clinic is still a customer.
    ContractNotEnded,
    /// The confirmation is not the organization's name.
    WrongConfirmation(ValidationError),
}

/// What an erased name, title, body or phone number reads afterwards. One value
/// for all of them, so a screen or an export shows plainly that something was
/// there and was erased, not that it was empty.
pub const TOMBSTONE: &str = "（削除済み）";

/// An erased person's email: unique (the column is), reserved by RFC 2606 so it
/// can never reach anyone, and derived from the account id only.
pub fn erased_email(user_id_simple: &str) -> String {
    format!("erased-{user_id_simple}@erased.invalid")
}

/// The keys of event payloads (outbox rows, webhook bodies) whose values are
/// personal text; erasure overwrites them wherever they occur in the JSON.
pub const PERSONAL_KEYS: &[&str] = &[
    "title",
    "body",
    "caller_name",
    "caller_number",
    "summary",
    "display_name",
    "author_name",
    "email",
];

/// Overwrite every value under a [`PERSONAL_KEYS`] key in `v` (at any depth) with
/// the tombstone. Answers whether anything changed.
pub fn scrub_json(v: &mut serde_json::Value) -> bool {
    let mut changed = false;
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                if PERSONAL_KEYS.contains(&k.as_str()) && val.as_str() != Some(TOMBSTONE) {
                    if !val.is_null() {
                        *val = serde_json::Value::String(TOMBSTONE.to_owned());
                        changed = true;
                    }
                } else {
                    changed |= scrub_json(val);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                changed |= scrub_json(item);
            }
        }
        _ => {}
    }
    changed
}

/// Erasure is for the end of a contract: refused while the clinic is still (or
/// again) a customer, and only with the organization's exact name typed as the
/// confirmation, so that a wrong id pasted into a script cannot erase a clinic.
pub fn check_erasable(
    status: ContractStatus,
    name: &str,
    confirmation: &str,
) -> Result<(), ErasureRefusal> {
    if status != ContractStatus::Ended {
        return Err(ErasureRefusal::ContractNotEnded);
    }
    if confirmation.trim() != name {
        return Err(ErasureRefusal::WrongConfirmation(ValidationError::new(
            "confirm_organization_name",
            "must be the organization's name exactly as stored",
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scrubs_personal_keys_at_any_depth_and_nothing_else() {
        let mut v = json!({
            "type": "thread.created",
            "data": {"title": "山田様の予約", "thread_number": 12, "nested": [{"caller_name": "佐藤"}]},
            "summary": null,
        });
        assert!(scrub_json(&mut v));
        assert_eq!(v["data"]["title"], TOMBSTONE);
        assert_eq!(v["data"]["nested"][0]["caller_name"], TOMBSTONE);
        assert_eq!(v["data"]["thread_number"], 12);
        assert_eq!(v["type"], "thread.created");
        assert!(v["summary"].is_null());
        // A second pass finds nothing left to change.
        assert!(!scrub_json(&mut v));
    }

    #[test]
    fn only_ended_contracts_with_their_name_typed() {
        let name = "医療法人社団 さくら内科クリニック";
        for status in [ContractStatus::Active, ContractStatus::Suspended] {
            assert_eq!(
                check_erasable(status, name, name),
                Err(ErasureRefusal::ContractNotEnded)
            );
        }
        assert!(matches!(
            check_erasable(ContractStatus::Ended, name, "さくら内科"),
            Err(ErasureRefusal::WrongConfirmation(_))
        ));
        assert!(check_erasable(ContractStatus::Ended, name, name).is_ok());
    }

    #[test]
    fn erased_emails_cannot_be_delivered() {
        assert!(erased_email("0190abcd").ends_with("@erased.invalid"));
    }
}
