//! Budgets (预算) per cost centre or project: an amount per cost or expense account and month,
//! and the budget-against-actual report that sets them beside what was spent, as the cost
//! report reads it. A budget is set for a whole year of one code and account at a time, so a
//! revision replaces the year rather than leaving old months behind.
//!
//! A budget either warns (the report marks the overspend) or stops: then a posting that would
//! take the year's spending up to its month beyond the budget of those months is refused
//! (`check_posting`, called by every posting in the ledger), as ERPNext's "stop" on the
//! accumulated monthly budget does.

use crate::costs;
use crate::dimensions::{self, Dimension};
use crate::domain::yuan;
use crate::permissions::ACCOUNTS;
use db::{Result, Tx};
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use std::collections::BTreeMap;

/// A year's budget of one cost centre or project for one account, as entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BudgetForm {
    pub code: String,
    /// A cost or expense account (`6601`); its sub-accounts' spending counts against it.
    pub account: String,
    /// `2026`.
    pub year: String,
    /// The year's amount in yuan, spread evenly over its twelve months (the fen left over go
    /// to December), when `months` is not given.
    #[serde(default)]
    pub annual: String,
    /// Twelve monthly amounts in yuan, January first; an empty one is zero. Given, they are
    /// the budget and `annual` is not read.
    #[serde(default)]
    pub months: Vec<String>,
    /// `warn` (the report marks an overspend) or `stop` (a posting that would overspend is
    /// refused). Left out, a new budget warns and a revised one keeps its action.
    #[serde(default)]
    pub action: String,
}

/// What a budget does about a posting that would overspend it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Warn,
    Stop,
}

impl Action {
    /// As a form or the API sends it: empty is `warn`.
    pub fn parse(text: &str) -> Option<Action> {
        match text.trim() {
            "" | "warn" => Some(Action::Warn),
            "stop" => Some(Action::Stop),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Action::Warn => "warn",
            Action::Stop => "stop",
        }
    }
}

impl BudgetForm {
    /// Whether the form gives months one by one rather than a year to spread.
    fn by_month(&self) -> bool {
        self.months.iter().any(|m| !m.trim().is_empty())
    }
}

/// The twelve months of a year's amount spread evenly, the fen that do not divide in December.
pub fn spread(annual: i64) -> [i64; 12] {
    let month = annual / 12;
    let mut months = [month; 12];
    months[11] += annual - month * 12;
    months
}

/// The largest amount of one month, in fen (a trillion yuan): twelve of them still add up
/// within the ledger's integers.
const MOST_A_MONTH: i64 = 100_000_000_000_000;

/// Sets (replaces) the year's budget of one code and account. All zero removes it. Refused
/// beside each field: a code that is not listed (or is archived, unless the budget is being
/// removed), an account that is not a cost or expense account or whose parent or sub-account
/// already has a budget for that code and year (its spending would count twice), a year or
/// amount that cannot be read, a year's amount and months given together. Audited.
pub async fn set_budget(tx: &mut Tx, principal: &Principal, dimension: Dimension, form: &BudgetForm) -> Result<()> {
    principal.authorize(ACCOUNTS)?;
    let company = principal.company_id.0;
    let mut problems = Problems::default();
    let year = form.year.trim();
    if !(year.len() == 4 && year.parse::<u32>().is_ok_and(|y| (2000..=2099).contains(&y))) {
        problems.add("year", "error.finance.year", year);
    }
    let amounts: [i64; 12] = if form.by_month() {
        if !form.annual.trim().is_empty() {
            problems.add("annual", "error.finance.budget_both", form.annual.trim());
        }
        if form.months.len() != 12 {
            problems.add("months", "error.finance.budget_months", form.months.len().to_string());
        }
        let mut amounts = [0; 12];
        for (i, text) in form.months.iter().take(12).enumerate() {
            if !text.trim().is_empty() {
                amounts[i] = problems.amount(&format!("months[{i}]"), text.trim());
                if amounts[i] > MOST_A_MONTH {
                    problems.add(&format!("months[{i}]"), "error.amount.too_large", text.trim());
                }
            }
        }
        amounts
    } else if form.annual.trim().is_empty() {
        problems.add("annual", "error.required", "");
        [0; 12]
    } else {
        let annual = problems.amount("annual", form.annual.trim());
        if annual > MOST_A_MONTH * 12 {
            problems.add("annual", "error.amount.too_large", form.annual.trim());
        }
        spread(annual.min(MOST_A_MONTH * 12))
    };
    let action = Action::parse(&form.action).unwrap_or_else(|| {
        problems.add("action", "error.finance.budget_action", form.action.trim());
        Action::Warn
    });
    // A form that leaves the action out (an API client revising the amounts) keeps the one
    // stored; only `warn` or `stop` sent changes it.
    let keep_stored = form.action.trim().is_empty();
    let removing = amounts.iter().all(|a| *a == 0);
    let code = form.code.trim();
    if code.is_empty() {
        problems.add("code", "error.required", "");
    } else if !removing {
        // A budget of an archived code may still be taken away, not set.
        dimensions::check_code(tx, company, dimension, code, "code", &mut problems).await?;
    }
    let account = form.account.trim();
    let found = tx
        .fetch_optional(
            sqlx::query("SELECT id, class FROM fin_accounts WHERE company_id = $1 AND code = $2")
                .bind(company)
                .bind(account),
        )
        .await?;
    let account_id = match found {
        None if account.is_empty() => {
            problems.add("account", "error.required", "");
            None
        }
        None => {
            problems.add("account", "error.finance.unknown_account", account);
            None
        }
        Some(row) if !["cost", "expense"].contains(&row.try_get::<String, _>("class")?.as_str()) => {
            problems.add("account", "error.finance.budget_account", account);
            None
        }
        Some(row) => Some(row.try_get::<i64, _>("id")?),
    };
    let this_year = format!("{year}-%");
    if let (Some(_), false, true) = (account_id, removing, problems.0.is_empty()) {
        // A parent's budget counts its sub-accounts' spending: a budget on both would count
        // that spending twice.
        let overlap = tx
            .fetch_optional(
                sqlx::query(
                    "SELECT a.code FROM fin_budgets b JOIN fin_accounts a ON a.id = b.account_id \
                     WHERE b.company_id = $1 AND b.dimension = $2 AND b.code = $3 AND b.period LIKE $4 AND a.code <> $5 \
                     AND (a.code LIKE $5 || '%' OR $5 LIKE a.code || '%') LIMIT 1",
                )
                .bind(company)
                .bind(dimension.key())
                .bind(code)
                .bind(&this_year)
                .bind(account),
            )
            .await?;
        if let Some(other) = overlap {
            problems.add("account", "error.finance.budget_overlap", other.try_get::<String, _>("code")?);
        }
    }
    problems.finish()?;
    let account_id = account_id.expect("refused above when missing");
    // What the year held before, and what it did about an overspend (its rows all carry the
    // same action; none when the year had no budget).
    let stored = tx
        .fetch_one(
            sqlx::query(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total, MAX(action) AS action FROM fin_budgets \
                 WHERE company_id = $1 AND dimension = $2 AND code = $3 AND account_id = $4 AND period LIKE $5",
            )
            .bind(company)
            .bind(dimension.key())
            .bind(code)
            .bind(account_id)
            .bind(&this_year),
        )
        .await?;
    let before: i64 = stored.try_get("total")?;
    let before_action: Option<String> = stored.try_get("action")?;
    let action = match (&before_action, keep_stored) {
        (Some(stored), true) => Action::parse(stored).unwrap_or(action),
        _ => action,
    };
    // Every month written over (two people setting one budget at once: the later wins, neither
    // meets the other's rows), then the months left at zero taken away.
    let mut q = db::SqlBuilder::new(
        "INSERT INTO fin_budgets (company_id, dimension, code, account_id, period, amount, action) VALUES ",
    );
    for (i, amount) in amounts.iter().enumerate() {
        if i > 0 {
            q.push(", ");
        }
        q.push("(").bind(company).push(", ").bind(dimension.key()).push(", ").bind(code.to_string());
        q.push(", ")
            .bind(account_id)
            .push(", ")
            .bind(format!("{year}-{:02}", i + 1))
            .push(", ")
            .bind(*amount)
            .push(", ")
            .bind(action.key())
            .push(")");
    }
    q.push(
        " ON CONFLICT (company_id, dimension, code, account_id, period) \
         DO UPDATE SET amount = excluded.amount, action = excluded.action",
    );
    tx.execute(q.build()).await?;
    tx.execute(
        sqlx::query(
            "DELETE FROM fin_budgets WHERE company_id = $1 AND dimension = $2 AND code = $3 AND account_id = $4 \
             AND period LIKE $5 AND amount = 0",
        )
        .bind(company)
        .bind(dimension.key())
        .bind(code)
        .bind(account_id)
        .bind(&this_year),
    )
    .await?;
    let after: i64 = amounts.iter().sum();
    tx.audit(
        "update",
        "finance.budget",
        Some(&format!("{}:{code}:{account}:{year}", dimension.key())),
        &json!({"total": [yuan(before), yuan(after)], "action": [before_action, action.key()],
            "months": amounts.iter().map(|a| yuan(*a)).collect::<Vec<_>>()}),
    )
    .await?;
    Ok(())
}

/// The budget against what was spent over a range, per code and budgeted account.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BudgetReport {
    pub dimension: Dimension,
    pub groups: Vec<BudgetGroup>,
    /// The budget and spending of every group together.
    pub budget: i64,
    pub actual: i64,
}

/// One cost centre's or project's budgeted accounts.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BudgetGroup {
    pub code: String,
    pub name: String,
    pub rows: Vec<BudgetRow>,
    pub budget: i64,
    pub actual: i64,
}

/// One budgeted account: its budget over the range and what was spent on it and its
/// sub-accounts, as the cost report shows it (closing vouchers left out).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BudgetRow {
    pub account: String,
    pub name_zh: String,
    pub name_en: String,
    pub budget: i64,
    pub actual: i64,
    /// The latest year of the range the account has a budget in: the year its 调整 revises.
    pub year: String,
    /// Whether it refuses a posting that would overspend it.
    pub stops: bool,
}

/// What is left of a budget (negative: overspent), and how much of it was used in whole per
/// cent (none when nothing was budgeted).
pub trait Execution {
    fn figures(&self) -> (i64, i64);

    fn remaining(&self) -> i64 {
        let (budget, actual) = self.figures();
        budget - actual
    }

    fn used_percent(&self) -> Option<i64> {
        let (budget, actual) = self.figures();
        (budget != 0).then(|| ((i128::from(actual) * 100 + i128::from(budget) / 2) / i128::from(budget)) as i64)
    }

    fn over(&self) -> bool {
        self.remaining() < 0
    }
}

impl Execution for BudgetRow {
    fn figures(&self) -> (i64, i64) {
        (self.budget, self.actual)
    }
}

impl Execution for BudgetGroup {
    fn figures(&self) -> (i64, i64) {
        (self.budget, self.actual)
    }
}

impl Execution for BudgetReport {
    fn figures(&self) -> (i64, i64) {
        (self.budget, self.actual)
    }
}

/// The budgets of one dimension over `from..=to` (at most the cost report's 24 months) beside
/// the spending on each budgeted account and its sub-accounts. Spending no budget covers is
/// on the cost report, not here.
pub async fn budget_report(
    conn: &mut db::Conn,
    company: i64,
    dimension: Dimension,
    from: &str,
    to: &str,
) -> Result<BudgetReport> {
    let spent = costs::cost_report(conn, company, dimension, from, to).await?;
    let rows = sqlx::query(
        "SELECT b.code AS tag, a.code, a.name_zh, a.name_en, CAST(SUM(b.amount) AS BIGINT) AS amount, MAX(b.period) AS last_period, \
         MAX(b.action) AS action \
         FROM fin_budgets b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.dimension = $2 AND b.period >= $3 AND b.period <= $4 \
         GROUP BY b.code, a.code, a.name_zh, a.name_en ORDER BY b.code, a.code",
    )
    .bind(company)
    .bind(dimension.key())
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let names: BTreeMap<String, String> =
        dimensions::list(conn, company, dimension).await?.into_iter().map(|t| (t.code, t.name)).collect();
    let mut report = BudgetReport { dimension, groups: Vec::new(), budget: 0, actual: 0 };
    for r in &rows {
        let tag: String = r.try_get("tag")?;
        let account: String = r.try_get("code")?;
        let actual: i64 = spent
            .groups
            .iter()
            .filter(|g| g.code == tag)
            .flat_map(|g| &g.rows)
            .filter(|row| row.code.starts_with(&account))
            .map(|row| row.total)
            .sum();
        let budget: i64 = r.try_get("amount")?;
        if report.groups.last().is_none_or(|g| g.code != tag) {
            let name = names.get(&tag).cloned().unwrap_or_default();
            report.groups.push(BudgetGroup { code: tag, name, rows: Vec::new(), budget: 0, actual: 0 });
        }
        let group = report.groups.last_mut().expect("pushed above");
        group.budget += budget;
        group.actual += actual;
        report.budget += budget;
        report.actual += actual;
        let (name_zh, name_en) = (r.try_get("name_zh")?, r.try_get("name_en")?);
        let year = r.try_get::<String, _>("last_period")?.chars().take(4).collect();
        let stops = r.try_get::<String, _>("action")? == Action::Stop.key();
        group.rows.push(BudgetRow { account, name_zh, name_en, budget, actual, year, stops });
    }
    Ok(report)
}

/// One line of a posting as the budget check reads it.
#[derive(Debug, Clone, Copy)]
pub struct Spending<'a> {
    /// The account's code: a budget on `6601` covers `660101`.
    pub account: &'a str,
    pub cost_center: &'a str,
    pub project: &'a str,
    pub debit: i64,
    pub credit: i64,
}

/// Refuses a posting in `period` that would take a cost centre's or project's spending on an
/// account whose budget stops overspending beyond that budget, both counted from January to
/// the posting's month: the year-to-date spending as the budget report reads it (closing
/// vouchers left out), plus what this posting adds. A posting that adds nothing to a budget's
/// spending (a reversal, a credit, an untagged line) goes through whatever the budget, so an
/// overspend can always be corrected.
///
/// Cheap when it does not apply: no query at all for a posting without a tagged debit, one
/// small query of the year's stopping budgets otherwise; the spending is read only for a
/// budget the posting adds to. On PostgreSQL that budget's rows are locked first, so two
/// postings against one budget at once are counted one after the other.
pub async fn check_posting(tx: &mut Tx, company: i64, period: &str, lines: &[Spending<'_>]) -> Result<()> {
    let adds = |l: &Spending| l.debit > l.credit;
    if !lines.iter().any(|l| adds(l) && (!l.cost_center.is_empty() || !l.project.is_empty())) {
        return Ok(());
    }
    let year = period.get(..4).ok_or_else(|| DomainError::Internal(format!("bad period {period}")))?;
    let first = format!("{year}-01");
    let stopping = tx
        .fetch_all(
            sqlx::query(
                "SELECT DISTINCT b.dimension, b.code, a.code AS account FROM fin_budgets b \
                 JOIN fin_accounts a ON a.id = b.account_id \
                 WHERE b.company_id = $1 AND b.action = 'stop' AND b.period >= $2 AND b.period <= $3 \
                 ORDER BY b.dimension, b.code, a.code",
            )
            .bind(company)
            .bind(&first)
            .bind(format!("{year}-12")),
        )
        .await?;
    // The stopping budgets this posting adds to, with what it adds, in a fixed order.
    let mut touched: Vec<(Dimension, String, String, i64)> = Vec::new();
    for row in &stopping {
        let dimension = Dimension::parse("dimension", &row.try_get::<String, _>("dimension")?)?;
        let (code, account): (String, String) = (row.try_get("code")?, row.try_get("account")?);
        let added: i64 = lines
            .iter()
            .filter(|l| {
                let tag = match dimension {
                    Dimension::CostCenter => l.cost_center,
                    Dimension::Project => l.project,
                };
                tag == code && l.account.starts_with(&account)
            })
            .map(|l| l.debit - l.credit)
            .sum();
        if added > 0 {
            touched.push((dimension, code, account, added));
        }
    }
    if touched.is_empty() {
        return Ok(());
    }
    // Every budget touched is locked (in that order) before any spending is read, so the
    // spending read below includes every posting against them that committed first.
    let lock = tx.dialect().update_lock_of("b");
    let mut budgets = Vec::with_capacity(touched.len());
    for (dimension, code, account, _) in &touched {
        let rows = tx
            .fetch_all(
                sqlx::query(&format!(
                    "SELECT b.amount FROM fin_budgets b JOIN fin_accounts a ON a.id = b.account_id \
                     WHERE b.company_id = $1 AND b.dimension = $2 AND b.code = $3 AND a.code = $4 \
                     AND b.period >= $5 AND b.period <= $6 ORDER BY b.period{lock}"
                ))
                .bind(company)
                .bind(dimension.key())
                .bind(code)
                .bind(account)
                .bind(&first)
                .bind(period),
            )
            .await?;
        budgets.push(rows.iter().map(|r| r.try_get::<i64, _>("amount")).sum::<std::result::Result<i64, _>>()?);
    }
    let mut reports: BTreeMap<&str, BudgetReport> = BTreeMap::new();
    let mut problems = Problems::default();
    for ((dimension, code, account, added), budget) in touched.iter().zip(budgets) {
        let report = match reports.entry(dimension.key()) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(budget_report(tx.conn(), company, *dimension, &first, period).await?)
            }
        };
        let spent = report
            .groups
            .iter()
            .filter(|g| g.code == *code)
            .flat_map(|g| &g.rows)
            .find(|r| r.account == *account)
            .map_or(0, |r| r.actual);
        if spent + added > budget {
            problems.add(
                "lines",
                "error.finance.over_budget",
                format!("{code} · {account} · {} / {} + {}", yuan(budget), yuan(spent), yuan(*added)),
            );
        }
    }
    Ok(problems.finish()?)
}

/// One year's monthly budget of a code and account, January first, and what it does about an
/// overspend, for the form that revises it.
pub async fn year_of(
    conn: &mut db::Conn,
    company: i64,
    dimension: Dimension,
    code: &str,
    account: &str,
    year: &str,
) -> Result<([i64; 12], Action)> {
    let rows = sqlx::query(
        "SELECT b.period, b.amount, b.action FROM fin_budgets b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.dimension = $2 AND b.code = $3 AND a.code = $4 AND b.period LIKE $5",
    )
    .bind(company)
    .bind(dimension.key())
    .bind(code)
    .bind(account)
    .bind(format!("{year}-%"))
    .fetch_all(&mut *conn)
    .await?;
    let mut months = [0; 12];
    let mut action = Action::Warn;
    for r in rows {
        if r.try_get::<String, _>("action")? == Action::Stop.key() {
            action = Action::Stop;
        }
        let period: String = r.try_get("period")?;
        let month: usize = period.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(0);
        if (1..=12).contains(&month) {
            months[month - 1] = r.try_get("amount")?;
        }
    }
    Ok((months, action))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_year_spreads_evenly_with_the_odd_fen_in_december() {
        assert_eq!(spread(12_000_000), [1_000_000; 12]);
        let odd = spread(10_000_005);
        assert_eq!(odd[0], 833_333);
        assert_eq!(odd[11], 833_333 + 9);
        assert_eq!(odd.iter().sum::<i64>(), 10_000_005);
    }

    #[test]
    fn execution_is_rounded_to_whole_per_cent_and_an_overspend_shows() {
        let row = |budget, actual| BudgetRow {
            account: "6601".into(),
            name_zh: String::new(),
            name_en: String::new(),
            budget,
            actual,
            year: "2026".into(),
            stops: false,
        };
        assert_eq!(row(3_000_000, 3_250_000).used_percent(), Some(108));
        assert!(row(3_000_000, 3_250_000).over());
        assert_eq!(row(3_000_000, 3_250_000).remaining(), -250_000);
        assert_eq!(row(0, 500).used_percent(), None);
        assert!(!row(1_000, 1_000).over());
    }
}
