//! Customer service (客服): tickets from staff, the API or the public form, each with SLA
//! targets for the first response and the resolution counted in business hours (weekends and
//! the company's holidays excluded); assignment and escalation; replies (the first from staff
//! is the first response); the status workflow; breach warnings computed against the clock; parts
//! used on a repair, which leave stock through the stock module; and satisfaction surveys —
//! sent when a ticket is resolved or an order fully delivered, answered once through a token
//! link, reported per agent, category, product and month (CSAT and NPS).

use crate::domain::{self, CATEGORIES, PRIORITIES};
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::{Principal, RecordOwner};
use kernel::{DomainError, Qty};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const TICKET_READ: &str = "crm.ticket.read";
pub const TICKET_MANAGE: &str = "crm.ticket.manage";
pub const SURVEY_READ: &str = "crm.survey.read";

/// China time, where business hours are kept.
const LOCAL_OFFSET_HOURS: i64 = 8;

fn parse_instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// The instant `minutes` business minutes after `from` (an instant), by the company's holidays.
fn due(from: chrono::DateTime<chrono::Utc>, minutes: i64, holidays: &[chrono::NaiveDate]) -> String {
    let offset = chrono::Duration::hours(LOCAL_OFFSET_HOURS);
    let local = (from + offset).naive_utc();
    let at = domain::add_business_minutes(local, minutes, holidays);
    kernel::clock::format_instant(at.and_utc() - offset)
}

async fn holiday_days(conn: &mut db::Conn, company: i64) -> Result<Vec<chrono::NaiveDate>> {
    Ok(sqlx::query("SELECT day FROM crm_holidays WHERE company_id = $1")
        .bind(company)
        .fetch_all(conn)
        .await?
        .iter()
        .filter_map(|r| r.try_get::<String, _>("day").ok())
        .filter_map(|d| chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
        .collect())
}

// ---- SLA policies and holidays ----

/// A priority's targets, in business minutes, and who takes a ticket over when it misses one.
#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub priority: String,
    pub first_response_minutes: i64,
    pub resolution_minutes: i64,
    /// The user a breached ticket is escalated to automatically (none: breaches only show).
    pub escalate_to: Option<i64>,
}

pub async fn ensure_policies(tx: &mut Tx, company: i64) -> Result<()> {
    for (priority, first, resolution) in domain::DEFAULT_SLA {
        sqlx::query(
            "INSERT INTO crm_sla_policies (company_id, priority, first_response_minutes, resolution_minutes) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (company_id, priority) DO NOTHING",
        )
        .bind(company)
        .bind(priority)
        .bind(first)
        .bind(resolution)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

pub async fn policies(conn: &mut db::Conn, company: i64) -> Result<Vec<Policy>> {
    let mut out: Vec<Policy> = sqlx::query(
        "SELECT priority, first_response_minutes, resolution_minutes, escalate_to FROM crm_sla_policies WHERE company_id = $1",
    )
    .bind(company)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Policy {
            priority: r.try_get("priority")?,
            first_response_minutes: r.try_get("first_response_minutes")?,
            resolution_minutes: r.try_get("resolution_minutes")?,
            escalate_to: r.try_get("escalate_to")?,
        })
    })
    .collect::<Result<_>>()?;
    out.sort_by_key(|p| PRIORITIES.iter().position(|x| *x == p.priority));
    Ok(out)
}

/// Sets a priority's targets (business hours, whole or with minutes as decimals of an hour
/// are not accepted: minutes).
pub async fn set_policy(tx: &mut Tx, principal: &Principal, policy: &PolicyForm) -> Result<()> {
    principal.authorize(crate::service::SETTINGS)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    if !PRIORITIES.contains(&policy.priority.as_str()) {
        p.add("priority", "error.crm.priority", &policy.priority);
    }
    let minutes = |p: &mut Problems, field: &str, text: &str| match text.trim().parse::<i64>() {
        Ok(m) if (1..=60 * 24 * 30).contains(&m) => m,
        _ => {
            p.add(field, "error.crm.minutes", text);
            0
        }
    };
    let first = minutes(&mut p, "first_response_minutes", &policy.first_response_minutes);
    let resolution = minutes(&mut p, "resolution_minutes", &policy.resolution_minutes);
    if first > 0 && resolution > 0 && resolution < first {
        p.add("resolution_minutes", "error.crm.resolution_before_response", &policy.resolution_minutes);
    }
    let escalate_to = match policy.escalate_to.trim() {
        "" => None,
        text => match text.parse::<i64>() {
            Ok(user) if is_agent(tx, company, user).await? => Some(user),
            _ => {
                p.add("escalate_to", "error.crm.user", text);
                None
            }
        },
    };
    p.finish()?;
    ensure_policies(tx, company).await?;
    sqlx::query("UPDATE crm_sla_policies SET first_response_minutes = $1, resolution_minutes = $2, escalate_to = $3 WHERE company_id = $4 AND priority = $5")
        .bind(first)
        .bind(resolution)
        .bind(escalate_to)
        .bind(company)
        .bind(&policy.priority)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "update",
        "crm.sla_policy",
        Some(&policy.priority),
        &json!({"first_response_minutes": [null, first], "resolution_minutes": [null, resolution], "escalate_to": [null, escalate_to]}),
    )
    .await
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyForm {
    pub priority: String,
    pub first_response_minutes: String,
    pub resolution_minutes: String,
    /// A user id, or empty for no automatic escalation.
    #[serde(default)]
    pub escalate_to: String,
}

pub async fn holidays(conn: &mut db::Conn, company: i64) -> Result<Vec<(String, String)>> {
    sqlx::query("SELECT day, name FROM crm_holidays WHERE company_id = $1 ORDER BY day")
        .bind(company)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("day")?, r.try_get("name")?)))
        .collect()
}

/// A public holiday (or a company day off): SLA clocks do not run on it.
pub async fn add_holiday(tx: &mut Tx, principal: &Principal, day: &str, name: &str) -> Result<()> {
    principal.authorize(crate::service::SETTINGS)?;
    let mut p = Problems::default();
    let day = p.check(kernel::dates::parse("day", day));
    if name.trim().is_empty() {
        p.add("name", "error.required", "");
    }
    if name.chars().count() > 50 {
        p.add("name", "error.too_long", "50");
    }
    p.finish()?;
    let day = day.map(|d| d.to_string()).unwrap_or_default();
    sqlx::query(
        "INSERT INTO crm_holidays (company_id, day, name) VALUES ($1, $2, $3) ON CONFLICT (company_id, day) DO UPDATE SET name = excluded.name",
    )
    .bind(principal.company_id.0)
    .bind(&day)
    .bind(name.trim())
    .execute(tx.conn())
    .await?;
    tx.audit("create", "crm.holiday", Some(&day), &json!({"name": [null, name.trim()]})).await
}

// ---- Tickets ----

/// A ticket as raised.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketForm {
    #[serde(default)]
    pub party_id: Option<i64>,
    /// Who to answer when the sender is no known customer (a name, mobile or e-mail).
    #[serde(default)]
    pub contact: String,
    pub subject: String,
    #[serde(default)]
    pub description: String,
    /// One of [`CATEGORIES`].
    pub category: String,
    /// One of [`PRIORITIES`]; empty: normal.
    #[serde(default)]
    pub priority: String,
    #[serde(default)]
    pub product_id: Option<i64>,
    #[serde(default)]
    pub serial: String,
}

/// A ticket as shown, with its SLA state at `now`.
#[derive(Debug, Clone, Serialize)]
pub struct Ticket {
    pub id: i64,
    pub number: String,
    pub party_id: Option<i64>,
    pub party_name: Option<String>,
    pub contact: String,
    pub subject: String,
    pub description: String,
    pub category: String,
    pub priority: String,
    pub product_id: Option<i64>,
    pub product: Option<String>,
    pub serial: String,
    pub channel: String,
    pub status: String,
    pub assignee_id: Option<i64>,
    pub assignee: Option<String>,
    pub escalation: i64,
    pub first_response_due: String,
    pub resolution_due: String,
    pub first_response_at: Option<String>,
    pub resolved_at: Option<String>,
    pub created_at: String,
    /// The first response came (or is still missing) after its target.
    pub response_breached: bool,
    /// The resolution came (or is still missing) after its target.
    pub resolution_breached: bool,
    /// Not breached yet, but a target falls within the next business hour's worth of minutes.
    pub at_risk: bool,
}

const TICKET_COLUMNS: &str = "t.id, t.number, t.party_id, p.name AS party_name, t.contact, t.subject, t.description, t.category, t.priority, \
     t.product_id, c.code AS product, t.serial, t.channel, t.status, t.assignee_id, u.display_name AS assignee, t.escalation, \
     t.first_response_due, t.resolution_due, t.first_response_at, t.resolved_at, t.created_at";
const TICKET_FROM: &str =
    "FROM crm_tickets t LEFT JOIN parties p ON p.id = t.party_id LEFT JOIN cat_products c ON c.id = t.product_id \
     LEFT JOIN users u ON u.id = t.assignee_id";

/// The instant one business hour from `now`: a target due before it is at risk. Evenings,
/// weekends and holidays do not count down, so a ticket due Monday 10:30 is not at risk on
/// Friday evening.
async fn at_risk_until(conn: &mut db::Conn, company: i64, now: &str) -> Result<String> {
    let holidays = holiday_days(conn, company).await?;
    Ok(parse_instant(now).map(|t| due(t, 60, &holidays)).unwrap_or_default())
}

fn ticket_of(r: &db::Row, now: &str, soon: &str) -> std::result::Result<Ticket, sqlx::Error> {
    let first_response_due: String = r.try_get("first_response_due")?;
    let resolution_due: String = r.try_get("resolution_due")?;
    let first_response_at: Option<String> = r.try_get("first_response_at")?;
    let resolved_at: Option<String> = r.try_get("resolved_at")?;
    // Instants share one format, so text order is time order.
    let late = |done: &Option<String>, due: &str| match done {
        Some(at) => at.as_str() > due,
        None => now > due,
    };
    let response_breached = late(&first_response_at, &first_response_due);
    let resolution_breached = late(&resolved_at, &resolution_due);
    let at_risk = !response_breached
        && !resolution_breached
        && ((first_response_at.is_none() && soon > first_response_due.as_str())
            || (resolved_at.is_none() && soon > resolution_due.as_str()));
    Ok(Ticket {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        party_id: r.try_get("party_id")?,
        party_name: r.try_get("party_name")?,
        contact: r.try_get("contact")?,
        subject: r.try_get("subject")?,
        description: r.try_get("description")?,
        category: r.try_get("category")?,
        priority: r.try_get("priority")?,
        product_id: r.try_get("product_id")?,
        product: r.try_get("product")?,
        serial: r.try_get("serial")?,
        channel: r.try_get("channel")?,
        status: r.try_get("status")?,
        assignee_id: r.try_get("assignee_id")?,
        assignee: r.try_get("assignee")?,
        escalation: r.try_get("escalation")?,
        first_response_due,
        resolution_due,
        first_response_at,
        resolved_at,
        created_at: r.try_get("created_at")?,
        response_breached,
        resolution_breached,
        at_risk,
    })
}

/// Records a ticket for `company` from `channel` (`staff`, `api`, `web`): checked, numbered
/// (`TK/2026/00001`), its SLA targets set from its priority's policy in business hours.
/// Emits `crm.TicketOpened`. Returns its id.
pub async fn record_ticket(tx: &mut Tx, company: i64, form: &TicketForm, channel: &str) -> Result<i64> {
    let mut p = Problems::default();
    let subject = form.subject.trim();
    if subject.is_empty() {
        p.add("subject", "error.required", "");
    }
    if subject.chars().count() > 200 {
        p.add("subject", "error.too_long", "200");
    }
    if form.description.chars().count() > 5000 {
        p.add("description", "error.too_long", "5000");
    }
    if form.contact.chars().count() > 200 {
        p.add("contact", "error.too_long", "200");
    }
    if form.serial.chars().count() > 50 {
        p.add("serial", "error.too_long", "50");
    }
    if !CATEGORIES.contains(&form.category.as_str()) {
        p.add("category", "error.crm.category", &form.category);
    }
    let priority = if form.priority.trim().is_empty() { "normal" } else { form.priority.trim() };
    if !PRIORITIES.contains(&priority) {
        p.add("priority", "error.crm.priority", priority);
    }
    if form.party_id.is_none() && form.contact.trim().is_empty() {
        p.add("contact", "error.crm.ticket_contact", "");
    }
    if let Some(party) = form.party_id {
        let found = sqlx::query("SELECT 1 FROM parties WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(party)
            .fetch_optional(tx.conn())
            .await?;
        if found.is_none() {
            p.add("party_id", "error.crm.party", party.to_string());
        }
    }
    if let Some(product) = form.product_id {
        let found = sqlx::query("SELECT 1 FROM cat_products WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(product)
            .fetch_optional(tx.conn())
            .await?;
        if found.is_none() {
            p.add("product_id", "error.catalog.unknown_product", product.to_string());
        }
    }
    p.finish()?;
    ensure_policies(tx, company).await?;
    let policy = sqlx::query("SELECT first_response_minutes, resolution_minutes FROM crm_sla_policies WHERE company_id = $1 AND priority = $2")
        .bind(company)
        .bind(priority)
        .fetch_one(tx.conn())
        .await?;
    let holidays = holiday_days(tx.conn(), company).await?;
    let now = parse_instant(tx.now()).ok_or_else(|| DomainError::Internal("the transaction's instant".into()))?;
    let first_due = due(now, policy.try_get("first_response_minutes")?, &holidays);
    let resolution_due = due(now, policy.try_get("resolution_minutes")?, &holidays);
    let year = chrono::Datelike::year(&(now + chrono::Duration::hours(LOCAL_OFFSET_HOURS)));
    let number = tx.next_number(company, "crm.ticket", year, "TK/{year}/{seq:05}").await?;
    let id: i64 = sqlx::query(
        "INSERT INTO crm_tickets (company_id, number, party_id, contact, subject, description, category, priority, product_id, serial, channel, status, \
           first_response_due, resolution_due, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'new', $12, $13, $14, $15) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(form.party_id)
    .bind(form.contact.trim())
    .bind(subject)
    .bind(form.description.trim())
    .bind(&form.category)
    .bind(priority)
    .bind(form.product_id)
    .bind(form.serial.trim())
    .bind(channel)
    .bind(&first_due)
    .bind(&resolution_due)
    .bind(tx.now().to_string())
    .bind(tx.actor().user_id)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "crm.ticket",
        Some(&id.to_string()),
        &json!({"number": [null, number], "subject": [null, subject], "priority": [null, priority], "channel": [null, channel]}),
    )
    .await?;
    tx.emit(
        "crm.ticket",
        &id.to_string(),
        "crm.TicketOpened",
        &json!({"id": id, "number": number, "party_id": form.party_id, "priority": priority}),
    )
    .await?;
    Ok(id)
}

/// Staff (or the API) raise a ticket; a customer named must be one the principal may read.
pub async fn create_ticket(tx: &mut Tx, principal: &Principal, form: &TicketForm, channel: &str) -> Result<i64> {
    principal.authorize(TICKET_MANAGE)?;
    if let Some(party) = form.party_id {
        if party::service::reach_in(tx.conn(), principal, party).await.is_err() {
            return Err(DomainError::invalid("party_id", "error.crm.party", party.to_string()).into());
        }
    }
    record_ticket(tx, principal.company_id.0, form, channel).await
}

/// The record rule of the queue: an agent with an own (or team) scope sees the tickets
/// assigned to them (or their team) and those nobody has taken yet.
pub fn push_queue_filter(q: &mut db::SqlBuilder, principal: &Principal, alias: &str) -> Result<()> {
    let filter = principal.row_filter(TICKET_READ)?;
    q.push(&format!(" AND {alias}.company_id = ")).bind(principal.company_id.0);
    q.push(&format!(" AND ({alias}.assignee_id IS NULL OR {alias}.id IN (SELECT x.id FROM crm_tickets x WHERE 1 = 1"));
    db::rules::push_filter(q, &filter, "x.company_id", "x.assignee_id");
    q.push("))");
    Ok(())
}

/// The queue: tickets not closed (or in one status), the most urgent target first.
pub async fn tickets(
    conn: &mut db::Conn,
    principal: &Principal,
    status: Option<&str>,
    now: &str,
) -> Result<Vec<Ticket>> {
    let mut q = db::SqlBuilder::new(format!("SELECT {TICKET_COLUMNS} {TICKET_FROM} WHERE 1 = 1"));
    push_queue_filter(&mut q, principal, "t")?;
    match status {
        Some(status) => {
            q.push(" AND t.status = ").bind(status.to_string());
        }
        None => {
            q.push(" AND t.status <> 'closed'");
        }
    }
    q.push(" ORDER BY CASE WHEN t.resolved_at IS NULL THEN 0 ELSE 1 END, t.resolution_due, t.id LIMIT 500");
    let soon = at_risk_until(conn, principal.company_id.0, now).await?;
    let rows = q.build().fetch_all(conn).await?;
    Ok(rows.iter().map(|r| ticket_of(r, now, &soon)).collect::<std::result::Result<_, _>>()?)
}

pub async fn ticket(conn: &mut db::Conn, principal: &Principal, id: i64, now: &str) -> Result<Ticket> {
    principal.authorize(TICKET_READ)?;
    let mut q = db::SqlBuilder::new(format!("SELECT {TICKET_COLUMNS} {TICKET_FROM} WHERE t.id = "));
    q.bind(id);
    push_queue_filter(&mut q, principal, "t")?;
    let row = q.build().fetch_optional(&mut *conn).await?.ok_or(DomainError::NotFound("ticket"))?;
    let soon = at_risk_until(conn, principal.company_id.0, now).await?;
    Ok(ticket_of(&row, now, &soon)?)
}

/// Locks a ticket for a change by someone who may work it.
async fn lock(tx: &mut Tx, principal: &Principal, id: i64) -> Result<Ticket> {
    principal.authorize(TICKET_MANAGE)?;
    let locked = sqlx::query("UPDATE crm_tickets SET version = version WHERE company_id = $1 AND id = $2")
        .bind(principal.company_id.0)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if locked != 1 {
        return Err(DomainError::NotFound("ticket").into());
    }
    let now = tx.now().to_string();
    let ticket = ticket(tx.conn(), principal, id, &now).await?;
    // Working a ticket needs the manage permission's reach, not only the read one's.
    if let Some(assignee) = ticket.assignee_id {
        let owner = user_owner(tx, principal, assignee).await?;
        principal.reaches(TICKET_MANAGE, &owner).map_err(|_| DomainError::NotFound("ticket"))?;
    }
    Ok(ticket)
}

async fn user_owner(tx: &mut Tx, principal: &Principal, user: i64) -> Result<RecordOwner> {
    let row = sqlx::query("SELECT team, department FROM users WHERE id = $1")
        .bind(user)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| DomainError::invalid("user_id", "error.crm.user", user.to_string()))?;
    Ok(RecordOwner {
        company_id: principal.company_id,
        user_id: Some(kernel::ids::UserId(user)),
        team: row.try_get("team")?,
        department: row.try_get("department")?,
    })
}

/// A user of the company who may work tickets.
/// Whether the user is an active member of the company (someone a ticket can go to).
async fn is_agent(tx: &mut Tx, company: i64, user: i64) -> Result<bool> {
    let member = sqlx::query("SELECT 1 FROM user_companies c JOIN users u ON u.id = c.user_id WHERE c.company_id = $1 AND c.user_id = $2 AND u.disabled_at IS NULL")
        .bind(company)
        .bind(user)
        .fetch_optional(tx.conn())
        .await?;
    Ok(member.is_some())
}

async fn check_agent(tx: &mut Tx, company: i64, user: i64) -> Result<()> {
    if !is_agent(tx, company, user).await? {
        return Err(DomainError::invalid("user_id", "error.crm.user", user.to_string()).into());
    }
    Ok(())
}

/// The company's active users by display name: whom a ticket can be given or escalated to.
pub async fn agents(conn: &mut db::Conn, company: i64) -> Result<Vec<(i64, String)>> {
    Ok(sqlx::query(
        "SELECT u.id, u.display_name FROM users u JOIN user_companies c ON c.user_id = u.id WHERE c.company_id = $1 AND u.disabled_at IS NULL ORDER BY u.display_name",
    )
    .bind(company)
    .fetch_all(conn)
    .await?
    .iter()
    .filter_map(|r| Some((r.try_get("id").ok()?, r.try_get("display_name").ok()?)))
    .collect())
}

async fn note(tx: &mut Tx, ticket: i64, body: &str, author: Option<i64>) -> Result<()> {
    sqlx::query("INSERT INTO crm_ticket_notes (ticket_id, body, author_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(ticket)
        .bind(body)
        .bind(author)
        .bind(tx.now().to_string())
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Gives a ticket to an agent (taking it oneself is the same with one's own id).
pub async fn assign(tx: &mut Tx, principal: &Principal, id: i64, user: i64) -> Result<()> {
    let ticket = lock(tx, principal, id).await?;
    check_agent(tx, principal.company_id.0, user).await?;
    sqlx::query("UPDATE crm_tickets SET assignee_id = $1, status = CASE WHEN status = 'new' THEN 'open' ELSE status END, version = version + 1 WHERE id = $2")
        .bind(user)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit("update", "crm.ticket", Some(&id.to_string()), &json!({"assignee_id": [ticket.assignee_id, user]})).await
}

/// Escalates a ticket to someone higher up (a team lead, a manager): the escalation level
/// rises, they become its assignee, and the reason is noted. Emits `crm.TicketEscalated`.
pub async fn escalate(tx: &mut Tx, principal: &Principal, id: i64, user: i64, reason: &str) -> Result<()> {
    let ticket = lock(tx, principal, id).await?;
    if ticket.status == "closed" {
        return Err(db::document::wrong_status(&ticket.status));
    }
    check_agent(tx, principal.company_id.0, user).await?;
    if reason.trim().is_empty() || reason.chars().count() > 500 {
        return Err(DomainError::invalid("reason", "error.required", "").into());
    }
    sqlx::query(
        "UPDATE crm_tickets SET assignee_id = $1, escalation = escalation + 1, version = version + 1 WHERE id = $2",
    )
    .bind(user)
    .bind(id)
    .execute(tx.conn())
    .await?;
    note(tx, id, &format!("升级 Escalated: {}", reason.trim()), Some(principal.user_id.0)).await?;
    tx.audit(
        "escalate",
        "crm.ticket",
        Some(&id.to_string()),
        &json!({"assignee_id": [ticket.assignee_id, user], "escalation": [ticket.escalation, ticket.escalation + 1]}),
    )
    .await?;
    tx.emit(
        "crm.ticket",
        &id.to_string(),
        "crm.TicketEscalated",
        &json!({"id": id, "number": ticket.number, "to": user, "level": ticket.escalation + 1}),
    )
    .await
}

/// How far a ticket's automatic escalation has gone: none, for the missed first response, or
/// for the missed resolution (the last; a ticket is escalated at most once per target).
const ESCALATED_FOR_RESPONSE: i64 = 1;
const ESCALATED_FOR_RESOLUTION: i64 = 2;

/// The periodic job: every open ticket that has missed a target its policy escalates, and was
/// not yet escalated for that target, goes to the policy's `escalate_to` user with its
/// escalation level raised, a note, an audit row and `crm.TicketEscalated` — each ticket in
/// its own transaction, acting for its company. A ticket that misses both targets at once is
/// escalated once, for the resolution. Returns how many tickets were escalated.
pub async fn escalate_breaches(db: &db::Db) -> Result<u64> {
    let now = db.clock().now_text();
    let due = sqlx::query(
        "SELECT t.id, t.company_id, p.escalate_to, \
           CASE WHEN t.resolved_at IS NULL AND t.resolution_due < $1 THEN 2 ELSE 1 END AS target \
         FROM crm_tickets t JOIN crm_sla_policies p ON p.company_id = t.company_id AND p.priority = t.priority \
         WHERE p.escalate_to IS NOT NULL AND t.status NOT IN ('resolved', 'closed') \
           AND ((t.first_response_at IS NULL AND t.first_response_due < $1 AND t.breach_escalated < 1) \
             OR (t.resolved_at IS NULL AND t.resolution_due < $1 AND t.breach_escalated < 2)) \
         ORDER BY t.id LIMIT 500",
    )
    .bind(&now)
    .fetch_all(db.reader())
    .await?;
    let mut escalated = 0;
    for row in &due {
        let (id, company, to, target): (i64, i64, i64, i64) =
            (row.try_get("id")?, row.try_get("company_id")?, row.try_get("escalate_to")?, row.try_get("target")?);
        let actor = db::Actor { company_id: Some(company), ..db::Actor::system() };
        let mut tx = db.begin(actor).await?;
        if !is_agent(&mut tx, company, to).await? {
            continue;
        }
        // The mark is re-checked by the update itself, so a second runner escalates nothing.
        let before = sqlx::query("SELECT number, assignee_id, escalation FROM crm_tickets WHERE id = $1")
            .bind(id)
            .fetch_one(tx.conn())
            .await?;
        let changed = sqlx::query(
            "UPDATE crm_tickets SET assignee_id = $1, escalation = escalation + 1, breach_escalated = $2, version = version + 1 \
             WHERE id = $3 AND breach_escalated < $2 AND status NOT IN ('resolved', 'closed')",
        )
        .bind(to)
        .bind(target)
        .bind(id)
        .execute(tx.conn())
        .await?
        .rows_affected();
        if changed == 0 {
            continue;
        }
        let (number, assignee, level): (String, Option<i64>, i64) =
            (before.try_get("number")?, before.try_get("assignee_id")?, before.try_get("escalation")?);
        let reason = if target == ESCALATED_FOR_RESOLUTION {
            "升级 Escalated: 解决时限已过 resolution target missed"
        } else {
            debug_assert_eq!(target, ESCALATED_FOR_RESPONSE);
            "升级 Escalated: 首次响应时限已过 first response target missed"
        };
        note(&mut tx, id, reason, None).await?;
        tx.audit(
            "escalate",
            "crm.ticket",
            Some(&id.to_string()),
            &json!({"assignee_id": [assignee, to], "escalation": [level, level + 1], "breach_escalated": [null, target]}),
        )
        .await?;
        tx.emit(
            "crm.ticket",
            &id.to_string(),
            "crm.TicketEscalated",
            &json!({"id": id, "number": number, "to": to, "level": level + 1, "automatic": true}),
        )
        .await?;
        tx.commit().await?;
        escalated += 1;
    }
    Ok(escalated)
}

/// A reply from staff. The first one is the ticket's first response; a new ticket opens.
pub async fn reply(tx: &mut Tx, principal: &Principal, id: i64, body: &str) -> Result<()> {
    let ticket = lock(tx, principal, id).await?;
    if ticket.status == "closed" {
        return Err(db::document::wrong_status(&ticket.status));
    }
    if body.trim().is_empty() {
        return Err(DomainError::invalid("body", "error.required", "").into());
    }
    if body.chars().count() > 5000 {
        return Err(DomainError::invalid("body", "error.too_long", "5000").into());
    }
    note(tx, id, body.trim(), Some(principal.user_id.0)).await?;
    let now = tx.now().to_string();
    sqlx::query(
        "UPDATE crm_tickets SET first_response_at = COALESCE(first_response_at, $1), status = CASE WHEN status = 'new' THEN 'open' ELSE status END, \
         assignee_id = COALESCE(assignee_id, $2), version = version + 1 WHERE id = $3",
    )
    .bind(&now)
    .bind(principal.user_id.0)
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        "reply",
        "crm.ticket",
        Some(&id.to_string()),
        &json!({"first_response_at": [ticket.first_response_at, ticket.first_response_at.clone().unwrap_or(now)]}),
    )
    .await
}

/// Moves a ticket along its workflow: new/open ⇄ pending (waiting for the customer), → resolved
/// (which sends the customer a survey), resolved → closed, or resolved → open (reopened).
/// Returns the survey's token when resolving.
pub async fn set_status(tx: &mut Tx, principal: &Principal, id: i64, status: &str) -> Result<Option<String>> {
    let ticket = lock(tx, principal, id).await?;
    let allowed = matches!(
        (ticket.status.as_str(), status),
        ("new" | "open", "pending")
            | ("pending", "open")
            | ("new" | "open" | "pending", "resolved")
            | ("resolved", "closed" | "open")
    );
    if !allowed {
        return Err(
            DomainError::invalid("status", "error.crm.ticket_status", format!("{} → {status}", ticket.status)).into()
        );
    }
    let now = tx.now().to_string();
    let resolved_at = match status {
        "resolved" => Some(now.clone()),
        "closed" => ticket.resolved_at.clone(),
        _ => None,
    };
    // Resolving answers the customer too: a ticket solved by phone is not "never responded".
    sqlx::query(
        "UPDATE crm_tickets SET status = $1, resolved_at = $2, \
         first_response_at = CASE WHEN $1 = 'resolved' THEN COALESCE(first_response_at, $3) ELSE first_response_at END, version = version + 1 WHERE id = $4",
    )
    .bind(status)
    .bind(&resolved_at)
    .bind(&now)
    .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit("state", "crm.ticket", Some(&id.to_string()), &json!({"status": [ticket.status, status]})).await?;
    if status != "resolved" {
        return Ok(None);
    }
    tx.emit(
        "crm.ticket",
        &id.to_string(),
        "crm.TicketResolved",
        &json!({"id": id, "number": ticket.number, "party_id": ticket.party_id}),
    )
    .await?;
    // One survey per ticket: a reopened and resolved-again ticket is not asked about twice.
    let asked =
        sqlx::query("SELECT token FROM crm_surveys WHERE ticket_id = $1").bind(id).fetch_optional(tx.conn()).await?;
    if let Some(row) = asked {
        return Ok(Some(row.try_get("token")?));
    }
    let agent = ticket.assignee_id.or(Some(principal.user_id.0));
    let token = send_survey(
        tx,
        principal.company_id.0,
        ticket.party_id,
        Some(id),
        None,
        agent,
        &ticket.category,
        ticket.product_id,
    )
    .await?;
    Ok(Some(token))
}

/// Parts used on a repair: they leave the warehouse for the customer through stock (valued
/// and posted like any delivery), recorded on the ticket.
pub async fn use_part(tx: &mut Tx, principal: &Principal, id: i64, form: &PartForm) -> Result<String> {
    let ticket = lock(tx, principal, id).await?;
    if ticket.status == "closed" {
        return Err(db::document::wrong_status(&ticket.status));
    }
    let mut p = Problems::default();
    let quantity = p.quantity("quantity", &form.quantity, 1_000_000 * 1_000_000);
    p.finish()?;
    let mv = stock::service::MoveForm {
        product_id: form.product_id,
        quantity: Qty::from_scaled(quantity).to_string(),
        from: format!("{}/STOCK", form.warehouse.trim().to_uppercase()),
        to: "CUSTOMER".into(),
        lot: form.lot.clone(),
        reference: ticket.number.clone(),
        date: form.date.clone(),
        unit_cost: String::new(),
        expiry: String::new(),
        tags: Default::default(),
    };
    let (_, number) = stock::service::move_stock(tx, principal, &mv).await?;
    sqlx::query("INSERT INTO crm_ticket_parts (ticket_id, product_id, quantity, move_number, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(form.product_id)
        .bind(quantity)
        .bind(&number)
        .bind(tx.now().to_string())
        .execute(tx.conn())
        .await?;
    tx.audit(
        "part",
        "crm.ticket",
        Some(&id.to_string()),
        &json!({"part": [null, {"product_id": form.product_id, "quantity": form.quantity, "move": number}]}),
    )
    .await?;
    Ok(number)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartForm {
    pub product_id: i64,
    pub quantity: String,
    pub warehouse: String,
    pub date: String,
    #[serde(default)]
    pub lot: String,
}

/// A ticket's notes (oldest first) and parts: (time, author, body), (product code, quantity, move).
pub async fn history(
    conn: &mut db::Conn,
    id: i64,
) -> Result<(Vec<(String, String, String)>, Vec<(String, i64, String)>)> {
    let notes = sqlx::query(
        "SELECT n.created_at, COALESCE(u.display_name, '') AS author, n.body FROM crm_ticket_notes n LEFT JOIN users u ON u.id = n.author_id \
         WHERE n.ticket_id = $1 ORDER BY n.id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("created_at")?, r.try_get("author")?, r.try_get("body")?)))
    .collect::<Result<_>>()?;
    let parts = sqlx::query(
        "SELECT c.code, x.quantity, x.move_number FROM crm_ticket_parts x JOIN cat_products c ON c.id = x.product_id WHERE x.ticket_id = $1 ORDER BY x.created_at",
    )
    .bind(id)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("code")?, r.try_get("quantity")?, r.try_get("move_number")?)))
    .collect::<Result<_>>()?;
    Ok((notes, parts))
}

// ---- Surveys ----

/// Sends a satisfaction survey: a one-time token for the public survey page. Returns it.
#[allow(clippy::too_many_arguments)]
pub async fn send_survey(
    tx: &mut Tx,
    company: i64,
    party: Option<i64>,
    ticket: Option<i64>,
    order: Option<i64>,
    agent: Option<i64>,
    category: &str,
    product: Option<i64>,
) -> Result<String> {
    let token = web::accounts::random_hex(16);
    sqlx::query(
        "INSERT INTO crm_surveys (company_id, token, party_id, ticket_id, order_id, agent_id, category, product_id, sent_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(company)
    .bind(&token)
    .bind(party)
    .bind(ticket)
    .bind(order)
    .bind(agent)
    .bind(category)
    .bind(product)
    .bind(tx.now().to_string())
    .execute(tx.conn())
    .await?;
    tx.emit("crm.survey", &token[..8], "crm.SurveySent", &json!({"party_id": party, "ticket_id": ticket, "order_id": order, "link": format!("/public/crm/surveys/{token}")}))
        .await?;
    Ok(token)
}

/// `sales.OrderDelivered` with everything delivered: the customer gets a survey about it.
pub async fn order_delivered(tx: &mut Tx, company: i64, payload: &serde_json::Value) -> Result<()> {
    if payload.get("complete").and_then(|v| v.as_bool()) != Some(true) {
        return Ok(());
    }
    let Some(order) = payload.get("id").and_then(|v| v.as_i64()) else {
        return Ok(());
    };
    // Delivered at-least-once: one survey per order.
    let sent =
        sqlx::query("SELECT 1 FROM crm_surveys WHERE order_id = $1").bind(order).fetch_optional(tx.conn()).await?;
    if sent.is_some() {
        return Ok(());
    }
    let row = sqlx::query("SELECT customer_id, created_by FROM sal_orders WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(order)
        .fetch_optional(tx.conn())
        .await?;
    let Some(row) = row else {
        return Ok(());
    };
    send_survey(
        tx,
        company,
        row.try_get("customer_id")?,
        None,
        Some(order),
        row.try_get("created_by")?,
        "delivery",
        None,
    )
    .await?;
    Ok(())
}

/// What the public survey page shows — the company's name, what it is about, whether it was
/// answered — and the company's id (the answer is recorded for it).
pub async fn survey_subject(conn: &mut db::Conn, token: &str) -> Result<Option<(i64, String, String, bool)>> {
    Ok(sqlx::query(
        "SELECT s.company_id, c.legal_name, COALESCE(t.number, o.number, '') AS subject, s.answered_at FROM crm_surveys s JOIN companies c ON c.id = s.company_id \
         LEFT JOIN crm_tickets t ON t.id = s.ticket_id LEFT JOIN sal_orders o ON o.id = s.order_id WHERE s.token = $1",
    )
    .bind(token)
    .fetch_optional(conn)
    .await?
    .map(|r| {
        Ok::<_, sqlx::Error>((
            r.try_get("company_id")?,
            r.try_get("legal_name")?,
            r.try_get("subject")?,
            r.try_get::<Option<String>, _>("answered_at")?.is_some(),
        ))
    })
    .transpose()?)
}

/// The answer as the customer gives it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    /// 1–5: how satisfied.
    pub csat: String,
    /// 0–10: how likely to recommend us.
    pub nps: String,
    #[serde(default)]
    pub comment: String,
}

/// Records a survey's answer, once: a second answer through the same link is refused.
pub async fn answer(tx: &mut Tx, token: &str, answer: &Answer) -> Result<()> {
    let mut p = Problems::default();
    let score = |p: &mut Problems, field: &str, text: &str, range: std::ops::RangeInclusive<i64>| match text
        .trim()
        .parse::<i64>()
    {
        Ok(v) if range.contains(&v) => v,
        _ => {
            p.add(field, "error.crm.score", format!("{}–{}", range.start(), range.end()));
            0
        }
    };
    let csat = score(&mut p, "csat", &answer.csat, 1..=5);
    let nps = score(&mut p, "nps", &answer.nps, 0..=10);
    if answer.comment.chars().count() > 1000 {
        p.add("comment", "error.too_long", "1000");
    }
    p.finish()?;
    let answered = sqlx::query("UPDATE crm_surveys SET csat = $1, nps = $2, comment = $3, answered_at = $4 WHERE token = $5 AND answered_at IS NULL")
        .bind(csat)
        .bind(nps)
        .bind(answer.comment.trim())
        .bind(tx.now().to_string())
        .bind(token)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if answered != 1 {
        let exists =
            sqlx::query("SELECT 1 FROM crm_surveys WHERE token = $1").bind(token).fetch_optional(tx.conn()).await?;
        return Err(match exists {
            Some(_) => DomainError::Conflict("this survey was answered already".into()),
            None => DomainError::NotFound("survey"),
        }
        .into());
    }
    tx.audit(
        "answer",
        "crm.survey",
        Some(&token[..8.min(token.len())]),
        &json!({"csat": [null, csat], "nps": [null, nps]}),
    )
    .await
}

/// What the satisfaction report groups by.
pub const SATISFACTION_GROUPS: [&str; 4] = ["agent", "category", "product", "month"];

#[derive(Debug, Clone, Serialize)]
pub struct Satisfaction {
    pub key: String,
    pub answers: i64,
    /// Average CSAT ×100 (e.g. 460 = 4.60).
    pub csat_x100: i64,
    pub nps_bp: i64,
}

/// Answered surveys grouped by agent, category, product or month (of the answer), answered
/// from `from` to `to` (dates).
pub async fn satisfaction(
    conn: &mut db::Conn,
    principal: &Principal,
    by: &str,
    from: &str,
    to: &str,
) -> Result<Vec<Satisfaction>> {
    principal.authorize(SURVEY_READ)?;
    let key = match by {
        "agent" => "COALESCE(u.display_name, '')",
        "category" => "s.category",
        "product" => "COALESCE(c.code, '')",
        // Answers are stamped in UTC; grouped by the hour here and by the China month below.
        "month" => "SUBSTR(s.answered_at, 1, 13)",
        other => return Err(DomainError::invalid("by", "error.crm.grouping", other).into()),
    };
    let sql = format!(
        "SELECT {key} AS key, COUNT(*) AS n, CAST(SUM(s.csat) AS BIGINT) AS csat, \
           CAST(SUM(CASE WHEN s.nps >= 9 THEN 1 ELSE 0 END) AS BIGINT) AS promoters, CAST(SUM(CASE WHEN s.nps <= 6 THEN 1 ELSE 0 END) AS BIGINT) AS detractors \
         FROM crm_surveys s LEFT JOIN users u ON u.id = s.agent_id LEFT JOIN cat_products c ON c.id = s.product_id \
         WHERE s.answered_at IS NOT NULL AND s.answered_at >= "
    );
    // The dates are China dates: the period runs from local midnight to local midnight.
    let midnight = |day: chrono::NaiveDate| {
        kernel::clock::format_instant(
            day.and_time(chrono::NaiveTime::MIN).and_utc() - chrono::Duration::hours(LOCAL_OFFSET_HOURS),
        )
    };
    let end = kernel::dates::parse("to", to).map_err(|e| DomainError::Invalid(vec![e]))? + chrono::Duration::days(1);
    let start = kernel::dates::parse("from", from).map_err(|e| DomainError::Invalid(vec![e]))?;
    let mut q = db::SqlBuilder::new(sql);
    q.bind(midnight(start)).push(" AND s.answered_at < ").bind(midnight(end));
    // An agent with an own scope reads their own scores; a manager the team's.
    db::rules::push_filter(&mut q, &principal.row_filter(SURVEY_READ)?, "s.company_id", "s.agent_id");
    q.push(&format!(" GROUP BY {key} ORDER BY key"));
    // (answers, CSAT sum, promoters, detractors) per key, in key order.
    let mut sums: std::collections::BTreeMap<String, [i64; 4]> = std::collections::BTreeMap::new();
    for r in q.build().fetch_all(conn).await? {
        let mut key: String = r.try_get("key")?;
        if by == "month" {
            // "2026-03-31T17" UTC is April in China.
            let hour = chrono::NaiveDateTime::parse_from_str(&format!("{key}:00"), "%Y-%m-%dT%H:%M")
                .map_err(|e| sqlx::Error::Decode(e.into()))?;
            key = (hour + chrono::Duration::hours(LOCAL_OFFSET_HOURS)).format("%Y-%m").to_string();
        }
        let row: [i64; 4] = [r.try_get("n")?, r.try_get("csat")?, r.try_get("promoters")?, r.try_get("detractors")?];
        let sum = sums.entry(key).or_default();
        for (total, value) in sum.iter_mut().zip(row) {
            *total += value;
        }
    }
    Ok(sums
        .into_iter()
        .map(|(key, [n, csat, promoters, detractors])| Satisfaction {
            key,
            answers: n,
            csat_x100: (csat * 100 * 2 + n) / (2 * n.max(1)),
            nps_bp: domain::nps_of(promoters, detractors, n).unwrap_or(0),
        })
        .collect())
}
