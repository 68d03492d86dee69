//! Contracts and collection (合同与回款): a contract with a customer has a value (VAT
//! included), terms and an instalment plan. An instalment is invoiced through finance when it
//! falls due (a customer invoice, posted), and its collection status comes from that invoice —
//! planned, invoiced, partly collected, collected, overdue — so it follows the real receipts.
//! Overdue instalments are reminded with rising dunning levels (1: up to 15 days late, 2: up to
//! 30, 3: beyond), each reminder logged on the customer's timeline. Contracts follow the
//! record rules of opportunities by their owner.

use crate::service::{ActivityForm, OPPORTUNITY_MANAGE, OPPORTUNITY_READ};
use db::{Result, RowExt, Tx};
use finance::domain::yuan;
use kernel::error::Problems;
use kernel::permission::{Principal, RecordOwner};
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A contract as entered: its instalments' amounts must add up to its value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractForm {
    pub party_id: i64,
    pub title: String,
    /// Yuan, VAT included.
    pub value: String,
    /// Percent, one of `kernel::vat::RATE_CHOICES`.
    pub vat_rate: String,
    pub start_date: String,
    pub end_date: String,
    #[serde(default)]
    pub terms: String,
    pub instalments: Vec<InstalmentForm>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstalmentForm {
    pub due_date: String,
    pub amount: String,
}

/// An instalment with its collection state on a day.
#[derive(Debug, Clone, Serialize)]
pub struct Instalment {
    pub id: i64,
    pub seq: i64,
    pub due_date: String,
    pub amount: i64,
    pub invoice_id: Option<i64>,
    pub invoice_number: Option<String>,
    /// What its invoice has been settled by (fen).
    pub collected: i64,
    /// `planned`, `invoiced`, `partial`, `collected` or `overdue`.
    pub status: String,
    pub days_overdue: i64,
    pub dunning_level: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Contract {
    pub id: i64,
    pub number: String,
    pub party_id: i64,
    pub party_name: String,
    pub title: String,
    pub value: i64,
    pub vat_rate_bp: i64,
    pub start_date: String,
    pub end_date: String,
    pub terms: String,
    pub owner_name: Option<String>,
    pub instalments: Vec<Instalment>,
}

impl Contract {
    pub fn collected(&self) -> i64 {
        self.instalments.iter().map(|i| i.collected).sum()
    }

    pub fn invoiced(&self) -> i64 {
        self.instalments.iter().filter(|i| i.invoice_id.is_some()).map(|i| i.amount).sum()
    }

    /// Due and not collected, on the day the contract was read.
    pub fn overdue(&self) -> i64 {
        self.instalments.iter().filter(|i| i.status == "overdue").map(|i| i.amount - i.collected).sum()
    }
}

/// The dunning level of an instalment so many days late.
pub fn dunning_level(days_overdue: i64) -> i64 {
    match days_overdue {
        ..=0 => 0,
        1..=15 => 1,
        16..=30 => 2,
        _ => 3,
    }
}

fn status_of(due: &str, amount: i64, invoice: Option<i64>, collected: i64, today: &str) -> &'static str {
    if invoice.is_some() && collected >= amount {
        "collected"
    } else if due < today {
        "overdue"
    } else if collected > 0 {
        "partial"
    } else if invoice.is_some() {
        "invoiced"
    } else {
        "planned"
    }
}

pub async fn create(tx: &mut Tx, principal: &Principal, form: &ContractForm) -> Result<i64> {
    principal.authorize(OPPORTUNITY_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    if form.title.trim().is_empty() {
        p.add("title", "error.required", "");
    }
    if form.title.chars().count() > 200 {
        p.add("title", "error.too_long", "200");
    }
    if form.terms.chars().count() > 5000 {
        p.add("terms", "error.too_long", "5000");
    }
    let value = p.amount("value", &form.value);
    if value <= 0 {
        p.add("value", "error.catalog.quantity_positive", &form.value);
    }
    let vat = kernel::vat::parse_rate(&form.vat_rate).unwrap_or_else(|| {
        p.add("vat_rate", "error.finance.vat_rate", form.vat_rate.trim());
        0
    });
    // Refused now rather than when an instalment is invoiced.
    if let Some(rate) = kernel::vat::parse_rate(&form.vat_rate) {
        finance::invoicing::taxpayer(tx.conn(), company).await?.check_charged("vat_rate", rate, &mut p);
    }
    let start = p.check(kernel::dates::parse("start_date", &form.start_date));
    let end = p.check(kernel::dates::parse("end_date", &form.end_date));
    if let (Some(s), Some(e)) = (start, end) {
        if e < s {
            p.add("end_date", "error.period_order", form.end_date.clone());
        }
    }
    if form.instalments.is_empty() {
        p.add("instalments", "error.document.no_lines", "");
    }
    let mut plan = Vec::with_capacity(form.instalments.len());
    for (i, line) in form.instalments.iter().enumerate() {
        let due = p.check(kernel::dates::parse(&format!("instalments[{i}].due_date"), &line.due_date));
        let amount = p.amount(&format!("instalments[{i}].amount"), &line.amount);
        if amount <= 0 {
            p.add(&format!("instalments[{i}].amount"), "error.catalog.quantity_positive", &line.amount);
        }
        plan.push((due.map(|d| d.to_string()).unwrap_or_default(), amount));
    }
    let planned: i64 = plan.iter().map(|(_, a)| a).sum();
    if !form.instalments.is_empty() && planned != value {
        p.add("instalments", "error.crm.plan_total", format!("{} ≠ {}", yuan(planned), yuan(value)));
    }
    if party::service::reach_in(tx.conn(), principal, form.party_id).await.is_err() {
        p.add("party_id", "error.crm.party", form.party_id.to_string());
    }
    p.finish()?;
    let year: i32 = start.map(|d| chrono::Datelike::year(&d)).unwrap_or(0);
    let number = tx.next_number(company, "crm.contract", year, "CT/{year}/{seq:05}").await?;
    let id: i64 = sqlx::query(
        "INSERT INTO crm_contracts (company_id, number, party_id, title, value, vat_rate_bp, start_date, end_date, terms, owner_id, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(form.party_id)
    .bind(form.title.trim())
    .bind(value)
    .bind(vat)
    .bind(start.map(|d| d.to_string()).unwrap_or_default())
    .bind(end.map(|d| d.to_string()).unwrap_or_default())
    .bind(form.terms.trim())
    .bind(principal.user_id.0)
    .bind(tx.now().to_string())
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    for (i, (due, amount)) in plan.iter().enumerate() {
        sqlx::query("INSERT INTO crm_instalments (contract_id, seq, due_date, amount) VALUES ($1, $2, $3, $4)")
            .bind(id)
            .bind(i as i64 + 1)
            .bind(due)
            .bind(*amount)
            .execute(tx.conn())
            .await?;
    }
    tx.audit(
        "create",
        "crm.contract",
        Some(&id.to_string()),
        &json!({"number": [null, number], "party_id": [null, form.party_id], "value": [null, yuan(value)], "instalments": [null, plan.len()]}),
    )
    .await?;
    Ok(id)
}

async fn reach(conn: &mut db::Conn, principal: &Principal, permission: &str, id: i64) -> Result<()> {
    principal.authorize(permission)?;
    let row = sqlx::query(
        "SELECT c.owner_id, u.team, u.department FROM crm_contracts c LEFT JOIN users u ON u.id = c.owner_id WHERE c.company_id = $1 AND c.id = $2",
    )
    .bind(principal.company_id.0)
    .bind(id)
    .fetch_optional(conn)
    .await?
    .ok_or(DomainError::NotFound("contract"))?;
    let owner = RecordOwner {
        company_id: principal.company_id,
        user_id: row.try_get::<Option<i64>, _>("owner_id")?.map(kernel::ids::UserId),
        team: row.try_get("team")?,
        department: row.try_get("department")?,
    };
    principal.reaches(permission, &owner).map_err(|_| DomainError::NotFound("contract").into())
}

/// The contracts the record rule reaches, each with its plan's state on `today`.
pub async fn contracts(conn: &mut db::Conn, principal: &Principal, today: &str) -> Result<Vec<Contract>> {
    let filter = principal.row_filter(OPPORTUNITY_READ)?;
    let mut q = db::SqlBuilder::new(format!("{CONTRACT_SELECT} WHERE 1 = 1"));
    db::rules::push_filter(&mut q, &filter, "c.company_id", "c.owner_id");
    q.push(" ORDER BY c.id DESC LIMIT 500");
    assemble(conn, q, today).await
}

pub async fn contract(conn: &mut db::Conn, principal: &Principal, id: i64, today: &str) -> Result<Contract> {
    reach(&mut *conn, principal, OPPORTUNITY_READ, id).await?;
    load(conn, principal.company_id.0, id, today).await
}

const CONTRACT_SELECT: &str = "SELECT c.*, p.name AS party_name, u.display_name AS owner_name FROM crm_contracts c \
     JOIN parties p ON p.id = c.party_id LEFT JOIN users u ON u.id = c.owner_id";

async fn load(conn: &mut db::Conn, company: i64, id: i64, today: &str) -> Result<Contract> {
    let mut q = db::SqlBuilder::new(format!("{CONTRACT_SELECT} WHERE c.company_id = "));
    q.bind(company).push(" AND c.id = ").bind(id);
    assemble(conn, q, today).await?.pop().ok_or_else(|| DomainError::NotFound("contract").into())
}

/// The contracts a query selects, with their instalments read in one further query (not one
/// per contract) and their state on `today`.
async fn assemble(conn: &mut db::Conn, q: db::SqlBuilder, today: &str) -> Result<Vec<Contract>> {
    let mut out = Vec::new();
    for r in q.build().fetch_all(&mut *conn).await? {
        out.push(Contract {
            id: r.try_get("id")?,
            number: r.try_get("number")?,
            party_id: r.try_get("party_id")?,
            party_name: r.try_get("party_name")?,
            title: r.try_get("title")?,
            value: r.try_get("value")?,
            vat_rate_bp: r.try_get("vat_rate_bp")?,
            start_date: r.try_get("start_date")?,
            end_date: r.try_get("end_date")?,
            terms: r.try_get("terms")?,
            owner_name: r.try_get("owner_name")?,
            instalments: Vec::new(),
        });
    }
    if out.is_empty() {
        return Ok(out);
    }
    let today_date = chrono::NaiveDate::parse_from_str(today, "%Y-%m-%d").unwrap_or_default();
    let mut q = db::SqlBuilder::new(
        "SELECT i.contract_id, i.id, i.seq, i.due_date, i.amount, i.invoice_id, f.number AS invoice_number, COALESCE(f.settled, 0) AS collected, \
           i.dunning_level FROM crm_instalments i LEFT JOIN fin_invoices f ON f.id = i.invoice_id WHERE i.contract_id IN (",
    );
    for (n, c) in out.iter().enumerate() {
        if n > 0 {
            q.push(", ");
        }
        q.bind(c.id);
    }
    q.push(") ORDER BY i.contract_id, i.seq");
    for i in q.build().fetch_all(&mut *conn).await? {
        let contract: i64 = i.try_get("contract_id")?;
        let due: String = i.try_get("due_date")?;
        let amount: i64 = i.try_get("amount")?;
        let invoice: Option<i64> = i.try_get("invoice_id")?;
        let collected: i64 = i.try_get("collected")?;
        let status = status_of(&due, amount, invoice, collected, today);
        let days =
            chrono::NaiveDate::parse_from_str(&due, "%Y-%m-%d").map(|d| (today_date - d).num_days()).unwrap_or(0);
        let instalment = Instalment {
            id: i.try_get("id")?,
            seq: i.try_get("seq")?,
            due_date: due,
            amount,
            invoice_id: invoice,
            invoice_number: i.try_get("invoice_number")?,
            collected: collected.min(amount),
            status: status.into(),
            days_overdue: if status == "overdue" { days } else { 0 },
            dunning_level: i.try_get("dunning_level")?,
        };
        if let Some(c) = out.iter_mut().find(|c| c.id == contract) {
            c.instalments.push(instalment);
        }
    }
    Ok(out)
}

/// Invoices an instalment: a customer invoice in finance for its amount (VAT included, at the
/// contract's rate, on 6001), posted at once and linked, so the receipts allocated to it are
/// the instalment's collection. Returns the invoice id.
pub async fn invoice(tx: &mut Tx, principal: &Principal, id: i64, seq: i64, date: &str) -> Result<i64> {
    reach(tx.conn(), principal, OPPORTUNITY_MANAGE, id).await?;
    let company = principal.company_id.0;
    // The instalment's row is the lock: it is invoiced once.
    let locked =
        sqlx::query("UPDATE crm_instalments SET seq = seq WHERE contract_id = $1 AND seq = $2 AND invoice_id IS NULL")
            .bind(id)
            .bind(seq)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if locked != 1 {
        return Err(DomainError::invalid("seq", "error.crm.instalment", seq.to_string()).into());
    }
    let today = date.to_string();
    let contract = load(tx.conn(), company, id, &today).await?;
    let Some(instalment) = contract.instalments.iter().find(|i| i.seq == seq) else {
        return Err(DomainError::NotFound("instalment").into());
    };
    let form = finance::invoicing::InvoiceForm {
        kind: "customer".into(),
        party_id: contract.party_id,
        date: date.to_string(),
        due_date: Some(instalment.due_date.clone()).filter(|d| d.as_str() >= date),
        tax_inclusive: true,
        memo: format!("{} 第 {seq} 期", contract.number),
        lines: vec![finance::vat::InvoiceLineForm {
            description: format!("{} {} 第 {seq} 期 / instalment {seq}", contract.number, contract.title),
            quantity: "1".into(),
            unit_price: yuan(instalment.amount),
            discount: String::new(),
            vat_rate: kernel::vat::choice(contract.vat_rate_bp),
            // The chart's revenue account: 6001 under CAS, 5001 for small enterprises.
            ..Default::default()
        }],
        ..Default::default()
    };
    let invoice = finance::invoicing::create_invoice(tx, principal, &form).await?;
    let number = finance::invoicing::post_invoice(tx, principal, invoice).await?;
    sqlx::query("UPDATE crm_instalments SET invoice_id = $1 WHERE contract_id = $2 AND seq = $3")
        .bind(invoice)
        .bind(id)
        .bind(seq)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "invoice",
        "crm.contract",
        Some(&id.to_string()),
        &json!({"instalment": [null, seq], "invoice": [null, number]}),
    )
    .await?;
    Ok(invoice)
}

/// Reminds the customer of an overdue instalment at the dunning level its lateness has reached
/// (a reminder at a level already sent is refused), logged as an e-mail on their timeline.
/// Returns the level.
pub async fn remind(tx: &mut Tx, principal: &Principal, id: i64, seq: i64, today: &str) -> Result<i64> {
    reach(tx.conn(), principal, OPPORTUNITY_MANAGE, id).await?;
    let contract = load(tx.conn(), principal.company_id.0, id, today).await?;
    let Some(instalment) = contract.instalments.iter().find(|i| i.seq == seq) else {
        return Err(DomainError::NotFound("instalment").into());
    };
    let level = dunning_level(instalment.days_overdue);
    if instalment.status != "overdue" || level <= instalment.dunning_level {
        return Err(DomainError::invalid(
            "seq",
            "error.crm.not_to_remind",
            format!("{} · {}", instalment.status, instalment.dunning_level),
        )
        .into());
    }
    sqlx::query("UPDATE crm_instalments SET dunning_level = $1, reminded_at = $2 WHERE contract_id = $3 AND seq = $4")
        .bind(level)
        .bind(tx.now().to_string())
        .bind(id)
        .bind(seq)
        .execute(tx.conn())
        .await?;
    let open = instalment.amount - instalment.collected;
    let reminder = ActivityForm {
        kind: "email".into(),
        subject: format!("催款提醒（第 {level} 级）{} 第 {seq} 期 {}", contract.number, yuan(open)),
        body: format!(
            "Payment reminder, level {level}: {} instalment {seq}, {} due {}, {} days overdue.",
            contract.number,
            yuan(open),
            instalment.due_date,
            instalment.days_overdue
        ),
        party_id: Some(contract.party_id),
        ..Default::default()
    };
    crate::service::log_activity(tx, principal, &reminder).await?;
    tx.audit(
        "remind",
        "crm.contract",
        Some(&id.to_string()),
        &json!({"instalment": [null, seq], "dunning_level": [instalment.dunning_level, level]}),
    )
    .await?;
    Ok(level)
}
