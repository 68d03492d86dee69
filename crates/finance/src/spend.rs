//! Each customer's spend over the last twelve months, for the modules that select customers by
//! it (CRM segments: "spent at least 100,000 in the last twelve months").
//!
//! "The last twelve months" are calendar months in China: the current month and the eleven
//! before it, so on 27 November 2026 they run from 1 December 2025 to 30 November 2026.
//! Spend is what was invoiced, VAT included, less credit notes, by invoice date.
//!
//! Summing every customer's invoices for each question costs a pass over all invoices (two
//! million at a million customers, over a second). So one row per customer keeps the sum
//! (`fin_customer_spend`): posting a customer invoice or credit note adds to it in the posting
//! transaction, and the job `finance.roll_customer_spend` recomputes it from the invoices
//! when a month begins, which is when invoices leave the window. The window row says which
//! month the sums are for; a reader whose month is not that one (the job has not run yet)
//! sums the invoices instead, so the answer is always the live one.

use chrono::Datelike;
use db::{Result, RowExt, SqlBuilder};

/// The months of the window ending with `today`'s month: (its first day, the first day
/// after it, the month as `YYYY-MM`).
pub fn window(today: chrono::NaiveDate) -> (String, String, String) {
    let index = today.year() * 12 + today.month0() as i32;
    let first_of = |index: i32| format!("{:04}-{:02}-01", index.div_euclid(12), index.rem_euclid(12) + 1);
    (first_of(index - 11), first_of(index + 1), format!("{:04}-{:02}", today.year(), today.month()))
}

/// Today's date in China, which is what "this month" means to the window.
fn china_today(db: &db::Db) -> chrono::NaiveDate {
    (db.clock().now() + chrono::Duration::hours(8)).date_naive()
}

/// The statement that adds a posted customer invoice (a credit note's total is negative) to its
/// customer's sum, when its date falls in the window the sums are for; the caller runs it in the
/// posting transaction, with its other writes. The statement itself asks whether the date is
/// in the window: an invoice of month M counts in the windows of months M to M + 11, so the
/// sum changes only when the window row names one of those.
pub(crate) fn addition(dialect: db::Dialect, company: i64, party: i64, date: &str, total: i64) -> Result<SqlBuilder> {
    let month = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| kernel::DomainError::Internal(format!("stored invoice date {date}")))?;
    let last_window = month.checked_add_months(chrono::Months::new(11)).unwrap_or(month);
    // The shared lock on the window row keeps a roll that is recomputing the sums out: it
    // either finished before (and this adds to its result) or starts after (and its
    // recomputation sees this invoice). Postings share the lock among themselves.
    let sql = format!(
        "WITH w AS (SELECT month FROM fin_customer_spend_window WHERE company_id = $1{}) \
         INSERT INTO fin_customer_spend (company_id, party_id, total) SELECT $1, $2, $3 FROM w WHERE w.month >= $4 AND w.month <= $5 \
         ON CONFLICT (company_id, party_id) DO UPDATE SET total = fin_customer_spend.total + excluded.total",
        dialect.share_lock()
    );
    Ok(SqlBuilder::with_values(
        &sql,
        vec![
            company.into(),
            party.into(),
            total.into(),
            month.format("%Y-%m").to_string().into(),
            last_window.format("%Y-%m").to_string().into(),
        ],
    ))
}

/// The periodic job: for each company whose sums are not for the current month, recomputes
/// them from the invoices in one transaction. Returns the companies rolled.
pub async fn roll(db: &db::Db) -> Result<u64> {
    let today = china_today(db);
    let (from, to, month) = window(today);
    let stale = sqlx::query(
        "SELECT c.id FROM companies c LEFT JOIN fin_customer_spend_window w ON w.company_id = c.id \
         WHERE w.month IS NULL OR w.month <> $1 ORDER BY c.id",
    )
    .bind(&month)
    .fetch_all(db.reader())
    .await?;
    let mut rolled = 0;
    for row in &stale {
        let company: i64 = row.try_get("id")?;
        let mut tx = db.begin(db::Actor { company_id: Some(company), ..db::Actor::system() }).await?;
        // Moving the window's month takes its lock and re-checks it: a second runner finds
        // the month already moved and does nothing.
        let moved = tx.execute(
            sqlx::query(
                "INSERT INTO fin_customer_spend_window (company_id, month) VALUES ($1, $2) \
                 ON CONFLICT (company_id) DO UPDATE SET month = excluded.month WHERE fin_customer_spend_window.month <> excluded.month",
            )
            .bind(company)
            .bind(&month),
        )
        .await?;
        if moved == 0 {
            continue;
        }
        tx.execute(sqlx::query("DELETE FROM fin_customer_spend WHERE company_id = $1").bind(company)).await?;
        tx.execute(
            sqlx::query(
                "INSERT INTO fin_customer_spend (company_id, party_id, total) \
                 SELECT company_id, party_id, CAST(SUM(total) AS BIGINT) FROM fin_invoices \
                 WHERE company_id = $1 AND kind = 'customer' AND number IS NOT NULL AND invoice_date >= $2 AND invoice_date < $3 \
                 GROUP BY company_id, party_id",
            )
            .bind(company)
            .bind(&from)
            .bind(&to),
        )
        .await?;
        tx.commit().await?;
        rolled += 1;
    }
    Ok(rolled)
}

/// Pushes a subquery giving the customers of `company` who spent at least `min` (fen) in the
/// twelve months ending with `today`'s month: from the kept sums when they are for that
/// month, else from the invoices. Use as `p.id IN (…)`.
pub async fn push_spenders(
    conn: &mut db::Conn,
    q: &mut SqlBuilder,
    company: i64,
    today: chrono::NaiveDate,
    min: i64,
) -> Result<()> {
    let (from, to, month) = window(today);
    let kept: Option<String> = sqlx::query("SELECT month FROM fin_customer_spend_window WHERE company_id = $1")
        .bind(company)
        .fetch_optional(conn)
        .await?
        .map(|r| r.try_get("month"))
        .transpose()?;
    if kept.as_deref() == Some(month.as_str()) {
        q.push("SELECT s.party_id FROM fin_customer_spend s WHERE s.company_id = ").bind(company);
        q.push(" AND s.total >= ").bind(min);
    } else {
        q.push("SELECT i.party_id FROM fin_invoices i WHERE i.company_id = ").bind(company);
        q.push(" AND i.kind = 'customer' AND i.number IS NOT NULL AND i.invoice_date >= ").bind(from);
        q.push(" AND i.invoice_date < ").bind(to);
        q.push(" GROUP BY i.party_id HAVING SUM(i.total) >= ").bind(min);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::window;

    #[test]
    fn the_window_is_this_month_and_the_eleven_before_it() {
        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(window(day(2026, 11, 27)), ("2025-12-01".into(), "2026-12-01".into(), "2026-11".into()));
        assert_eq!(window(day(2026, 12, 31)), ("2026-01-01".into(), "2027-01-01".into(), "2026-12".into()));
        assert_eq!(window(day(2026, 1, 1)), ("2025-02-01".into(), "2026-02-01".into(), "2026-01".into()));
    }
}
