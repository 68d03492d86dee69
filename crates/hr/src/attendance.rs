//! Attendance and leave: shifts, the roster (an employee's shift per day), clock-in records
//! by hand or from a time clock's CSV (`employee number, date, in, out`; the whole file or
//! nothing), leave types with yearly allowances, leave requests counted in working days and
//! approved by a manager, balances; and each employee's month as payroll reads it — unpaid
//! leave days and overtime (minutes clocked beyond the rostered shift).

use crate::org::{EMPLOYEE_MANAGE, EMPLOYEE_READ};
use db::{Result, RowExt, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

/// Leave types every company starts with: (code, name, paid, days a year; 0 = no allowance).
pub const DEFAULT_LEAVE_TYPES: [(&str, &str, bool, i64); 4] = [
    ("annual", "年假 Annual leave", true, 5),
    ("sick", "病假 Sick leave", true, 0),
    ("personal", "事假 Personal leave", false, 0),
    ("marriage", "婚假 Marriage leave", true, 3),
];

async fn ensure_leave_types(tx: &mut Tx, company: i64) -> Result<()> {
    for (code, name, paid, days) in DEFAULT_LEAVE_TYPES {
        sqlx::query(
            "INSERT INTO hr_leave_types (company_id, code, name, paid, yearly_days) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (company_id, code) DO NOTHING",
        )
        .bind(company)
        .bind(code)
        .bind(name)
        .bind(i64::from(paid))
        .bind(days)
        .execute(tx.conn())
        .await?;
    }
    Ok(())
}

fn parse_time(p: &mut Problems, field: &str, text: &str) -> Option<chrono::NaiveTime> {
    match chrono::NaiveTime::parse_from_str(text.trim(), "%H:%M") {
        Ok(t) => Some(t),
        Err(_) => {
            p.add(field, "error.hr.time", text.trim());
            None
        }
    }
}

/// Minutes from `start` to `end`, across midnight when the end is earlier (a night shift).
fn span(start: chrono::NaiveTime, end: chrono::NaiveTime) -> i64 {
    let minutes = (end - start).num_minutes();
    if minutes <= 0 {
        minutes + 24 * 60
    } else {
        minutes
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShiftForm {
    pub code: String,
    pub name: String,
    pub starts: String,
    pub ends: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Shift {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub starts: String,
    pub ends: String,
    pub minutes: i64,
}

pub async fn create_shift(tx: &mut Tx, principal: &Principal, form: &ShiftForm) -> Result<i64> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let code = form.code.trim().to_uppercase();
    if code.is_empty() || code.chars().count() > 20 {
        p.add("code", "error.hr.code", &code);
    }
    if form.name.trim().is_empty() {
        p.add("name", "error.required", "");
    }
    let (starts, ends) = (parse_time(&mut p, "starts", &form.starts), parse_time(&mut p, "ends", &form.ends));
    p.finish()?;
    let (Some(starts), Some(ends)) = (starts, ends) else {
        return Err(DomainError::Internal("checked above".into()).into());
    };
    let id: i64 = sqlx::query(
        "INSERT INTO hr_shifts (company_id, code, name, starts, ends, minutes) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(form.name.trim())
    .bind(starts.format("%H:%M").to_string())
    .bind(ends.format("%H:%M").to_string())
    .bind(span(starts, ends))
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit("create", "hr.shift", Some(&id.to_string()), &json!({"code": [null, code]})).await?;
    Ok(id)
}

pub async fn shifts(conn: &mut db::Conn, company: i64) -> Result<Vec<Shift>> {
    sqlx::query("SELECT id, code, name, starts, ends, minutes FROM hr_shifts WHERE company_id = $1 ORDER BY code")
        .bind(company)
        .fetch_all(conn)
        .await?
        .iter()
        .map(|r| {
            Ok(Shift {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                starts: r.try_get("starts")?,
                ends: r.try_get("ends")?,
                minutes: r.try_get("minutes")?,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterForm {
    pub employee_id: i64,
    pub shift_id: i64,
    pub first_day: String,
    pub last_day: String,
    /// Working days only (Monday to Friday), or every day (a ward's rota).
    #[serde(default)]
    pub weekdays_only: bool,
}

/// Puts an employee on a shift for each day of a range (replacing what was rostered).
pub async fn roster(tx: &mut Tx, principal: &Principal, form: &RosterForm) -> Result<i64> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let first = p.check(kernel::dates::parse("first_day", &form.first_day));
    let last = p.check(kernel::dates::parse("last_day", &form.last_day));
    if let (Some(f), Some(l)) = (first, last) {
        if l < f || (l - f).num_days() > 366 {
            p.add("last_day", "error.hr.range", l.to_string());
        }
    }
    let known = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM hr_employees WHERE company_id = $1 AND id = $2) AS e, (SELECT COUNT(*) FROM hr_shifts WHERE company_id = $1 AND id = $3) AS s",
    )
    .bind(company)
    .bind(form.employee_id)
    .bind(form.shift_id)
    .fetch_one(tx.conn())
    .await?;
    if known.try_get::<i64, _>("e")? == 0 {
        p.add("employee_id", "error.hr.employee", form.employee_id.to_string());
    }
    if known.try_get::<i64, _>("s")? == 0 {
        p.add("shift_id", "error.hr.shift", form.shift_id.to_string());
    }
    p.finish()?;
    let (Some(first), Some(last)) = (first, last) else {
        return Err(DomainError::Internal("checked above".into()).into());
    };
    let days: Vec<chrono::NaiveDate> = first
        .iter_days()
        .take_while(|d| *d <= last)
        .filter(|d| !form.weekdays_only || chrono::Datelike::weekday(d).number_from_monday() <= 5)
        .collect();
    // A year's days in a few statements rather than one each.
    for chunk in days.chunks(ROWS_PER_STATEMENT) {
        let mut q = db::SqlBuilder::new("INSERT INTO hr_roster (company_id, employee_id, day, shift_id) VALUES ");
        for (i, day) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" }).bind(company).push(", ").bind(form.employee_id);
            q.push(", ").bind(day.to_string()).push(", ").bind(form.shift_id).push(")");
        }
        q.push(" ON CONFLICT (employee_id, day) DO UPDATE SET shift_id = excluded.shift_id");
        q.build().execute(tx.conn()).await?;
    }
    let days = days.len() as i64;
    tx.audit(
        "roster",
        "hr.employee",
        Some(&form.employee_id.to_string()),
        &json!({"shift_id": [null, form.shift_id], "days": [null, days], "from": [null, first.to_string()], "to": [null, last.to_string()]}),
    )
    .await?;
    Ok(days)
}

/// Imports clock-in records from a time clock's CSV: `employee number, YYYY-MM-DD, HH:MM,
/// HH:MM` per line (a header line is skipped). Every line is checked; one bad line refuses the
/// file, naming the line. A day already recorded is replaced.
pub async fn import_clock(tx: &mut Tx, principal: &Principal, csv: &str) -> Result<i64> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let numbers: HashMap<String, i64> = sqlx::query("SELECT id, number FROM hr_employees WHERE company_id = $1")
        .bind(company)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("number")?, r.try_get("id")?)))
        .collect::<std::result::Result<_, sqlx::Error>>()?;
    let mut p = Problems::default();
    let mut rows = Vec::new();
    // Spreadsheets save UTF-8 with a byte-order mark, which would hide the first number.
    let csv = csv.trim_start_matches('\u{feff}');
    for (i, line) in csv.lines().enumerate() {
        let cells: Vec<&str> = line.split([',', '\t']).map(str::trim).collect();
        if line.trim().is_empty() || (i == 0 && !cells[0].starts_with("EMP/")) {
            continue;
        }
        let field = |name: &str| format!("lines[{}].{name}", i + 1);
        if cells.len() < 4 {
            p.add(&field("columns"), "error.hr.clock_columns", (i + 1).to_string());
            continue;
        }
        let employee = numbers.get(cells[0]).copied();
        if employee.is_none() {
            p.add(&field("employee"), "error.hr.input_employee", cells[0]);
        }
        let day = match kernel::dates::parse(&field("date"), cells[1]) {
            Ok(d) => Some(d),
            Err(e) => {
                p.0.push(e);
                None
            }
        };
        let (clock_in, clock_out) =
            (parse_time(&mut p, &field("in"), cells[2]), parse_time(&mut p, &field("out"), cells[3]));
        if let (Some(e), Some(d), Some(a), Some(b)) = (employee, day, clock_in, clock_out) {
            if plausible_span(&mut p, &field("out"), a, b) {
                rows.push((e, d, a, b));
            }
        }
    }
    if rows.is_empty() && p.0.is_empty() {
        p.add("csv", "error.hr.clock_empty", "");
    }
    p.finish()?;
    store_punches(tx, company, &rows, "csv").await?;
    tx.audit("import", "hr.clock", None, &json!({"rows": [null, rows.len()]})).await?;
    Ok(rows.len() as i64)
}

/// A missed punch (in = out) or more than 16 hours is a mistake, not a long day.
fn plausible_span(p: &mut Problems, field: &str, clock_in: chrono::NaiveTime, clock_out: chrono::NaiveTime) -> bool {
    let plausible = clock_in != clock_out && span(clock_in, clock_out) <= 16 * 60;
    if !plausible {
        p.add(field, "error.hr.clock_span", clock_out.format("%H:%M").to_string());
    }
    plausible
}

/// Rows of one multi-row insert: a few hundred parameters keep SQLite's statement cheap.
const ROWS_PER_STATEMENT: usize = 50;

/// Stores clock records (employee, day, in, out), each replacing what its day had.
async fn store_punches(
    tx: &mut Tx,
    company: i64,
    rows: &[(i64, chrono::NaiveDate, chrono::NaiveTime, chrono::NaiveTime)],
    source: &str,
) -> Result<()> {
    // A day twice in one file: the last line wins (one statement may not touch a row twice).
    let mut last: HashMap<(i64, chrono::NaiveDate), usize> = HashMap::new();
    for (i, (employee, day, _, _)) in rows.iter().enumerate() {
        last.insert((*employee, *day), i);
    }
    let kept: Vec<_> = rows.iter().enumerate().filter(|(i, (e, d, _, _))| last.get(&(*e, *d)) == Some(i)).collect();
    for chunk in kept.chunks(ROWS_PER_STATEMENT) {
        let mut q = db::SqlBuilder::new(
            "INSERT INTO hr_clock (company_id, employee_id, day, clock_in, clock_out, minutes, source) VALUES ",
        );
        for (i, (_, (employee, day, clock_in, clock_out))) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" }).bind(company).push(", ").bind(*employee);
            q.push(", ").bind(day.to_string()).push(", ").bind(clock_in.format("%H:%M").to_string());
            q.push(", ").bind(clock_out.format("%H:%M").to_string()).push(", ").bind(span(*clock_in, *clock_out));
            q.push(", ").bind(source.to_string()).push(")");
        }
        q.push(
            " ON CONFLICT (employee_id, day) DO UPDATE SET clock_in = excluded.clock_in, clock_out = excluded.clock_out, \
             minutes = excluded.minutes, source = excluded.source",
        );
        q.build().execute(tx.conn()).await?;
    }
    Ok(())
}

/// One day's clock record entered by hand (a forgotten card, a broken clock): HR enters it
/// with the reason, which the audit trail keeps beside what the day had before.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockForm {
    pub employee_id: i64,
    pub day: String,
    pub clock_in: String,
    pub clock_out: String,
    pub reason: String,
}

pub async fn record_clock(tx: &mut Tx, principal: &Principal, form: &ClockForm) -> Result<()> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let known = sqlx::query("SELECT 1 FROM hr_employees WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(form.employee_id)
        .fetch_optional(tx.conn())
        .await?;
    if known.is_none() {
        p.add("employee_id", "error.hr.input_employee", form.employee_id.to_string());
    }
    let day = match kernel::dates::parse("day", &form.day) {
        Ok(d) => Some(d),
        Err(e) => {
            p.0.push(e);
            None
        }
    };
    let today = crate::china_today(tx)?;
    if day.is_some_and(|d| d > today) {
        p.add("day", "error.hr.clock_future", &form.day);
    }
    let (clock_in, clock_out) =
        (parse_time(&mut p, "clock_in", &form.clock_in), parse_time(&mut p, "clock_out", &form.clock_out));
    if let (Some(a), Some(b)) = (clock_in, clock_out) {
        plausible_span(&mut p, "clock_out", a, b);
    }
    if form.reason.trim().is_empty() {
        p.add("reason", "error.required", "");
    }
    p.finish()?;
    let (Some(day), Some(a), Some(b)) = (day, clock_in, clock_out) else {
        return Ok(());
    };
    let before = sqlx::query("SELECT clock_in, clock_out FROM hr_clock WHERE employee_id = $1 AND day = $2")
        .bind(form.employee_id)
        .bind(day.to_string())
        .fetch_optional(tx.conn())
        .await?
        .map(|r| -> std::result::Result<String, sqlx::Error> {
            Ok(format!("{}–{}", r.try_get::<String, _>("clock_in")?, r.try_get::<String, _>("clock_out")?))
        })
        .transpose()?;
    store_punches(tx, company, &[(form.employee_id, day, a, b)], "manual").await?;
    tx.audit(
        "update",
        "hr.clock",
        Some(&format!("{}:{day}", form.employee_id)),
        &json!({"punches": [before, format!("{}–{}", a.format("%H:%M"), b.format("%H:%M"))], "reason": [null, form.reason.trim()]}),
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaveForm {
    pub employee_id: i64,
    pub leave_type: String,
    pub first_day: String,
    pub last_day: String,
    #[serde(default)]
    pub reason: String,
}

/// Asks for leave: counted in working days; refused beyond the type's yearly balance.
pub async fn request_leave(tx: &mut Tx, principal: &Principal, form: &LeaveForm) -> Result<i64> {
    let company = principal.company_id.0;
    // The employee asks for themself; HR may enter it for anyone.
    let own = crate::org::own_employee(tx.conn(), principal).await? == Some(form.employee_id);
    if !own {
        principal.authorize(EMPLOYEE_MANAGE)?;
    }
    // The employee first: nothing about another company's staff is read.
    let exists = sqlx::query("SELECT 1 FROM hr_employees WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(form.employee_id)
        .fetch_optional(tx.conn())
        .await?;
    if exists.is_none() {
        return Err(DomainError::invalid("employee_id", "error.hr.employee", form.employee_id.to_string()).into());
    }
    ensure_leave_types(tx, company).await?;
    let holidays: Vec<chrono::NaiveDate> = crm::service_desk::holidays(tx.conn(), company)
        .await?
        .iter()
        .filter_map(|(day, _)| chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .collect();
    let mut p = Problems::default();
    let first = p.check(kernel::dates::parse("first_day", &form.first_day));
    let last = p.check(kernel::dates::parse("last_day", &form.last_day));
    let kind = sqlx::query("SELECT yearly_days FROM hr_leave_types WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(&form.leave_type)
        .fetch_optional(tx.conn())
        .await?;
    if kind.is_none() {
        p.add("leave_type", "error.hr.leave_type", &form.leave_type);
    }
    // A year's balance pays for its own days: leave over the new year is asked for as two.
    if let (Some(f), Some(l)) = (first, last) {
        if l >= f && chrono::Datelike::year(&l) != chrono::Datelike::year(&f) {
            p.add("last_day", "error.hr.leave_across_year", format!("{}-12-31", chrono::Datelike::year(&f)));
        }
    }
    let days = match (first, last) {
        (Some(f), Some(l)) if l >= f && (l - f).num_days() <= 366 => f
            .iter_days()
            .take_while(|d| *d <= l)
            .filter(|d| chrono::Datelike::weekday(d).number_from_monday() <= 5 && !holidays.contains(d))
            .count() as i64,
        (Some(_), Some(l)) => {
            p.add("last_day", "error.hr.range", l.to_string());
            0
        }
        _ => 0,
    };
    if days == 0 && p.0.is_empty() {
        p.add("last_day", "error.hr.no_working_days", "");
    }
    p.finish()?;
    let overlap = sqlx::query(
        "SELECT 1 FROM hr_leave_requests WHERE employee_id = $1 AND status IN ('pending', 'approved') AND first_day <= $2 AND last_day >= $3",
    )
    .bind(form.employee_id)
    .bind(last.map(|d| d.to_string()))
    .bind(first.map(|d| d.to_string()))
    .fetch_optional(tx.conn())
    .await?;
    if overlap.is_some() {
        return Err(DomainError::invalid("first_day", "error.hr.leave_overlap", form.first_day.trim()).into());
    }
    let allowance: i64 = kind.map(|k| k.try_get("yearly_days")).transpose()?.unwrap_or(0);
    if allowance > 0 {
        let year = first.map(|f| chrono::Datelike::year(&f)).unwrap_or(1970);
        let used = taken(tx.conn(), form.employee_id, &form.leave_type, year).await?;
        if used + days > allowance {
            return Err(
                DomainError::invalid("last_day", "error.hr.leave_balance", (allowance - used).to_string()).into()
            );
        }
    }
    let id: i64 = sqlx::query(
        "INSERT INTO hr_leave_requests (company_id, employee_id, leave_type, first_day, last_day, days, reason, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
    )
    .bind(company)
    .bind(form.employee_id)
    .bind(&form.leave_type)
    .bind(first.map(|d| d.to_string()))
    .bind(last.map(|d| d.to_string()))
    .bind(days)
    .bind(form.reason.trim())
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "hr.leave",
        Some(&id.to_string()),
        &json!({"employee_id": [null, form.employee_id], "days": [null, days]}),
    )
    .await?;
    Ok(id)
}

/// Days of a leave type pending or approved in a year.
async fn taken(conn: &mut db::Conn, employee: i64, leave_type: &str, year: i32) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT CAST(COALESCE(SUM(days), 0) AS BIGINT) AS n FROM hr_leave_requests WHERE employee_id = $1 AND leave_type = $2 \
         AND status IN ('pending', 'approved') AND first_day LIKE $3",
    )
    .bind(employee)
    .bind(leave_type)
    .bind(format!("{year:04}-%"))
    .fetch_one(conn)
    .await?
    .try_get("n")?)
}

/// Approves or rejects a pending request: the employee's manager, or HR.
pub async fn decide_leave(tx: &mut Tx, principal: &Principal, id: i64, approve: bool) -> Result<()> {
    let company = principal.company_id.0;
    let row = sqlx::query(
        "SELECT l.status, e.user_id AS own_user, m.user_id AS manager_user FROM hr_leave_requests l JOIN hr_employees e ON e.id = l.employee_id \
         LEFT JOIN hr_employees m ON m.id = e.manager_id WHERE l.company_id = $1 AND l.id = $2",
    )
    .bind(company)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(DomainError::NotFound("leave request"))?;
    if row.try_get::<Option<i64>, _>("own_user")? == Some(principal.user_id.0) {
        // Nobody approves their own leave, HR included.
        return Err(DomainError::Forbidden("approving one's own leave".into()).into());
    }
    if row.try_get::<Option<i64>, _>("manager_user")? != Some(principal.user_id.0) {
        principal.authorize(EMPLOYEE_MANAGE)?;
    }
    let status: String = row.try_get("status")?;
    if status != "pending" {
        return Err(db::document::wrong_status(&status));
    }
    let to = if approve { "approved" } else { "rejected" };
    // Re-checked by the update itself: of two deciders at once, the second changes nothing.
    let decided =
        sqlx::query("UPDATE hr_leave_requests SET status = $1, decided_by = $2 WHERE id = $3 AND status = 'pending'")
            .bind(to)
            .bind(principal.user_id.0)
            .bind(id)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if decided != 1 {
        return Err(DomainError::Conflict("the request was decided meanwhile".into()).into());
    }
    tx.audit(
        if approve { "approve" } else { "reject" },
        "hr.leave",
        Some(&id.to_string()),
        &json!({"status": [status, to]}),
    )
    .await
}

#[derive(Debug, Clone, Serialize)]
pub struct LeaveRequest {
    pub id: i64,
    pub employee_id: i64,
    pub employee: String,
    pub leave_type: String,
    pub first_day: String,
    pub last_day: String,
    pub days: i64,
    pub reason: String,
    pub status: String,
}

pub async fn leave_requests(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<LeaveRequest>> {
    principal.authorize(EMPLOYEE_READ)?;
    // Why someone is away is theirs: HR, the employee and their manager read the reason;
    // others see that leave was asked for, not why.
    let hr = principal.may(EMPLOYEE_MANAGE);
    let own = crate::org::own_employee(&mut *conn, principal).await?;
    sqlx::query(
        "SELECT l.id, l.employee_id, e.manager_id, e.number || ' ' || p.name AS employee, l.leave_type, l.first_day, l.last_day, l.days, l.reason, l.status \
         FROM hr_leave_requests l JOIN hr_employees e ON e.id = l.employee_id JOIN parties p ON p.id = e.party_id \
         WHERE l.company_id = $1 ORDER BY l.first_day DESC, l.id DESC LIMIT 500",
    )
    .bind(principal.company_id.0)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let (employee, manager): (i64, Option<i64>) = (r.try_get("employee_id")?, r.try_get("manager_id")?);
        let may_read_reason = hr || (own.is_some() && (own == Some(employee) || own == manager));
        Ok(LeaveRequest {
            id: r.try_get("id")?,
            employee_id: r.try_get("employee_id")?,
            employee: r.try_get("employee")?,
            leave_type: r.try_get("leave_type")?,
            first_day: r.try_get("first_day")?,
            last_day: r.try_get("last_day")?,
            days: r.try_get("days")?,
            reason: if may_read_reason { r.try_get("reason")? } else { String::new() },
            status: r.try_get("status")?,
        })
    })
    .collect()
}

/// An employee's month as payroll reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Month {
    /// The weekdays of approved unpaid leave in the month; payroll counts those that are
    /// working days of the employment (not holidays, not before the hire or after the exit).
    pub unpaid_days: Vec<chrono::NaiveDate>,
    /// Minutes clocked beyond the rostered shift, summed over the month's days.
    pub overtime_minutes: i64,
}

/// Every employee's month: unpaid leave days within the month, and overtime from the clock.
pub async fn months(
    conn: &mut db::Conn,
    company: i64,
    first: chrono::NaiveDate,
    last: chrono::NaiveDate,
) -> Result<HashMap<i64, Month>> {
    let mut out: HashMap<i64, Month> = HashMap::new();
    for r in sqlx::query(
        "SELECT l.employee_id, l.first_day, l.last_day FROM hr_leave_requests l JOIN hr_leave_types t ON t.company_id = l.company_id AND t.code = l.leave_type \
         WHERE l.company_id = $1 AND l.status = 'approved' AND t.paid = 0 AND l.first_day <= $2 AND l.last_day >= $3",
    )
    .bind(company)
    .bind(last.to_string())
    .bind(first.to_string())
    .fetch_all(&mut *conn)
    .await?
    {
        let parse = |t: String| chrono::NaiveDate::parse_from_str(&t, "%Y-%m-%d").ok();
        let (Some(from), Some(to)) = (parse(r.try_get("first_day")?), parse(r.try_get("last_day")?)) else {
            continue;
        };
        let days = from.max(first).iter_days().take_while(|d| *d <= to.min(last));
        out.entry(r.try_get("employee_id")?).or_default().unpaid_days.extend(days);
    }
    for r in sqlx::query(
        // A day without a rostered shift (a rest day) is overtime from the first minute.
        "SELECT c.employee_id, CAST(SUM(CASE WHEN c.minutes > COALESCE(s.minutes, 0) THEN c.minutes - COALESCE(s.minutes, 0) ELSE 0 END) AS BIGINT) AS overtime \
         FROM hr_clock c LEFT JOIN hr_roster o ON o.employee_id = c.employee_id AND o.day = c.day LEFT JOIN hr_shifts s ON s.id = o.shift_id \
         WHERE c.company_id = $1 AND c.day >= $2 AND c.day <= $3 GROUP BY c.employee_id",
    )
    .bind(company)
    .bind(first.to_string())
    .bind(last.to_string())
    .fetch_all(&mut *conn)
    .await?
    {
        out.entry(r.try_get("employee_id")?).or_default().overtime_minutes += r.try_get::<i64, _>("overtime")?;
    }
    Ok(out)
}

/// Each employee's balance of the leave types with an allowance, for a year.
#[derive(Debug, Clone, Serialize)]
pub struct Balance {
    pub employee_id: i64,
    pub employee: String,
    pub leave_type: String,
    pub allowance: i64,
    pub taken: i64,
    pub left: i64,
}

pub async fn balances(conn: &mut db::Conn, principal: &Principal, year: i32) -> Result<Vec<Balance>> {
    principal.authorize(EMPLOYEE_READ)?;
    sqlx::query(
        "SELECT e.id, e.number || ' ' || p.name AS employee, t.code, t.yearly_days, \
           CAST(COALESCE((SELECT SUM(l.days) FROM hr_leave_requests l WHERE l.employee_id = e.id AND l.leave_type = t.code \
             AND l.status IN ('pending', 'approved') AND l.first_day LIKE $2), 0) AS BIGINT) AS taken \
         FROM hr_employees e JOIN parties p ON p.id = e.party_id JOIN hr_leave_types t ON t.company_id = e.company_id AND t.yearly_days > 0 \
         WHERE e.company_id = $1 AND e.status <> 'exited' ORDER BY e.number, t.code LIMIT 2000",
    )
    .bind(principal.company_id.0)
    .bind(format!("{year:04}-%"))
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        let (allowance, taken): (i64, i64) = (r.try_get("yearly_days")?, r.try_get("taken")?);
        Ok(Balance {
            employee_id: r.try_get("id")?,
            employee: r.try_get("employee")?,
            leave_type: r.try_get("code")?,
            allowance,
            taken,
            left: allowance - taken,
        })
    })
    .collect()
}

#[cfg(test)]
mod tests {
    use super::span;

    #[test]
    fn a_night_shift_runs_across_midnight() {
        let t = |s: &str| chrono::NaiveTime::parse_from_str(s, "%H:%M").unwrap();
        assert_eq!(span(t("09:00"), t("18:00")), 540);
        assert_eq!(span(t("22:00"), t("06:00")), 480);
    }
}
