//! Payroll: social insurance city rules, salary structures whose components are formulas, and
//! payroll runs. A run computes one payslip per employee for a month — components, social
//! insurance and housing fund by the employee's city, individual income tax by cumulative
//! withholding and on a separately taxed annual bonus — all or nothing: the first employee
//! that cannot be computed stops the run with their number and the reason, and nothing is
//! stored. Posting a run writes one voucher to finance (wages by department to the
//! department's expense account, 2211; withholdings to 2241 and 222103) and freezes it;
//! a posted period is corrected by an off-cycle run, never by re-running it.

use crate::domain::{self, CityRule, Formula, TaxMonth, TaxYear};
use crate::org::PAY_READ;
use db::{Result, RowExt, Tx};
use finance::chart::Role;
use finance::dimensions::Dimension;
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;

pub const PAYROLL_MANAGE: &str = "hr.payroll.manage";
pub const PAYROLL_POST: &str = "hr.payroll.post";

/// Figures a run's inputs may set per employee (all default to 0): overtime hours, a sales
/// figure for commissions, unpaid absence days, and an annual one-time bonus (taxed apart).
pub const INPUT_FIGURES: [&str; 4] = ["overtime_hours", "sales_amount", "absence_days", "annual_bonus"];

/// A city's rule as typed: amounts in yuan, rates in percent (e.g. "8", "0.26").
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CityRuleForm {
    pub city: String,
    pub year: i32,
    pub floor: String,
    pub cap: String,
    pub pension_employee: String,
    pub medical_employee: String,
    pub unemployment_employee: String,
    pub pension_employer: String,
    pub medical_employer: String,
    pub unemployment_employer: String,
    pub injury_employer: String,
    pub housing_fund: String,
    /// fen (the default), jiao or yuan.
    #[serde(default)]
    pub rounding: String,
}

impl CityRuleForm {
    /// The form showing a stored rule, to edit it.
    pub fn of(rule: &CityRule) -> Self {
        let percent = |bp: i64| finance::domain::yuan(bp).trim_end_matches('0').trim_end_matches('.').to_string();
        CityRuleForm {
            city: rule.city.clone(),
            year: rule.year,
            floor: finance::domain::yuan(rule.floor),
            cap: finance::domain::yuan(rule.cap),
            pension_employee: percent(rule.pension_employee_bp),
            medical_employee: percent(rule.medical_employee_bp),
            unemployment_employee: percent(rule.unemployment_employee_bp),
            pension_employer: percent(rule.pension_employer_bp),
            medical_employer: percent(rule.medical_employer_bp),
            unemployment_employer: percent(rule.unemployment_employer_bp),
            injury_employer: percent(rule.injury_employer_bp),
            housing_fund: percent(rule.housing_fund_bp),
            rounding: rule.rounding.clone(),
        }
    }
}

/// A rate typed in percent with at most two decimals, in basis points (8 → 800,
/// 0.26 → 26), between `min` and `max` bp.
fn percent_bp(p: &mut Problems, field: &str, text: &str, (min, max): (i64, i64)) -> i64 {
    // Percent with two decimals is hundredths of a percent: the amount parser's fen.
    let mut own = Problems::default();
    let bp = own.amount(field, text);
    if !own.0.is_empty() || text.trim().is_empty() || !(min..=max).contains(&bp) {
        p.add(field, "error.hr.rate", format!("{}–{} %", finance::domain::yuan(min), finance::domain::yuan(max)));
    }
    bp
}

/// Creates or replaces a city's social insurance and housing fund rule for a year (the
/// sample rule stops being a sample once HR saves it). Audited with what it replaced.
pub async fn save_city_rule(tx: &mut Tx, principal: &Principal, form: &CityRuleForm) -> Result<()> {
    principal.authorize(PAYROLL_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let city = form.city.trim();
    if city.is_empty() || city.chars().count() > 40 {
        p.add("city", "error.required", city);
    }
    if !(2000..=2100).contains(&form.year) {
        p.add("year", "error.hr.year", form.year.to_string());
    }
    let floor = p.amount("floor", &form.floor);
    let cap = p.amount("cap", &form.cap);
    if floor == 0 && !p.0.iter().any(|e| e.field == "floor") {
        p.add("floor", "error.hr.positive", &form.floor);
    }
    if cap < floor {
        p.add("cap", "error.hr.cap_below_floor", &form.cap);
    }
    // Contribution rates stay below half the base; the housing fund is 5 %–12 % by law.
    let share = (0, 5_000);
    let rule = CityRule {
        city: city.to_string(),
        year: form.year,
        floor,
        cap,
        pension_employee_bp: percent_bp(&mut p, "pension_employee", &form.pension_employee, share),
        medical_employee_bp: percent_bp(&mut p, "medical_employee", &form.medical_employee, share),
        unemployment_employee_bp: percent_bp(&mut p, "unemployment_employee", &form.unemployment_employee, share),
        pension_employer_bp: percent_bp(&mut p, "pension_employer", &form.pension_employer, share),
        medical_employer_bp: percent_bp(&mut p, "medical_employer", &form.medical_employer, share),
        unemployment_employer_bp: percent_bp(&mut p, "unemployment_employer", &form.unemployment_employer, share),
        injury_employer_bp: percent_bp(&mut p, "injury_employer", &form.injury_employer, share),
        housing_fund_bp: percent_bp(&mut p, "housing_fund", &form.housing_fund, (500, 1_200)),
        rounding: match form.rounding.trim() {
            "" => "fen".to_string(),
            r => r.to_string(),
        },
        sample: false,
    };
    if !domain::ROUNDINGS.iter().any(|(name, _)| *name == rule.rounding) {
        p.add("rounding", "error.hr.rounding", &rule.rounding);
    }
    p.finish()?;
    let before =
        crate::pay_rules::city_rules(tx.conn(), company, form.year).await?.into_iter().find(|r| r.city == rule.city);
    crate::pay_rules::store_city_rule(tx, company, &rule, true).await?;
    tx.audit(
        if before.is_some() { "update" } else { "create" },
        "hr.city_rule",
        Some(&format!("{}:{}", rule.city, rule.year)),
        &json!({"rule": [before, rule]}),
    )
    .await?;
    Ok(())
}

// ---- Structures ----

#[derive(Debug, Clone, Serialize)]
pub struct Component {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub formula: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Structure {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StructureForm {
    pub code: String,
    pub name: String,
    pub components: Vec<ComponentForm>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentForm {
    pub code: String,
    pub name: String,
    /// earning or deduction.
    pub kind: String,
    pub formula: String,
}

/// Each employee's base salaries by the date they took effect, up to `last`, in order.
async fn pay_history(
    tx: &mut Tx,
    company: i64,
    last: chrono::NaiveDate,
) -> Result<HashMap<i64, Vec<(chrono::NaiveDate, i64)>>> {
    let mut out: HashMap<i64, Vec<(chrono::NaiveDate, i64)>> = HashMap::new();
    for r in sqlx::query(
        "SELECT h.employee_id, h.effective_date, h.base_salary FROM hr_pay_history h JOIN hr_employees e ON e.id = h.employee_id \
         WHERE e.company_id = $1 AND h.effective_date <= $2 ORDER BY h.employee_id, h.effective_date",
    )
    .bind(company)
    .bind(last.to_string())
    .fetch_all(tx.conn())
    .await?
    {
        if let Ok(day) = chrono::NaiveDate::parse_from_str(&r.try_get::<String, _>("effective_date")?, "%Y-%m-%d") {
            out.entry(r.try_get("employee_id")?).or_default().push((day, r.try_get("base_salary")?));
        }
    }
    Ok(out)
}

/// Each employee's leaves of absence up to `last`, from their dated lifecycle events: from
/// the leave's effective date up to the day before the return's (open while not returned).
async fn leaves_of_absence(
    tx: &mut Tx,
    company: i64,
    last: chrono::NaiveDate,
) -> Result<HashMap<i64, Vec<std::ops::Range<chrono::NaiveDate>>>> {
    let far = chrono::NaiveDate::MAX;
    let mut out: HashMap<i64, Vec<std::ops::Range<chrono::NaiveDate>>> = HashMap::new();
    for r in sqlx::query(
        "SELECT v.employee_id, v.kind, v.effective_date FROM hr_employee_events v JOIN hr_employees e ON e.id = v.employee_id \
         WHERE e.company_id = $1 AND v.kind IN ('leave', 'return') AND v.effective_date <= $2 \
         ORDER BY v.employee_id, v.effective_date, v.id",
    )
    .bind(company)
    .bind(last.to_string())
    .fetch_all(tx.conn())
    .await?
    {
        let Ok(day) = chrono::NaiveDate::parse_from_str(&r.try_get::<String, _>("effective_date")?, "%Y-%m-%d") else {
            continue;
        };
        let spans = out.entry(r.try_get("employee_id")?).or_default();
        match r.try_get::<String, _>("kind")?.as_str() {
            "leave" => spans.push(day..far),
            _ => {
                if let Some(open) = spans.last_mut().filter(|s| s.end == far) {
                    open.end = day;
                }
            }
        }
    }
    Ok(out)
}

/// The figures every formula may read besides the inputs and earlier components.
pub const BASE_FIGURES: [&str; 5] = ["base", "work_days", "days_worked", "target_bonus", "rating_percent"];

/// Checks a structure: codes unique and well formed, kinds known, every formula parses and
/// reads only known figures or components before it.
fn check_structure(form: &StructureForm) -> std::result::Result<Vec<ParsedComponent>, DomainError> {
    let mut p = Problems::default();
    if !domain::valid_code(&form.code.to_lowercase()) {
        p.add("code", "error.hr.code", &form.code);
    }
    if form.name.trim().is_empty() {
        p.add("name", "error.required", "");
    }
    if form.components.is_empty() || form.components.len() > 50 {
        p.add("components", "error.hr.components", form.components.len().to_string());
    }
    // The annual bonus is paid and taxed apart, never through a formula (it would count twice).
    let mut known: Vec<String> = BASE_FIGURES
        .iter()
        .chain(INPUT_FIGURES.iter())
        .filter(|f| **f != "annual_bonus")
        .map(|s| s.to_string())
        .collect();
    let mut out = Vec::new();
    for (i, c) in form.components.iter().enumerate() {
        let field = |name: &str| format!("components[{i}].{name}");
        let code = c.code.trim().to_string();
        if !domain::valid_code(&code) || known.contains(&code) {
            p.add(&field("code"), "error.hr.component_code", &code);
        }
        if c.name.trim().is_empty() {
            p.add(&field("name"), "error.required", "");
        }
        if c.kind != "earning" && c.kind != "deduction" {
            p.add(&field("kind"), "error.hr.component_kind", &c.kind);
        }
        match Formula::parse(&c.formula) {
            Ok(formula) => {
                if let Some(unknown) = formula.figures().into_iter().find(|f| !known.contains(f)) {
                    p.add(&field("formula"), "error.hr.formula", format!("unknown figure “{unknown}”"));
                }
                out.push((code.clone(), c.name.trim().to_string(), c.kind.clone(), formula));
            }
            Err(e) => p.add(&field("formula"), "error.hr.formula", e.0),
        }
        known.push(code);
    }
    p.finish()?;
    Ok(out)
}

pub async fn create_structure(tx: &mut Tx, principal: &Principal, form: &StructureForm) -> Result<i64> {
    principal.authorize(PAYROLL_MANAGE)?;
    let company = principal.company_id.0;
    let components = check_structure(form)?;
    let code = form.code.trim().to_uppercase();
    let taken = sqlx::query("SELECT 1 FROM hr_structures WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(&code)
        .fetch_optional(tx.conn())
        .await?;
    if taken.is_some() {
        return Err(DomainError::invalid("code", "error.hr.duplicate_code", code).into());
    }
    let id: i64 = sqlx::query(
        "INSERT INTO hr_structures (company_id, code, name, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(form.name.trim())
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    for (i, (c, form_component)) in components.iter().zip(&form.components).enumerate() {
        crate::pay_rules::insert_component(tx, id, i as i64 + 1, &c.0, &c.1, &c.2, form_component.formula.trim())
            .await?;
    }
    tx.audit(
        "create",
        "hr.structure",
        Some(&id.to_string()),
        &json!({"code": [null, code], "components": [null, components.iter().map(|c| c.0.clone()).collect::<Vec<_>>()]}),
    )
    .await?;
    Ok(id)
}

/// Replaces a structure's name and components (its code stays). Runs computed from now on use
/// them; posted payslips keep the lines they were paid with. Audited with the formulas before
/// and after.
pub async fn update_structure(tx: &mut Tx, principal: &Principal, id: i64, form: &StructureForm) -> Result<()> {
    principal.authorize(PAYROLL_MANAGE)?;
    let company = principal.company_id.0;
    let code: String = sqlx::query("SELECT code FROM hr_structures WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("structure"))?
        .try_get("code")?;
    if form.code.trim().to_uppercase() != code {
        return Err(DomainError::invalid("code", "error.hr.structure_code_fixed", code).into());
    }
    let components = check_structure(form)?;
    let before: Vec<String> = structures(tx.conn(), company)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .map(|s| s.components.iter().map(|c| format!("{} = {}", c.code, c.formula)).collect())
        .unwrap_or_default();
    sqlx::query("UPDATE hr_structures SET name = $1 WHERE id = $2")
        .bind(form.name.trim())
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM hr_components WHERE structure_id = $1").bind(id).execute(tx.conn()).await?;
    for (i, (c, form_component)) in components.iter().zip(&form.components).enumerate() {
        crate::pay_rules::insert_component(tx, id, i as i64 + 1, &c.0, &c.1, &c.2, form_component.formula.trim())
            .await?;
    }
    let after: Vec<String> =
        components.iter().zip(&form.components).map(|(c, f)| format!("{} = {}", c.0, f.formula.trim())).collect();
    tx.audit("update", "hr.structure", Some(&id.to_string()), &json!({"components": [before, after]})).await
}

pub async fn structures(conn: &mut db::Conn, company: i64) -> Result<Vec<Structure>> {
    let rows = sqlx::query(
        "SELECT s.id, s.code, s.name, c.code AS component, c.name AS component_name, c.kind, c.formula \
         FROM hr_structures s JOIN hr_components c ON c.structure_id = s.id WHERE s.company_id = $1 ORDER BY s.code, c.position",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    let mut out: Vec<Structure> = Vec::new();
    for r in &rows {
        let id: i64 = r.try_get("id")?;
        if out.last().map(|s| s.id) != Some(id) {
            out.push(Structure { id, code: r.try_get("code")?, name: r.try_get("name")?, components: Vec::new() });
        }
        if let Some(s) = out.last_mut() {
            s.components.push(Component {
                code: r.try_get("component")?,
                name: r.try_get("component_name")?,
                kind: r.try_get("kind")?,
                formula: r.try_get("formula")?,
            });
        }
    }
    Ok(out)
}

// ---- Runs ----

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunForm {
    /// `YYYY-MM`.
    pub period: String,
    /// regular (default) or off_cycle.
    #[serde(default)]
    pub kind: String,
    /// `YYYY-MM-DD`; default the last day of the period.
    #[serde(default)]
    pub pay_date: String,
    #[serde(default)]
    pub inputs: Vec<InputForm>,
}

/// One figure for one employee in a run (overtime hours, a sales figure, an annual bonus …).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputForm {
    /// The employee's number, `EMP/000001`.
    pub employee: String,
    pub code: String,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub id: i64,
    pub number: String,
    pub period: String,
    pub kind: String,
    pub status: String,
    pub pay_date: String,
    pub employees: i64,
    pub gross: i64,
    pub net: i64,
    pub employer_cost: i64,
    pub entry_number: Option<String>,
    pub created_at: String,
    pub posted_at: Option<String>,
}

fn parse_period(p: &mut Problems, text: &str) -> Option<(i32, u32)> {
    let parsed = chrono::NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d").ok();
    match parsed {
        Some(d) if text.trim().len() == 7 => Some((chrono::Datelike::year(&d), chrono::Datelike::month(&d))),
        _ => {
            p.add("period", "error.hr.period", text.trim());
            None
        }
    }
}

fn month_bounds(year: i32, month: u32) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let first = chrono::NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    let next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    (first, next.and_then(|d| d.pred_opt()).unwrap_or(first))
}

/// Creates and computes a run. A second regular run for a period is refused: a posted one is
/// corrected off-cycle, a draft one is recomputed.
pub async fn create_run(tx: &mut Tx, principal: &Principal, form: &RunForm) -> Result<i64> {
    principal.authorize(PAYROLL_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let period = parse_period(&mut p, &form.period);
    let kind = match form.kind.trim() {
        "" => "regular",
        k => k,
    };
    if kind != "regular" && kind != "off_cycle" {
        p.add("kind", "error.hr.run_kind", kind);
    }
    if kind == "off_cycle" && form.inputs.is_empty() {
        p.add("inputs", "error.hr.off_cycle_inputs", "");
    }
    let pay_date = match (form.pay_date.trim(), period) {
        ("", Some((y, m))) => Some(month_bounds(y, m).1),
        ("", None) => None,
        (text, _) => p.check(kernel::dates::parse("pay_date", text)),
    };
    p.finish()?;
    let (Some((year, month)), Some(pay_date)) = (period, pay_date) else {
        return Err(DomainError::Internal("checked above".into()).into());
    };
    let period = format!("{year:04}-{month:02}");
    if kind == "regular" {
        let existing = sqlx::query(
            "SELECT number, status FROM hr_payroll_runs WHERE company_id = $1 AND period = $2 AND kind = 'regular'",
        )
        .bind(company)
        .bind(&period)
        .fetch_optional(tx.conn())
        .await?;
        if let Some(r) = existing {
            let (number, status): (String, String) = (r.try_get("number")?, r.try_get("status")?);
            return Err(DomainError::Conflict(if status == "posted" {
                format!("the payroll of {period} is posted ({number}); corrections are an off-cycle run")
            } else {
                format!("the payroll of {period} is already drafted ({number}); recompute it")
            })
            .into());
        }
    }
    let number = tx.next_number(company, "payroll", year, "PAY/{year}/{seq:04}").await?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_payroll_runs (company_id, number, period, kind, status, pay_date, inputs, created_at, created_by) \
         VALUES ($1, $2, $3, $4, 'draft', $5, $6, $7, $8) RETURNING id",
    )
    .bind(company)
    .bind(&number)
    .bind(&period)
    .bind(kind)
    .bind(pay_date.to_string())
    .bind(serde_json::to_string(&form.inputs).unwrap_or_else(|_| "[]".into()))
    .bind(tx.now().to_string())
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    compute(tx, company, id, year, month, kind, &form.inputs).await?;
    tx.audit(
        "create",
        "hr.payroll_run",
        Some(&id.to_string()),
        &json!({"number": [null, number], "period": [null, period], "kind": [null, kind]}),
    )
    .await?;
    Ok(id)
}

/// Computes a draft run again from today's terms and inputs (after a correction).
pub async fn recompute(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(PAYROLL_MANAGE)?;
    let company = principal.company_id.0;
    let run = lock_run(tx, company, id).await?;
    if run.status != "draft" {
        return Err(DomainError::Conflict(format!("{} is posted; corrections are an off-cycle run", run.number)).into());
    }
    let inputs: Vec<InputForm> = sqlx::query("SELECT inputs FROM hr_payroll_runs WHERE id = $1")
        .bind(id)
        .fetch_one(tx.conn())
        .await?
        .try_get::<String, _>("inputs")
        .map(|text| serde_json::from_str(&text).unwrap_or_default())?;
    sqlx::query("DELETE FROM hr_payslip_lines WHERE payslip_id IN (SELECT id FROM hr_payslips WHERE run_id = $1)")
        .bind(id)
        .execute(tx.conn())
        .await?;
    sqlx::query("DELETE FROM hr_payslips WHERE run_id = $1").bind(id).execute(tx.conn()).await?;
    let (year, month) = (run.period[..4].parse().unwrap_or(1970), run.period[5..].parse().unwrap_or(1));
    compute(tx, company, id, year, month, &run.kind, &inputs).await?;
    tx.audit("recompute", "hr.payroll_run", Some(&id.to_string()), &json!({"number": [null, run.number]})).await
}

async fn lock_run(tx: &mut Tx, company: i64, id: i64) -> Result<Run> {
    // Touching the row takes its lock on PostgreSQL (and the write lock on SQLite), so two
    // posts of one run are serialised and the second sees the first one's status.
    sqlx::query("UPDATE hr_payroll_runs SET status = status WHERE company_id = $1 AND id = $2")
        .bind(company)
        .bind(id)
        .execute(tx.conn())
        .await?;
    let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM hr_payroll_runs WHERE company_id = $1 AND id = $2"))
        .bind(company)
        .bind(id)
        .fetch_optional(tx.conn())
        .await?
        .ok_or(DomainError::NotFound("payroll run"))?;
    Ok(run_of(&row)?)
}

const RUN_COLUMNS: &str =
    "id, number, period, kind, status, pay_date, employees, gross, net, employer_cost, entry_number, created_at, posted_at";

fn run_of(r: &db::Row) -> std::result::Result<Run, sqlx::Error> {
    Ok(Run {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        period: r.try_get("period")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        pay_date: r.try_get("pay_date")?,
        employees: r.try_get("employees")?,
        gross: r.try_get("gross")?,
        net: r.try_get("net")?,
        employer_cost: r.try_get("employer_cost")?,
        entry_number: r.try_get("entry_number")?,
        created_at: r.try_get("created_at")?,
        posted_at: r.try_get("posted_at")?,
    })
}

pub async fn runs(conn: &mut db::Conn, principal: &Principal) -> Result<Vec<Run>> {
    principal.authorize(PAY_READ)?;
    let rows = sqlx::query(&format!(
        "SELECT {RUN_COLUMNS} FROM hr_payroll_runs WHERE company_id = $1 ORDER BY period DESC, id DESC LIMIT 200"
    ))
    .bind(principal.company_id.0)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(run_of).collect::<std::result::Result<_, _>>()?)
}

pub async fn run(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Run> {
    principal.authorize(PAY_READ)?;
    let row = sqlx::query(&format!("SELECT {RUN_COLUMNS} FROM hr_payroll_runs WHERE company_id = $1 AND id = $2"))
        .bind(principal.company_id.0)
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or(DomainError::NotFound("payroll run"))?;
    Ok(run_of(&row)?)
}

/// What one employee's payslip is computed from.
#[derive(Debug, Clone)]
pub struct SlipInput {
    pub employee_id: i64,
    pub label: String,
    pub department_id: i64,
    pub base_salary: i64,
    pub contribution_base: i64,
    pub housing_fund_bp: Option<i64>,
    pub additional_deductions: i64,
    pub target_bonus: i64,
    pub work_days: i64,
    pub days_employed: i64,
    pub rating_percent: Decimal,
    pub inputs: HashMap<String, Decimal>,
    pub before: TaxYear,
    /// A regular run: the month counts, contributions are due, every component pays. An
    /// off-cycle run pays only what its inputs drive and does not count the month again.
    pub new_month: bool,
    /// The annual bonus may be taxed apart: through 2027, and once a year per employee.
    pub separate_bonus: bool,
}

/// A computed payslip line: component code, name, kind and amount in fen.
pub type SlipLine = (String, String, String, i64);

/// A checked component: code, name, kind and its parsed formula.
pub type ParsedComponent = (String, String, String, Formula);

/// A computed payslip (fen).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Slip {
    pub lines: Vec<SlipLine>,
    pub gross: i64,
    pub bonus: i64,
    pub contributions: domain::Contributions,
    pub withholding: domain::Withholding,
    pub bonus_iit: i64,
    pub other_deductions: i64,
    pub net: i64,
}

/// Computes one payslip; the error is the reason, for the run's message.
pub fn compute_slip(
    input: &SlipInput,
    components: &[ParsedComponent],
    rule: &CityRule,
) -> std::result::Result<Slip, String> {
    let yuan = |fen: i64| Decimal::new(fen, 2);
    let mut figures: HashMap<String, Decimal> = input.inputs.clone();
    for name in INPUT_FIGURES {
        figures.entry(name.to_string()).or_insert(Decimal::ZERO);
    }
    let absence = figures.get("absence_days").copied().unwrap_or_default();
    let days_worked = (Decimal::from(input.days_employed) - absence).max(Decimal::ZERO);
    figures.insert("base".into(), yuan(input.base_salary));
    figures.insert("work_days".into(), Decimal::from(input.work_days.max(1)));
    figures.insert("days_worked".into(), days_worked);
    figures.insert("target_bonus".into(), yuan(input.target_bonus));
    figures.insert("rating_percent".into(), input.rating_percent);
    let mut lines = Vec::with_capacity(components.len());
    let (mut gross, mut other_deductions) = (0i64, 0i64);
    // Off-cycle, a component pays only if it reads an input or a component that does: a
    // correction of overtime pays the overtime, not a second month's salary.
    let mut driven: Vec<String> = INPUT_FIGURES.iter().map(|s| s.to_string()).collect();
    for (code, name, kind, formula) in components {
        let pays = input.new_month || formula.figures().iter().any(|f| driven.contains(f));
        if !pays {
            figures.insert(code.clone(), Decimal::ZERO);
            continue;
        }
        driven.push(code.clone());
        let fen = formula.fen(&figures).map_err(|e| format!("{code}: {e}"))?;
        if fen < 0 {
            return Err(format!("{code}: {} is negative", yuan(fen)));
        }
        figures.insert(code.clone(), yuan(fen));
        if kind == "earning" {
            gross += fen;
        } else {
            other_deductions += fen;
        }
        lines.push((code.clone(), name.clone(), kind.clone(), fen));
    }
    let mut bonus = domain::to_fen(figures.get("annual_bonus").copied().unwrap_or_default() * Decimal::from(100));
    if !input.separate_bonus {
        // After the separate taxation ends, or for a second bonus in a year, the bonus is
        // simply wages of the month.
        gross += bonus;
        bonus = 0;
    }
    let contributions = if input.new_month {
        domain::contributions(rule, input.contribution_base, input.housing_fund_bp)
    } else {
        domain::Contributions::default()
    };
    let month = TaxMonth {
        wages: gross,
        special: contributions.employee(),
        additional: if input.new_month { input.additional_deductions } else { 0 },
        other: 0,
    };
    let withholding = if input.new_month {
        domain::withhold(&input.before, &month)
    } else {
        domain::withhold_again(&input.before, &month)
    };
    let bonus_iit = domain::annual_bonus_tax(bonus);
    let net = gross + bonus - contributions.employee() - withholding.tax - bonus_iit - other_deductions;
    if net < 0 {
        return Err(format!("the net pay would be {}", yuan(net)));
    }
    Ok(Slip { lines, gross, bonus, contributions, withholding, bonus_iit, other_deductions, net })
}

/// Computes every payslip of a run and stores them with the run's totals, or stores nothing
/// and names the first employee that failed.
async fn compute(
    tx: &mut Tx,
    company: i64,
    run: i64,
    year: i32,
    month: u32,
    kind: &str,
    inputs: &[InputForm],
) -> Result<()> {
    crate::pay_rules::ensure_defaults(tx, company, year).await?;
    let (first, last) = month_bounds(year, month);
    let period = format!("{year:04}-{month:02}");
    // The company's holidays are kept with the service desk's business hours (one calendar).
    let holidays: Vec<chrono::NaiveDate> = crm::service_desk::holidays(tx.conn(), company)
        .await?
        .iter()
        .filter_map(|(day, _)| chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
        .collect();
    let working = domain::working_days(year, month, &holidays);

    // Everyone employed during the month (a regular run) or named by an input (off-cycle).
    let employees = sqlx::query(
        "SELECT e.id, e.number, p.name, e.department_id, e.structure_id, e.city, e.base_salary, e.contribution_base, e.housing_fund_bp, \
           e.additional_deductions, e.target_bonus, e.hire_date, e.exit_date, e.status \
         FROM hr_employees e JOIN parties p ON p.id = e.party_id \
         WHERE e.company_id = $1 AND e.hire_date <= $2 AND (e.exit_date IS NULL OR e.exit_date >= $3) ORDER BY e.id",
    )
    .bind(company)
    .bind(last.to_string())
    .bind(first.to_string())
    .fetch_all(tx.conn())
    .await?;
    let mut by_number: HashMap<String, usize> = HashMap::new();
    for (i, e) in employees.iter().enumerate() {
        by_number.insert(e.try_get("number")?, i);
    }
    let mut p = Problems::default();
    let mut figures: HashMap<i64, HashMap<String, Decimal>> = HashMap::new();
    for (i, input) in inputs.iter().enumerate() {
        let field = |name: &str| format!("inputs[{i}].{name}");
        let Some(index) = by_number.get(input.employee.trim()) else {
            p.add(&field("employee"), "error.hr.input_employee", input.employee.trim());
            continue;
        };
        if !INPUT_FIGURES.contains(&input.code.as_str()) {
            p.add(&field("code"), "error.hr.input_code", &input.code);
            continue;
        }
        match input.amount.trim().parse::<Decimal>() {
            Ok(amount) if amount >= Decimal::ZERO && amount.scale() <= 2 && amount < Decimal::from(100_000_000) => {
                let id: i64 = employees[*index].try_get("id")?;
                *figures.entry(id).or_default().entry(input.code.clone()).or_default() += amount;
            }
            _ => p.add(&field("amount"), "error.hr.input_amount", input.amount.trim()),
        }
    }
    p.finish()?;

    let rules: HashMap<String, CityRule> = crate::pay_rules::city_rules(tx.conn(), company, year)
        .await?
        .into_iter()
        .map(|r| (r.city.clone(), r))
        .collect();
    let mut components: HashMap<i64, Vec<ParsedComponent>> = HashMap::new();
    for r in sqlx::query(
        "SELECT c.structure_id, c.code, c.name, c.kind, c.formula FROM hr_components c JOIN hr_structures s ON s.id = c.structure_id \
         WHERE s.company_id = $1 ORDER BY c.structure_id, c.position",
    )
    .bind(company)
    .fetch_all(tx.conn())
    .await?
    {
        let formula_text: String = r.try_get("formula")?;
        let code: String = r.try_get("code")?;
        let formula = Formula::parse(&formula_text)
            .map_err(|e| DomainError::Conflict(format!("component {code} does not parse: {e}")))?;
        components.entry(r.try_get("structure_id")?).or_default().push((code, r.try_get("name")?, r.try_get("kind")?, formula));
    }
    // The year so far per employee, from posted payslips.
    let mut before: HashMap<i64, (TaxYear, bool)> = HashMap::new();
    for r in sqlx::query(
        "SELECT s.employee_id, MAX(s.months) AS months, MAX(s.cumulative_wages) AS wages, MAX(s.cumulative_deductions) AS deductions, \
           CAST(SUM(s.iit) AS BIGINT) AS withheld, MAX(CASE WHEN s.bonus > 0 THEN 1 ELSE 0 END) AS had_bonus \
         FROM hr_payslips s JOIN hr_payroll_runs r ON r.id = s.run_id \
         WHERE r.company_id = $1 AND r.status = 'posted' AND s.year = $2 GROUP BY s.employee_id",
    )
    .bind(company)
    .bind(i64::from(year))
    .fetch_all(tx.conn())
    .await?
    {
        let year = TaxYear {
            months: r.try_get("months")?,
            wages: r.try_get("wages")?,
            deductions: r.try_get("deductions")?,
            withheld: r.try_get("withheld")?,
        };
        before.insert(r.try_get("employee_id")?, (year, r.try_get::<i64, _>("had_bonus")? != 0));
    }
    // Final ratings not yet paid: the latest per employee, for a regular run.
    let mut ratings: HashMap<i64, (i64, String)> = HashMap::new();
    if kind == "regular" {
        for r in sqlx::query(
            "SELECT id, employee_id, rating FROM hr_reviews WHERE company_id = $1 AND status = 'final' AND paid_run_id IS NULL \
               AND finalised_at <= $2 ORDER BY finalised_at, id",
        )
        .bind(company)
        .bind(format!("{last}T23:59:59.999999Z"))
        .fetch_all(tx.conn())
        .await?
        {
            ratings.insert(r.try_get("employee_id")?, (r.try_get("id")?, r.try_get("rating")?));
        }
    }

    // The month from attendance: unpaid leave days and overtime clocked beyond the roster
    // (a run's own input for an employee takes precedence over the clock's overtime).
    let attendance = if kind == "regular" {
        crate::attendance::months(tx.conn(), company, first, last).await?
    } else {
        HashMap::new()
    };
    let away = leaves_of_absence(tx, company, last).await?;
    let pay_history = pay_history(tx, company, last).await?;
    let separate_bonus = last.to_string().as_str() <= domain::SEPARATE_BONUS_UNTIL;
    let mut slips: Vec<(SlipInput, Slip, Option<i64>, i64)> = Vec::with_capacity(employees.len());
    for e in &employees {
        let id: i64 = e.try_get("id")?;
        if kind == "off_cycle" && !figures.contains_key(&id) {
            continue;
        }
        let status: String = e.try_get("status")?;
        let leaves = away.get(&id);
        let is_away = |d: &chrono::NaiveDate| leaves.is_some_and(|spans| spans.iter().any(|s| s.contains(d)));
        let label = format!("{} {}", e.try_get::<String, _>("number")?, e.try_get::<String, _>("name")?);
        let fail = |reason: String| -> db::Error {
            DomainError::invalid("employees", "error.hr.payslip", format!("{label}: {reason}")).into()
        };
        let city: String = e.try_get("city")?;
        let Some(rule) = rules.get(&city) else {
            return Err(fail(format!("no social insurance rule for {city} in {year}")));
        };
        let structure: i64 = e.try_get("structure_id")?;
        let Some(structure_components) = components.get(&structure) else {
            return Err(fail("the salary structure has no components".into()));
        };
        let hire: String = e.try_get("hire_date")?;
        let exit: Option<String> = e.try_get("exit_date")?;
        // Working days employed and not on a leave of absence (which is unpaid).
        let days_employed = working
            .iter()
            .filter(|d| d.to_string() >= hire && exit.as_ref().is_none_or(|x| d.to_string() <= *x) && !is_away(d))
            .count() as i64;
        // Away the whole month (or on leave with no dated start, from before these records):
        // no payslip this month.
        if kind == "regular" && (days_employed == 0 || (status == "on_leave" && leaves.is_none())) {
            continue;
        }
        let (tax_year, had_bonus) = before.get(&id).copied().unwrap_or_default();
        // Each day paid is paid at the salary of that day (a change of pay may be dated inside
        // the month, or after it), so the month's base is the salaries weighted by their days.
        let current: i64 = e.try_get("base_salary")?;
        let base_salary = match pay_history.get(&id) {
            Some(steps) if days_employed > 0 => {
                let salary_on = |d: &chrono::NaiveDate| {
                    steps.iter().rev().find(|(from, _)| from <= d).map_or(current, |(_, salary)| *salary)
                };
                let paid_days: Vec<&chrono::NaiveDate> = working
                    .iter()
                    .filter(|d| {
                        d.to_string() >= hire && exit.as_ref().is_none_or(|x| d.to_string() <= *x) && !is_away(d)
                    })
                    .collect();
                let total: i64 = paid_days.iter().map(|d| salary_on(d)).sum();
                (total * 2 + days_employed) / (days_employed * 2)
            }
            _ => current,
        };
        let review = ratings.get(&id);
        let input = SlipInput {
            employee_id: id,
            label: label.clone(),
            department_id: e.try_get("department_id")?,
            base_salary,
            contribution_base: e.try_get::<Option<i64>, _>("contribution_base")?.unwrap_or(base_salary),
            housing_fund_bp: e.try_get("housing_fund_bp")?,
            additional_deductions: e.try_get("additional_deductions")?,
            target_bonus: e.try_get("target_bonus")?,
            work_days: working.len() as i64,
            days_employed,
            rating_percent: review.map(|(_, r)| domain::bonus_percent(r)).unwrap_or_default(),
            inputs: {
                let mut inputs = figures.get(&id).cloned().unwrap_or_default();
                if let Some(month) = attendance.get(&id) {
                    let unpaid = month
                        .unpaid_days
                        .iter()
                        .filter(|d| {
                            working.contains(d)
                                && d.to_string() >= hire
                                && exit.as_ref().is_none_or(|x| d.to_string() <= *x)
                                && !is_away(d)
                        })
                        .count();
                    *inputs.entry("absence_days".into()).or_default() += Decimal::from(unpaid as i64);
                    inputs
                        .entry("overtime_hours".into())
                        .or_insert((Decimal::from(month.overtime_minutes) / Decimal::from(60)).round_dp(2));
                }
                inputs
            },
            before: tax_year,
            new_month: kind == "regular",
            separate_bonus: separate_bonus && !had_bonus,
        };
        let slip = compute_slip(&input, structure_components, rule).map_err(fail)?;
        let employer = slip.contributions.employer();
        slips.push((input, slip, review.map(|(id, _)| *id), employer));
    }
    if slips.is_empty() {
        return Err(DomainError::invalid("employees", "error.hr.no_employees", period).into());
    }
    store_slips(tx, run, year, &slips).await?;
    let (gross, net, employer): (i64, i64, i64) = slips
        .iter()
        .fold((0, 0, 0), |(g, n, c), (_, s, _, e)| (g + s.gross + s.bonus, n + s.net, c + s.gross + s.bonus + e));
    let basis = posted_in_year(tx, company, year).await?;
    sqlx::query(
        "UPDATE hr_payroll_runs SET employees = $1, gross = $2, net = $3, employer_cost = $4, basis = $5 WHERE id = $6",
    )
    .bind(slips.len() as i64)
    .bind(gross)
    .bind(net)
    .bind(employer)
    .bind(basis)
    .bind(run)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// How many runs of the company's year are posted.
async fn posted_in_year(tx: &mut Tx, company: i64, year: i32) -> Result<i64> {
    Ok(sqlx::query(
        "SELECT COUNT(*) AS n FROM hr_payroll_runs WHERE company_id = $1 AND status = 'posted' AND period LIKE $2",
    )
    .bind(company)
    .bind(format!("{year:04}-%"))
    .fetch_one(tx.conn())
    .await?
    .try_get("n")?)
}

/// Rows per multi-row statement. On SQLite a statement's cost grows faster than its number of
/// parameters (measured: 200,000 lines take 5.3 s in statements of 3,000 parameters, 1.3 s
/// in statements of 300), so statements stay at a few hundred parameters.
const SLIPS_PER_STATEMENT: usize = 20;
const LINES_PER_STATEMENT: usize = 50;

/// Writes the payslips and their lines in multi-row statements.
async fn store_slips(tx: &mut Tx, run: i64, year: i32, slips: &[(SlipInput, Slip, Option<i64>, i64)]) -> Result<()> {
    for chunk in slips.chunks(SLIPS_PER_STATEMENT) {
        let mut q = db::SqlBuilder::new(
            "INSERT INTO hr_payslips (run_id, employee_id, department_id, year, gross, bonus, pension_employee, medical_employee, \
               unemployment_employee, housing_employee, employer_contributions, additional_deductions, iit, bonus_iit, other_deductions, net, \
               months, cumulative_wages, cumulative_deductions, cumulative_taxable, cumulative_tax, contribution_base, review_id) VALUES ",
        );
        for (i, (input, s, review, employer)) in chunk.iter().enumerate() {
            let c = &s.contributions;
            let w = &s.withholding;
            q.push(if i == 0 { "(" } else { ", (" });
            let values: [i64; 21] = [
                run,
                input.employee_id,
                input.department_id,
                i64::from(year),
                s.gross,
                s.bonus,
                c.pension_employee,
                c.medical_employee,
                c.unemployment_employee,
                c.housing_employee,
                *employer,
                if input.new_month { input.additional_deductions } else { 0 },
                w.tax,
                s.bonus_iit,
                s.other_deductions,
                s.net,
                w.months,
                w.cumulative_wages,
                w.cumulative_deductions,
                w.cumulative_taxable,
                w.cumulative_tax,
            ];
            for (j, v) in values.iter().enumerate() {
                if j > 0 {
                    q.push(", ");
                }
                q.bind(*v);
            }
            q.push(", ").bind(c.base).push(", ").bind(*review).push(")");
        }
        q.build().execute(tx.conn()).await?;
    }
    let ids: HashMap<i64, i64> = sqlx::query("SELECT id, employee_id FROM hr_payslips WHERE run_id = $1")
        .bind(run)
        .fetch_all(tx.conn())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("employee_id")?, r.try_get("id")?)))
        .collect::<std::result::Result<_, sqlx::Error>>()?;
    let lines: Vec<(i64, i64, &SlipLine)> = slips
        .iter()
        .flat_map(|(input, s, _, _)| {
            let payslip = ids.get(&input.employee_id).copied().unwrap_or_default();
            s.lines.iter().enumerate().map(move |(i, l)| (payslip, i as i64 + 1, l))
        })
        .collect();
    for chunk in lines.chunks(LINES_PER_STATEMENT) {
        let mut q = db::SqlBuilder::new(
            "INSERT INTO hr_payslip_lines (payslip_id, position, code, name, kind, amount) VALUES ",
        );
        for (i, (payslip, position, (code, name, kind, amount))) in chunk.iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            q.bind(*payslip).push(", ").bind(*position).push(", ").bind(code.clone()).push(", ").bind(name.clone());
            q.push(", ").bind(kind.clone()).push(", ").bind(*amount).push(")");
        }
        q.build().execute(tx.conn()).await?;
    }
    Ok(())
}

/// Posts a draft run: one voucher on the last day of its month, then the run is frozen and
/// the ratings it paid are marked paid. Emits `hr.PayrollPosted`.
pub async fn post(tx: &mut Tx, principal: &Principal, id: i64) -> Result<String> {
    principal.authorize(PAYROLL_POST)?;
    let company = principal.company_id.0;
    let run = lock_run(tx, company, id).await?;
    if run.status != "draft" {
        return Err(DomainError::Conflict(format!(
            "{} is posted already; corrections are an off-cycle run",
            run.number
        ))
        .into());
    }
    // Months post in order, and a run computed before another of its year was posted has
    // stale year-to-date figures: it is computed again first.
    let year: i32 = run.period[..4].parse().unwrap_or(1970);
    let later = sqlx::query("SELECT number FROM hr_payroll_runs WHERE company_id = $1 AND status = 'posted' AND period > $2 AND period LIKE $3 LIMIT 1")
        .bind(company)
        .bind(&run.period)
        .bind(format!("{year:04}-%"))
        .fetch_optional(tx.conn())
        .await?;
    if let Some(later) = later {
        let later: String = later.try_get("number")?;
        return Err(DomainError::Conflict(format!("{later} of a later month is posted; months post in order")).into());
    }
    let basis: i64 = sqlx::query("SELECT basis FROM hr_payroll_runs WHERE id = $1")
        .bind(id)
        .fetch_one(tx.conn())
        .await?
        .try_get("basis")?;
    if posted_in_year(tx, company, year).await? != basis {
        return Err(DomainError::Conflict(format!(
            "another run of {year} was posted since {} was computed; recompute it",
            run.number
        ))
        .into());
    }
    // Per department: what the wages cost (gross, bonus, employer contributions).
    let rows = sqlx::query(
        "SELECT d.code, d.name, d.expense_account, CAST(SUM(s.gross + s.bonus + s.employer_contributions) AS BIGINT) AS cost, \
           CAST(SUM(s.pension_employee + s.medical_employee + s.unemployment_employee + s.housing_employee + s.other_deductions) AS BIGINT) AS withheld, \
           CAST(SUM(s.iit + s.bonus_iit) AS BIGINT) AS iit \
         FROM hr_payslips s JOIN hr_departments d ON d.id = s.department_id WHERE s.run_id = $1 GROUP BY d.code, d.name, d.expense_account ORDER BY d.code",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let mut lines = Vec::new();
    let (mut cost, mut withheld, mut iit) = (0i64, 0i64, 0i64);
    for r in &rows {
        let amount: i64 = r.try_get("cost")?;
        let mut line = finance::domain::Line::cny(&r.try_get::<String, _>("expense_account")?, amount, 0);
        line.cost_center = r.try_get("code")?;
        // Each department is the ledger's cost centre of the same code: listed on its first
        // payroll, so the finance team sees it beside the centres they keep themselves.
        let name: String = r.try_get("name")?;
        finance::dimensions::register(tx, company, Dimension::CostCenter, &line.cost_center, &name).await?;
        line.memo = format!("工资 {}", run.period);
        if amount != 0 {
            lines.push(line);
        }
        cost += amount;
        withheld += r.try_get::<i64, _>("withheld")?;
        iit += r.try_get::<i64, _>("iit")?;
    }
    // Besides the departments' expense accounts: wages payable, less what is withheld for
    // social insurance (other payables until paid over) and income tax.
    let template = finance::chart::template(tx.conn(), company).await?;
    let wages_payable = template.code(Role::WagesPayable);
    lines.push(finance::domain::Line::cny(wages_payable, 0, cost));
    if withheld + iit > 0 {
        lines.push(finance::domain::Line::cny(wages_payable, withheld + iit, 0));
    }
    if withheld > 0 {
        lines.push(finance::domain::Line::cny(template.code(Role::OtherPayables), 0, withheld));
    }
    if iit > 0 {
        lines.push(finance::domain::Line::cny(template.code(Role::IncomeTaxWithheld), 0, iit));
    }
    let (year, month) = (run.period[..4].parse().unwrap_or(1970), run.period[5..].parse().unwrap_or(1));
    let entry = finance::domain::Entry {
        date: month_bounds(year, month).1.to_string(),
        period: run.period.clone(),
        word: "转".into(),
        memo: format!("{} 工资 {}", run.number, run.period),
        lines,
    };
    let (entry_id, entry_number) = finance::service::post_document_entry(tx, company, &entry, "payroll").await?;
    sqlx::query(
        "UPDATE hr_payroll_runs SET status = 'posted', entry_id = $1, entry_number = $2, posted_at = $3 WHERE id = $4",
    )
    .bind(entry_id)
    .bind(&entry_number)
    .bind(tx.now().to_string())
    .bind(id)
    .execute(tx.conn())
    .await?;
    // The ratings this run pays, and any older unpaid ones of the same employees they
    // supersede. A rating another run paid meanwhile makes this run stale.
    let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM hr_payslips s JOIN hr_reviews v ON v.id = s.review_id WHERE s.run_id = $1 AND v.paid_run_id IS NULL")
        .bind(id)
        .fetch_one(tx.conn())
        .await?
        .try_get("n")?;
    let expected: i64 =
        sqlx::query("SELECT COUNT(*) AS n FROM hr_payslips WHERE run_id = $1 AND review_id IS NOT NULL")
            .bind(id)
            .fetch_one(tx.conn())
            .await?
            .try_get("n")?;
    if used != expected {
        return Err(DomainError::Conflict(format!(
            "a rating {} pays was paid by another run; recompute it",
            run.number
        ))
        .into());
    }
    sqlx::query(
        "UPDATE hr_reviews SET paid_run_id = $1 WHERE paid_run_id IS NULL AND status = 'final' AND EXISTS ( \
           SELECT 1 FROM hr_payslips s JOIN hr_reviews u ON u.id = s.review_id \
           WHERE s.run_id = $1 AND s.employee_id = hr_reviews.employee_id AND u.finalised_at >= hr_reviews.finalised_at)",
    )
    .bind(id)
    .execute(tx.conn())
    .await?;
    tx.audit(
        "post",
        "hr.payroll_run",
        Some(&id.to_string()),
        &json!({"status": ["draft", "posted"], "entry": [null, entry_number]}),
    )
    .await?;
    tx.emit(
        "hr.payroll_run",
        &id.to_string(),
        "hr.PayrollPosted",
        &json!({"id": id, "number": run.number, "period": run.period, "gross": run.gross, "net": run.net, "entry": entry_number}),
    )
    .await?;
    Ok(entry_number)
}

// ---- Payslips ----

#[derive(Debug, Clone, Serialize)]
pub struct Payslip {
    pub id: i64,
    pub run_id: i64,
    pub run_number: String,
    pub period: String,
    pub status: String,
    pub employee_id: i64,
    pub employee_number: String,
    pub name: String,
    pub department: String,
    pub gross: i64,
    pub bonus: i64,
    pub pension_employee: i64,
    pub medical_employee: i64,
    pub unemployment_employee: i64,
    pub housing_employee: i64,
    pub employer_contributions: i64,
    pub additional_deductions: i64,
    pub iit: i64,
    pub bonus_iit: i64,
    pub other_deductions: i64,
    pub net: i64,
    pub months: i64,
    pub cumulative_wages: i64,
    pub cumulative_deductions: i64,
    pub cumulative_taxable: i64,
    pub cumulative_tax: i64,
    pub contribution_base: i64,
    pub lines: Vec<PayslipLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PayslipLine {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub amount: i64,
}

const SLIP_SQL: &str = "SELECT s.*, r.number AS run_number, r.period, r.status, e.number AS employee_number, p.name, d.name AS department \
     FROM hr_payslips s JOIN hr_payroll_runs r ON r.id = s.run_id JOIN hr_employees e ON e.id = s.employee_id \
     JOIN parties p ON p.id = e.party_id JOIN hr_departments d ON d.id = s.department_id WHERE r.company_id = ";

fn slip_of(r: &db::Row) -> std::result::Result<Payslip, sqlx::Error> {
    Ok(Payslip {
        id: r.try_get("id")?,
        run_id: r.try_get("run_id")?,
        run_number: r.try_get("run_number")?,
        period: r.try_get("period")?,
        status: r.try_get("status")?,
        employee_id: r.try_get("employee_id")?,
        employee_number: r.try_get("employee_number")?,
        name: r.try_get("name")?,
        department: r.try_get("department")?,
        gross: r.try_get("gross")?,
        bonus: r.try_get("bonus")?,
        pension_employee: r.try_get("pension_employee")?,
        medical_employee: r.try_get("medical_employee")?,
        unemployment_employee: r.try_get("unemployment_employee")?,
        housing_employee: r.try_get("housing_employee")?,
        employer_contributions: r.try_get("employer_contributions")?,
        additional_deductions: r.try_get("additional_deductions")?,
        iit: r.try_get("iit")?,
        bonus_iit: r.try_get("bonus_iit")?,
        other_deductions: r.try_get("other_deductions")?,
        net: r.try_get("net")?,
        months: r.try_get("months")?,
        cumulative_wages: r.try_get("cumulative_wages")?,
        cumulative_deductions: r.try_get("cumulative_deductions")?,
        cumulative_taxable: r.try_get("cumulative_taxable")?,
        cumulative_tax: r.try_get("cumulative_tax")?,
        contribution_base: r.try_get("contribution_base")?,
        lines: Vec::new(),
    })
}

/// Payslips: of one run or employee (HR and payroll) or, for anyone else, only their own. Lines are
/// loaded for a single payslip, not for lists.
pub async fn payslips(
    conn: &mut db::Conn,
    principal: &Principal,
    run: Option<i64>,
    employee: Option<i64>,
) -> Result<Vec<Payslip>> {
    let mut q = db::SqlBuilder::new(SLIP_SQL);
    q.bind(principal.company_id.0);
    if !principal.may(PAY_READ) {
        // An employee reads their own payslips once posted (a draft may still change).
        let own = crate::org::own_employee(conn, principal).await?;
        q.push(" AND r.status = 'posted' AND s.employee_id = ").bind(own.unwrap_or(0));
    }
    if let Some(run) = run {
        q.push(" AND s.run_id = ").bind(run);
    }
    if let Some(employee) = employee {
        q.push(" AND s.employee_id = ").bind(employee);
    }
    q.push(" ORDER BY r.period DESC, e.number LIMIT 20000");
    Ok(q.build().fetch_all(conn).await?.iter().map(slip_of).collect::<std::result::Result<_, _>>()?)
}

/// One payslip with its lines, for HR or its employee; anyone else finds nothing.
pub async fn payslip(conn: &mut db::Conn, principal: &Principal, id: i64) -> Result<Payslip> {
    let mut q = db::SqlBuilder::new(SLIP_SQL);
    q.bind(principal.company_id.0).push(" AND s.id = ").bind(id);
    let row = q.build().fetch_optional(&mut *conn).await?.ok_or(DomainError::NotFound("payslip"))?;
    let mut slip = slip_of(&row)?;
    let own = crate::org::own_employee(conn, principal).await? == Some(slip.employee_id);
    if !principal.may(PAY_READ) && (slip.status != "posted" || !own) {
        return Err(DomainError::NotFound("payslip").into());
    }
    slip.lines =
        sqlx::query("SELECT code, name, kind, amount FROM hr_payslip_lines WHERE payslip_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(conn)
            .await?
            .iter()
            .map(|l| {
                Ok(PayslipLine {
                    code: l.try_get("code")?,
                    name: l.try_get("name")?,
                    kind: l.try_get("kind")?,
                    amount: l.try_get("amount")?,
                })
            })
            .collect::<std::result::Result<_, sqlx::Error>>()?;
    Ok(slip)
}

/// The bank payment file's columns.
pub const BANK_FILE_HEADER: [&str; 6] =
    ["员工编号 Employee", "姓名 Name", "开户行 Bank", "账号 Account", "金额 Amount", "摘要 Memo"];

/// The bank payment file of a run: one row per employee paid, with their account and net
/// pay. Reading it is an export of bank accounts, so it is audited in the same transaction.
pub async fn bank_file(tx: &mut Tx, principal: &Principal, id: i64) -> Result<(String, Vec<Vec<String>>)> {
    principal.authorize(PAY_READ)?;
    let run = run(tx.conn(), principal, id).await?;
    if run.status != "posted" {
        return Err(
            DomainError::Conflict(format!("{} is a draft: its bank file comes once it is posted", run.number)).into()
        );
    }
    let rows = sqlx::query(
        "SELECT e.number, p.name, e.bank_name, e.bank_account, s.net FROM hr_payslips s JOIN hr_employees e ON e.id = s.employee_id \
         JOIN parties p ON p.id = e.party_id WHERE s.run_id = $1 AND s.net > 0 ORDER BY e.number",
    )
    .bind(id)
    .fetch_all(tx.conn())
    .await?;
    let memo = format!("工资 {} {}", run.period, run.number);
    let out = rows
        .iter()
        .map(|r| {
            Ok(vec![
                r.try_get("number")?,
                r.try_get("name")?,
                r.try_get("bank_name")?,
                r.try_get("bank_account")?,
                finance::domain::yuan(r.try_get("net")?),
                memo.clone(),
            ])
        })
        .collect::<std::result::Result<Vec<Vec<String>>, sqlx::Error>>()?;
    tx.audit(
        "export",
        "hr.payroll_run",
        Some(&id.to_string()),
        &json!({"file": [null, "bank"], "rows": [null, out.len()]}),
    )
    .await?;
    Ok((run.number.replace('/', "-"), out))
}
