//! Party operations. Each is one transaction with its audit row and event, and each asks
//! the one policy function before it reads or writes.

use crate::domain::{self, PartyForm, PartyInput};
use crate::store::{self, Party, PartyPage};
use db::{Db, Result};
use kernel::identifiers::mask_resident_id;
use kernel::permission::{Principal, RecordOwner};
use kernel::{DomainError, Lang};
use serde_json::json;
use web::list::ListParams;

pub const READ: &str = "party.party.read";
pub const CREATE: &str = "party.party.create";
pub const UPDATE: &str = "party.party.update";
pub const EXPORT: &str = "party.party.export";
/// Reading resident ID numbers in full.
pub const READ_SENSITIVE: &str = "party.party.read_sensitive";

/// A party that may already exist, found on create.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Duplicate {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub matched: String,
}

/// Why a create stopped before writing: the input repeats an existing party.
#[derive(Debug)]
pub enum CreateOutcome {
    Created(i64),
    PossibleDuplicates(Vec<Duplicate>),
}

fn actor(principal: &Principal) -> db::Actor {
    db::Actor::user(principal.user_id.0, principal.login.clone(), principal.company_id.0)
}

fn snapshot(input: &PartyInput, owner_id: Option<i64>) -> serde_json::Value {
    let mut value = serde_json::to_value(input).unwrap_or_default();
    value["owner_id"] = json!(owner_id);
    // The audit trail records that an ID number changed, never the number itself.
    if let Some(id) = input.id_number.as_deref() {
        value["id_number"] = json!(mask_resident_id(id));
    }
    value
}

/// Checks that the chosen owner is a user of the company.
async fn check_owner(tx: &mut db::Tx, company_id: i64, owner_id: Option<i64>) -> Result<()> {
    if let Some(owner) = owner_id {
        let ok = sqlx::query("SELECT 1 FROM user_companies WHERE user_id = $1 AND company_id = $2")
            .bind(owner)
            .bind(company_id)
            .fetch_optional(tx.conn())
            .await?;
        if ok.is_none() {
            return Err(DomainError::invalid("owner_id", "error.party.owner", owner.to_string()).into());
        }
    }
    Ok(())
}

/// Creates a party: validates, warns of possible duplicates unless confirmed, numbers it
/// `PTY/{year}/{seq:06}`, and records the audit row and a `party.PartyCreated` event.
pub async fn create(db: &Db, principal: &Principal, form: &PartyForm) -> Result<CreateOutcome> {
    principal.authorize(CREATE)?;
    let input = domain::validate(form)?;
    let company_id = principal.company_id.0;
    let owner_id = input.owner_id.or(Some(principal.user_id.0));
    let mut tx = db.begin(actor(principal)).await?;
    check_owner(&mut tx, company_id, owner_id).await?;
    if !form.confirm_duplicates {
        let found = store::duplicates(tx.conn(), company_id, &input, None).await?;
        if !found.is_empty() {
            return Ok(CreateOutcome::PossibleDuplicates(
                found.into_iter().map(|(id, number, name, matched)| Duplicate { id, number, name, matched }).collect(),
            ));
        }
    }
    let id = record_new(&mut tx, company_id, &input, owner_id).await?;
    tx.commit().await?;
    Ok(CreateOutcome::Created(id))
}

/// Writes a checked new party inside a transaction whose actor is its creator: takes the
/// next number `PTY/{year}/{seq:06}` (year in China Standard Time), inserts it with its parts,
/// appends the audit row and emits `party.PartyCreated`. `create` calls it after its checks;
/// demo data and imports call it directly, so every party is recorded the same way.
pub async fn record_new(tx: &mut db::Tx, company_id: i64, input: &PartyInput, owner_id: Option<i64>) -> Result<i64> {
    let local_now = chrono::DateTime::parse_from_rfc3339(tx.now())
        .map(|t| t.with_timezone(&chrono::Utc) + chrono::Duration::hours(8))
        .map_err(|e| DomainError::Internal(e.to_string()))?;
    let year = chrono::Datelike::year(&local_now);
    let number = tx.next_number(company_id, "party", year, "PTY/{year}/{seq:06}").await?;
    let now = tx.now().to_string();
    let creator = tx.actor().user_id;
    let id = store::insert(tx.conn(), company_id, &number, input, owner_id, creator, &now).await?;
    let mut after = snapshot(input, owner_id);
    after["number"] = json!(number);
    tx.audit("create", "party.party", Some(&id.to_string()), &kernel::audit::diff(&serde_json::Value::Null, &after))
        .await?;
    tx.emit(
        "party",
        &id.to_string(),
        "party.PartyCreated",
        &json!({"id": id, "number": number, "name": input.name, "roles": input.roles}),
    )
    .await?;
    Ok(id)
}

/// Reads one party the principal may see. The resident ID is masked unless the principal
/// may read it in full, and a full read is written to the audit chain.
pub async fn get(db: &Db, principal: &Principal, id: i64) -> Result<Party> {
    let mut party = load(db, principal, id).await?;
    if party.id_number.is_some() {
        if principal.may(READ_SENSITIVE) {
            let mut tx = db.begin(actor(principal)).await?;
            tx.audit("read", "party.party", Some(&id.to_string()), &json!({"fields": ["id_number"]})).await?;
            tx.commit().await?;
        } else {
            party.id_number = party.id_number.as_deref().map(mask_resident_id);
        }
    }
    Ok(party)
}

/// Loads a party the principal may read, unmasked: for checks and merges, never for display.
pub async fn load(db: &Db, principal: &Principal, id: i64) -> Result<Party> {
    principal.authorize(READ)?;
    let mut conn = db.read_conn().await?;
    let party = store::get(&mut conn, principal.company_id.0, id).await?.ok_or(DomainError::NotFound("party"))?;
    reach(principal, READ, &party)?;
    Ok(party)
}

/// Checks inside another module's transaction that the principal may read a party (its
/// record rule): one out of reach is not found.
pub async fn reach_in(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<()> {
    reach_in_for(conn, principal, READ, id).await
}

/// [`reach_in`] for another party permission (`UPDATE` before giving a party a role).
pub async fn reach_in_for(conn: &mut db::Conn, principal: &Principal, permission: &str, id: i64) -> Result<()> {
    principal.authorize(permission)?;
    let party = store::get(conn, principal.company_id.0, id).await?.ok_or(DomainError::NotFound("party"))?;
    reach(principal, permission, &party)
}

/// Record rules for one record; a record out of reach looks like a missing one, so its
/// existence is not revealed.
fn reach(principal: &Principal, permission: &str, party: &Party) -> Result<()> {
    let owner = RecordOwner {
        company_id: principal.company_id,
        user_id: party.owner_id.map(kernel::ids::UserId),
        team: party.owner_team.clone(),
        department: party.owner_department.clone(),
    };
    principal.reaches(permission, &owner).map_err(|_| DomainError::NotFound("party").into())
}

/// Updates a party if `version` is still current. Fields absent from the patch keep their
/// values.
pub async fn update(db: &Db, principal: &Principal, id: i64, version: i64, form: &PartyForm) -> Result<()> {
    principal.authorize(UPDATE)?;
    let company_id = principal.company_id.0;
    let mut tx = db.begin(actor(principal)).await?;
    let before = store::get(tx.conn(), company_id, id).await?.ok_or(DomainError::NotFound("party"))?;
    reach(principal, UPDATE, &before)?;
    if before.version != version {
        return Err(DomainError::StaleVersion { resource: "party", expected: version, actual: before.version }.into());
    }
    // Without the permission to read ID numbers, a form shows the masked number; sending
    // it back unchanged keeps the stored one.
    let mut form = form.clone();
    if form.id_number.as_deref().is_some_and(|v| v.contains('*')) {
        form.id_number = before.id_number.clone();
    }
    let input = domain::validate(&form)?;
    let owner_id = input.owner_id.or(before.owner_id);
    check_owner(&mut tx, company_id, owner_id).await?;
    let now = tx.now().to_string();
    if !store::update(tx.conn(), id, version, &before.number, &input, owner_id, &now).await? {
        return Err(DomainError::StaleVersion { resource: "party", expected: version, actual: version + 1 }.into());
    }
    let before_input = domain::validate(&form_of(&before))?;
    let changes = kernel::audit::diff(&snapshot(&before_input, before.owner_id), &snapshot(&input, owner_id));
    tx.audit("update", "party.party", Some(&id.to_string()), &changes).await?;
    let changed: Vec<String> = changes.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    tx.emit(
        "party",
        &id.to_string(),
        "party.PartyUpdated",
        &json!({"id": id, "number": before.number, "changed": changed}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The form that reproduces a stored party (for editing and for PATCH merging).
pub fn form_of(party: &Party) -> PartyForm {
    PartyForm {
        kind: party.kind.clone(),
        name: party.name.clone(),
        name_en: party.name_en.clone(),
        credit_code: party.credit_code.clone(),
        id_number: party.id_number.clone(),
        roles: party.roles.clone(),
        tags: party.tags.clone(),
        contacts: party.contacts.clone(),
        addresses: party.addresses.clone(),
        notes: party.notes.clone(),
        owner_id: party.owner_id,
        confirm_duplicates: false,
    }
}

/// A page of the list the principal may see.
pub async fn list(db: &Db, principal: &Principal, params: &ListParams) -> Result<PartyPage> {
    let filter = principal.row_filter(READ)?;
    let mut conn = db.read_conn().await?;
    store::list(&mut conn, &filter, params).await
}

/// Writes every party of the filter as CSV (all pages, not just the one shown). ID numbers
/// are not exported; the export itself is audited.
pub async fn export_csv(
    db: &Db,
    principal: &Principal,
    params: &ListParams,
    lang: Lang,
    messages: &web::i18n::Messages,
) -> Result<Vec<u8>> {
    principal.authorize(EXPORT)?;
    let filter = principal.row_filter(READ)?;
    let mut out = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = [
        "party.number",
        "party.kind",
        "party.name",
        "party.name_en",
        "party.credit_code",
        "party.mobile",
        "party.roles",
        "party.tags",
        "party.created_at",
    ]
    .iter()
    .map(|k| messages.get(lang, k))
    .collect();
    let csv_error = |e: csv::Error| db::Error::from(DomainError::Internal(e.to_string()));
    out.write_record(&header).map_err(csv_error)?;
    let mut page_params = params.clone();
    page_params.limit = web::list::MAX_LIMIT;
    page_params.cursor = None;
    let mut rows = 0;
    let mut conn = db.read_conn().await?;
    loop {
        let page = store::list(&mut conn, &filter, &page_params).await?;
        for item in &page.items {
            let roles: Vec<String> =
                item.roles.iter().map(|r| messages.get(lang, &format!("party.role.{r}"))).collect();
            out.write_record([
                item.number.as_str(),
                &messages.get(lang, &format!("party.kind.{}", item.kind)),
                &item.name,
                item.name_en.as_deref().unwrap_or(""),
                item.credit_code.as_deref().unwrap_or(""),
                item.mobile.as_deref().unwrap_or(""),
                &roles.join("; "),
                &item.tags.join("; "),
                &item.created_at,
            ])
            .map_err(csv_error)?;
            rows += 1;
        }
        match page.next_cursor {
            Some(cursor) => page_params.cursor = web::list::Cursor::decode(&cursor),
            None => break,
        }
    }
    drop(conn);
    let mut tx = db.begin(actor(principal)).await?;
    tx.audit(
        "read",
        "party.party",
        None,
        &json!({"export": "csv", "rows": rows, "q": params.q, "filters": params.filters}),
    )
    .await?;
    tx.commit().await?;
    let mut bytes = vec![0xEF, 0xBB, 0xBF]; // A byte-order mark, so Excel opens the Chinese text as UTF-8.
    bytes.extend(out.into_inner().map_err(|e| db::Error::from(DomainError::Internal(e.to_string())))?);
    Ok(bytes)
}
