//! The cashier's journals (现金日记账, 银行存款日记账): a cash or bank account's posted lines
//! day by day between two dates, each with its voucher, memo and counter accounts (对方科目),
//! money in and out and the balance after it; each day closes with its totals (本日合计),
//! each month with its own and the year's to date (本月合计, 本年累计), as the printed journal
//! has them.
//!
//! An account kept in a foreign currency (a dollar account) also shows each line's amount in
//! it and the balance in it after the line (外币日记账).
//!
//! The balance the range opens with is the account's balance rows before its first month plus
//! that month's lines dated before its first day, summed in the database; the lines shown are
//! read up to [`MAX_LINES`], so a journal never reads more than it may show, and a longer range
//! is shown in pages of whole days, each naming the day the next starts with.

use crate::chart;
use crate::service;
use db::Result;
use kernel::error::Problems;
use kernel::DomainError;
use serde::Serialize;
use sqlx::Row;
use std::collections::BTreeMap;

/// The most lines a page of the journal shows; a longer range is shown in pages.
pub const MAX_LINES: usize = 5_000;

/// One posted line of the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalLine {
    pub entry_id: i64,
    /// The voucher's number (`付-0003`).
    pub number: String,
    /// The line's own memo, or the voucher's when the line has none.
    pub memo: String,
    /// The accounts on the voucher's other side (a receipt's credits, a payment's debits),
    /// other than the journal's own, in their order on it.
    pub counter: Vec<String>,
    /// Money in (a debit of the cash account) and out (a credit).
    pub received: i64,
    pub paid: i64,
    pub balance: i64,
    /// On an account kept in a foreign currency: the line's amount in it and the rate, as
    /// (currency, amount in its minor units, rate).
    pub foreign: Option<(String, i64, String)>,
    /// On an account kept in one foreign currency ([`Journal::currency`]): the balance in it
    /// after the line (原币余额), in its minor units.
    pub foreign_balance: Option<i64>,
}

impl JournalLine {
    /// The foreign amount as shown: `USD 1,000.00 @ 7.1234`, empty for a line in yuan.
    pub fn foreign_text(&self) -> String {
        crate::domain::foreign_text(&self.foreign)
    }
}

/// A day of the journal: its lines and totals (本日合计), and the balance it ends with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalDay {
    pub date: String,
    pub lines: Vec<JournalLine>,
    pub received: i64,
    pub paid: i64,
    pub balance: i64,
}

/// A month of the journal: its days, the month's totals (本月合计: the whole month's up to the
/// range's last day, days before the range's first included) and the year's to its end
/// (本年累计).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalMonth {
    pub month: String,
    pub days: Vec<JournalDay>,
    pub received: i64,
    pub paid: i64,
    pub year_received: i64,
    pub year_paid: i64,
    pub balance: i64,
}

/// A cash or bank account's journal between two dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Journal {
    pub account: String,
    pub name_zh: String,
    pub name_en: String,
    pub from: String,
    pub to: String,
    pub opening: i64,
    pub months: Vec<JournalMonth>,
    /// What the range itself received and paid.
    pub received: i64,
    pub paid: i64,
    pub closing: i64,
    /// When the range asked for held more lines than a page: the day the next page
    /// starts with. This one then ends (`to`) with the last whole day that fitted.
    pub continues_from: Option<String>,
    /// The foreign currency the account is kept in, when all its lines in a foreign currency,
    /// before and within the range, are in one (a dollar account's `USD`) and the range has no
    /// line in yuan but the month-end revaluation's, with the balance in it the range opens
    /// and closes with (外币日记账); none for a yuan account.
    pub currency: Option<String>,
    pub foreign_opening: i64,
    pub foreign_closing: i64,
}

/// The journal of the cash or bank account `account` (or one of its sub-accounts, with its
/// own) from `from` to `to` (`YYYY-MM-DD`). Refused beside the field: an account that is no
/// cash or bank account or does not exist, a date that cannot be read or comes before the
/// first, and a single day of more than [`MAX_LINES`] lines. A range of more lines ends early,
/// with [`Journal::continues_from`].
///
/// `lines` is the most a page holds, [`MAX_LINES`] when empty; more, or what is no whole
/// number from 1, is refused beside it.
pub async fn journal(
    conn: &mut db::Conn,
    company: i64,
    account: &str,
    (from, to): (&str, &str),
    lines: &str,
) -> Result<Journal> {
    let account = account.trim();
    let mut problems = Problems::default();
    let page_lines = match lines.trim() {
        "" => MAX_LINES,
        typed => typed.parse().ok().filter(|n| (1..=MAX_LINES).contains(n)).unwrap_or_else(|| {
            problems.add("lines", "error.finance.journal_lines", MAX_LINES.to_string());
            MAX_LINES
        }),
    };
    if account.is_empty() {
        problems.add("account", "error.required", "");
    } else if !chart::is_cash_account(account) {
        problems.add("account", "error.finance.journal_account", account);
    }
    let first = problems.check(kernel::dates::parse("from", from));
    let last = problems.check(kernel::dates::parse("to", to));
    if let (Some(first), Some(last)) = (first, last) {
        if last < first {
            problems.add("to", "error.period_order", to);
        }
    }
    problems.finish()?;
    let (from, to) = (first.unwrap_or_default().to_string(), last.unwrap_or_default().to_string());
    let named = sqlx::query("SELECT name_zh, name_en FROM fin_accounts WHERE company_id = $1 AND code = $2")
        .bind(company)
        .bind(account)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| DomainError::invalid("account", "error.finance.unknown_account", account))?;
    let pattern = format!("{account}%");
    let (first_month, last_month) = (crate::domain::period_of(&from), crate::domain::period_of(&to));
    // Each month's debits and credits from January of the first year to the month before the
    // last: the balance before the range, and the years to date.
    let monthly = sqlx::query(
        "SELECT b.period, CAST(SUM(b.debit) AS BIGINT) AS debit, CAST(SUM(b.credit) AS BIGINT) AS credit \
         FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND a.code LIKE $2 AND b.period >= $3 AND b.period < $4 GROUP BY b.period",
    )
    .bind(company)
    .bind(&pattern)
    .bind(format!("{}-01", &first_month[..4]))
    .bind(&last_month)
    .fetch_all(&mut *conn)
    .await?;
    let mut by_month: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for r in &monthly {
        by_month.insert(r.try_get("period")?, (r.try_get("debit")?, r.try_get("credit")?));
    }
    let before_year: i64 = sqlx::query(
        "SELECT CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net FROM fin_balances b \
         JOIN fin_accounts a ON a.id = b.account_id WHERE b.company_id = $1 AND a.code LIKE $2 AND b.period < $3",
    )
    .bind(company)
    .bind(&pattern)
    .bind(format!("{}-01", &first_month[..4]))
    .fetch_one(&mut *conn)
    .await?
    .try_get("net")?;
    // The first month's days before the range.
    let early = sqlx::query(
        "SELECT CAST(COALESCE(SUM(l.debit), 0) AS BIGINT) AS debit, CAST(COALESCE(SUM(l.credit), 0) AS BIGINT) AS credit \
         FROM fin_entries e JOIN fin_entry_lines l ON l.entry_id = e.id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = $1 AND e.status = 'posted' AND e.period = $2 AND e.entry_date < $3 AND a.code LIKE $4",
    )
    .bind(company)
    .bind(&first_month)
    .bind(&from)
    .bind(&pattern)
    .fetch_one(&mut *conn)
    .await?;
    let early: (i64, i64) = (early.try_get("debit")?, early.try_get("credit")?);
    let before_first_month: i64 =
        by_month.range(..first_month.clone()).map(|(_, (debit, credit))| debit - credit).sum::<i64>();
    let opening = before_year + before_first_month + early.0 - early.1;
    // The balance in each foreign currency before the range, from the lines in one (the index
    // `fin_entry_lines_foreign` holds them alone, few beside the yuan ones).
    let foreign_before = sqlx::query(
        "SELECT l.currency, CAST(SUM(CASE WHEN l.debit <> 0 THEN l.foreign_amount ELSE -l.foreign_amount END) AS BIGINT) AS amount \
         FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = $1 AND e.status = 'posted' AND a.code LIKE $2 AND l.currency <> 'CNY' AND l.currency <> '' \
         AND (e.period < $3 OR (e.period = $3 AND e.entry_date < $4)) GROUP BY l.currency",
    )
    .bind(company)
    .bind(&pattern)
    .bind(&first_month)
    .bind(&from)
    .fetch_all(&mut *conn)
    .await?;
    let mut foreign_opening: BTreeMap<String, i64> = BTreeMap::new();
    for r in &foreign_before {
        foreign_opening.insert(r.try_get("currency")?, r.try_get::<Option<i64>, _>("amount")?.unwrap_or(0));
    }
    let rows = sqlx::query(&format!(
        "SELECT e.id, e.entry_date, e.number, e.memo AS entry_memo, e.kind, l.line_no, l.memo, l.debit, l.credit, \
         l.currency, l.foreign_amount, l.rate \
         FROM fin_entries e JOIN fin_entry_lines l ON l.entry_id = e.id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = $1 AND e.status = 'posted' AND e.period >= $2 AND e.period <= $3 \
         AND e.entry_date >= $4 AND e.entry_date <= $5 AND a.code LIKE $6 \
         ORDER BY e.entry_date, e.number, e.id, l.line_no LIMIT {}",
        page_lines + 1
    ))
    .bind(company)
    .bind(&first_month)
    .bind(&last_month)
    .bind(&from)
    .bind(&to)
    .bind(&pattern)
    .fetch_all(&mut *conn)
    .await?;
    let (mut rows, mut to, mut last_month, mut continues_from) = (rows, to, last_month, None);
    if rows.len() > page_lines {
        // A page ends with the last whole day that fits, as a printed journal carries over to
        // the next page (过次页); the next starts with the day cut off. A single day of more
        // lines than a page holds is refused.
        let cut: String = rows[page_lines].try_get("entry_date")?;
        rows.retain(|r| r.try_get::<String, _>("entry_date").is_ok_and(|d| d < cut));
        let Some(last) = rows.last() else {
            return Err(DomainError::invalid("to", "error.finance.journal_too_long", page_lines.to_string()).into());
        };
        to = last.try_get("entry_date")?;
        last_month = crate::domain::period_of(&to);
        continues_from = Some(cut);
    }
    let counter = counter_accounts(conn, company, &pattern, &from, &to, &first_month, &last_month).await?;
    // The one foreign currency the account is kept in: that of all its foreign lines, when the
    // range has no line in yuan but the month-end revaluation's (a yuan account paid once in
    // dollars keeps its journal in yuan).
    let mut currencies: Vec<String> = foreign_opening.keys().cloned().collect();
    let mut in_yuan = false;
    for r in &rows {
        let currency: String = r.try_get("currency")?;
        if matches!(currency.as_str(), "" | "CNY") {
            in_yuan |= r.try_get::<String, _>("kind")? != "revaluation";
        } else if !currencies.contains(&currency) {
            currencies.push(currency);
        }
    }
    let currency = match currencies.as_slice() {
        [one] if !in_yuan => Some(one.clone()),
        _ => None,
    };
    let foreign_start = currency.as_ref().and_then(|c| foreign_opening.get(c)).copied().unwrap_or(0);
    let mut foreign_balance = foreign_start;
    let mut balance = opening;
    // Every month of the range closes with its totals, one that moved nothing too; the first
    // counts its days before the range as well.
    let mut months: Vec<JournalMonth> = crate::domain::months_between(&first_month, &last_month)
        .into_iter()
        .map(|month| JournalMonth {
            received: if month == first_month { early.0 } else { 0 },
            paid: if month == first_month { early.1 } else { 0 },
            month,
            days: Vec::new(),
            year_received: 0,
            year_paid: 0,
            balance: 0,
        })
        .collect();
    let mut at = 0;
    for r in &rows {
        let date: String = r.try_get("entry_date")?;
        let (received, paid) = (r.try_get::<i64, _>("debit")?, r.try_get::<i64, _>("credit")?);
        balance += received - paid;
        let foreign = match r.try_get::<String, _>("currency")?.as_str() {
            "" | "CNY" => None,
            currency => Some((currency.to_string(), r.try_get::<i64, _>("foreign_amount")?, r.try_get("rate")?)),
        };
        if let Some((_, amount, _)) = &foreign {
            foreign_balance += if received != 0 { *amount } else { -*amount };
        }
        let entry_id: i64 = r.try_get("id")?;
        let memo: String = r.try_get("memo")?;
        let line = JournalLine {
            entry_id,
            number: r.try_get::<Option<String>, _>("number")?.unwrap_or_default(),
            memo: if memo.is_empty() { r.try_get("entry_memo")? } else { memo },
            counter: counter.get(&(entry_id, r.try_get("line_no")?)).cloned().unwrap_or_default(),
            received,
            paid,
            balance,
            foreign,
            foreign_balance: currency.as_ref().map(|_| foreign_balance),
        };
        // The lines come in date order, so their months come in the range's order.
        let month = crate::domain::period_of(&date);
        while months[at].month != month {
            at += 1;
        }
        let current = &mut months[at];
        current.received += received;
        current.paid += paid;
        match current.days.last_mut() {
            Some(day) if day.date == date => {
                day.received += received;
                day.paid += paid;
                day.balance = balance;
                day.lines.push(line);
            }
            _ => current.days.push(JournalDay { date, received, paid, balance, lines: vec![line] }),
        }
    }
    let mut carried = opening;
    for month in &mut months {
        carried = month.days.last().map_or(carried, |day| day.balance);
        month.balance = carried;
        let year = &month.month[..4];
        let earlier = by_month.range(format!("{year}-01")..month.month.clone());
        let (debit, credit) = earlier.fold((0, 0), |(d, c), (_, (debit, credit))| (d + debit, c + credit));
        month.year_received = debit + month.received;
        month.year_paid = credit + month.paid;
    }
    let (received, paid) = months.iter().flat_map(|m| &m.days).fold((0, 0), |(r, p), d| (r + d.received, p + d.paid));
    Ok(Journal {
        account: account.to_string(),
        name_zh: named.try_get("name_zh")?,
        name_en: named.try_get("name_en")?,
        from,
        to,
        opening,
        months,
        received,
        paid,
        closing: balance,
        continues_from,
        currency,
        foreign_opening: foreign_start,
        foreign_closing: foreign_balance,
    })
}

impl Journal {
    /// Whether any line shown is in a foreign currency (a dollar account's), so the journal
    /// shows the foreign amounts beside the yuan.
    pub fn has_foreign(&self) -> bool {
        self.currency.is_some()
            || self.months.iter().flat_map(|m| &m.days).flat_map(|d| &d.lines).any(|l| l.foreign.is_some())
    }

    /// An amount in the account's foreign currency as shown: `USD 1,000.00`; empty for a yuan
    /// account.
    pub fn in_currency(&self, amount: &i64) -> String {
        match &self.currency {
            Some(code) => {
                let currency = kernel::Currency::from_code(code).unwrap_or(kernel::Currency::CNY);
                format!("{code} {}", kernel::Money::from_minor(*amount, currency))
            }
            None => String::new(),
        }
    }

    /// [`Journal::in_currency`] of a line's balance after it.
    pub fn balance_in_currency(&self, line: &JournalLine) -> String {
        line.foreign_balance.map(|b| self.in_currency(&b)).unwrap_or_default()
    }
}

/// The counter accounts of each journal line, by (voucher, line): the voucher's accounts on
/// the other side (red ink pairs as it was written), other than the line's own, in their
/// order on it, read in one query over the same lines: a transfer between two of the bank's
/// sub-accounts names the other one in the parent's journal.
async fn counter_accounts(
    conn: &mut db::Conn,
    company: i64,
    pattern: &str,
    from: &str,
    to: &str,
    first_month: &str,
    last_month: &str,
) -> Result<BTreeMap<(i64, i64), Vec<String>>> {
    let rows = sqlx::query(
        "SELECT DISTINCT e.id, l.line_no, o.line_no AS other_no, oa.code FROM fin_entries e \
         JOIN fin_entry_lines l ON l.entry_id = e.id JOIN fin_accounts a ON a.id = l.account_id \
         JOIN fin_entry_lines o ON o.entry_id = e.id JOIN fin_accounts oa ON oa.id = o.account_id \
         WHERE e.company_id = $1 AND e.status = 'posted' AND e.period >= $2 AND e.period <= $3 \
         AND e.entry_date >= $4 AND e.entry_date <= $5 AND a.code LIKE $6 AND o.account_id <> l.account_id \
         AND ((l.debit <> 0 AND o.credit <> 0) OR (l.credit <> 0 AND o.debit <> 0)) \
         ORDER BY e.id, l.line_no, o.line_no",
    )
    .bind(company)
    .bind(first_month)
    .bind(last_month)
    .bind(from)
    .bind(to)
    .bind(pattern)
    .fetch_all(conn)
    .await?;
    let mut counter: BTreeMap<(i64, i64), Vec<String>> = BTreeMap::new();
    for r in &rows {
        let codes = counter.entry((r.try_get("id")?, r.try_get("line_no")?)).or_default();
        let code: String = r.try_get("code")?;
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(counter)
}

/// The journal's title as the books name it: 现金日记账 for cash, 银行存款日记账 for a bank,
/// 日记账 for other cash funds.
pub fn title_key(account: &str) -> &'static str {
    let of = |role: chart::Role| chart::TEMPLATES.iter().any(|t| account.starts_with(t.code(role)));
    if of(chart::Role::Cash) {
        "finance.cash_journal_cash"
    } else if of(chart::Role::Bank) {
        "finance.cash_journal_bank"
    } else {
        "finance.cash_journal"
    }
}

/// The journal's permission: the cashier's (the bank clerk's grant) or the reports' reader's.
pub fn may_read(principal: &kernel::permission::Principal) -> bool {
    principal.may(crate::invoicing::PAYMENTS) || principal.may(service::REPORTS)
}
