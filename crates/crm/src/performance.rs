//! Sales performance: targets per salesperson and month, and for a range of months each
//! salesperson's actual revenue (net of VAT, the confirmed orders they wrote), orders, win rate
//! (opportunities won of those closed), average deal size, sales cycle (days from an
//! opportunity opened to won), open pipeline closing in the range and its coverage of what is
//! left of the target, ranked by revenue. Everyone sees the rows their opportunity scope
//! reaches: a rep their own, a manager the team's.

use crate::service::{OPPORTUNITY_READ, SETTINGS};
use db::{Result, RowExt, SqlBuilder, Tx};
use finance::domain::yuan;
use kernel::error::Problems;
use kernel::permission::Principal;
use kernel::DomainError;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

/// One salesperson's figures for the range (fen, basis points, days).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Row {
    pub user_id: i64,
    pub name: String,
    pub rank: i64,
    pub target: i64,
    pub revenue: i64,
    /// Revenue of the target, in basis points; None without a target.
    pub attainment_bp: Option<i64>,
    pub orders: i64,
    pub won: i64,
    pub lost: i64,
    pub win_rate_bp: Option<i64>,
    pub average_deal: Option<i64>,
    pub cycle_days: Option<i64>,
    /// Open opportunities closing in the range: expected and weighted.
    pub pipeline: i64,
    pub weighted_pipeline: i64,
    /// Open pipeline over what is left of the target, in basis points.
    pub coverage_bp: Option<i64>,
}

fn month(field: &str, text: &str) -> std::result::Result<String, kernel::error::FieldError> {
    let text = text.trim();
    chrono::NaiveDate::parse_from_str(&format!("{text}-01"), "%Y-%m-%d")
        .map(|_| text.to_string())
        .map_err(|_| kernel::error::FieldError::new(field, "error.crm.month", text))
}

/// Sets (or replaces) a salesperson's target for a month.
pub async fn set_target(tx: &mut Tx, principal: &Principal, user: i64, target_month: &str, amount: &str) -> Result<()> {
    principal.authorize(SETTINGS)?;
    let company = principal.company_id.0;
    let mut p = Problems::default();
    let target_month = p.check(month("month", target_month));
    let amount = p.amount("amount", amount);
    if amount < 0 {
        p.add("amount", "error.finance.negative", yuan(amount));
    }
    let member = sqlx::query("SELECT 1 FROM user_companies WHERE company_id = $1 AND user_id = $2")
        .bind(company)
        .bind(user)
        .fetch_optional(tx.conn())
        .await?;
    if member.is_none() {
        p.add("user_id", "error.crm.user", user.to_string());
    }
    p.finish()?;
    let target_month = target_month.unwrap_or_default();
    sqlx::query(
        "INSERT INTO crm_targets (company_id, user_id, month, amount) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (company_id, user_id, month) DO UPDATE SET amount = excluded.amount",
    )
    .bind(company)
    .bind(user)
    .bind(&target_month)
    .bind(amount)
    .execute(tx.conn())
    .await?;
    tx.audit("update", "crm.target", Some(&format!("{user}:{target_month}")), &json!({"amount": [null, yuan(amount)]}))
        .await
}

/// The figures of the months `from..=to` (`YYYY-MM`), ranked by revenue.
pub async fn report(conn: &mut db::Conn, principal: &Principal, from: &str, to: &str) -> Result<Vec<Row>> {
    let filter = principal.row_filter(OPPORTUNITY_READ)?;
    let mut p = Problems::default();
    let (from, to) = (p.check(month("from", from)), p.check(month("to", to)));
    if let (Some(f), Some(t)) = (&from, &to) {
        if t < f {
            p.add("to", "error.period_order", t.clone());
        }
    }
    p.finish()?;
    let (from, to) = (from.unwrap_or_default(), to.unwrap_or_default());
    let company = principal.company_id.0;
    // The salespeople this principal may see.
    let mut q = SqlBuilder::new(
        "SELECT u.id, u.display_name FROM users u JOIN user_companies c ON c.user_id = u.id WHERE 1 = 1",
    );
    db::rules::push_filter(&mut q, &filter, "c.company_id", "u.id");
    let mut rows: BTreeMap<i64, Row> = BTreeMap::new();
    for r in q.build().fetch_all(&mut *conn).await? {
        let id: i64 = r.try_get("id")?;
        rows.insert(id, Row { user_id: id, name: r.try_get("display_name")?, ..Default::default() });
    }
    let grouped = |sql: &str| -> SqlBuilder {
        let mut q = SqlBuilder::new(sql);
        q.bind(company);
        q
    };
    let mut targets = grouped("SELECT user_id AS who, CAST(SUM(amount) AS BIGINT) AS a, CAST(0 AS BIGINT) AS b FROM crm_targets WHERE company_id = ");
    targets.push(" AND month >= ").bind(from.clone()).push(" AND month <= ").bind(to.clone()).push(" GROUP BY user_id");
    let mut revenue = grouped(
        "SELECT created_by AS who, CAST(SUM(net) AS BIGINT) AS a, COUNT(*) AS b FROM sal_orders WHERE status IN ('confirmed', 'done', 'closed') AND company_id = ",
    );
    revenue
        .push(" AND SUBSTR(order_date, 1, 7) >= ")
        .bind(from.clone())
        .push(" AND SUBSTR(order_date, 1, 7) <= ")
        .bind(to.clone());
    revenue.push(" GROUP BY created_by");
    let mut closed = grouped(
        "SELECT owner_id AS who, CAST(SUM(CASE WHEN status = 'won' THEN 1 ELSE 0 END) AS BIGINT) AS a, \
           CAST(SUM(CASE WHEN status = 'lost' THEN 1 ELSE 0 END) AS BIGINT) AS b FROM crm_opportunities WHERE status IN ('won', 'lost') AND company_id = ",
    );
    closed
        .push(" AND SUBSTR(closed_at, 1, 7) >= ")
        .bind(from.clone())
        .push(" AND SUBSTR(closed_at, 1, 7) <= ")
        .bind(to.clone());
    closed.push(" GROUP BY owner_id");
    let mut pipeline = grouped(
        "SELECT o.owner_id AS who, CAST(SUM(o.expected_revenue) AS BIGINT) AS a, \
           CAST(SUM((o.expected_revenue * s.probability_bp + 5000) / 10000) AS BIGINT) AS b \
         FROM crm_opportunities o JOIN crm_stages s ON s.id = o.stage_id WHERE o.status = 'open' AND o.company_id = ",
    );
    pipeline
        .push(" AND SUBSTR(o.close_date, 1, 7) >= ")
        .bind(from.clone())
        .push(" AND SUBSTR(o.close_date, 1, 7) <= ")
        .bind(to.clone());
    pipeline.push(" GROUP BY o.owner_id");
    for (which, q) in [(0, targets), (1, revenue), (2, closed), (3, pipeline)] {
        for r in q.build().fetch_all(&mut *conn).await? {
            let Some(who) = r.try_get::<Option<i64>, _>("who")? else {
                continue;
            };
            let Some(row) = rows.get_mut(&who) else {
                continue;
            };
            let (a, b): (i64, i64) = (r.try_get("a")?, r.try_get("b")?);
            match which {
                0 => row.target = a,
                1 => (row.revenue, row.orders) = (a, b),
                2 => (row.won, row.lost) = (a, b),
                _ => (row.pipeline, row.weighted_pipeline) = (a, b),
            }
        }
    }
    // The sales cycle: days from opened to won, for the opportunities won in the range.
    let mut cycles = grouped(
        "SELECT owner_id AS who, created_at, closed_at FROM crm_opportunities WHERE status = 'won' AND company_id = ",
    );
    cycles
        .push(" AND SUBSTR(closed_at, 1, 7) >= ")
        .bind(from.clone())
        .push(" AND SUBSTR(closed_at, 1, 7) <= ")
        .bind(to.clone());
    let mut days: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for r in cycles.build().fetch_all(&mut *conn).await? {
        let (Some(who), created, closed): (Option<i64>, String, String) =
            (r.try_get("who")?, r.try_get("created_at")?, r.try_get("closed_at")?)
        else {
            continue;
        };
        let span = match (chrono::DateTime::parse_from_rfc3339(&created), chrono::DateTime::parse_from_rfc3339(&closed))
        {
            (Ok(a), Ok(b)) => (b - a).num_days(),
            _ => continue,
        };
        let entry = days.entry(who).or_default();
        entry.0 += span;
        entry.1 += 1;
    }
    let ratio = crate::domain::ratio_bp;
    let mut out: Vec<Row> = rows
        .into_values()
        .filter(|r| r.target > 0 || r.revenue != 0 || r.orders > 0 || r.won + r.lost > 0 || r.pipeline > 0)
        .map(|mut r| {
            r.attainment_bp = ratio(r.revenue, r.target);
            r.win_rate_bp = ratio(r.won, r.won + r.lost);
            r.average_deal = (r.orders > 0).then(|| (r.revenue + r.orders / 2) / r.orders);
            r.cycle_days = days.get(&r.user_id).map(|(sum, n)| (sum + n / 2) / n);
            r.coverage_bp = ratio(r.pipeline, (r.target - r.revenue).max(0));
            r
        })
        .collect();
    out.sort_by(|a, b| b.revenue.cmp(&a.revenue).then(a.name.cmp(&b.name)));
    for (i, r) in out.iter_mut().enumerate() {
        r.rank = i as i64 + 1;
    }
    if out.is_empty() && !principal.may(OPPORTUNITY_READ) {
        return Err(DomainError::Forbidden(OPPORTUNITY_READ.into()).into());
    }
    Ok(out)
}
