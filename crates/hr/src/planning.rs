//! Planning: the headcount plan (编制) per department, position and year against the actual
//! headcount and open requisitions, and requisitions — one that would take a department
//! beyond its plan needs the extra approval `hr.requisition.approve_beyond`.

use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const PLAN_READ: &str = "hr.plan.read";
pub const PLAN_MANAGE: &str = "hr.plan.manage";
pub const REQUISITION_APPROVE: &str = "hr.requisition.approve";
pub const REQUISITION_APPROVE_BEYOND: &str = "hr.requisition.approve_beyond";

/// Requisition statuses that still count against the plan.
const OPEN: &str = "('pending', 'approved')";

/// One cell of the plan: a department and position in a year.
#[derive(Debug, Clone, Serialize)]
pub struct PlanRow {
    pub department_id: i64,
    pub department: String,
    pub position_id: i64,
    pub position: String,
    pub approved: i64,
    /// Employees active or on leave in that department and position.
    pub actual: i64,
    /// Heads requested and not yet filled (pending or approved requisitions).
    pub open: i64,
    /// approved − actual − open: positive is room left, negative is beyond plan.
    pub remaining: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanForm {
    pub year: i32,
    pub rows: Vec<PlanLineForm>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLineForm {
    pub department_id: i64,
    pub position_id: i64,
    pub approved: i64,
}

fn check_year(p: &mut Problems, year: i32) {
    if !(2000..=2100).contains(&year) {
        p.add("year", "error.hr.year", year.to_string());
    }
}

/// Sets approved heads for cells of a year's plan (other cells stay as they are).
pub async fn set_plan(tx: &mut Tx, principal: &Principal, form: &PlanForm) -> Result<()> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    check_year(&mut p, form.year);
    for (i, row) in form.rows.iter().enumerate() {
        if !(0..=100_000).contains(&row.approved) {
            p.add(&format!("rows[{i}].approved"), "error.hr.heads", row.approved.to_string());
        }
        let known = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM hr_departments WHERE company_id = $1 AND id = $2) AS d, \
               (SELECT COUNT(*) FROM hr_positions WHERE company_id = $1 AND id = $3) AS o",
        )
        .bind(company)
        .bind(row.department_id)
        .bind(row.position_id)
        .fetch_one(tx.conn())
        .await?;
        if known.try_get::<i64, _>("d")? == 0 {
            p.add(&format!("rows[{i}].department_id"), "error.hr.department", row.department_id.to_string());
        }
        if known.try_get::<i64, _>("o")? == 0 {
            p.add(&format!("rows[{i}].position_id"), "error.hr.position", row.position_id.to_string());
        }
    }
    p.finish()?;
    for row in &form.rows {
        sqlx::query(
            "INSERT INTO hr_headcount (company_id, year, department_id, position_id, approved) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (company_id, year, department_id, position_id) DO UPDATE SET approved = excluded.approved",
        )
        .bind(company)
        .bind(i64::from(form.year))
        .bind(row.department_id)
        .bind(row.position_id)
        .bind(row.approved)
        .execute(tx.conn())
        .await?;
    }
    let cells: Vec<_> = form.rows.iter().map(|r| json!([r.department_id, r.position_id, r.approved])).collect();
    tx.audit("update", "hr.headcount_plan", Some(&form.year.to_string()), &json!({"cells": [null, cells]})).await
}

/// The plan of a year: every cell that has a plan, employees or open requisitions, by
/// department code and position. Three grouped reads, merged here: the page stays cheap at
/// a thousand departments.
pub async fn plan(conn: &mut db::Conn, principal: &Principal, year: i32) -> Result<Vec<PlanRow>> {
    principal.authorize(PLAN_READ)?;
    let company = principal.company_id.0;
    let mut cells: std::collections::BTreeMap<(i64, i64), [i64; 3]> = std::collections::BTreeMap::new();
    for r in
        sqlx::query("SELECT department_id, position_id, approved FROM hr_headcount WHERE company_id = $1 AND year = $2")
            .bind(company)
            .bind(i64::from(year))
            .fetch_all(&mut *conn)
            .await?
    {
        cells.entry((r.try_get("department_id")?, r.try_get("position_id")?)).or_default()[0] =
            r.try_get("approved")?;
    }
    for r in sqlx::query(
        "SELECT department_id, position_id, COUNT(*) AS n FROM hr_employees WHERE company_id = $1 AND status <> 'exited' \
         GROUP BY department_id, position_id",
    )
    .bind(company)
    .fetch_all(&mut *conn)
    .await?
    {
        cells.entry((r.try_get("department_id")?, r.try_get("position_id")?)).or_default()[1] = r.try_get("n")?;
    }
    for r in sqlx::query(&format!(
        "SELECT department_id, position_id, CAST(SUM(heads - filled) AS BIGINT) AS n FROM hr_requisitions \
         WHERE company_id = $1 AND year = $2 AND status IN {OPEN} GROUP BY department_id, position_id"
    ))
    .bind(company)
    .bind(i64::from(year))
    .fetch_all(&mut *conn)
    .await?
    {
        cells.entry((r.try_get("department_id")?, r.try_get("position_id")?)).or_default()[2] = r.try_get("n")?;
    }
    let departments: std::collections::HashMap<i64, (String, String)> =
        sqlx::query("SELECT id, code, name FROM hr_departments WHERE company_id = $1")
            .bind(company)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, (r.try_get("code")?, r.try_get("name")?))))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
    let positions: std::collections::HashMap<i64, String> =
        sqlx::query("SELECT id, title FROM hr_positions WHERE company_id = $1")
            .bind(company)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("title")?)))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
    let mut rows: Vec<PlanRow> = cells
        .into_iter()
        .map(|((department_id, position_id), [approved, actual, open])| PlanRow {
            department_id,
            department: departments.get(&department_id).map(|d| d.1.clone()).unwrap_or_default(),
            position_id,
            position: positions.get(&position_id).cloned().unwrap_or_default(),
            approved,
            actual,
            open,
            remaining: approved - actual - open,
        })
        .collect();
    rows.sort_by(|a, b| {
        let code = |id: i64| departments.get(&id).map(|d| d.0.clone()).unwrap_or_default();
        (code(a.department_id), &a.position).cmp(&(code(b.department_id), &b.position))
    });
    Ok(rows)
}

// ---- Requisitions ----

#[derive(Debug, Clone, Serialize)]
pub struct Requisition {
    pub id: i64,
    pub number: String,
    pub year: i64,
    pub department_id: i64,
    pub department: String,
    pub position_id: i64,
    pub position: String,
    pub heads: i64,
    pub filled: i64,
    pub reason: String,
    pub beyond_plan: bool,
    pub status: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequisitionForm {
    pub year: i32,
    pub department_id: i64,
    pub position_id: i64,
    pub heads: i64,
    #[serde(default)]
    pub reason: String,
}

/// Raises a requisition; it is beyond plan when the cell's actual and open heads plus these
/// would exceed the approved number.
pub async fn request(tx: &mut Tx, principal: &Principal, form: &RequisitionForm) -> Result<i64> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    check_year(&mut p, form.year);
    if !(1..=1_000).contains(&form.heads) {
        p.add("heads", "error.hr.heads", form.heads.to_string());
    }
    if form.reason.chars().count() > 500 {
        p.add("reason", "error.too_long", "500");
    }
    p.finish()?;
    let cell = plan(tx.conn(), principal, form.year)
        .await?
        .into_iter()
        .find(|r| r.department_id == form.department_id && r.position_id == form.position_id);
    let known = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM hr_departments WHERE company_id = $1 AND id = $2) + (SELECT COUNT(*) FROM hr_positions WHERE company_id = $1 AND id = $3) AS n",
    )
    .bind(company)
    .bind(form.department_id)
    .bind(form.position_id)
    .fetch_one(tx.conn())
    .await?
    .try_get::<i64, _>("n")?;
    if known != 2 {
        // Name the field that is wrong.
        let department = sqlx::query("SELECT 1 FROM hr_departments WHERE company_id = $1 AND id = $2")
            .bind(company)
            .bind(form.department_id)
            .fetch_optional(tx.conn())
            .await?;
        return Err(match department {
            None => DomainError::invalid("department_id", "error.hr.department", form.department_id.to_string()),
            Some(_) => DomainError::invalid("position_id", "error.hr.position", form.position_id.to_string()),
        }
        .into());
    }
    let remaining = cell.map(|c| c.remaining).unwrap_or(0);
    let beyond = form.heads > remaining;
    let number = tx.next_number(company, "requisition", form.year, "REQ/{year}/{seq:04}").await?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_requisitions (company_id, number, year, department_id, position_id, heads, reason, beyond_plan, status, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $10) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(i64::from(form.year))
    .bind(form.department_id)
    .bind(form.position_id)
    .bind(form.heads)
    .bind(form.reason.trim())
    .bind(i64::from(beyond))
    .bind(tx.now().to_string())
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "hr.requisition",
        Some(&id.to_string()),
        &json!({"number": [null, number], "heads": [null, form.heads], "beyond_plan": [null, beyond]}),
    )
    .await?;
    Ok(id)
}

/// Approves or rejects a pending requisition. One beyond plan needs the extra permission.
pub async fn decide(tx: &mut Tx, principal: &Principal, id: i64, approve: bool) -> Result<()> {
    principal.authorize(REQUISITION_APPROVE)?;
    let company = principal.company_id.0;
    let row = sqlx::query("SELECT status, beyond_plan FROM hr_requisitions WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("requisition"))?;
    let status: String = row.try_get("status")?;
    if status != "pending" {
        return Err(db::document::wrong_status(&status));
    }
    if approve && row.try_get::<i64, _>("beyond_plan")? != 0 {
        principal.authorize(REQUISITION_APPROVE_BEYOND)?;
    }
    let to = if approve { "approved" } else { "rejected" };
    sqlx::query("UPDATE hr_requisitions SET status = $1, approved_by = $2 WHERE id = $3 AND status = 'pending'")
        .bind(to)
        .bind(principal.user_id.0)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        if approve { "approve" } else { "reject" },
        "hr.requisition",
        Some(&id.to_string()),
        &json!({"status": [status, to]}),
    )
    .await
}

/// Counts a hire against an approved requisition of the same department and position; the
/// last head closes it.
pub async fn fill(tx: &mut Tx, company: i64, id: i64, department: i64, position: i64) -> Result<()> {
    let row = sqlx::query("SELECT status, heads, filled, department_id, position_id FROM hr_requisitions WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or_else(|| DomainError::invalid("requisition_id", "error.hr.requisition", id.to_string()))?;
    let status: String = row.try_get("status")?;
    let matches =
        row.try_get::<i64, _>("department_id")? == department && row.try_get::<i64, _>("position_id")? == position;
    if status != "approved" || !matches {
        return Err(DomainError::invalid("requisition_id", "error.hr.requisition", id.to_string()).into());
    }
    let filled = row.try_get::<i64, _>("filled")? + 1;
    let heads: i64 = row.try_get("heads")?;
    let to = if filled >= heads { "filled" } else { "approved" };
    sqlx::query("UPDATE hr_requisitions SET filled = $1, status = $2 WHERE id = $3")
        .bind(filled)
        .bind(to)
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit(
        "fill",
        "hr.requisition",
        Some(&id.to_string()),
        &json!({"filled": [filled - 1, filled], "status": [status, to]}),
    )
    .await
}

pub async fn requisitions(conn: &mut db::Conn, principal: &Principal, year: Option<i32>) -> Result<Vec<Requisition>> {
    principal.authorize(PLAN_READ)?;
    let mut q = db::SqlBuilder::new(
        "SELECT r.id, r.number, r.year, r.department_id, d.name AS department, r.position_id, o.title AS position, r.heads, r.filled, \
           r.reason, r.beyond_plan, r.status, r.created_at \
         FROM hr_requisitions r JOIN hr_departments d ON d.id = r.department_id JOIN hr_positions o ON o.id = r.position_id WHERE r.company_id = ",
    );
    q.bind(principal.company_id.0);
    if let Some(year) = year {
        q.push(" AND r.year = ").bind(i64::from(year));
    }
    q.push(" ORDER BY r.id DESC LIMIT 500");
    q.build()
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Requisition {
                id: r.try_get("id")?,
                number: r.try_get("number")?,
                year: r.try_get("year")?,
                department_id: r.try_get("department_id")?,
                department: r.try_get("department")?,
                position_id: r.try_get("position_id")?,
                position: r.try_get("position")?,
                heads: r.try_get("heads")?,
                filled: r.try_get("filled")?,
                reason: r.try_get("reason")?,
                beyond_plan: r.try_get::<i64, _>("beyond_plan")? != 0,
                status: r.try_get("status")?,
                created_at: r.try_get("created_at")?,
            })
        })
        .collect()
}

// ---- Demand forecasts ----

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastForm {
    /// The year forecast (usually next year).
    pub year: i32,
    pub lines: Vec<ForecastLineForm>,
}

/// A driver for one department and position: a planned figure (revenue, sites, beds …) and
/// how much of it one person carries; `per_head` 1 makes `value` a number of heads.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForecastLineForm {
    pub department_id: i64,
    pub position_id: i64,
    pub driver: String,
    pub value: String,
    pub per_head: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ForecastLine {
    pub department_id: i64,
    pub department: String,
    pub position_id: i64,
    pub position: String,
    pub driver: String,
    pub driver_value: String,
    pub per_head: String,
    pub current_heads: i64,
    pub exits_12m: i64,
    pub attrition_bp: i64,
    pub needed: i64,
    pub expected_exits: i64,
    pub hires: i64,
    pub quarters: [i64; 4],
}

#[derive(Debug, Clone, Serialize)]
pub struct Forecast {
    pub id: i64,
    pub number: String,
    pub year: i64,
    pub applied_at: Option<String>,
    pub created_at: String,
    pub lines: Vec<ForecastLine>,
}

/// Computes and keeps a forecast: per line the heads its driver calls for, the current heads
/// and the last twelve months' exits of that department and position (from the lifecycle
/// events), expected attrition and the hires per quarter.
pub async fn create_forecast(
    tx: &mut Tx,
    principal: &Principal,
    form: &ForecastForm,
    today: chrono::NaiveDate,
) -> Result<i64> {
    principal.authorize(PLAN_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    check_year(&mut p, form.year);
    if form.lines.is_empty() || form.lines.len() > 2_000 {
        p.add("lines", "error.hr.forecast_lines", form.lines.len().to_string());
    }
    let mut computed = Vec::with_capacity(form.lines.len());
    for (i, line) in form.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        let decimal = |p: &mut Problems, name: &str, text: &str| match text.trim().parse::<rust_decimal::Decimal>() {
            Ok(v) if v >= rust_decimal::Decimal::ZERO => Some(v),
            _ => {
                p.add(&field(name), "error.hr.driver_value", text.trim());
                None
            }
        };
        if line.driver.trim().is_empty() || line.driver.chars().count() > 100 {
            p.add(&field("driver"), "error.required", "");
        }
        let value = decimal(&mut p, "value", &line.value);
        let per_head = match decimal(&mut p, "per_head", &line.per_head) {
            Some(h) if h.is_zero() => {
                p.add(&field("per_head"), "error.hr.per_head", line.per_head.trim());
                None
            }
            other => other,
        };
        let needed = match (value, per_head) {
            (Some(v), Some(h)) => {
                let heads = crate::domain::heads_for(v, h);
                if heads.is_none_or(|n| n > 100_000) {
                    p.add(&field("per_head"), "error.hr.per_head", line.per_head.trim());
                }
                heads.unwrap_or(0)
            }
            _ => 0,
        };
        let known = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM hr_departments WHERE company_id = $1 AND id = $2) AS d, \
               (SELECT COUNT(*) FROM hr_positions WHERE company_id = $1 AND id = $3) AS o",
        )
        .bind(company)
        .bind(line.department_id)
        .bind(line.position_id)
        .fetch_one(tx.conn())
        .await?;
        if known.try_get::<i64, _>("d")? == 0 {
            p.add(&field("department_id"), "error.hr.department", line.department_id.to_string());
        }
        if known.try_get::<i64, _>("o")? == 0 {
            p.add(&field("position_id"), "error.hr.position", line.position_id.to_string());
        }
        computed.push(needed);
    }
    p.finish()?;
    let since = (today - chrono::Duration::days(365)).to_string();
    let number = tx.next_number(company, "forecast", form.year, "FC/{year}/{seq:03}").await?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_forecasts (company_id, number, year, created_at, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(i64::from(form.year))
    .bind(tx.now().to_string())
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    for (i, (line, needed)) in form.lines.iter().zip(computed).enumerate() {
        let counts = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM hr_employees WHERE company_id = $1 AND department_id = $2 AND position_id = $3 AND status <> 'exited') AS current_heads, \
               (SELECT COUNT(*) FROM hr_employees WHERE company_id = $1 AND department_id = $2 AND position_id = $3 AND status = 'exited' AND exit_date > $4) AS exits",
        )
        .bind(company)
        .bind(line.department_id)
        .bind(line.position_id)
        .bind(&since)
        .fetch_one(tx.conn())
        .await?;
        let (current, exits): (i64, i64) = (counts.try_get("current_heads")?, counts.try_get("exits")?);
        let d = crate::domain::demand(needed, current, exits);
        sqlx::query(
            "INSERT INTO hr_forecast_lines (forecast_id, position, department_id, position_id, driver, driver_value, per_head, current_heads, exits_12m, \
               attrition_bp, needed, expected_exits, hires, q1, q2, q3, q4) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
        )
        .bind(id)
        .bind(i as i64 + 1)
        .bind(line.department_id)
        .bind(line.position_id)
        .bind(line.driver.trim())
        .bind(line.value.trim())
        .bind(line.per_head.trim())
        .bind(current)
        .bind(exits)
        .bind(d.attrition_bp)
        .bind(d.needed)
        .bind(d.expected_exits)
        .bind(d.hires)
        .bind(d.quarters[0])
        .bind(d.quarters[1])
        .bind(d.quarters[2])
        .bind(d.quarters[3])
        .execute(tx.conn())
        .await?;
    }
    tx.audit(
        "create",
        "hr.forecast",
        Some(&id.to_string()),
        &json!({"number": [null, number], "year": [null, form.year]}),
    )
    .await?;
    Ok(id)
}

pub async fn forecasts(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Forecast>> {
    principal.authorize(PLAN_READ)?;
    let heads = sqlx::query(
        "SELECT id, number, year, applied_at, created_at FROM hr_forecasts WHERE company_id = $1 ORDER BY id DESC LIMIT 50",
    )
    .bind(principal.company_id.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(heads.len());
    for h in &heads {
        let id: i64 = h.try_get("id")?;
        let lines = sqlx::query(
            "SELECT l.*, d.name AS department, o.title AS position_title FROM hr_forecast_lines l JOIN hr_departments d ON d.id = l.department_id \
             JOIN hr_positions o ON o.id = l.position_id WHERE l.forecast_id = $1 ORDER BY l.position",
        )
        .bind(id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| {
            Ok(ForecastLine {
                department_id: r.try_get("department_id")?,
                department: r.try_get("department")?,
                position_id: r.try_get("position_id")?,
                position: r.try_get("position_title")?,
                driver: r.try_get("driver")?,
                driver_value: r.try_get("driver_value")?,
                per_head: r.try_get("per_head")?,
                current_heads: r.try_get("current_heads")?,
                exits_12m: r.try_get("exits_12m")?,
                attrition_bp: r.try_get("attrition_bp")?,
                needed: r.try_get("needed")?,
                expected_exits: r.try_get("expected_exits")?,
                hires: r.try_get("hires")?,
                quarters: [r.try_get("q1")?, r.try_get("q2")?, r.try_get("q3")?, r.try_get("q4")?],
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
        out.push(Forecast {
            id,
            number: h.try_get("number")?,
            year: h.try_get("year")?,
            applied_at: h.try_get("applied_at")?,
            created_at: h.try_get("created_at")?,
            lines,
        });
    }
    Ok(out)
}

/// Makes a forecast the year's headcount plan: each line's needed heads become the approved
/// heads of its department and position (other cells stay).
pub async fn apply_forecast(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(PLAN_MANAGE)?;
    let forecast = forecasts(tx.conn(), principal)
        .await?
        .into_iter()
        .find(|f| f.id == id)
        .ok_or(DomainError::NotFound("forecast"))?;
    let form = PlanForm {
        year: forecast.year as i32,
        rows: forecast
            .lines
            .iter()
            .map(|l| PlanLineForm { department_id: l.department_id, position_id: l.position_id, approved: l.needed })
            .collect(),
    };
    set_plan(tx, principal, &form).await?;
    sqlx::query("UPDATE hr_forecasts SET applied_at = $1 WHERE id = $2")
        .bind(tx.now().to_string())
        .bind(id)
        .execute(tx.conn())
        .await?;
    tx.audit("apply", "hr.forecast", Some(&id.to_string()), &json!({"applied_to": [null, forecast.year]})).await
}
