//! The organisation: departments as a tree, positions, and employees — parties with the
//! employee role — with their lifecycle (hire with an onboarding checklist, transfer,
//! promotion, leave of absence and return, exit), each a dated event kept beside the audit
//! chain.
//!
//! Pay terms, the bank account and the full resident ID number are sensitive: they are read
//! only with `hr.pay.read` or by the employee themself (the user linked to the employee), and
//! every full read is written to the audit chain. Everyone else reading an employee sees the
//! ID number masked and no pay at all.

use crate::domain;
use db::{Result, RowExt, Tx};
use finance::chart::Role;
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const EMPLOYEE_READ: &str = "hr.employee.read";
pub const EMPLOYEE_MANAGE: &str = "hr.employee.manage";
/// Salaries, contribution bases, bank accounts and full ID numbers of everyone.
pub const PAY_READ: &str = "hr.pay.read";

/// Contract kinds.
pub const CONTRACT_KINDS: [&str; 3] = ["fixed", "open", "intern"];
/// What a new hire's onboarding checklist holds.
pub const ONBOARDING: [&str; 4] = ["contract_signed", "medical_check", "accounts_opened", "orientation"];
/// Lifecycle changes after the hire.
pub const CHANGES: [&str; 5] = ["transfer", "promotion", "leave", "return", "exit"];

// ---- Departments and positions ----

#[derive(Debug, Clone, Serialize)]
pub struct Department {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub parent_id: Option<i64>,
    pub expense_account: String,
    /// Depth in the tree (0 for a top department), for indented lists.
    pub depth: usize,
    /// Active employees and those on leave.
    pub headcount: i64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DepartmentForm {
    pub code: String,
    pub name: String,
    /// The parent's code; empty for a top department.
    #[serde(default)]
    pub parent: String,
    /// Where its wages are charged: 6602 (default), 6601 or 5001.
    #[serde(default)]
    pub expense_account: String,
}

/// What a department's wages may be charged to, the default first: 管理费用, 销售费用 or
/// 生产成本, each with the key of its label (`hr.account.{key}`).
pub const EXPENSE_ROLES: [(Role, &str); 3] = [
    (Role::AdministrativeExpense, "administrative"),
    (Role::SellingExpense, "selling"),
    (Role::ProductionCost, "production"),
];

/// The codes of [`EXPENSE_ROLES`] in the company's chart, with their label keys.
pub async fn expense_accounts(conn: &mut db::Conn, company: i64) -> Result<Vec<(&'static str, &'static str)>> {
    let template = finance::chart::template(conn, company).await?;
    Ok(EXPENSE_ROLES.iter().map(|(role, key)| (template.code(*role), *key)).collect())
}

/// A code of departments, positions, courses: 1–20 letters, digits, `-` or `_`.
pub(crate) fn check_code(p: &mut Problems, field: &str, code: &str) {
    let ok = !code.is_empty()
        && code.chars().count() <= 20
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        p.add(field, "error.hr.code", code);
    }
}

fn check_name(p: &mut Problems, field: &str, name: &str) {
    if name.trim().is_empty() {
        p.add(field, "error.required", "");
    } else if name.chars().count() > 100 {
        p.add(field, "error.too_long", "100");
    }
}

pub async fn create_department(tx: &mut Tx, principal: &Principal, form: &DepartmentForm) -> Result<i64> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let code = form.code.trim().to_uppercase();
    check_code(&mut p, "code", &code);
    check_name(&mut p, "name", &form.name);
    let allowed = expense_accounts(tx.conn(), company).await?;
    let account = match form.expense_account.trim() {
        "" => allowed[0].0,
        a => a,
    };
    if !allowed.iter().any(|(code, _)| *code == account) {
        let codes: Vec<&str> = allowed.iter().map(|(code, _)| *code).collect();
        p.add("expense_account", "error.hr.expense_account", format!("{account} ({})", codes.join(", ")));
    }
    let parent = match form.parent.trim() {
        "" => None,
        parent => {
            let found = department_id(tx.conn(), company, &parent.to_uppercase()).await?;
            if found.is_none() {
                p.add("parent", "error.hr.department", parent);
            }
            found
        }
    };
    if department_id(tx.conn(), company, &code).await?.is_some() {
        p.add("code", "error.hr.duplicate_code", &code);
    }
    p.finish()?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_departments (company_id, code, name, parent_id, expense_account, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(form.name.trim())
    .bind(parent)
    .bind(account)
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit(
        "create",
        "hr.department",
        Some(&id.to_string()),
        &json!({"code": [null, code], "name": [null, form.name.trim()], "parent_id": [null, parent], "expense_account": [null, account]}),
    )
    .await?;
    Ok(id)
}

async fn department_id(conn: &mut db::Conn, company: i64, code: &str) -> Result<Option<i64>> {
    Ok(sqlx::query("SELECT id FROM hr_departments WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(code)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?)
}

/// The departments in tree order (each after its parent, siblings by code), with headcount.
pub async fn departments(conn: &mut db::Conn, company: i64) -> Result<Vec<Department>> {
    let rows = sqlx::query(
        "SELECT d.id, d.code, d.name, d.parent_id, d.expense_account, \
           (SELECT COUNT(*) FROM hr_employees e WHERE e.department_id = d.id AND e.status <> 'exited') AS headcount \
         FROM hr_departments d WHERE d.company_id = $1 ORDER BY d.code",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    let flat = rows
        .iter()
        .map(|r| {
            Ok(Department {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                parent_id: r.try_get("parent_id")?,
                expense_account: r.try_get("expense_account")?,
                depth: 0,
                headcount: r.try_get("headcount")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    Ok(tree_order(flat))
}

/// Orders departments depth-first from the roots, setting each one's depth.
fn tree_order(flat: Vec<Department>) -> Vec<Department> {
    fn visit(parent: Option<i64>, depth: usize, flat: &[Department], out: &mut Vec<Department>) {
        for d in flat.iter().filter(|d| d.parent_id == parent) {
            if out.iter().any(|o| o.id == d.id) {
                continue;
            }
            out.push(Department { depth, ..d.clone() });
            visit(Some(d.id), depth + 1, flat, out);
        }
    }
    let mut out = Vec::with_capacity(flat.len());
    visit(None, 0, &flat, &mut out);
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct Position {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub job_family: String,
    pub grade: i64,
    pub band: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PositionForm {
    pub code: String,
    pub title: String,
    pub job_family: String,
    pub grade: String,
    #[serde(default)]
    pub band: String,
}

pub async fn create_position(tx: &mut Tx, principal: &Principal, form: &PositionForm) -> Result<i64> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let code = form.code.trim().to_uppercase();
    check_code(&mut p, "code", &code);
    check_name(&mut p, "title", &form.title);
    check_name(&mut p, "job_family", &form.job_family);
    let grade = match form.grade.trim().parse::<i64>() {
        Ok(g) if (1..=30).contains(&g) => g,
        _ => {
            p.add("grade", "error.hr.grade", form.grade.trim());
            0
        }
    };
    let taken = sqlx::query("SELECT 1 FROM hr_positions WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(&code)
        .fetch_optional(tx.conn())
        .await?;
    if taken.is_some() {
        p.add("code", "error.hr.duplicate_code", &code);
    }
    p.finish()?;
    let id: i64 = sqlx::query(
        "INSERT INTO hr_positions (company_id, code, title, job_family, grade, band, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(company)
    .bind(&code)
    .bind(form.title.trim())
    .bind(form.job_family.trim())
    .bind(grade)
    .bind(form.band.trim())
    .bind(tx.now().to_string())
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    tx.audit("create", "hr.position", Some(&id.to_string()), &json!({"code": [null, code], "grade": [null, grade]}))
        .await?;
    Ok(id)
}

pub async fn positions(conn: &mut db::Conn, company: i64) -> Result<Vec<Position>> {
    sqlx::query(
        "SELECT id, code, title, job_family, grade, band FROM hr_positions WHERE company_id = $1 ORDER BY job_family, grade, code",
    )
    .bind(company)
    .fetch_all(conn)
    .await?
    .iter()
    .map(|r| {
        Ok(Position {
            id: r.try_get("id")?,
            code: r.try_get("code")?,
            title: r.try_get("title")?,
            job_family: r.try_get("job_family")?,
            grade: r.try_get("grade")?,
            band: r.try_get("band")?,
        })
    })
    .collect()
}

// ---- Employees ----

/// A hire: the person (a new party with the employee role), where they sit, and their terms.
/// Amounts are in yuan as text; an empty optional field takes its default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HireForm {
    pub name: String,
    #[serde(default)]
    pub id_number: String,
    #[serde(default)]
    pub mobile: String,
    pub department_id: i64,
    pub position_id: i64,
    #[serde(default)]
    pub manager_id: Option<i64>,
    pub hire_date: String,
    /// fixed, open or intern.
    #[serde(default)]
    pub contract_kind: String,
    #[serde(default)]
    pub contract_end: String,
    /// The social insurance city (a rule must exist for it when payroll runs).
    #[serde(default)]
    pub city: String,
    /// The salary structure's code (default `STD`).
    #[serde(default)]
    pub structure: String,
    pub base_salary: String,
    /// The contribution base; empty: the base salary (a new hire has no previous year).
    #[serde(default)]
    pub contribution_base: String,
    /// The employee's own housing fund rate in percent; empty: the city's.
    #[serde(default)]
    pub housing_fund_rate: String,
    /// Monthly special additional deductions claimed (专项附加扣除).
    #[serde(default)]
    pub additional_deductions: String,
    /// The target bonus per review cycle that the rating table pays a share of.
    #[serde(default)]
    pub target_bonus: String,
    #[serde(default)]
    pub bank_name: String,
    #[serde(default)]
    pub bank_account: String,
    /// The user who signs in as this employee (to read their own payslips).
    #[serde(default)]
    pub user_id: Option<i64>,
    /// The requisition this hire fills.
    #[serde(default)]
    pub requisition_id: Option<i64>,
    /// An existing person to hire (a candidate): their party gains the employee role instead
    /// of a new party being made.
    #[serde(default)]
    pub party_id: Option<i64>,
}

/// Pay terms as checked: fen and basis points.
struct Terms {
    base_salary: i64,
    contribution_base: Option<i64>,
    housing_fund_bp: Option<i64>,
    additional_deductions: i64,
    target_bonus: i64,
}

fn optional_amount(p: &mut Problems, field: &str, text: &str) -> Option<i64> {
    match text.trim() {
        "" => None,
        t => Some(p.amount(field, t)),
    }
}

fn check_terms(p: &mut Problems, form: &HireForm) -> Terms {
    let base_salary = p.amount("base_salary", form.base_salary.trim());
    if base_salary == 0 && !form.base_salary.trim().is_empty() && p.0.is_empty() {
        p.add("base_salary", "error.hr.salary", form.base_salary.trim());
    }
    let housing_fund_bp = match form.housing_fund_rate.trim() {
        "" => None,
        t => match t.parse::<rust_decimal::Decimal>() {
            // 5 % to 12 %, to a hundredth of a percent.
            Ok(rate) if rate >= 5.into() && rate <= 12.into() => {
                Some(domain::to_fen(rate * rust_decimal::Decimal::from(100)))
            }
            _ => {
                p.add("housing_fund_rate", "error.hr.housing_rate", t);
                None
            }
        },
    };
    Terms {
        base_salary,
        contribution_base: optional_amount(p, "contribution_base", &form.contribution_base),
        housing_fund_bp,
        additional_deductions: optional_amount(p, "additional_deductions", &form.additional_deductions).unwrap_or(0),
        target_bonus: optional_amount(p, "target_bonus", &form.target_bonus).unwrap_or(0),
    }
}

/// Bank account numbers: 10 to 30 digits (spaces allowed when typed).
fn check_bank_account(p: &mut Problems, text: &str) -> String {
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.is_empty() && (!(10..=30).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit())) {
        p.add("bank_account", "error.hr.bank_account", text.trim());
    }
    digits
}

async fn exists(conn: &mut db::Conn, sql: &str, company: i64, id: i64) -> Result<bool> {
    Ok(sqlx::query(sql).bind(company).bind(id).fetch_optional(conn).await?.is_some())
}

/// Hires a person: a new party (person, employee role, ID number, mobile), the employee with
/// number `EMP/000001`, the hire event, the onboarding checklist, and the requisition's
/// filled count. Emits `hr.EmployeeHired`.
pub async fn hire(tx: &mut Tx, principal: &Principal, form: &HireForm) -> Result<i64> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let hire_date = p.check(kernel::dates::parse("hire_date", &form.hire_date));
    let contract_kind = match form.contract_kind.trim() {
        "" => "fixed",
        k => k,
    };
    if !CONTRACT_KINDS.contains(&contract_kind) {
        p.add("contract_kind", "error.hr.contract_kind", contract_kind);
    }
    let contract_end = match form.contract_end.trim() {
        "" => None,
        t => p.check(kernel::dates::parse("contract_end", t)),
    };
    if contract_kind != "open" && contract_end.is_none() && p.0.is_empty() {
        p.add("contract_end", "error.hr.contract_end", "");
    }
    if let (Some(start), Some(end)) = (hire_date, contract_end) {
        if end <= start {
            p.add("contract_end", "error.hr.contract_end", end.to_string());
        }
    }
    let terms = check_terms(&mut p, form);
    let bank_account = check_bank_account(&mut p, &form.bank_account);
    if !exists(tx.conn(), "SELECT 1 FROM hr_departments WHERE company_id = $1 AND id = $2", company, form.department_id)
        .await?
    {
        p.add("department_id", "error.hr.department", form.department_id.to_string());
    }
    if !exists(tx.conn(), "SELECT 1 FROM hr_positions WHERE company_id = $1 AND id = $2", company, form.position_id)
        .await?
    {
        p.add("position_id", "error.hr.position", form.position_id.to_string());
    }
    if let Some(manager) = form.manager_id {
        if !exists(
            tx.conn(),
            "SELECT 1 FROM hr_employees WHERE company_id = $1 AND id = $2 AND status <> 'exited'",
            company,
            manager,
        )
        .await?
        {
            p.add("manager_id", "error.hr.manager", manager.to_string());
        }
    }
    let city = match form.city.trim() {
        "" => "上海".to_string(),
        c => c.to_string(),
    };
    let structure_code = match form.structure.trim() {
        "" => "STD",
        s => s,
    };
    crate::pay_rules::ensure_defaults(tx, company, hire_date.map(|d| chrono::Datelike::year(&d)).unwrap_or(2026))
        .await?;
    let structure = sqlx::query("SELECT id FROM hr_structures WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(structure_code)
        .fetch_optional(tx.conn())
        .await?
        .map(|r| r.try_get::<i64, _>("id"))
        .transpose()?;
    if structure.is_none() {
        p.add("structure", "error.hr.structure", structure_code);
    }
    let party_form = party::domain::PartyForm {
        kind: "person".into(),
        name: form.name.clone(),
        id_number: Some(form.id_number.clone()),
        roles: vec!["employee".into()],
        contacts: match form.mobile.trim() {
            "" => Vec::new(),
            m => vec![party::domain::Contact { kind: "mobile".into(), value: m.into(), label: String::new() }],
        },
        ..Default::default()
    };
    let person = match party::domain::validate(&party_form) {
        Ok(person) => Some(person),
        Err(DomainError::Invalid(errors)) => {
            for e in errors {
                // The party's contact lines become the form's mobile field.
                let field = if e.field.starts_with("contacts") { "mobile".to_string() } else { e.field.clone() };
                p.add(&field, e.key, e.detail.clone());
            }
            None
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(user) = form.user_id {
        let taken = sqlx::query("SELECT 1 FROM hr_employees WHERE user_id = $1 AND status <> 'exited'")
            .bind(user)
            .fetch_optional(tx.conn())
            .await?;
        let member = sqlx::query("SELECT 1 FROM user_companies WHERE company_id = $1 AND user_id = $2")
            .bind(company)
            .bind(user)
            .fetch_optional(tx.conn())
            .await?;
        if taken.is_some() || member.is_none() {
            p.add("user_id", "error.hr.user", user.to_string());
        }
    }
    p.finish()?;
    let (Some(hire_date), Some(person), Some(structure)) = (hire_date, person, structure) else {
        return Err(DomainError::Internal("checked above".into()).into());
    };
    let party_id = match form.party_id {
        None => party::service::record_new(tx, company, &person, Some(principal.user_id.0)).await?,
        Some(existing) => {
            let found = sqlx::query("SELECT 1 FROM parties WHERE company_id = $1 AND id = $2 AND kind = 'person'")
                .bind(company)
                .bind(existing)
                .fetch_optional(tx.conn())
                .await?;
            let employed = sqlx::query("SELECT 1 FROM hr_employees WHERE party_id = $1")
                .bind(existing)
                .fetch_optional(tx.conn())
                .await?;
            if found.is_none() || employed.is_some() {
                return Err(DomainError::invalid("party_id", "error.hr.party", existing.to_string()).into());
            }
            sqlx::query("INSERT INTO party_roles (party_id, role) VALUES ($1, 'employee') ON CONFLICT (party_id, role) DO NOTHING")
                .bind(existing)
                .execute(tx.conn())
                .await?;
            // A recorded ID number is never overwritten; a candidate without one gets it.
            if let Some(id_number) = &person.id_number {
                sqlx::query("UPDATE parties SET id_number = $1 WHERE id = $2 AND id_number IS NULL")
                    .bind(id_number)
                    .bind(existing)
                    .execute(tx.conn())
                    .await?;
            }
            existing
        }
    };
    let number = tx.next_number(company, "employee", 0, "EMP/{seq:06}").await?;
    let now = tx.now().to_string();
    let id: i64 = sqlx::query(
        "INSERT INTO hr_employees (company_id, party_id, number, user_id, department_id, position_id, manager_id, status, hire_date, grade_since, \
           contract_kind, contract_end, city, structure_id, base_salary, contribution_base, housing_fund_bp, additional_deductions, target_bonus, \
           bank_name, bank_account, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) RETURNING id",
    )
    .bind(company)
    .bind(party_id)
    .bind(&number)
    .bind(form.user_id)
    .bind(form.department_id)
    .bind(form.position_id)
    .bind(form.manager_id)
    .bind(hire_date.to_string())
    .bind(contract_kind)
    .bind(contract_end.map(|d| d.to_string()))
    .bind(&city)
    .bind(structure)
    .bind(terms.base_salary)
    .bind(terms.contribution_base)
    .bind(terms.housing_fund_bp)
    .bind(terms.additional_deductions)
    .bind(terms.target_bonus)
    .bind(form.bank_name.trim())
    .bind(&bank_account)
    .bind(&now)
    .bind(principal.user_id.0)
    .fetch_one(tx.conn())
    .await?
    .try_get("id")?;
    record_pay(tx, id, &hire_date.to_string(), terms.base_salary).await?;
    for item in ONBOARDING {
        sqlx::query("INSERT INTO hr_onboarding (employee_id, item) VALUES ($1, $2)")
            .bind(id)
            .bind(item)
            .execute(tx.conn())
            .await?;
    }
    record_event(
        tx,
        id,
        "hire",
        &hire_date.to_string(),
        &json!({"department_id": form.department_id, "position_id": form.position_id}),
    )
    .await?;
    if let Some(requisition) = form.requisition_id {
        crate::planning::fill(tx, company, requisition, form.department_id, form.position_id).await?;
    }
    // The audit row names what changed but not the pay: the chain is readable by auditors.
    tx.audit(
        "create",
        "hr.employee",
        Some(&id.to_string()),
        &json!({"number": [null, number], "party_id": [null, party_id], "department_id": [null, form.department_id],
                "position_id": [null, form.position_id], "hire_date": [null, hire_date.to_string()], "pay_terms": [null, "set"]}),
    )
    .await?;
    tx.emit(
        "hr.employee",
        &id.to_string(),
        "hr.EmployeeHired",
        &json!({"id": id, "number": number, "party_id": party_id, "department_id": form.department_id, "hire_date": hire_date.to_string()}),
    )
    .await?;
    Ok(id)
}

async fn record_event(tx: &mut Tx, employee: i64, kind: &str, date: &str, details: &serde_json::Value) -> Result<()> {
    let by = tx.actor().user_id;
    sqlx::query(
        "INSERT INTO hr_employee_events (employee_id, kind, effective_date, details, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(employee)
    .bind(kind)
    .bind(date)
    .bind(details.to_string())
    .bind(tx.now().to_string())
    .bind(by)
    .execute(tx.conn())
    .await?;
    Ok(())
}

/// An employee as a list shows them: no pay, the ID number masked.
#[derive(Debug, Clone, Serialize)]
pub struct EmployeeRow {
    pub id: i64,
    pub number: String,
    pub party_id: i64,
    pub name: String,
    pub department_id: i64,
    pub department: String,
    pub position_id: i64,
    pub position: String,
    pub grade: i64,
    pub manager_id: Option<i64>,
    pub status: String,
    pub hire_date: String,
    pub exit_date: Option<String>,
    pub id_number: Option<String>,
}

const ROW_COLUMNS: &str = "e.id, e.number, e.party_id, p.name, e.department_id, d.name AS department, e.position_id, \
     o.title AS position, o.grade, e.manager_id, e.status, e.hire_date, e.exit_date, p.id_number";
const ROW_FROM: &str =
    "FROM hr_employees e JOIN parties p ON p.id = e.party_id JOIN hr_departments d ON d.id = e.department_id \
     JOIN hr_positions o ON o.id = e.position_id";

fn row_of(r: &db::Row) -> std::result::Result<EmployeeRow, sqlx::Error> {
    let id_number: Option<String> = r.try_get("id_number")?;
    Ok(EmployeeRow {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        party_id: r.try_get("party_id")?,
        name: r.try_get("name")?,
        department_id: r.try_get("department_id")?,
        department: r.try_get("department")?,
        position_id: r.try_get("position_id")?,
        position: r.try_get("position")?,
        grade: r.try_get("grade")?,
        manager_id: r.try_get("manager_id")?,
        status: r.try_get("status")?,
        hire_date: r.try_get("hire_date")?,
        exit_date: r.try_get("exit_date")?,
        id_number: id_number.as_deref().map(kernel::identifiers::mask_resident_id),
    })
}

/// Employees, optionally of one department (and its sub-departments) or status, by number;
/// keyset-paged after `after` (an employee id).
pub async fn employees(
    conn: &mut db::Conn,
    principal: &Principal,
    department: Option<i64>,
    status: Option<&str>,
    after: i64,
    limit: i64,
) -> Result<Vec<EmployeeRow>> {
    principal.authorize(EMPLOYEE_READ)?;
    let company = principal.company_id.0;
    let mut q = db::SqlBuilder::new(format!("SELECT {ROW_COLUMNS} {ROW_FROM} WHERE e.company_id = "));
    q.bind(company).push(" AND e.id > ").bind(after);
    if let Some(department) = department {
        let tree = subtree(conn, company, department).await?;
        q.push(" AND e.department_id IN ").bind_list(tree.iter().copied());
    }
    if let Some(status) = status {
        q.push(" AND e.status = ").bind(status.to_string());
    }
    q.push(" ORDER BY e.id LIMIT ").bind(limit.clamp(1, 500));
    Ok(q.build().fetch_all(conn).await?.iter().map(row_of).collect::<std::result::Result<_, _>>()?)
}

/// A department and every department below it.
pub async fn subtree(conn: &mut db::Conn, company: i64, root: i64) -> Result<Vec<i64>> {
    let all = departments(conn, company).await?;
    let mut ids = vec![root];
    let mut i = 0;
    while i < ids.len() {
        let parent = ids[i];
        ids.extend(all.iter().filter(|d| d.parent_id == Some(parent)).map(|d| d.id));
        i += 1;
    }
    Ok(ids)
}

/// What only HR, payroll and the employee themself may read.
#[derive(Debug, Clone, Serialize)]
pub struct PayTerms {
    pub id_number: Option<String>,
    pub base_salary: i64,
    pub contribution_base: Option<i64>,
    pub housing_fund_bp: Option<i64>,
    pub additional_deductions: i64,
    pub target_bonus: i64,
    pub bank_name: String,
    pub bank_account: String,
    pub city: String,
    pub structure: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct LifecycleEvent {
    pub kind: String,
    pub effective_date: String,
    pub details: serde_json::Value,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Employee {
    #[serde(flatten)]
    pub row: EmployeeRow,
    pub user_id: Option<i64>,
    pub contract_kind: String,
    pub contract_end: Option<String>,
    pub grade_since: String,
    pub version: i64,
    pub manager: Option<String>,
    /// Present only for HR/payroll and the employee themself.
    pub pay: Option<PayTerms>,
    pub onboarding: Vec<(String, Option<String>)>,
    pub events: Vec<LifecycleEvent>,
}

/// Whether the principal is the user linked to this employee.
pub async fn is_self(conn: &mut db::Conn, principal: &Principal, employee: i64) -> Result<bool> {
    Ok(sqlx::query("SELECT 1 FROM hr_employees WHERE id = $1 AND user_id = $2 AND company_id = $3")
        .bind(employee)
        .bind(principal.user_id.0)
        .bind(principal.company_id.0)
        .fetch_optional(conn)
        .await?
        .is_some())
}

/// The employee linked to the principal's user, if any.
/// Writes the base salary an employee has from a date (a second change the same day
/// replaces the first).
async fn record_pay(tx: &mut Tx, employee: i64, from: &str, base_salary: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO hr_pay_history (employee_id, effective_date, base_salary) VALUES ($1, $2, $3) \
         ON CONFLICT (employee_id, effective_date) DO UPDATE SET base_salary = excluded.base_salary",
    )
    .bind(employee)
    .bind(from)
    .bind(base_salary)
    .execute(tx.conn())
    .await?;
    Ok(())
}

pub async fn own_employee(conn: &mut db::Conn, principal: &Principal) -> Result<Option<i64>> {
    Ok(sqlx::query("SELECT id FROM hr_employees WHERE user_id = $1 AND company_id = $2 ORDER BY id DESC LIMIT 1")
        .bind(principal.user_id.0)
        .bind(principal.company_id.0)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("id"))
        .transpose()?)
}

/// One employee. Readers with `hr.employee.read` see the record; the pay terms and the full ID
/// number come only with `hr.pay.read` or to the employee themself, and that read is audited.
pub async fn employee(db: &db::Db, principal: &Principal, id: i64) -> Result<Employee> {
    let mut conn = db.read_conn().await?;
    let own = is_self(&mut conn, principal, id).await?;
    if !own {
        principal.authorize(EMPLOYEE_READ)?;
    }
    let company = principal.company_id.0;
    let sql = format!(
        "SELECT {ROW_COLUMNS}, e.user_id, e.contract_kind, e.contract_end, e.grade_since, e.version, m.number AS manager_number, mp.name AS manager_name, \
           e.base_salary, e.contribution_base, e.housing_fund_bp, e.additional_deductions, e.target_bonus, e.bank_name, e.bank_account, e.city, s.code AS structure \
         {ROW_FROM} JOIN hr_structures s ON s.id = e.structure_id LEFT JOIN hr_employees m ON m.id = e.manager_id LEFT JOIN parties mp ON mp.id = m.party_id \
         WHERE e.company_id = $1 AND e.id = $2"
    );
    let r = sqlx::query(&sql)
        .bind(company)
        .bind(id)
        .fetch_optional(&mut conn)
        .await?
        .ok_or(DomainError::NotFound("employee"))?;
    let row = row_of(&r)?;
    let sensitive = own || principal.may(PAY_READ);
    let pay = if sensitive {
        Some(PayTerms {
            id_number: r.try_get("id_number")?,
            base_salary: r.try_get("base_salary")?,
            contribution_base: r.try_get("contribution_base")?,
            housing_fund_bp: r.try_get("housing_fund_bp")?,
            additional_deductions: r.try_get("additional_deductions")?,
            target_bonus: r.try_get("target_bonus")?,
            bank_name: r.try_get("bank_name")?,
            bank_account: r.try_get("bank_account")?,
            city: r.try_get("city")?,
            structure: r.try_get("structure")?,
        })
    } else {
        None
    };
    let manager =
        match (r.try_get::<Option<String>, _>("manager_number")?, r.try_get::<Option<String>, _>("manager_name")?) {
            (Some(number), Some(name)) => Some(format!("{number} {name}")),
            _ => None,
        };
    let onboarding = sqlx::query("SELECT item, done_at FROM hr_onboarding WHERE employee_id = $1")
        .bind(id)
        .fetch_all(&mut conn)
        .await?
        .iter()
        .map(|o| Ok((o.try_get("item")?, o.try_get("done_at")?)))
        .collect::<std::result::Result<Vec<(String, Option<String>)>, sqlx::Error>>()?;
    let mut onboarding = onboarding;
    onboarding.sort_by_key(|(item, _)| ONBOARDING.iter().position(|i| i == item));
    let events = sqlx::query(
        "SELECT kind, effective_date, details, created_at FROM hr_employee_events WHERE employee_id = $1 ORDER BY effective_date, id",
    )
    .bind(id)
    .fetch_all(&mut conn)
    .await?
    .iter()
    .map(|e| {
        let details: String = e.try_get("details")?;
        Ok(LifecycleEvent {
            kind: e.try_get("kind")?,
            effective_date: e.try_get("effective_date")?,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            created_at: e.try_get("created_at")?,
        })
    })
    .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let employee = Employee {
        row,
        user_id: r.try_get("user_id")?,
        contract_kind: r.try_get("contract_kind")?,
        contract_end: r.try_get("contract_end")?,
        grade_since: r.try_get("grade_since")?,
        version: r.try_get("version")?,
        manager,
        pay,
        onboarding,
        events,
    };
    drop(conn);
    if sensitive {
        let actor = db::Actor::user(principal.user_id.0, principal.login.clone(), company);
        let mut tx = db.begin(actor).await?;
        tx.audit(
            "read",
            "hr.employee",
            Some(&id.to_string()),
            &json!({"fields": ["id_number", "pay", "bank_account"]}),
        )
        .await?;
        tx.commit().await?;
    }
    Ok(employee)
}

/// A lifecycle change after the hire. Which fields count depends on the kind: a transfer
/// moves department (and manager), a promotion changes position (a new grade starts its
/// time in grade) and may raise the base salary, leave and return change the status, an
/// exit ends the employment on its date.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangeForm {
    pub kind: String,
    pub effective_date: String,
    #[serde(default)]
    pub department_id: Option<i64>,
    #[serde(default)]
    pub position_id: Option<i64>,
    #[serde(default)]
    pub manager_id: Option<i64>,
    #[serde(default)]
    pub base_salary: String,
    #[serde(default)]
    pub reason: String,
    pub version: i64,
}

pub async fn change(tx: &mut Tx, principal: &Principal, id: i64, form: &ChangeForm) -> Result<()> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    let current = sqlx::query(
        "SELECT status, department_id, position_id, manager_id, base_salary, version, hire_date FROM hr_employees WHERE company_id = $1 AND id = $2",
    )
    .bind(company)
    .bind(id)
    .fetch_optional(tx.conn())
    .await?
    .ok_or(DomainError::NotFound("employee"))?;
    let (status, version): (String, i64) = (current.try_get("status")?, current.try_get("version")?);
    if version != form.version {
        return Err(DomainError::StaleVersion { resource: "employee", expected: form.version, actual: version }.into());
    }
    let mut p = Problems::default();
    if !CHANGES.contains(&form.kind.as_str()) {
        p.add("kind", "error.hr.change", &form.kind);
    }
    let date = p.check(kernel::dates::parse("effective_date", &form.effective_date));
    let hire_date: String = current.try_get("hire_date")?;
    if let Some(d) = date {
        if d.to_string() < hire_date {
            p.add("effective_date", "error.hr.before_hire", &hire_date);
        }
    }
    let allowed = match form.kind.as_str() {
        "leave" | "transfer" | "promotion" | "exit" => {
            status == "active" || (form.kind == "exit" && status == "on_leave")
        }
        "return" => status == "on_leave",
        _ => true,
    };
    if !allowed {
        return Err(db::document::wrong_status(&status));
    }
    let (mut department, mut position, mut manager, mut salary): (i64, i64, Option<i64>, i64) = (
        current.try_get("department_id")?,
        current.try_get("position_id")?,
        current.try_get("manager_id")?,
        current.try_get("base_salary")?,
    );
    let salary_before = salary;
    let before = json!({"department_id": department, "position_id": position, "manager_id": manager, "status": status});
    match form.kind.as_str() {
        "transfer" => match form.department_id {
            Some(d)
                if exists(tx.conn(), "SELECT 1 FROM hr_departments WHERE company_id = $1 AND id = $2", company, d)
                    .await? =>
            {
                department = d;
                manager = form.manager_id.or(manager);
            }
            other => p.add("department_id", "error.hr.department", other.map(|d| d.to_string()).unwrap_or_default()),
        },
        "promotion" => {
            match form.position_id {
                Some(o)
                    if exists(
                        tx.conn(),
                        "SELECT 1 FROM hr_positions WHERE company_id = $1 AND id = $2",
                        company,
                        o,
                    )
                    .await? =>
                {
                    position = o
                }
                other => p.add("position_id", "error.hr.position", other.map(|d| d.to_string()).unwrap_or_default()),
            }
            if !form.base_salary.trim().is_empty() {
                salary = p.amount("base_salary", form.base_salary.trim());
            }
        }
        _ => {}
    }
    if let Some(new_manager) = form.manager_id {
        let current_colleague = exists(
            tx.conn(),
            "SELECT 1 FROM hr_employees WHERE company_id = $1 AND id = $2 AND status <> 'exited'",
            company,
            new_manager,
        )
        .await?;
        if new_manager == id || !current_colleague {
            p.add("manager_id", "error.hr.manager", new_manager.to_string());
        }
    }
    if form.kind == "promotion" && !form.base_salary.trim().is_empty() && salary == 0 {
        p.add("base_salary", "error.hr.salary", form.base_salary.trim());
    }
    if form.reason.chars().count() > 500 {
        p.add("reason", "error.too_long", "500");
    }
    p.finish()?;
    let date = date.map(|d| d.to_string()).unwrap_or_default();
    let new_status = match form.kind.as_str() {
        "leave" => "on_leave",
        "exit" => "exited",
        "return" => "active",
        _ => status.as_str(),
    };
    let changed = sqlx::query(
        "UPDATE hr_employees SET department_id = $1, position_id = $2, manager_id = $3, base_salary = $4, status = $5, \
           exit_date = CASE WHEN $5 = 'exited' THEN $6 ELSE exit_date END, \
           grade_since = CASE WHEN $7 = 'promotion' THEN $6 ELSE grade_since END, version = version + 1 \
         WHERE id = $8 AND version = $9",
    )
    .bind(department)
    .bind(position)
    .bind(manager)
    .bind(salary)
    .bind(new_status)
    .bind(&date)
    .bind(&form.kind)
    .bind(id)
    .bind(version)
    .execute(tx.conn())
    .await?
    .rows_affected();
    if changed == 0 {
        // Someone else changed the employee between the read and this write.
        return Err(
            DomainError::StaleVersion { resource: "employee", expected: form.version, actual: version + 1 }.into()
        );
    }
    let mut after =
        json!({"department_id": department, "position_id": position, "manager_id": manager, "status": new_status});
    if salary != salary_before {
        record_pay(tx, id, &date, salary).await?;
    }
    if salary != salary_before {
        // The audit chain records that pay changed, not the amounts (auditors read it).
        after["pay_terms"] = json!("changed");
    }
    record_event(tx, id, &form.kind, &date, &json!({"before": before, "after": after, "reason": form.reason.trim()}))
        .await?;
    tx.audit(&form.kind, "hr.employee", Some(&id.to_string()), &kernel::audit::diff(&before, &after)).await?;
    if form.kind == "exit" {
        tx.emit("hr.employee", &id.to_string(), "hr.EmployeeExited", &json!({"id": id, "exit_date": date})).await?;
    }
    Ok(())
}

/// Ticks an onboarding item of a new hire.
pub async fn complete_onboarding(tx: &mut Tx, principal: &Principal, id: i64, item: &str) -> Result<()> {
    principal.authorize(EMPLOYEE_MANAGE)?;
    let company = principal.company_id.0;
    if !exists(tx.conn(), "SELECT 1 FROM hr_employees WHERE company_id = $1 AND id = $2", company, id).await? {
        return Err(DomainError::NotFound("employee").into());
    }
    let now = tx.now().to_string();
    let done =
        sqlx::query("UPDATE hr_onboarding SET done_at = $1 WHERE employee_id = $2 AND item = $3 AND done_at IS NULL")
            .bind(&now)
            .bind(id)
            .bind(item)
            .execute(tx.conn())
            .await?
            .rows_affected();
    if done == 0 {
        return Err(DomainError::invalid("item", "error.hr.onboarding_item", item).into());
    }
    record_event(tx, id, "onboarding", &now[..10], &json!({"item": item})).await?;
    tx.audit("onboarding", "hr.employee", Some(&id.to_string()), &json!({"item": [null, item]})).await
}
