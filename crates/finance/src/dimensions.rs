//! Analytic dimensions: the cost centres (departments) and projects that entry lines are
//! tagged with (the report that reads them by month is `costs`).
//!
//! Each dimension is a list per company (`fin_dimensions`), as in Odoo's analytic accounts or
//! ERPNext's cost centres: a line names a code from the list, so a typing slip is refused
//! instead of opening a second centre beside the real one. An archived code takes no new
//! lines but keeps its history. Modules that own departments (HR) add theirs with
//! [`register`] before they post.
//!
//! Cost-centre movements are kept in `fin_balances` (its key includes the centre), project
//! movements in `fin_project_balances`, both in the posting transaction.

use crate::domain::Entry;
use crate::permissions::ACCOUNTS;
use db::{Result, Tx};
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// Longest code of a cost centre or project, as the voucher line stores it.
pub const MAX_CODE: usize = 50;

/// One of the two analytic dimensions of an entry line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    /// The department or other unit a cost belongs to (成本中心).
    CostCenter,
    /// The project a cost or revenue belongs to (项目).
    Project,
}

impl Dimension {
    pub const ALL: [Dimension; 2] = [Dimension::CostCenter, Dimension::Project];

    /// The key used in URLs, JSON and the `dimension` column.
    pub fn key(self) -> &'static str {
        match self {
            Dimension::CostCenter => "cost_center",
            Dimension::Project => "project",
        }
    }

    /// The dimension a key names; an unknown key is refused on `field`.
    pub fn parse(field: &str, key: &str) -> std::result::Result<Dimension, DomainError> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.key() == key)
            .ok_or_else(|| DomainError::invalid(field, "error.finance.dimension", key))
    }

    /// The dimension a report is asked for (`?dimension=project`): cost centres when none is
    /// given, an unknown one refused on `dimension`.
    pub fn chosen(key: Option<&str>) -> std::result::Result<Dimension, DomainError> {
        match key.filter(|k| !k.is_empty()) {
            None => Ok(Dimension::CostCenter),
            Some(key) => Dimension::parse("dimension", key),
        }
    }

    /// The dimension a web address names (`/dimensions/project`); another is no page.
    pub fn from_path(key: &str) -> std::result::Result<Dimension, DomainError> {
        Dimension::parse("dimension", key).map_err(|_| DomainError::NotFound("dimension"))
    }

    /// The message key of the dimension's name (成本中心, 项目).
    pub fn label_key(self) -> &'static str {
        match self {
            Dimension::CostCenter => "finance.cost_center",
            Dimension::Project => "finance.project",
        }
    }
}

/// A cost centre or project as listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Tag {
    pub code: String,
    pub name: String,
    pub archived: bool,
}

/// A new cost centre or project as entered.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagForm {
    pub code: String,
    pub name: String,
}

/// The company's cost centres or projects by code, archived ones included (marked).
pub async fn list(conn: &mut db::Conn, company: i64, dimension: Dimension) -> Result<Vec<Tag>> {
    let rows = sqlx::query(
        "SELECT code, name, archived_at FROM fin_dimensions WHERE company_id = $1 AND dimension = $2 ORDER BY code",
    )
    .bind(company)
    .bind(dimension.key())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Tag {
                code: r.try_get("code")?,
                name: r.try_get("name")?,
                archived: r.try_get::<Option<String>, _>("archived_at")?.is_some(),
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The codes a new line may name, as the forms offer them: the active ones of the list.
pub async fn offered(conn: &mut db::Conn, company: i64, dimension: Dimension) -> Result<Vec<Tag>> {
    Ok(list(conn, company, dimension).await?.into_iter().filter(|t| !t.archived).collect())
}

/// What an action of a code's row does: `archive` (true) or `restore` (false); another is
/// no page.
pub fn archiving(action: &str) -> std::result::Result<bool, DomainError> {
    match action {
        "archive" => Ok(true),
        "restore" => Ok(false),
        _ => Err(DomainError::NotFound("action")),
    }
}

/// Whether a code may be given to a new cost centre or project: letters (Chinese included),
/// digits, `-`, `_` and `.`, not only dots, so that it reads the same in a web address.
fn well_formed(code: &str) -> bool {
    code.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) && code.chars().any(|c| c != '.')
}

/// Adds a cost centre or project to the company's list. Codes are unique per dimension, at
/// most [`MAX_CODE`] characters, of the characters [`well_formed`] allows.
pub async fn create(tx: &mut Tx, principal: &Principal, dimension: Dimension, form: &TagForm) -> Result<()> {
    principal.authorize(ACCOUNTS)?;
    let company = principal.company_id.0;
    let (code, name) = (form.code.trim(), form.name.trim());
    let mut problems = kernel::error::Problems::default();
    if code.is_empty() {
        problems.add("code", "error.required", "");
    } else if code.chars().count() > MAX_CODE {
        problems.add("code", "error.too_long", MAX_CODE.to_string());
    } else if !well_formed(code) {
        problems.add("code", "error.finance.dimension_code", code);
    }
    if name.is_empty() {
        problems.add("name", "error.required", "");
    } else if name.chars().count() > 100 {
        problems.add("name", "error.too_long", "100");
    }
    problems.finish()?;
    if !insert(tx, company, dimension, code, name).await? {
        return Err(DomainError::invalid("code", "error.finance.dimension_taken", code).into());
    }
    tx.audit(
        "create",
        &format!("finance.{}", dimension.key()),
        Some(code),
        &json!({"code": [null, code], "name": [null, name]}),
    )
    .await?;
    Ok(())
}

/// Renames a cost centre or project; its code, which the lines name, stays. Audited.
pub async fn rename(tx: &mut Tx, principal: &Principal, dimension: Dimension, code: &str, name: &str) -> Result<()> {
    principal.authorize(ACCOUNTS)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "error.required", "").into());
    }
    if name.chars().count() > 100 {
        return Err(DomainError::invalid("name", "error.too_long", "100").into());
    }
    let company = principal.company_id.0;
    let before = tx
        .fetch_optional(
            sqlx::query("SELECT name FROM fin_dimensions WHERE company_id = $1 AND dimension = $2 AND code = $3")
                .bind(company)
                .bind(dimension.key())
                .bind(code),
        )
        .await?;
    let Some(before) = before else { return Err(DomainError::NotFound("cost centre or project").into()) };
    let before: String = before.try_get("name")?;
    if before == name {
        return Ok(());
    }
    tx.execute(
        sqlx::query("UPDATE fin_dimensions SET name = $1 WHERE company_id = $2 AND dimension = $3 AND code = $4")
            .bind(name)
            .bind(company)
            .bind(dimension.key())
            .bind(code),
    )
    .await?;
    tx.audit("update", &format!("finance.{}", dimension.key()), Some(code), &json!({"name": [before, name]})).await?;
    Ok(())
}

/// Archives a cost centre or project (it takes no new lines, its history stays in the
/// reports) or restores it. Audited.
pub async fn set_archived(
    tx: &mut Tx,
    principal: &Principal,
    dimension: Dimension,
    code: &str,
    archive: bool,
) -> Result<()> {
    principal.authorize(ACCOUNTS)?;
    let now = tx.now().to_string();
    let only = if archive { "archived_at IS NULL" } else { "archived_at IS NOT NULL" };
    let changed = tx
        .execute(
            sqlx::query(&format!(
                "UPDATE fin_dimensions SET archived_at = $1 WHERE company_id = $2 AND dimension = $3 AND code = $4 AND {only}"
            ))
            .bind(archive.then(|| now.clone()))
            .bind(principal.company_id.0)
            .bind(dimension.key())
            .bind(code),
        )
        .await?;
    if changed == 0 {
        let listed = list(tx.conn(), principal.company_id.0, dimension).await?.into_iter().any(|t| t.code == code);
        return Err(if listed {
            DomainError::Conflict(format!("{code} is already {}", if archive { "archived" } else { "in use" })).into()
        } else {
            DomainError::NotFound("cost centre or project").into()
        });
    }
    let (before, after) = if archive { (None, Some(now)) } else { (Some(now), None) };
    tx.audit(
        if archive { "archive" } else { "restore" },
        &format!("finance.{}", dimension.key()),
        Some(code),
        &json!({"archived_at": [before, after]}),
    )
    .await?;
    Ok(())
}

/// Lists a cost centre or project another module owns (an HR department, say) under its code,
/// once: an existing entry keeps its name and, if archived, stays archived, so the module's
/// posting is then refused like any other line naming an archived code. For the module's own
/// transaction; its permission was checked.
pub async fn register(tx: &mut Tx, company: i64, dimension: Dimension, code: &str, name: &str) -> Result<()> {
    insert(tx, company, dimension, code, name).await.map(|_| ())
}

/// Lists a code unless it is listed already; whether it was added.
async fn insert(tx: &mut Tx, company: i64, dimension: Dimension, code: &str, name: &str) -> Result<bool> {
    let added = tx
        .execute(
            sqlx::query(
                "INSERT INTO fin_dimensions (company_id, dimension, code, name) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (company_id, dimension, code) DO NOTHING",
            )
            .bind(company)
            .bind(dimension.key())
            .bind(code)
            .bind(name),
        )
        .await?;
    Ok(added > 0)
}

/// Refuses, on its line, every cost centre or project of `entry` that is not on the company's
/// list or is archived. Costs one query, and none for an entry without either.
pub(crate) async fn require_usable(tx: &mut Tx, company: i64, entry: &Entry) -> Result<()> {
    let tags = entry.lines.iter().map(|l| (l.cost_center.as_str(), l.project.as_str()));
    require_listed(tx, company, tags).await
}

/// Adds to `problems` the one cost centre and project a document names for all its lines (a
/// sales order) when either is not listed or is archived, beside the document's own
/// `cost_center` or `project` field. Empty codes name none and pass.
pub async fn check_document_tags(
    tx: &mut Tx,
    company: i64,
    cost_center: &str,
    project: &str,
    problems: &mut kernel::error::Problems,
) -> Result<()> {
    check_code(tx, company, Dimension::CostCenter, cost_center, "cost_center", problems).await?;
    check_code(tx, company, Dimension::Project, project, "project", problems).await
}

/// Adds to `problems`, beside `field`, a code of `dimension` that is not listed or is
/// archived. An empty code names none and passes.
pub async fn check_code(
    tx: &mut Tx,
    company: i64,
    dimension: Dimension,
    code: &str,
    field: &str,
    problems: &mut kernel::error::Problems,
) -> Result<()> {
    let tags = match dimension {
        Dimension::CostCenter => (code, ""),
        Dimension::Project => ("", code),
    };
    let mut found = kernel::error::Problems::default();
    check_listed(tx, company, std::iter::once(tags), &mut found).await?;
    problems.0.extend(found.0.into_iter().map(|mut e| {
        e.field = field.into();
        e
    }));
    Ok(())
}

/// [`require_usable`] for lines given as (cost centre, project), in line order.
pub(crate) async fn require_listed<'a>(
    tx: &mut Tx,
    company: i64,
    lines: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<()> {
    let mut problems = kernel::error::Problems::default();
    check_listed(tx, company, lines, &mut problems).await?;
    problems.finish()?;
    Ok(())
}

/// Adds to `problems`, on its line, every code of `lines` (cost centre, project) that is not
/// listed or is archived: for a form that reports all its refusals at once.
pub(crate) async fn check_listed<'a>(
    tx: &mut Tx,
    company: i64,
    lines: impl Iterator<Item = (&'a str, &'a str)>,
    problems: &mut kernel::error::Problems,
) -> Result<()> {
    let named: Vec<(usize, Dimension, &str)> = lines
        .enumerate()
        .flat_map(|(i, (centre, project))| [(i, Dimension::CostCenter, centre), (i, Dimension::Project, project)])
        .filter(|(_, _, code)| !code.is_empty())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let codes: BTreeSet<&str> = named.iter().map(|(_, _, code)| *code).collect();
    let mut q = db::SqlBuilder::new("SELECT dimension, code, archived_at FROM fin_dimensions WHERE company_id = ");
    q.bind(company).push(" AND code IN ").bind_list(codes.iter().copied());
    let mut usable: BTreeMap<(String, String), bool> = BTreeMap::new();
    for r in tx.fetch_all(q.build()).await? {
        let archived = r.try_get::<Option<String>, _>("archived_at")?.is_some();
        usable.insert((r.try_get("dimension")?, r.try_get("code")?), !archived);
    }
    for (i, dimension, code) in named {
        let field = format!("lines[{i}]");
        let (unknown, archived) = match dimension {
            Dimension::CostCenter => ("error.finance.unknown_cost_center", "error.finance.archived_cost_center"),
            Dimension::Project => ("error.finance.unknown_project", "error.finance.archived_project"),
        };
        match usable.get(&(dimension.key().to_string(), code.to_string())) {
            None => problems.add(&field, unknown, code),
            Some(false) => problems.add(&field, archived, code),
            Some(true) => {}
        }
    }
    Ok(())
}
