//! Party rules without I/O: what a valid party is.

use kernel::error::Problems;
use kernel::identifiers;
use kernel::DomainResult;
use serde::{Deserialize, Serialize};

/// Roles a party can play; later modules keep their own data behind these.
pub const ROLES: [&str; 5] = ["customer", "supplier", "employee", "patient", "candidate"];
/// Kinds of contact.
pub const CONTACT_KINDS: [&str; 4] = ["mobile", "phone", "email", "wechat"];
/// Kinds of address.
pub const ADDRESS_KINDS: [&str; 4] = ["office", "billing", "shipping", "home"];

pub const MAX_NAME: usize = 200;
pub const MAX_NOTES: usize = 2000;
pub const MAX_TAGS: usize = 20;
pub const MAX_TAG: usize = 50;
pub const MAX_CONTACTS: usize = 20;
pub const MAX_ADDRESSES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Contact {
    pub kind: String,
    pub value: String,
    #[serde(default)]
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Address {
    pub kind: String,
    #[serde(default = "default_country")]
    pub country: String,
    #[serde(default)]
    pub province: String,
    #[serde(default)]
    pub city: String,
    #[serde(default)]
    pub district: String,
    pub street: String,
    #[serde(default)]
    pub postcode: String,
}

fn default_country() -> String {
    "CN".into()
}

/// A party's editable data, as entered (API body or form).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PartyForm {
    pub kind: String,
    pub name: String,
    #[serde(default)]
    pub name_en: Option<String>,
    #[serde(default)]
    pub credit_code: Option<String>,
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    #[serde(default)]
    pub addresses: Vec<Address>,
    #[serde(default)]
    pub notes: String,
    /// The owning user (for record rules); the creator when absent.
    #[serde(default)]
    pub owner_id: Option<i64>,
    /// Create even though a party with the same mobile, e-mail or credit code exists.
    #[serde(default)]
    pub confirm_duplicates: bool,
}

/// A checked party: normalised values only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyInput {
    pub kind: String,
    pub name: String,
    pub name_en: Option<String>,
    pub credit_code: Option<String>,
    pub id_number: Option<String>,
    pub roles: Vec<String>,
    pub tags: Vec<String>,
    pub contacts: Vec<Contact>,
    pub addresses: Vec<Address>,
    pub notes: String,
    pub owner_id: Option<i64>,
}

fn blank_to_none(v: &Option<String>) -> Option<String> {
    v.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn check_length(problems: &mut Problems, field: &str, value: &str, max: usize) {
    if value.chars().count() > max {
        problems.add(field, "error.too_long", max.to_string());
    }
}

/// Checks and normalises a party form, collecting every problem at once.
pub fn validate(form: &PartyForm) -> DomainResult<PartyInput> {
    let mut problems = Problems::default();
    let kind = form.kind.trim().to_string();
    if kind != "person" && kind != "organization" {
        problems.add("kind", "error.party.kind", &kind);
    }
    let name = form.name.trim().to_string();
    if name.is_empty() {
        problems.add("name", "error.required", "");
    }
    check_length(&mut problems, "name", &name, MAX_NAME);
    let name_en = blank_to_none(&form.name_en);
    if let Some(n) = &name_en {
        check_length(&mut problems, "name_en", n, MAX_NAME);
    }
    let credit_code = match blank_to_none(&form.credit_code) {
        Some(code) if code.chars().count() > 40 => {
            problems.add("credit_code", "error.credit_code.length", code.chars().count().to_string());
            None
        }
        Some(code) => problems.check(identifiers::credit_code("credit_code", &code)),
        None => None,
    };
    let id_number = match blank_to_none(&form.id_number) {
        Some(id) if kind == "organization" => {
            problems.add("id_number", "error.party.id_number_for_person", &id);
            None
        }
        Some(id) if id.chars().count() > 40 => {
            problems.add("id_number", "error.resident_id.length", id.chars().count().to_string());
            None
        }
        Some(id) => problems.check(identifiers::resident_id("id_number", &id)),
        None => None,
    };
    let mut roles: Vec<String> = form.roles.iter().map(|r| r.trim().to_string()).filter(|r| !r.is_empty()).collect();
    roles.sort();
    roles.dedup();
    for role in &roles {
        if !ROLES.contains(&role.as_str()) {
            problems.add("roles", "error.party.role", role);
        }
    }
    let mut tags: Vec<String> = form.tags.iter().map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect();
    tags.sort();
    tags.dedup();
    if tags.len() > MAX_TAGS {
        problems.add("tags", "error.party.too_many", MAX_TAGS.to_string());
    }
    for tag in &tags {
        check_length(&mut problems, "tags", tag, MAX_TAG);
    }
    if form.contacts.len() > MAX_CONTACTS {
        problems.add("contacts", "error.party.too_many", MAX_CONTACTS.to_string());
    }
    let mut contacts = Vec::new();
    for (i, contact) in form.contacts.iter().enumerate() {
        let field = format!("contacts[{i}]");
        let raw = contact.value.trim();
        if raw.is_empty() {
            continue;
        }
        if raw.chars().count() > 100 {
            problems.add(&field, "error.too_long", "100");
            continue;
        }
        let value = match contact.kind.as_str() {
            "mobile" => problems.check(identifiers::mobile(&field, raw)),
            "email" => problems.check(identifiers::email(&field, raw)),
            "phone" => {
                let ok = raw.len() >= 5
                    && raw.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | '+' | '(' | ')'));
                if !ok {
                    problems.add(&field, "error.party.phone", raw);
                }
                Some(raw.to_string())
            }
            "wechat" => {
                let ok = (6..=20).contains(&raw.len())
                    && raw.starts_with(|c: char| c.is_ascii_alphabetic())
                    && raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                if !ok {
                    problems.add(&field, "error.party.wechat", raw);
                }
                Some(raw.to_string())
            }
            other => {
                problems.add(&field, "error.party.contact_kind", other);
                None
            }
        };
        check_length(&mut problems, &field, &contact.label, 50);
        if let Some(value) = value {
            contacts.push(Contact { kind: contact.kind.clone(), value, label: contact.label.trim().to_string() });
        }
    }
    if form.addresses.len() > MAX_ADDRESSES {
        problems.add("addresses", "error.party.too_many", MAX_ADDRESSES.to_string());
    }
    let mut addresses = Vec::new();
    for (i, address) in form.addresses.iter().enumerate() {
        let field = format!("addresses[{i}]");
        if address.street.trim().is_empty() {
            if !(address.province.trim().is_empty()
                && address.city.trim().is_empty()
                && address.district.trim().is_empty())
            {
                problems.add(&field, "error.party.street_required", "");
            }
            continue;
        }
        if !ADDRESS_KINDS.contains(&address.kind.as_str()) {
            problems.add(&field, "error.party.address_kind", &address.kind);
        }
        for part in [&address.province, &address.city, &address.district, &address.postcode, &address.country] {
            check_length(&mut problems, &field, part, 100);
        }
        check_length(&mut problems, &field, &address.street, 200);
        let country = address.country.trim().to_uppercase();
        addresses.push(Address {
            kind: address.kind.clone(),
            country: if country.is_empty() { "CN".into() } else { country },
            province: address.province.trim().to_string(),
            city: address.city.trim().to_string(),
            district: address.district.trim().to_string(),
            street: address.street.trim().to_string(),
            postcode: address.postcode.trim().to_string(),
        });
    }
    let notes = form.notes.trim().to_string();
    check_length(&mut problems, "notes", &notes, MAX_NOTES);
    problems.finish()?;
    Ok(PartyInput {
        kind,
        name,
        name_en,
        credit_code,
        id_number,
        roles,
        tags,
        contacts,
        addresses,
        notes,
        owner_id: form.owner_id,
    })
}

/// The lower-cased text that substring search looks in.
pub fn search_text(number: &str, input: &PartyInput) -> String {
    format!("{} {} {}", input.name, input.name_en.as_deref().unwrap_or(""), number).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn huaxin() -> PartyForm {
        PartyForm {
            kind: "organization".into(),
            name: " 北京华信科技有限公司 ".into(),
            credit_code: Some("91110000600037341l".into()),
            roles: vec!["customer".into(), "supplier".into(), "customer".into()],
            tags: vec!["重点".into(), " ".into()],
            contacts: vec![Contact {
                kind: "mobile".into(), value: "+86 138 0013 8000".into(), label: "采购".into()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_company_is_normalised() {
        let input = validate(&huaxin()).unwrap();
        assert_eq!(input.name, "北京华信科技有限公司");
        assert_eq!(input.credit_code.as_deref(), Some("91110000600037341L"));
        assert_eq!(input.roles, vec!["customer", "supplier"]);
        assert_eq!(input.tags, vec!["重点"]);
        assert_eq!(input.contacts[0].value, "13800138000");
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut form = huaxin();
        form.name = "".into();
        form.credit_code = Some("911100001000006290".into());
        form.roles.push("wizard".into());
        form.id_number = Some("11010519491231002X".into());
        let Err(kernel::DomainError::Invalid(errors)) = validate(&form) else { panic!("expected invalid") };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["name", "credit_code", "id_number", "roles"]);
        assert_eq!(errors[1].detail, "R");
    }
}
