//! CRM operations, one transaction each: leads (created by staff, an import or the public
//! form; checked against the parties for duplicates; assigned by the rules; qualified, lost or
//! converted into a customer and an opportunity), the pipeline (stages, moves, quotations made
//! through sales, won when their order is confirmed, lost with a reason) and the activities
//! staff log. Leads and opportunities follow the record rules by their owner.

use crate::domain::{self, LeadForm, LeadInput};
use db::{Result, RowExt, Tx};
use finance::domain::yuan;
use kernel::error::Problems;
use kernel::permission::{Principal, RecordOwner};
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const LEAD_READ: &str = "crm.lead.read";
pub const LEAD_MANAGE: &str = "crm.lead.manage";
pub const OPPORTUNITY_READ: &str = "crm.opportunity.read";
pub const OPPORTUNITY_MANAGE: &str = "crm.opportunity.manage";
/// The customer 360 page and timeline (the party's own record rule applies too).
pub const CUSTOMER_READ: &str = "crm.customer.read";
/// Stages and assignment rules.
pub const SETTINGS: &str = "crm.settings.manage";

/// The largest expected revenue of one opportunity: ten billion yuan (in fen).
pub const MAX_REVENUE: i64 = 1_000_000_000_000;

/// The owner of a lead or opportunity row, for record rules.
async fn owner_of(conn: &mut db::Conn, table: &str, company: i64, id: i64) -> Result<Option<RecordOwner>> {
    let sql = format!(
        "SELECT t.owner_id, u.team, u.department FROM {table} t LEFT JOIN users u ON u.id = t.owner_id WHERE t.company_id = $1 AND t.id = $2"
    );
    let Some(row) = sqlx::query(&sql).bind(company).bind(id).fetch_optional(conn).await? else {
        return Ok(None);
    };
    Ok(Some(RecordOwner {
        company_id: kernel::ids::CompanyId(company),
        user_id: row.try_get::<Option<i64>, _>("owner_id")?.map(kernel::ids::UserId),
        team: row.try_get("team")?,
        department: row.try_get("department")?,
    }))
}

/// A lead or opportunity the permission reaches; one out of reach is not found.
async fn reach(
    conn: &mut db::Conn,
    principal: &Principal,
    permission: &str,
    table: &'static str,
    noun: &'static str,
    id: i64,
) -> Result<()> {
    principal.authorize(permission)?;
    let owner = owner_of(conn, table, principal.company_id.0, id).await?.ok_or(DomainError::NotFound(noun))?;
    principal.reaches(permission, &owner).map_err(|_| DomainError::NotFound(noun).into())
}

// ---- Leads ----

/// A lead as listed and shown.
#[derive(Debug, Clone, Serialize)]
pub struct Lead {
    pub id: i64,
    pub number: String,
    pub name: String,
    pub organization: String,
    pub mobile: String,
    pub email: String,
    pub region: String,
    pub source: String,
    pub campaign: String,
    pub message: String,
    pub status: String,
    /// A party that looks like the same person or company (same mobile or e-mail).
    pub duplicate_of: Option<i64>,
    pub duplicate_name: Option<String>,
    pub party_id: Option<i64>,
    pub opportunity_id: Option<i64>,
    pub lost_reason: String,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub version: i64,
    pub created_at: String,
}

const LEAD_COLUMNS: &str =
    "l.id, l.number, l.name, l.organization, l.mobile, l.email, l.region, l.source, l.campaign, l.message, \
     l.status, d.id AS duplicate_of, d.name AS duplicate_name, l.party_id, l.opportunity_id, l.lost_reason, l.owner_id, \
     u.display_name AS owner_name, l.version, l.created_at";

fn lead_of(r: &db::Row) -> std::result::Result<Lead, sqlx::Error> {
    Ok(Lead {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        name: r.try_get("name")?,
        organization: r.try_get("organization")?,
        mobile: r.try_get("mobile")?,
        email: r.try_get("email")?,
        region: r.try_get("region")?,
        source: r.try_get("source")?,
        campaign: r.try_get("campaign")?,
        message: r.try_get("message")?,
        status: r.try_get("status")?,
        duplicate_of: r.try_get("duplicate_of")?,
        duplicate_name: r.try_get("duplicate_name")?,
        party_id: r.try_get("party_id")?,
        opportunity_id: r.try_get("opportunity_id")?,
        lost_reason: r.try_get("lost_reason")?,
        owner_id: r.try_get("owner_id")?,
        owner_name: r.try_get("owner_name")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
    })
}

/// The start of a query over leads: the suspected duplicate shows only when the principal may
/// read that party, so a lead never tells who else is a customer.
fn leads_query(principal: &Principal) -> db::SqlBuilder {
    let mut q = db::SqlBuilder::new(format!(
        "SELECT {LEAD_COLUMNS} FROM crm_leads l LEFT JOIN parties d ON d.id = l.duplicate_of"
    ));
    match principal.row_filter(party::service::READ) {
        Ok(filter) => db::rules::push_filter(&mut q, &filter, "d.company_id", "d.owner_id"),
        Err(_) => {
            q.push(" AND 1 = 0");
        }
    }
    q.push(" LEFT JOIN users u ON u.id = l.owner_id WHERE 1 = 1");
    q
}

/// The latest 500 leads the record rule reaches, or those in one status.
pub async fn leads(conn: &mut db::Conn, principal: &Principal, status: Option<&str>) -> Result<Vec<Lead>> {
    let filter = principal.row_filter(LEAD_READ)?;
    let mut q = leads_query(principal);
    db::rules::push_filter(&mut q, &filter, "l.company_id", "l.owner_id");
    if let Some(status) = status {
        q.push(" AND l.status = ").bind(status.to_string());
    }
    q.push(" ORDER BY l.id DESC LIMIT 500");
    Ok(q.build().fetch_all(conn).await?.iter().map(lead_of).collect::<std::result::Result<_, _>>()?)
}

/// One lead the principal may read.
pub async fn lead(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Lead> {
    reach(conn, principal, LEAD_READ, "crm_leads", "lead", id).await?;
    let mut q = leads_query(principal);
    q.push(" AND l.company_id = ").bind(principal.company_id.0).push(" AND l.id = ").bind(id);
    Ok(lead_of(&q.build().fetch_optional(conn).await?.ok_or(DomainError::NotFound("lead"))?)?)
}

async fn load_lead(conn: &mut db::Conn, company: i64, id: i64) -> Result<Lead> {
    let row = sqlx::query(&format!(
        "SELECT {LEAD_COLUMNS} FROM crm_leads l LEFT JOIN parties d ON d.id = l.duplicate_of LEFT JOIN users u ON u.id = l.owner_id \
         WHERE l.company_id = $1 AND l.id = $2"
    ))
    .bind(company)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("lead"))?;
    Ok(lead_of(&row)?)
}

/// A party with the lead's mobile or e-mail among its contacts: probably the same person or
/// company, so conversion offers it rather than making a second one.
async fn duplicate(tx: &mut Tx, company: i64, input: &LeadInput) -> Result<Option<i64>> {
    let values: Vec<&str> =
        [input.mobile.as_str(), input.email.as_str()].into_iter().filter(|v| !v.is_empty()).collect();
    for value in values {
        let found = sqlx::query(
            "SELECT p.id FROM parties p JOIN party_contacts c ON c.party_id = p.id \
             WHERE p.company_id = $1 AND c.value = $2 AND p.archived_at IS NULL ORDER BY p.id LIMIT 1",
        )
        .bind(company)
        .bind(value)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(row) = found {
            return Ok(Some(row.try_get("id")?));
        }
    }
    Ok(None)
}

/// The salesperson a new lead goes to: the first assignment rule matching its source and
/// region names a team, and the team's members take turns (the pointer row is locked, so two
/// leads arriving together go to two people). No rule: nobody yet.
async fn assignee(tx: &mut Tx, company: i64, input: &LeadInput) -> Result<Option<i64>> {
    let team: Option<String> = sqlx::query(
        "SELECT team FROM crm_assignment_rules WHERE company_id = $1 AND (source = '' OR source = $2) \
         AND (region = '' OR region = $3) ORDER BY position, id LIMIT 1",
    )
    .bind(company)
    .bind(&input.source)
    .bind(&input.region)
    .fetch_optional(tx.conn())
    .await?
    .map(|r| r.try_get("team"))
    .transpose()?;
    let Some(team) = team else {
        return Ok(None);
    };
    let members: Vec<i64> = sqlx::query(
        "SELECT u.id FROM users u JOIN user_companies c ON c.user_id = u.id \
         WHERE c.company_id = $1 AND u.team = $2 AND u.disabled_at IS NULL ORDER BY u.id",
    )
    .bind(company)
    .bind(&team)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<std::result::Result<_, _>>()?;
    // Lock the team's pointer (creating it the first time) before reading it.
    sqlx::query(
        "INSERT INTO crm_round_robin (company_id, team, last_user_id) VALUES ($1, $2, 0) \
         ON CONFLICT (company_id, team) DO UPDATE SET last_user_id = crm_round_robin.last_user_id",
    )
    .bind(company)
    .bind(&team)
    .execute(tx.conn())
    .await?;
    let last: i64 = sqlx::query("SELECT last_user_id FROM crm_round_robin WHERE company_id = $1 AND team = $2")
        .bind(company)
        .bind(&team)
        .fetch_one(tx.conn())
        .await?
        .try_get("last_user_id")?;
    let next = domain::next_in_turn(&members, (last > 0).then_some(last));
    if let Some(user) = next {
        sqlx::query("UPDATE crm_round_robin SET last_user_id = $1 WHERE company_id = $2 AND team = $3")
            .bind(user)
            .bind(company)
            .bind(&team)
            .execute(tx.conn())
            .await?;
    }
    Ok(next)
}

/// Records a lead for `company`: checked, matched against the parties, numbered
/// (`LD/2026/00001`), given to `owner` or else to whoever the assignment rules say. Emits
/// `crm.LeadCreated`. The caller checked who may create it (staff, an import, or the public
/// form's limits). Returns its id.
pub async fn record_lead(tx: &mut Tx, company: i64, form: &LeadForm, owner: Option<i64>) -> Result<i64> {
    let input = domain::validate_lead(form)?;
    let duplicate_of = duplicate(tx, company, &input).await?;
    let owner = match owner {
        Some(owner) => Some(owner),
        None => assignee(tx, company, &input).await?,
    };
    let year = chrono::Datelike::year(&local_date(tx));
    let number = tx.next_number(company, "crm.lead", year, "LD/{year}/{seq:05}").await?;
    let now = tx.now().to_string();
    let id: i64 = sqlx::query(
        "INSERT INTO crm_leads (company_id, number, name, organization, mobile, email, region, source, campaign, message, status, duplicate_of, owner_id, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'new', $11, $12, $13, $14) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(&input.name)
    .bind(&input.organization)
    .bind(&input.mobile)
    .bind(&input.email)
    .bind(&input.region)
    .bind(&input.source)
    .bind(&input.campaign)
    .bind(&input.message)
    .bind(duplicate_of)
    .bind(owner)
    .bind(&now)
    .bind(tx.actor().user_id)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "crm.lead",
        Some(&id.to_string()),
        &json!({"number": [null, number], "name": [null, input.name], "source": [null, input.source], "owner_id": [null, owner]}),
    )
    .await?;
    tx.emit(
        "crm.lead",
        &id.to_string(),
        "crm.LeadCreated",
        &json!({"id": id, "number": number, "source": input.source, "campaign": input.campaign, "owner_id": owner}),
    )
    .await?;
    Ok(id)
}

/// Today in the company's time zone (China Standard Time), from the transaction's instant.
fn local_date(tx: &Tx) -> chrono::NaiveDate {
    chrono::DateTime::parse_from_rfc3339(tx.now())
        .map(|t| (t.with_timezone(&chrono::Utc) + chrono::Duration::hours(8)).date_naive())
        .unwrap_or_default()
}

/// Staff enter a lead; with an own scope it is theirs, otherwise the rules assign it — to
/// someone the enterer can still see, or else to the enterer, so nobody enters a lead and then
/// cannot find it.
pub async fn create_lead(tx: &mut Tx, principal: &Principal, form: &LeadForm) -> Result<i64> {
    let scope = principal.authorize(LEAD_MANAGE)?;
    let company = principal.company_id.0;
    let input = domain::validate_lead(form)?;
    let mut owner = Some(principal.user_id.0);
    if scope != kernel::Scope::Own {
        if let Some(assigned) = assignee(tx, company, &input).await? {
            let row = sqlx::query("SELECT team, department FROM users WHERE id = $1")
                .bind(assigned)
                .fetch_one(tx.conn())
                .await?;
            let record = RecordOwner {
                company_id: principal.company_id,
                user_id: Some(kernel::ids::UserId(assigned)),
                team: row.try_get("team")?,
                department: row.try_get("department")?,
            };
            if principal.reaches(LEAD_READ, &record).is_ok() {
                owner = Some(assigned);
            }
        }
    }
    record_lead(tx, company, form, owner).await
}

/// Imports leads from CSV with a header row (name, organization, mobile, email, region, source,
/// campaign, message; only `name` and one of mobile/e-mail required): all or nothing, a refused
/// row named by its number. Returns how many were recorded.
pub async fn import_leads(tx: &mut Tx, principal: &Principal, csv_text: &str) -> Result<usize> {
    principal.authorize(LEAD_MANAGE)?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(csv_text.as_bytes());
    let headers = reader.headers().map_err(|e| DomainError::invalid("csv", "error.crm.csv", e.to_string()))?.clone();
    let column = |record: &csv::StringRecord, name: &str| -> String {
        headers.iter().position(|h| h == name).and_then(|i| record.get(i)).unwrap_or_default().to_string()
    };
    let mut count = 0;
    for (i, record) in reader.records().enumerate() {
        let record =
            record.map_err(|e| DomainError::invalid(&format!("rows[{}]", i + 1), "error.crm.csv", e.to_string()))?;
        let source = column(&record, "source");
        let form = LeadForm {
            name: column(&record, "name"),
            organization: column(&record, "organization"),
            mobile: column(&record, "mobile"),
            email: column(&record, "email"),
            region: column(&record, "region"),
            source: if source.is_empty() { "import".into() } else { source },
            campaign: column(&record, "campaign"),
            message: column(&record, "message"),
        };
        create_lead(tx, principal, &form).await.map_err(|e| match e {
            db::Error::Domain(DomainError::Invalid(errors)) => db::Error::Domain(DomainError::Invalid(
                errors
                    .into_iter()
                    .map(|mut f| {
                        f.field = format!("rows[{}].{}", i + 1, f.field);
                        f
                    })
                    .collect(),
            )),
            other => other,
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(DomainError::invalid("csv", "error.crm.csv_empty", "").into());
    }
    Ok(count)
}

/// Locks a lead for a change, checking the principal may manage it. Returns it.
async fn lock_lead(tx: &mut Tx, principal: &Principal, id: i64) -> Result<Lead> {
    lock_owned(tx, principal, LEAD_MANAGE, "crm_leads", "lead", id).await?;
    load_lead(tx.conn(), principal.company_id.0, id).await
}

/// Locks a row of a table with an owner (a lead, an opportunity) for the rest of the
/// transaction — two changes of one record run one after the other — and checks the principal
/// reaches it with `permission`. `table` and `noun` are this module's constants.
async fn lock_owned(
    tx: &mut Tx,
    principal: &Principal,
    permission: &str,
    table: &'static str,
    noun: &'static str,
    id: i64,
) -> Result<()> {
    let sql = format!("UPDATE {table} SET version = version WHERE company_id = $1 AND id = $2");
    let locked = sqlx::query(&sql).bind(principal.company_id.0).bind(id).execute(tx.conn()).await?.rows_affected();
    if locked != 1 {
        return Err(DomainError::NotFound(noun).into());
    }
    reach(tx.conn(), principal, permission, table, noun, id).await
}

async fn set_lead_status(tx: &mut Tx, lead: &Lead, status: &str, reason: &str) -> Result<()> {
    sqlx::query("UPDATE crm_leads SET status = $1, lost_reason = $2, version = version + 1 WHERE id = $3")
        .bind(status)
        .bind(reason)
        .bind(lead.id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "state",
        "crm.lead",
        Some(&lead.id.to_string()),
        &json!({"status": [lead.status, status], "lost_reason": [null, reason]}),
    )
    .await
}

/// A new lead checked out as a real prospect.
pub async fn qualify(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    let lead = lock_lead(tx, principal, id).await?;
    if lead.status != "new" {
        return Err(db::document::wrong_status(&lead.status));
    }
    set_lead_status(tx, &lead, "qualified", "").await
}

/// A lead that will not buy, with the reason.
pub async fn lose_lead(tx: &mut Tx, principal: &Principal, id: i64, reason: &str) -> Result<()> {
    let lead = lock_lead(tx, principal, id).await?;
    if lead.status != "new" && lead.status != "qualified" {
        return Err(db::document::wrong_status(&lead.status));
    }
    check_reason(reason)?;
    set_lead_status(tx, &lead, "lost", reason.trim()).await
}

fn check_reason(reason: &str) -> Result<()> {
    let mut p = Problems::default();
    if reason.trim().is_empty() {
        p.add("reason", "error.required", "");
    }
    if reason.chars().count() > 200 {
        p.add("reason", "error.too_long", "200");
    }
    Ok(p.finish()?)
}

/// Converting a lead: into the suspected duplicate (or another existing party) or a new
/// customer, with the opportunity to open.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertForm {
    /// An existing party to attach to (e.g. the suspected duplicate); none: a new customer.
    #[serde(default)]
    pub party_id: Option<i64>,
    /// The opportunity's title; empty: the lead's organization or name.
    #[serde(default)]
    pub title: String,
    /// Expected revenue in yuan.
    pub expected_revenue: String,
    pub close_date: String,
}

/// Converts a qualified (or new) lead in one step: the customer (a new party with the customer
/// role, the person's mobile and e-mail as contacts, owned by the lead's owner; or an existing
/// party, given the customer role), and an opportunity in the first stage. Emits
/// `crm.LeadConverted`. Returns (party id, opportunity id).
pub async fn convert(tx: &mut Tx, principal: &Principal, id: i64, form: &ConvertForm) -> Result<(i64, i64)> {
    principal.authorize(OPPORTUNITY_MANAGE)?;
    let lead = lock_lead(tx, principal, id).await?;
    if lead.status != "new" && lead.status != "qualified" {
        return Err(db::document::wrong_status(&lead.status));
    }
    let company = principal.company_id.0;
    let party = match form.party_id {
        Some(party) => {
            let exists = sqlx::query("SELECT 1 FROM parties WHERE company_id = $1 AND id = $2 AND archived_at IS NULL")
                .bind(company)
                .bind(party)
                .fetch_optional(tx.conn())
                .await?;
            // Giving an existing party the customer role changes it: the principal must be
            // allowed to update that party.
            if exists.is_none()
                || party::service::reach_in_for(tx.conn(), principal, party::service::UPDATE, party).await.is_err()
            {
                return Err(DomainError::invalid("party_id", "error.crm.party", party.to_string()).into());
            }
            sqlx::query("INSERT INTO party_roles (party_id, role) VALUES ($1, 'customer') ON CONFLICT DO NOTHING")
                .bind(party)
                .execute(tx.conn())
                .await?;
            party
        }
        None => {
            let organization = !lead.organization.is_empty();
            let mut contacts = Vec::new();
            for (kind, value) in [("mobile", &lead.mobile), ("email", &lead.email)] {
                if !value.is_empty() {
                    // A contact's label is shorter than a lead's name.
                    let label = if organization { lead.name.chars().take(50).collect() } else { String::new() };
                    contacts.push(party::domain::Contact { kind: kind.into(), value: value.clone(), label });
                }
            }
            let party_form = party::domain::PartyForm {
                kind: if organization { "organization" } else { "person" }.into(),
                name: if organization { lead.organization.clone() } else { lead.name.clone() },
                roles: vec!["customer".into()],
                contacts,
                notes: lead.message.clone(),
                ..Default::default()
            };
            let input = party::domain::validate(&party_form)?;
            party::service::record_new(tx, company, &input, lead.owner_id.or(Some(principal.user_id.0))).await?
        }
    };
    let title = match form.title.trim() {
        "" if !lead.organization.is_empty() => lead.organization.clone(),
        "" => lead.name.clone(),
        text => text.to_string(),
    };
    let opportunity_form = OpportunityForm {
        title,
        party_id: party,
        expected_revenue: form.expected_revenue.clone(),
        close_date: form.close_date.clone(),
        stage_id: None,
    };
    let opportunity = insert_opportunity(tx, principal, &opportunity_form, Some(lead.id), lead.owner_id).await?;
    sqlx::query("UPDATE crm_leads SET status = 'converted', party_id = $1, opportunity_id = $2, version = version + 1 WHERE id = $3")
        .bind(party)
        .bind(opportunity)
        .bind(lead.id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "convert",
        "crm.lead",
        Some(&lead.id.to_string()),
        &json!({"status": [lead.status, "converted"], "party_id": [null, party], "opportunity_id": [null, opportunity]}),
    )
    .await?;
    tx.emit(
        "crm.lead",
        &lead.id.to_string(),
        "crm.LeadConverted",
        &json!({"id": lead.id, "number": lead.number, "party_id": party, "opportunity_id": opportunity, "campaign": lead.campaign}),
    )
    .await?;
    Ok((party, opportunity))
}

// ---- The public web form ----

/// The web form's token, when the company has turned the form on.
pub async fn web_form(conn: &mut db::Conn, company: i64) -> Result<Option<String>> {
    Ok(sqlx::query("SELECT token FROM crm_web_forms WHERE company_id = $1")
        .bind(company)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("token"))
        .transpose()?)
}

/// The company (id, legal name) whose form has this token.
pub async fn form_owner(conn: &mut db::Conn, token: &str) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query("SELECT f.company_id, c.legal_name FROM crm_web_forms f JOIN companies c ON c.id = f.company_id WHERE f.token = $1")
        .bind(token)
        .fetch_optional(conn)
        .await?
        .map(|r| Ok::<_, sqlx::Error>((r.try_get("company_id")?, r.try_get("legal_name")?)))
        .transpose()?)
}

/// Turns the public form on under a fresh random address (the old one, if any, stops working).
/// Returns the token.
pub async fn enable_web_form(tx: &mut Tx, principal: &Principal) -> Result<String> {
    principal.authorize(SETTINGS)?;
    let company = principal.company_id.0;
    let token = web::accounts::random_hex(16);
    sqlx::query("DELETE FROM crm_web_forms WHERE company_id = $1").bind(company).execute(tx.conn()).await?;
    sqlx::query("INSERT INTO crm_web_forms (company_id, token, created_at) VALUES ($1, $2, $3)")
        .bind(company)
        .bind(&token)
        .bind(tx.now().to_string())
        .execute(tx.conn())
        .await?;
    tx.audit("update", "crm.web_form", Some(&company.to_string()), &json!({"enabled": [null, true]})).await?;
    Ok(token)
}

pub async fn disable_web_form(tx: &mut Tx, principal: &Principal) -> Result<()> {
    principal.authorize(SETTINGS)?;
    let company = principal.company_id.0;
    sqlx::query("DELETE FROM crm_web_forms WHERE company_id = $1").bind(company).execute(tx.conn()).await?;
    tx.audit("update", "crm.web_form", Some(&company.to_string()), &json!({"enabled": [true, false]})).await
}

// ---- Assignment rules ----

#[derive(Debug, Clone, Serialize)]
pub struct AssignmentRule {
    pub id: i64,
    pub position: i64,
    pub source: String,
    pub region: String,
    pub team: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleForm {
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub region: String,
    pub team: String,
}

pub async fn rules(conn: &mut db::Conn, company: i64) -> Result<Vec<AssignmentRule>> {
    sqlx::query("SELECT id, position, source, region, team FROM crm_assignment_rules WHERE company_id = $1 ORDER BY position, id")
        .bind(company)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(AssignmentRule {
                id: r.try_get("id")?,
                position: r.try_get("position")?,
                source: r.try_get("source")?,
                region: r.try_get("region")?,
                team: r.try_get("team")?,
            })
        })
        .collect()
}

/// Adds a rule after the others: leads of `source` (empty: any) from `region` (empty: any)
/// go round robin to `team`.
pub async fn add_rule(tx: &mut Tx, principal: &Principal, form: &RuleForm) -> Result<i64> {
    principal.authorize(SETTINGS)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let source = form.source.trim();
    if !source.is_empty() && !domain::SOURCES.contains(&source) {
        p.add("source", "error.crm.source", source);
    }
    let team = form.team.trim();
    let members = sqlx::query("SELECT 1 FROM users u JOIN user_companies c ON c.user_id = u.id WHERE c.company_id = $1 AND u.team = $2 LIMIT 1")
        .bind(company)
        .bind(team)
        .fetch_optional(tx.conn())
        .await?;
    if members.is_none() {
        p.add("team", "error.crm.team", team);
    }
    if form.region.chars().count() > 50 {
        p.add("region", "error.too_long", "50");
    }
    p.finish()?;
    let position: i64 = sqlx::query(
        "SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) AS n FROM crm_assignment_rules WHERE company_id = $1",
    )
    .bind(company)
    .fetch_one(tx.conn())
    .await?
    .try_get("n")?;
    let id: i64 = sqlx::query(
        "INSERT INTO crm_assignment_rules (company_id, position, source, region, team, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(company)
    .bind(position + 1)
    .bind(source)
    .bind(form.region.trim())
    .bind(team)
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "crm.assignment_rule",
        Some(&id.to_string()),
        &json!({"source": [null, source], "region": [null, form.region.trim()], "team": [null, team]}),
    )
    .await?;
    Ok(id)
}

pub async fn delete_rule(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(SETTINGS)?;
    let deleted = sqlx::query("DELETE FROM crm_assignment_rules WHERE company_id = $1 AND id = $2")
        .bind(principal.company_id.0)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if deleted != 1 {
        return Err(DomainError::NotFound("assignment rule").into());
    }
    tx.audit("delete", "crm.assignment_rule", Some(&id.to_string()), &json!({})).await
}

// ---- Stages and opportunities ----

#[derive(Debug, Clone, Serialize)]
pub struct Stage {
    pub id: i64,
    pub position: i64,
    pub name: String,
    pub name_en: String,
    pub probability_bp: i64,
}

/// Gives a company the default stages the first time it needs them.
pub async fn ensure_stages(tx: &mut Tx, company: i64) -> Result<()> {
    let any = sqlx::query("SELECT 1 FROM crm_stages WHERE company_id = $1 LIMIT 1")
        .bind(company)
        .fetch_optional(tx.conn())
        .await?;
    if any.is_some() {
        return Ok(());
    }
    for (i, (name, name_en, probability)) in domain::DEFAULT_STAGES.iter().enumerate() {
        sqlx::query(
            // Two first looks at once: the second's inserts are no-ops.
            "INSERT INTO crm_stages (company_id, position, name, name_en, probability_bp) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (company_id, name) DO NOTHING",
        )
        .bind(company)
        .bind(i as i64 + 1)
        .bind(*name)
        .bind(*name_en)
        .bind(*probability)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

pub async fn stages(conn: &mut db::Conn, company: i64) -> Result<Vec<Stage>> {
    sqlx::query(
        "SELECT id, position, name, name_en, probability_bp FROM crm_stages WHERE company_id = $1 ORDER BY position",
    )
    .bind(company)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Stage {
            id: r.try_get("id")?,
            position: r.try_get("position")?,
            name: r.try_get("name")?,
            name_en: r.try_get("name_en")?,
            probability_bp: r.try_get("probability_bp")?,
        })
    })
    .collect()
}

/// Sets a stage's chance of winning (percent, 0–100), which weighs the forecast.
pub async fn set_probability(tx: &mut Tx, principal: &Principal, stage: i64, percent: &str) -> Result<()> {
    principal.authorize(SETTINGS)?;
    let bp = match percent.trim().parse::<i64>() {
        Ok(p) if (0..=100).contains(&p) => p * 100,
        _ => return Err(DomainError::invalid("probability", "error.crm.probability", percent).into()),
    };
    let before: i64 = sqlx::query("SELECT probability_bp FROM crm_stages WHERE company_id = $1 AND id = $2")
        .bind(principal.company_id.0)
        .bind(stage)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("stage"))?
        .try_get("probability_bp")?;
    sqlx::query("UPDATE crm_stages SET probability_bp = $1 WHERE id = $2")
        .bind(bp)
        .bind(stage)
        .execute(tx.conn())
        .await?;
    tx.audit("update", "crm.stage", Some(&stage.to_string()), &json!({"probability_bp": [before, bp]})).await
}

/// An opportunity as entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpportunityForm {
    pub title: String,
    pub party_id: i64,
    /// Yuan.
    pub expected_revenue: String,
    pub close_date: String,
    /// None: the first stage.
    #[serde(default)]
    pub stage_id: Option<i64>,
}

/// An opportunity as shown.
#[derive(Debug, Clone, Serialize)]
pub struct Opportunity {
    pub id: i64,
    pub number: String,
    pub title: String,
    pub party_id: i64,
    pub party_name: String,
    pub lead_id: Option<i64>,
    pub stage_id: i64,
    pub stage_name: String,
    pub probability_bp: i64,
    pub expected_revenue: i64,
    pub close_date: String,
    pub status: String,
    pub lost_reason: String,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub version: i64,
    pub created_at: String,
    pub closed_at: Option<String>,
    /// Quotations made from it: (sales order id, number, status, total).
    pub quotations: Vec<(i64, String, String, i64)>,
}

impl Opportunity {
    pub fn weighted(&self) -> i64 {
        domain::weighted(self.expected_revenue, self.probability_bp)
    }
}

const OPPORTUNITY_COLUMNS: &str = "o.id, o.number, o.title, o.party_id, p.name AS party_name, o.lead_id, o.stage_id, s.name AS stage_name, \
     s.probability_bp, o.expected_revenue, o.close_date, o.status, o.lost_reason, o.owner_id, u.display_name AS owner_name, o.version, \
     o.created_at, o.closed_at";
const OPPORTUNITY_FROM: &str =
    "FROM crm_opportunities o JOIN parties p ON p.id = o.party_id JOIN crm_stages s ON s.id = o.stage_id \
     LEFT JOIN users u ON u.id = o.owner_id";

fn opportunity_of(r: &db::Row) -> std::result::Result<Opportunity, sqlx::Error> {
    Ok(Opportunity {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        title: r.try_get("title")?,
        party_id: r.try_get("party_id")?,
        party_name: r.try_get("party_name")?,
        lead_id: r.try_get("lead_id")?,
        stage_id: r.try_get("stage_id")?,
        stage_name: r.try_get("stage_name")?,
        probability_bp: r.try_get("probability_bp")?,
        expected_revenue: r.try_get("expected_revenue")?,
        close_date: r.try_get("close_date")?,
        status: r.try_get("status")?,
        lost_reason: r.try_get("lost_reason")?,
        owner_id: r.try_get("owner_id")?,
        owner_name: r.try_get("owner_name")?,
        version: r.try_get("version")?,
        created_at: r.try_get("created_at")?,
        closed_at: r.try_get("closed_at")?,
        quotations: Vec::new(),
    })
}

async fn insert_opportunity(
    tx: &mut Tx,
    principal: &Principal,
    form: &OpportunityForm,
    lead: Option<i64>,
    owner: Option<i64>,
) -> Result<i64> {
    let company = principal.company_id.0;
    ensure_stages(tx, company).await?;
    let mut p = Problems::default();
    let title = form.title.trim();
    if title.is_empty() {
        p.add("title", "error.required", "");
    }
    if title.chars().count() > 200 {
        p.add("title", "error.too_long", "200");
    }
    let revenue = p.amount("expected_revenue", &form.expected_revenue);
    if revenue < 0 {
        p.add("expected_revenue", "error.finance.negative", &form.expected_revenue);
    }
    // Weighing multiplies by basis points: keep the product within 64 bits on every database.
    if revenue > MAX_REVENUE {
        p.add("expected_revenue", "error.crm.revenue_too_large", yuan(MAX_REVENUE));
    }
    let close = p.check(kernel::dates::parse("close_date", &form.close_date));
    let party = sqlx::query("SELECT 1 FROM parties WHERE company_id = $1 AND id = $2 AND archived_at IS NULL")
        .bind(company)
        .bind(form.party_id)
        .fetch_optional(tx.conn())
        .await?;
    if party.is_none() {
        p.add("party_id", "error.crm.party", form.party_id.to_string());
    } else if party::service::reach_in(tx.conn(), principal, form.party_id).await.is_err() {
        // A customer the principal may not see is answered as no customer at all.
        p.add("party_id", "error.crm.party", form.party_id.to_string());
    }
    let stage: Option<i64> = match form.stage_id {
        Some(stage) => sqlx::query("SELECT id FROM crm_stages WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(stage)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?,
        None => sqlx::query("SELECT id FROM crm_stages WHERE company_id = $1 ORDER BY position LIMIT 1")
            .bind(company)
            .fetch_optional(tx.conn())
            .await?
            .map(|r| r.try_get("id"))
            .transpose()?,
    };
    if stage.is_none() {
        p.add("stage_id", "error.crm.stage", form.stage_id.unwrap_or(0).to_string());
    }
    p.finish()?;
    let year = chrono::Datelike::year(&local_date(tx));
    let number = tx.next_number(company, "crm.opportunity", year, "OP/{year}/{seq:05}").await?;
    let owner = owner.or(Some(principal.user_id.0));
    let id: i64 = sqlx::query(
        "INSERT INTO crm_opportunities (company_id, number, title, party_id, lead_id, stage_id, expected_revenue, close_date, status, owner_id, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9, $10, $11) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(title)
    .bind(form.party_id)
    .bind(lead)
    .bind(stage.unwrap_or(0))
    .bind(revenue)
    .bind(close.map(|d| d.to_string()).unwrap_or_default())
    .bind(owner)
    .bind(tx.now().to_string())
    .bind(tx.actor().user_id)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "crm.opportunity",
        Some(&id.to_string()),
        &json!({"number": [null, number], "title": [null, title], "party_id": [null, form.party_id], "expected_revenue": [null, yuan(revenue)]}),
    )
    .await?;
    Ok(id)
}

/// Opens an opportunity for a customer, owned by whoever opens it.
pub async fn create_opportunity(tx: &mut Tx, principal: &Principal, form: &OpportunityForm) -> Result<i64> {
    principal.authorize(OPPORTUNITY_MANAGE)?;
    insert_opportunity(tx, principal, form, None, None).await
}

/// The open opportunities the record rule reaches, per stage: at most `per_stage` of each
/// stage (newest first), so the board stays light with a hundred thousand open deals; a
/// stage's further cards come page by page with `after` (the last id seen in that stage).
pub async fn board(
    conn: &mut db::Conn,
    principal: &Principal,
    stage: Option<i64>,
    after: Option<i64>,
    per_stage: i64,
) -> Result<Vec<(Stage, Vec<Opportunity>, i64)>> {
    let filter = principal.row_filter(OPPORTUNITY_READ)?;
    let company = principal.company_id.0;
    let mut out = Vec::new();
    for s in stages(&mut *conn, company).await? {
        if stage.is_some_and(|wanted| wanted != s.id) {
            continue;
        }
        let mut q = db::SqlBuilder::new(format!(
            "SELECT {OPPORTUNITY_COLUMNS} {OPPORTUNITY_FROM} WHERE o.status = 'open' AND o.stage_id = "
        ));
        q.bind(s.id);
        db::rules::push_filter(&mut q, &filter, "o.company_id", "o.owner_id");
        // A page further down is one stage's: `after` is an id of that column.
        if let (Some(after), Some(_)) = (after, stage) {
            q.push(" AND o.id < ").bind(after);
        }
        q.push(" ORDER BY o.id DESC LIMIT ").bind(per_stage);
        let cards: Vec<Opportunity> =
            q.build().fetch_all(&mut *conn).await?.iter().map(opportunity_of).collect::<std::result::Result<_, _>>()?;
        let mut count = db::SqlBuilder::new(
            "SELECT COUNT(*) AS n FROM crm_opportunities o WHERE o.status = 'open' AND o.stage_id = ",
        );
        count.bind(s.id);
        db::rules::push_filter(&mut count, &filter, "o.company_id", "o.owner_id");
        let total: i64 = count.build().fetch_one(&mut *conn).await?.try_get("n")?;
        out.push((s, cards, total));
    }
    Ok(out)
}

/// One opportunity the principal may read, with its quotations.
pub async fn opportunity(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Opportunity> {
    reach(conn, principal, OPPORTUNITY_READ, "crm_opportunities", "opportunity", id).await?;
    load_opportunity(conn, principal.company_id.0, id).await
}

async fn load_opportunity(conn: &mut db::Conn, company: i64, id: i64) -> Result<Opportunity> {
    let row =
        sqlx::query(&format!("SELECT {OPPORTUNITY_COLUMNS} {OPPORTUNITY_FROM} WHERE o.company_id = $1 AND o.id = $2"))
            .bind(company)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(DomainError::NotFound("opportunity"))?;
    let mut opportunity = opportunity_of(&row)?;
    opportunity.quotations = sqlx::query(
        "SELECT s.id, s.number, s.status, s.total FROM crm_opportunity_orders x JOIN sal_orders s ON s.id = x.order_id \
         WHERE x.opportunity_id = $1 ORDER BY s.id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("id")?, r.try_get("number")?, r.try_get("status")?, r.try_get("total")?)))
    .collect::<Result<Vec<_>>>()?;
    Ok(opportunity)
}

async fn lock_opportunity(tx: &mut Tx, principal: &Principal, id: i64) -> Result<Opportunity> {
    lock_owned(tx, principal, OPPORTUNITY_MANAGE, "crm_opportunities", "opportunity", id).await?;
    load_opportunity(tx.conn(), principal.company_id.0, id).await
}

/// Moves an open opportunity to another stage (the kanban's drag, or its move button). With
/// `version`, a card moved meanwhile by someone else is refused rather than overwritten.
pub async fn move_stage(tx: &mut Tx, principal: &Principal, id: i64, stage: i64, version: Option<i64>) -> Result<()> {
    let opportunity = lock_opportunity(tx, principal, id).await?;
    if opportunity.status != "open" {
        return Err(db::document::wrong_status(&opportunity.status));
    }
    if let Some(version) = version {
        if version != opportunity.version {
            return Err(DomainError::StaleVersion {
                resource: "opportunity",
                expected: version,
                actual: opportunity.version,
            }
            .into());
        }
    }
    let target = sqlx::query("SELECT name FROM crm_stages WHERE company_id = $1 AND id = $2")
        .bind(principal.company_id.0)
        .bind(stage)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| DomainError::invalid("stage_id", "error.crm.stage", stage.to_string()))?;
    sqlx::query("UPDATE crm_opportunities SET stage_id = $1, version = version + 1 WHERE id = $2")
        .bind(stage)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "update",
        "crm.opportunity",
        Some(&id.to_string()),
        &json!({"stage": [opportunity.stage_name, target.try_get::<String, _>("name")?]}),
    )
    .await
}

async fn close(tx: &mut Tx, opportunity: &Opportunity, status: &str, reason: &str) -> Result<()> {
    sqlx::query("UPDATE crm_opportunities SET status = $1, lost_reason = $2, closed_at = $3, version = version + 1 WHERE id = $4")
        .bind(status)
        .bind(reason)
        .bind(tx.now().to_string())
        .bind(opportunity.id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "state",
        "crm.opportunity",
        Some(&opportunity.id.to_string()),
        &json!({"status": [opportunity.status, status], "lost_reason": [null, reason]}),
    )
    .await?;
    let event = if status == "won" { "crm.OpportunityWon" } else { "crm.OpportunityLost" };
    tx.emit(
        "crm.opportunity",
        &opportunity.id.to_string(),
        event,
        &json!({"id": opportunity.id, "number": opportunity.number, "party_id": opportunity.party_id, "expected_revenue": yuan(opportunity.expected_revenue), "reason": reason}),
    )
    .await
}

/// Marks an open opportunity won by hand (a deal closed outside a quotation).
pub async fn win(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    let opportunity = lock_opportunity(tx, principal, id).await?;
    if opportunity.status != "open" {
        return Err(db::document::wrong_status(&opportunity.status));
    }
    close(tx, &opportunity, "won", "").await
}

/// Marks an open opportunity lost, with the reason (one of [`domain::LOST_REASONS`] or words).
pub async fn lose(tx: &mut Tx, principal: &Principal, id: i64, reason: &str) -> Result<()> {
    let opportunity = lock_opportunity(tx, principal, id).await?;
    if opportunity.status != "open" {
        return Err(db::document::wrong_status(&opportunity.status));
    }
    check_reason(reason)?;
    close(tx, &opportunity, "lost", reason.trim()).await
}

/// Makes a sales quotation from an open opportunity, for its customer: the quotation is a
/// sales order like any other (prices from the customer's price list), linked back so that
/// confirming it wins the opportunity. Returns the quotation's id.
pub async fn quote(tx: &mut Tx, principal: &Principal, id: i64, form: &sales::service::OrderForm) -> Result<i64> {
    let opportunity = lock_opportunity(tx, principal, id).await?;
    if opportunity.status != "open" {
        return Err(db::document::wrong_status(&opportunity.status));
    }
    let mut form = form.clone();
    form.customer_id = opportunity.party_id;
    if form.memo.trim().is_empty() {
        form.memo = opportunity.number.clone();
    }
    let order = sales::service::create_quotation(tx, principal, &form).await?;
    sqlx::query("INSERT INTO crm_opportunity_orders (opportunity_id, order_id) VALUES ($1, $2)")
        .bind(id)
        .bind(order)
        .execute(tx.conn())
        .await?;
    tx.audit("quote", "crm.opportunity", Some(&id.to_string()), &json!({"quotation": [null, order]})).await?;
    Ok(order)
}

/// `sales.OrderConfirmed`: the open opportunities a confirmed quotation was made from are won.
pub async fn order_confirmed(tx: &mut Tx, company: i64, payload: &serde_json::Value) -> Result<()> {
    let Some(order) = payload.get("id").and_then(|v| v.as_i64()) else {
        return Ok(());
    };
    let won: Vec<i64> = sqlx::query(
        "SELECT o.id FROM crm_opportunity_orders x JOIN crm_opportunities o ON o.id = x.opportunity_id \
         WHERE x.order_id = $1 AND o.company_id = $2 AND o.status = 'open'",
    )
    .bind(order)
    .bind(company)
    .fetch_all(tx.conn())
    .await?
    .iter()
    .map(|r| r.try_get("id"))
    .collect::<std::result::Result<_, _>>()?;
    for id in won {
        sqlx::query("UPDATE crm_opportunities SET version = version WHERE id = $1").bind(id).execute(tx.conn()).await?;
        let opportunity = load_opportunity(tx.conn(), company, id).await?;
        if opportunity.status == "open" {
            close(tx, &opportunity, "won", "").await?;
        }
    }
    Ok(())
}

/// The weighted forecast: open opportunities the record rule reaches, by close month and
/// owner: (month, owner name, count, expected revenue, weighted revenue), fen.
pub async fn forecast(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<ForecastRow>> {
    let filter = principal.row_filter(OPPORTUNITY_READ)?;
    let mut q = db::SqlBuilder::new(
        "SELECT SUBSTR(o.close_date, 1, 7) AS month, COALESCE(u.display_name, '') AS owner, COUNT(*) AS n, \
           CAST(SUM(o.expected_revenue) AS BIGINT) AS expected, \
           CAST(SUM((o.expected_revenue * s.probability_bp + 5000) / 10000) AS BIGINT) AS weighted \
         FROM crm_opportunities o JOIN crm_stages s ON s.id = o.stage_id LEFT JOIN users u ON u.id = o.owner_id WHERE o.status = 'open'",
    );
    db::rules::push_filter(&mut q, &filter, "o.company_id", "o.owner_id");
    q.push(" GROUP BY SUBSTR(o.close_date, 1, 7), COALESCE(u.display_name, '') ORDER BY month, owner");
    q.build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(ForecastRow {
                month: r.try_get("month")?,
                owner: r.try_get("owner")?,
                count: r.try_get("n")?,
                expected: r.try_get("expected")?,
                weighted: r.try_get("weighted")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct ForecastRow {
    pub month: String,
    pub owner: String,
    pub count: i64,
    pub expected: i64,
    pub weighted: i64,
}

// ---- Activities ----

/// An activity as logged: a call, meeting, e-mail or note that happened, or a task with a
/// due date.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivityForm {
    pub kind: String,
    pub subject: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub party_id: Option<i64>,
    #[serde(default)]
    pub lead_id: Option<i64>,
    #[serde(default)]
    pub opportunity_id: Option<i64>,
    /// A task's due date.
    #[serde(default)]
    pub due_date: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Activity {
    pub id: i64,
    pub kind: String,
    pub subject: String,
    pub body: String,
    pub party_id: Option<i64>,
    pub party_name: Option<String>,
    pub opportunity_id: Option<i64>,
    pub due_date: Option<String>,
    pub done_at: Option<String>,
    pub owner_name: Option<String>,
    pub created_at: String,
}

/// Logs an activity about a customer, lead or opportunity the principal can reach. A task
/// stays open until done; anything else is done when logged. An activity on an opportunity or
/// lead is also on its customer's timeline.
pub async fn log_activity(tx: &mut Tx, principal: &Principal, form: &ActivityForm) -> Result<i64> {
    principal.authorize(OPPORTUNITY_MANAGE).or_else(|_| principal.authorize(LEAD_MANAGE))?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    if !domain::ACTIVITY_KINDS.contains(&form.kind.as_str()) {
        p.add("kind", "error.crm.activity_kind", &form.kind);
    }
    if form.subject.trim().is_empty() {
        p.add("subject", "error.required", "");
    }
    if form.subject.chars().count() > 200 {
        p.add("subject", "error.too_long", "200");
    }
    if form.body.chars().count() > 5000 {
        p.add("body", "error.too_long", "5000");
    }
    let due = match form.due_date.trim() {
        "" if form.kind == "task" => {
            p.add("due_date", "error.required", "");
            None
        }
        "" => None,
        text => p.check(kernel::dates::parse("due_date", text)).map(|d| d.to_string()),
    };
    if form.party_id.is_none() && form.lead_id.is_none() && form.opportunity_id.is_none() {
        p.add("party_id", "error.crm.activity_about", "");
    }
    p.finish()?;
    let mut party = form.party_id;
    if let Some(opportunity) = form.opportunity_id {
        reach(tx.conn(), principal, OPPORTUNITY_MANAGE, "crm_opportunities", "opportunity", opportunity).await?;
        party = party.or(Some(load_opportunity(tx.conn(), company, opportunity).await?.party_id));
    }
    if let Some(lead) = form.lead_id {
        reach(tx.conn(), principal, LEAD_MANAGE, "crm_leads", "lead", lead).await?;
        party = party.or(load_lead(tx.conn(), company, lead).await?.party_id);
    }
    if let Some(party) = form.party_id {
        party::service::reach_in(tx.conn(), principal, party).await?;
    }
    let now = tx.now().to_string();
    let done = (form.kind != "task").then(|| now.clone());
    let id: i64 = sqlx::query(
        "INSERT INTO crm_activities (company_id, party_id, lead_id, opportunity_id, kind, subject, body, due_date, done_at, owner_id, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(company)
    .bind(party)
    .bind(form.lead_id)
    .bind(form.opportunity_id)
    .bind(&form.kind)
    .bind(form.subject.trim())
    .bind(form.body.trim())
    .bind(due)
    .bind(done)
    .bind(principal.user_id.0)
    .bind(&now)
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "crm.activity",
        Some(&id.to_string()),
        &json!({"kind": [null, form.kind], "subject": [null, form.subject.trim()], "party_id": [null, party]}),
    )
    .await?;
    Ok(id)
}

/// Marks one's own open task done.
pub async fn complete_activity(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(OPPORTUNITY_MANAGE).or_else(|_| principal.authorize(LEAD_MANAGE))?;
    let done = sqlx::query("UPDATE crm_activities SET done_at = $1 WHERE company_id = $2 AND id = $3 AND owner_id = $4 AND done_at IS NULL")
        .bind(tx.now().to_string())
        .bind(principal.company_id.0)
        .bind(id)
        .bind(principal.user_id.0)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if done != 1 {
        return Err(DomainError::NotFound("task").into());
    }
    tx.audit("state", "crm.activity", Some(&id.to_string()), &json!({"done": [false, true]})).await
}

/// The principal's open tasks, most overdue first: the reminders list.
pub async fn my_tasks(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Activity>> {
    activities_where(
        conn,
        "a.company_id = $1 AND a.owner_id = $2 AND a.done_at IS NULL ORDER BY a.due_date, a.id LIMIT 200",
        principal.company_id.0,
        principal.user_id.0,
    )
    .await
}

/// The activities logged on one opportunity, newest first.
pub async fn opportunity_activities(conn: &mut db::Conn, company: i64, opportunity: i64) -> Result<Vec<Activity>> {
    activities_where(
        conn,
        "a.company_id = $1 AND a.opportunity_id = $2 ORDER BY a.id DESC LIMIT 200",
        company,
        opportunity,
    )
    .await
}

async fn activities_where(conn: &mut db::Conn, condition: &str, company: i64, key: i64) -> Result<Vec<Activity>> {
    sqlx::query(&format!(
        "SELECT a.id, a.kind, a.subject, a.body, a.party_id, p.name AS party_name, a.opportunity_id, a.due_date, a.done_at, \
           u.display_name AS owner_name, a.created_at FROM crm_activities a LEFT JOIN parties p ON p.id = a.party_id \
           LEFT JOIN users u ON u.id = a.owner_id WHERE {condition}"
    ))
    .bind(company)
    .bind(key)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Activity {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            subject: r.try_get("subject")?,
            body: r.try_get("body")?,
            party_id: r.try_get("party_id")?,
            party_name: r.try_get("party_name")?,
            opportunity_id: r.try_get("opportunity_id")?,
            due_date: r.try_get("due_date")?,
            done_at: r.try_get("done_at")?,
            owner_name: r.try_get("owner_name")?,
            created_at: r.try_get("created_at")?,
        })
    })
    .collect()
}
