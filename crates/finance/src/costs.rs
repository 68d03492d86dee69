//! The cost report: costs and expenses by cost centre or project, account and month, read
//! from balance rows (`fin_balances` for cost centres, `fin_project_balances` for projects),
//! less, for cost centres, the few lines of the month-end closing vouchers; never from the
//! entries at large.

use crate::dimensions::{self, Dimension};
use db::Result;
use kernel::DomainError;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

/// The widest cost report, in months: one column each.
pub const MAX_MONTHS: usize = 24;

/// The months `from..=to` (`YYYY-MM`), refused when reversed or wider than [`MAX_MONTHS`].
pub fn months(from: &str, to: &str) -> std::result::Result<Vec<String>, DomainError> {
    let (from, to) = crate::domain::period_range(from, to)?;
    let months = crate::domain::months_between(&from, &to);
    if months.len() > MAX_MONTHS {
        return Err(DomainError::invalid("to", "error.finance.range_too_wide", MAX_MONTHS.to_string()));
    }
    Ok(months)
}

/// Costs and expenses by cost centre or project, account and month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CostReport {
    pub dimension: Dimension,
    /// The months of the columns, in order.
    pub periods: Vec<String>,
    /// One group per code, in code order. By cost centre, the lines that name none come first
    /// (code empty); by project they are left out, since a project's report is about projects.
    pub groups: Vec<CostGroup>,
}

/// One cost centre's or project's accounts, with its totals per month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CostGroup {
    pub code: String,
    /// The listed name; empty for the lines that name no code.
    pub name: String,
    pub rows: Vec<CostRow>,
    /// Per month, beside `CostReport::periods`.
    pub amounts: Vec<i64>,
    pub total: i64,
}

/// One account's costs within a group, per month (debit less credit, closing vouchers left out).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CostRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub amounts: Vec<i64>,
    pub total: i64,
}

/// What the month-end closing vouchers of `from..=to` moved, per month, account and cost
/// centre (debit less credit): the reports of a range's costs and revenue take it back out.
/// Few rows: a closing voucher has a line per income or expense account and centre.
pub(crate) struct ClosingMovement {
    pub period: String,
    pub code: String,
    pub name_zh: String,
    pub cost_center: String,
    pub net: i64,
}

pub(crate) async fn closing_movements(
    conn: &mut db::Conn,
    company: i64,
    from: &str,
    to: &str,
) -> Result<Vec<ClosingMovement>> {
    let rows = sqlx::query(
        "SELECT e.period, a.code, a.name_zh, l.cost_center, CAST(SUM(l.debit - l.credit) AS BIGINT) AS net FROM fin_entry_lines l \
         JOIN fin_entries e ON e.id = l.entry_id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = $1 AND e.kind = 'closing' AND e.status = 'posted' AND e.period >= $2 AND e.period <= $3 \
         GROUP BY e.period, a.code, a.name_zh, l.cost_center",
    )
    .bind(company)
    .bind(from)
    .bind(to)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ClosingMovement {
                period: r.try_get("period")?,
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                cost_center: r.try_get("cost_center")?,
                net: r.try_get("net")?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Costs and expenses (accounts of the cost and expense classes) per code of a dimension,
/// account and month over `from..=to`, from balance rows. For cost centres the month-end
/// closing vouchers, which carry each centre's expenses to 本年利润, are taken back out, so a
/// closed month shows what it cost; projects' rows never hold closing lines.
pub async fn cost_report(
    conn: &mut db::Conn,
    company: i64,
    dimension: Dimension,
    from: &str,
    to: &str,
) -> Result<CostReport> {
    let periods = months(from, to)?;
    let (table, key) = match dimension {
        Dimension::CostCenter => ("fin_balances", "cost_center"),
        Dimension::Project => ("fin_project_balances", "project"),
    };
    let rows = sqlx::query(&format!(
        "SELECT b.{key} AS tag, b.period, a.code, a.name_zh, a.name_en, CAST(SUM(b.debit - b.credit) AS BIGINT) AS amount \
         FROM {table} b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.period >= $2 AND b.period <= $3 AND a.class IN ('expense', 'cost') \
         GROUP BY b.{key}, b.period, a.code, a.name_zh, a.name_en"
    ))
    .bind(company)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let closing = match dimension {
        Dimension::Project => Vec::new(),
        Dimension::CostCenter => closing_movements(conn, company, from, to).await?,
    };
    let column = |period: &str| periods.iter().position(|p| p == period);
    // (tag, account code) → (names, amount per month)
    let mut cells: BTreeMap<(String, String), (String, String, Vec<i64>)> = BTreeMap::new();
    for r in &rows {
        let Some(month) = column(&r.try_get::<String, _>("period")?) else { continue };
        let cell = cells
            .entry((r.try_get("tag")?, r.try_get("code")?))
            .or_insert_with(|| (String::new(), String::new(), vec![0; periods.len()]));
        cell.0 = r.try_get("name_zh")?;
        cell.1 = r.try_get("name_en")?;
        cell.2[month] += r.try_get::<i64, _>("amount")?;
    }
    for c in closing {
        let Some(month) = column(&c.period) else { continue };
        if let Some(cell) = cells.get_mut(&(c.cost_center, c.code)) {
            cell.2[month] -= c.net;
        }
    }
    let names: BTreeMap<String, String> =
        dimensions::list(conn, company, dimension).await?.into_iter().map(|t| (t.code, t.name)).collect();
    let mut groups: Vec<CostGroup> = Vec::new();
    for ((tag, code), (name_zh, name_en, amounts)) in cells {
        if amounts.iter().all(|a| *a == 0) {
            continue;
        }
        if groups.last().is_none_or(|g| g.code != tag) {
            groups.push(CostGroup {
                name: names.get(&tag).cloned().unwrap_or_default(),
                code: tag,
                rows: Vec::new(),
                amounts: vec![0; periods.len()],
                total: 0,
            });
        }
        let group = groups.last_mut().expect("pushed above");
        for (sum, amount) in group.amounts.iter_mut().zip(&amounts) {
            *sum += amount;
        }
        let total = amounts.iter().sum();
        group.total += total;
        group.rows.push(CostRow { code, name_zh, name_en, amounts, total });
    }
    Ok(CostReport { dimension, periods, groups })
}
