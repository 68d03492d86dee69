//! Opening balances (期初余额) of books started mid-way: the voucher of what the accounts held
//! before the books' first month, the open documents of the earlier books it carries over
//! (invoices, bills and advances, written by `invoicing`), and the year-to-date income and
//! expense figures of the year's earlier months, which the income statement adds
//! (`service::income_statement` reads them). Built on the ledger's posting (`service`); the
//! module is apart so that the ledger and the documents need not know each other both ways.

use crate::domain::{self, EntryForm};
use crate::invoicing;
use crate::service::{self, ACCOUNTS, POST};
use db::{Result, RowExt, Tx};
use kernel::permission::Principal;
use kernel::DomainError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::BTreeMap;

/// Enters opening balances (期初余额): what the accounts held before the books' first month,
/// as one voucher (转) dated the day before it, in the year's month `00` (`2026-00`), which is
/// no period of the books and sorts before every month of the year: the trial balance, the
/// statements and the VAT return from the first month open with it, and no year-to-date
/// figure (本年累计) or range of the year's months counts it as a movement. Balance-sheet
/// accounts only: an income or expense account is refused on its line (the income
/// statement's year to date starts with the books), as is a cost centre or project (no
/// month's costs). Lines may name a customer or supplier, whose balance then opens with it,
/// and a foreign amount. The voucher must balance, the difference shown; it is refused once
/// the first month is closed. A mistake is put right by another opening voucher; there may be
/// several. Audited and announced as any posting.
///
/// A receivable, payable or advance line may carry an open document of the earlier books
/// (`documents`, by form row; see [`invoicing::check_carried`]): an invoice or bill is
/// written open with the voucher, so receipts and payments settle it and the ageing and
/// statements of account show it; an advance is written unapplied, to be applied to invoices.
pub async fn post_opening(
    tx: &mut Tx,
    principal: &Principal,
    form: &EntryForm,
    documents: &[invoicing::OpeningDocumentForm],
) -> Result<Opened> {
    principal.authorize(ACCOUNTS)?;
    principal.authorize(POST)?;
    let company = principal.company_id.0;
    let first = service::open_first_month(tx, company, "lines").await?;
    let period = service::opening_period(&first);
    let mut form = form.clone();
    form.date = service::last_day(&domain::previous_month(&first));
    form.word = "转".into();
    if form.memo.trim().is_empty() {
        form.memo = "期初余额".into();
    }
    let mut entry = domain::validate(&form)?;
    entry.period = period.clone();
    service::name_parties(tx, company, &form, &mut entry).await?;
    let codes: Vec<&str> = entry.lines.iter().map(|l| l.account.as_str()).collect();
    let mut q =
        db::SqlBuilder::new("SELECT code FROM fin_accounts WHERE class IN ('income', 'expense') AND company_id = ");
    q.bind(company).push(" AND code IN ").bind_list(codes.iter().copied());
    let of_the_year: Vec<String> =
        tx.fetch_all(q.build()).await?.iter().map(|r| r.try_get("code")).collect::<std::result::Result<_, _>>()?;
    let mut problems = kernel::error::Problems::default();
    for (row, line) in form.rows().into_iter().zip(&entry.lines) {
        if of_the_year.contains(&line.account) {
            problems.add(&format!("lines[{row}]"), "error.finance.opening_account", &line.account);
        }
        if !line.cost_center.is_empty() || !line.project.is_empty() {
            problems.add(&format!("lines[{row}]"), "error.finance.opening_tags", "");
        }
    }
    // A document typed on a row left without account or amount would carry nothing.
    let rows = form.rows();
    for (row, document) in documents.iter().enumerate() {
        if !document.is_blank() && !rows.contains(&row) {
            problems.add(&format!("lines[{row}]"), "error.finance.opening_document_blank_line", document.number.trim());
        }
    }
    let carried: Vec<_> = rows
        .into_iter()
        .zip(&entry.lines)
        .filter_map(|(row, line)| {
            documents.get(row).filter(|d| !d.is_blank()).map(|d| (row, line, form.lines[row].party.trim(), d))
        })
        .collect();
    let carried = invoicing::check_carried(tx, principal, &form.date, &carried, &mut problems).await?;
    problems.finish()?;
    let (entry_id, number) = service::post_document_entry(tx, company, &entry, service::OPENING)
        .await
        .map_err(|error| service::on_form_row(&form, error))?;
    // Typed by hand, so its lines are audited as a draft's are (posting audits the number).
    tx.audit(
        "create",
        "finance.entry",
        Some(&entry_id.to_string()),
        &json!({"kind": [null, service::OPENING], "entry": [null, entry]}),
    )
    .await?;
    let documents = invoicing::insert_carried(tx, company, entry_id, &carried).await?;
    invoicing::within_opening_balances(tx, company, &period, &entry.lines).await?;
    let amount = entry.lines.iter().map(|l| l.debit).sum();
    Ok(Opened { voucher: domain::PostedVoucher { entry_id, number, amount }, period, documents })
}

/// A year-to-date figure typed for an income or expense account (损益类科目本年累计发生额): what
/// the year's months before the books' first one moved it, as the earlier books' income
/// statement counts it (without the monthly closing transfers), on its debit or credit side.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct YearToDateLine {
    pub account: String,
    #[serde(default)]
    pub debit: String,
    #[serde(default)]
    pub credit: String,
}

impl YearToDateLine {
    fn is_blank(&self) -> bool {
        self.account.trim().is_empty() && self.debit.trim().is_empty() && self.credit.trim().is_empty()
    }
}

/// A stored year-to-date figure: the account, its names, and its debit and credit in fen.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct YearToDate {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub debit: i64,
    pub credit: i64,
}

/// The year-to-date figures of the months before the books' first one, by account code.
pub async fn year_to_date(conn: &mut db::Conn, company: i64) -> Result<Vec<YearToDate>> {
    let rows = sqlx::query(
        "SELECT a.code, a.name_zh, a.name_en, y.debit, y.credit FROM fin_opening_year_to_date y \
         JOIN fin_accounts a ON a.id = y.account_id WHERE y.company_id = $1 ORDER BY a.code",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(YearToDate {
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                name_en: r.try_get("name_en")?,
                debit: r.try_get("debit")?,
                credit: r.try_get("credit")?,
            })
        })
        .collect::<std::result::Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// Sets the year-to-date figures of books started after January (期初损益累计): what each
/// income and expense account moved in the year's months before the books' first, replacing
/// those set before. They are no balances (those months' profit is in the opening balance of
/// 本年利润 or 利润分配) but figures the income statement adds to a range that starts in
/// January and runs past them, so the year's statement, and next year's comparison column,
/// are whole. Income and expense accounts only, each once, on one side; refused for books
/// from January (no earlier months) and once the first month is closed, as opening balances
/// are. Audited with the figures before and after.
pub async fn set_year_to_date(tx: &mut Tx, principal: &Principal, lines: &[YearToDateLine]) -> Result<Vec<YearToDate>> {
    principal.authorize(ACCOUNTS)?;
    principal.authorize(POST)?;
    let company = principal.company_id.0;
    let first = service::open_first_month(tx, company, "lines").await?;
    if first.ends_with("-01") {
        return Err(DomainError::invalid("lines", "error.finance.year_to_date_january", &first).into());
    }
    let typed: Vec<(usize, &YearToDateLine)> = lines.iter().enumerate().filter(|(_, l)| !l.is_blank()).collect();
    // Each account with whether it has sub-accounts: a figure goes on a leaf, as postings do,
    // so a parent and its child cannot both count (and 研发费用's sub-accounts of 6602 stay
    // apart from 管理费用).
    let mut accounts: BTreeMap<String, (i64, bool)> = BTreeMap::new();
    // Taken for this transaction: two saves at once replace the figures one after the other.
    let lock =
        format!("SELECT company_id FROM fin_books WHERE company_id = $1{}", tx.dialect().update_lock_of("fin_books"));
    tx.fetch_optional(sqlx::query(&lock).bind(company)).await?;
    if !typed.is_empty() {
        let mut q = db::SqlBuilder::new(
            "SELECT a.id, a.code, EXISTS (SELECT 1 FROM fin_accounts c WHERE c.parent_id = a.id) AS parent \
             FROM fin_accounts a WHERE a.class IN ('income', 'expense') AND a.archived_at IS NULL AND a.company_id = ",
        );
        q.bind(company).push(" AND a.code IN ").bind_list(typed.iter().map(|(_, l)| l.account.trim().to_string()));
        for r in tx.fetch_all(q.build()).await? {
            accounts.insert(r.try_get("code")?, (r.try_get("id")?, db::flag(&r, "parent")?));
        }
    }
    let mut problems = kernel::error::Problems::default();
    let mut figures: Vec<(i64, i64, i64)> = Vec::new();
    for (row, line) in &typed {
        let field = format!("lines[{row}]");
        let code = line.account.trim();
        let id = match accounts.get(code).copied() {
            None => {
                problems.add(&field, "error.finance.year_to_date_account", code);
                continue;
            }
            Some((_, true)) => {
                problems.add(&field, "error.finance.parent_account", code);
                continue;
            }
            Some((id, false)) => id,
        };
        let refused = problems.0.len();
        let mut amount = |text: &str| match text.trim() {
            "" => 0,
            text => problems.amount(&field, text),
        };
        let (debit, credit) = (amount(&line.debit), amount(&line.credit));
        if problems.0.len() > refused {
            continue;
        }
        if (debit == 0) == (credit == 0) {
            problems.add(&field, "error.finance.one_side", "");
        } else if figures.iter().any(|(account, _, _)| *account == id) {
            problems.add(&field, "error.finance.year_to_date_twice", code);
        } else {
            figures.push((id, debit, credit));
        }
    }
    problems.finish()?;
    let before = year_to_date(tx.conn(), company).await?;
    tx.execute(sqlx::query("DELETE FROM fin_opening_year_to_date WHERE company_id = $1").bind(company)).await?;
    let through = domain::previous_month(&first);
    for (account, debit, credit) in &figures {
        tx.execute(
            sqlx::query(
                "INSERT INTO fin_opening_year_to_date (company_id, account_id, through, debit, credit) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(company)
            .bind(account)
            .bind(&through)
            .bind(debit)
            .bind(credit),
        )
        .await?;
    }
    let after = year_to_date(tx.conn(), company).await?;
    let shown = |figures: &[YearToDate]| -> Vec<serde_json::Value> {
        figures
            .iter()
            .map(|f| json!({"account": f.code, "debit": domain::yuan(f.debit), "credit": domain::yuan(f.credit)}))
            .collect()
    };
    tx.audit("update", "finance.opening_year_to_date", None, &json!({"lines": [shown(&before), shown(&after)]}))
        .await?;
    Ok(after)
}

/// What [`post_opening`] entered: the voucher, the period it stands in (`2026-00`) and the
/// open documents carried over on its lines.
pub struct Opened {
    pub voucher: domain::PostedVoucher,
    pub period: String,
    pub documents: Vec<invoicing::CarriedId>,
}
