//! Ledger operations. Each public operation runs in the caller's transaction, so a sales
//! invoice, a stock move or a payroll run can post in the same transaction as its own rows;
//! the HTTP layer opens one transaction per request.

use crate::budgets::Spending;
use crate::chart::{self, Role, Template, TemplateAccount};
use crate::domain::{self, Entry, EntryForm};
use db::{Result, RowExt, Tx};
use kernel::permission::Principal;
use kernel::DomainError;
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeMap;

pub use crate::permissions::{ACCOUNTS, CLOSE, CREATE, POST, READ, REOPEN, REPORTS};

/// An account of a company's chart.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: i64,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub class: String,
    pub normal_side: String,
    pub parent_code: Option<String>,
    pub archived: bool,
    pub has_postings: bool,
}

/// Installs the chart of `template` and opens the months of `year` from `first_month` (a
/// company that starts its books in March opens March to December). Refused when the
/// company already has a chart: the template is chosen once.
pub async fn set_up_books(
    tx: &mut Tx,
    principal: &Principal,
    template: Template,
    year: i32,
    first_month: u32,
) -> Result<usize> {
    principal.authorize(ACCOUNTS)?;
    let company = principal.company_id.0;
    let existing: i64 = tx
        .fetch_one(sqlx::query("SELECT COUNT(*) AS n FROM fin_accounts WHERE company_id = $1").bind(company))
        .await?
        .try_get("n")?;
    if existing > 0 {
        return Err(DomainError::Conflict("the company already has a chart of accounts".into()).into());
    }
    let chart = template.accounts();
    for account in &chart {
        insert_account(tx, company, account).await?;
    }
    tx.execute(
        sqlx::query("INSERT INTO fin_books (company_id, template, created_at) VALUES ($1, $2, $3)")
            .bind(company)
            .bind(template.key())
            .bind(tx.now().to_string()),
    )
    .await?;
    if !(1..=12).contains(&first_month) {
        return Err(DomainError::invalid("first_month", "error.finance.period", first_month.to_string()).into());
    }
    open_year(tx, company, year, first_month).await?;
    tx.audit(
        "create",
        "finance.books",
        Some(&company.to_string()),
        &json!({"template": [null, template.key()], "year": [null, year], "accounts": [null, chart.len()]}),
    )
    .await?;
    Ok(chart.len())
}

async fn insert_account(tx: &mut Tx, company: i64, account: &TemplateAccount) -> Result<i64> {
    let parent_id: Option<i64> = match &account.parent {
        Some(code) => Some(account_id(tx, company, code).await?),
        None => None,
    };
    let now = tx.now().to_string();
    let id: i64 = tx.fetch_one(
        sqlx::query(
            "INSERT INTO fin_accounts (company_id, code, name_zh, name_en, class, normal_side, parent_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(company)
        .bind(&account.code)
        .bind(&account.name_zh)
        .bind(&account.name_en)
        .bind(&account.class)
        .bind(&account.normal_side)
        .bind(parent_id)
        .bind(now),
    )
    .await?
    .try_get("id")?;
    Ok(id)
}

/// Opens the monthly periods of a fiscal year from `first_month` to December.
pub async fn open_year(tx: &mut Tx, company: i64, year: i32, first_month: u32) -> Result<()> {
    for month in first_month..=12 {
        tx.execute(sqlx::query("INSERT INTO fin_periods (company_id, period, status) VALUES ($1, $2, 'open') ON CONFLICT (company_id, period) DO NOTHING")
            .bind(company)
            .bind(format!("{year}-{month:02}"))
            )
            .await?;
    }
    Ok(())
}

async fn account_id(tx: &mut Tx, company: i64, code: &str) -> Result<i64> {
    let row = tx
        .fetch_optional(
            sqlx::query("SELECT id FROM fin_accounts WHERE company_id = $1 AND code = $2").bind(company).bind(code),
        )
        .await?
        .ok_or_else(|| DomainError::invalid("account", "error.finance.unknown_account", code))?;
    Ok(row.try_get("id")?)
}

/// Input for a sub-account.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AccountForm {
    pub parent: String,
    pub code: String,
    pub name_zh: String,
    #[serde(default)]
    pub name_en: String,
}

/// Adds a sub-account under an existing account; its code extends the parent's.
pub async fn add_sub_account(tx: &mut Tx, principal: &Principal, form: &AccountForm) -> Result<i64> {
    principal.authorize(ACCOUNTS)?;
    let company = principal.company_id.0;
    let mut problems = kernel::error::Problems::default();
    let code = form.code.trim();
    let parent = tx
        .fetch_optional(
            sqlx::query("SELECT code, class, normal_side FROM fin_accounts WHERE company_id = $1 AND code = $2")
                .bind(company)
                .bind(form.parent.trim()),
        )
        .await?;
    let Some(parent) = parent else {
        return Err(DomainError::invalid("parent", "error.finance.unknown_account", form.parent.trim()).into());
    };
    let parent_code: String = parent.try_get("code")?;
    // Amounts already on the parent would be stranded above its sub-accounts.
    let used = tx.fetch_optional(
        sqlx::query(
            "SELECT 1 FROM fin_entry_lines l JOIN fin_accounts a ON a.id = l.account_id WHERE a.company_id = $1 AND a.code = $2 LIMIT 1",
        )
        .bind(company)
        .bind(&parent_code),
    )
    .await?;
    if used.is_some() {
        return Err(DomainError::invalid("parent", "error.finance.parent_used", &parent_code).into());
    }
    if !(code.starts_with(&parent_code)
        && code.len() == parent_code.len() + 2
        && code.chars().all(|c| c.is_ascii_digit()))
    {
        problems.add("code", "error.finance.sub_code", &parent_code);
    }
    if form.name_zh.trim().is_empty() {
        problems.add("name_zh", "error.required", "");
    }
    let taken = tx
        .fetch_optional(
            sqlx::query("SELECT 1 FROM fin_accounts WHERE company_id = $1 AND code = $2").bind(company).bind(code),
        )
        .await?;
    if taken.is_some() {
        problems.add("code", "error.finance.code_taken", code);
    }
    problems.finish()?;
    let account = TemplateAccount {
        code: code.into(),
        name_zh: form.name_zh.trim().into(),
        name_en: if form.name_en.trim().is_empty() { form.name_zh.trim().into() } else { form.name_en.trim().into() },
        class: parent.try_get("class")?,
        normal_side: parent.try_get("normal_side")?,
        parent: Some(parent_code),
    };
    let id = insert_account(tx, company, &account).await?;
    tx.audit(
        "create",
        "finance.account",
        Some(&id.to_string()),
        &json!({"code": [null, code], "name_zh": [null, account.name_zh]}),
    )
    .await?;
    Ok(id)
}

/// Archives an account: it takes no new postings but keeps its history and its place in the
/// reports. (An account with postings is never deleted.)
pub async fn archive_account(tx: &mut Tx, principal: &Principal, code: &str) -> Result<()> {
    set_archived(tx, principal, code, true).await
}

/// Takes an archived account back into use.
pub async fn restore_account(tx: &mut Tx, principal: &Principal, code: &str) -> Result<()> {
    set_archived(tx, principal, code, false).await
}

async fn set_archived(tx: &mut Tx, principal: &Principal, code: &str, archive: bool) -> Result<()> {
    principal.authorize(ACCOUNTS)?;
    let now = tx.now().to_string();
    let company = principal.company_id.0;
    let changed = if archive {
        tx.execute(
            sqlx::query(
                "UPDATE fin_accounts SET archived_at = $1 WHERE company_id = $2 AND code = $3 AND archived_at IS NULL",
            )
            .bind(&now)
            .bind(company)
            .bind(code),
        )
        .await?
    } else {
        tx.execute(
            sqlx::query(
                "UPDATE fin_accounts SET archived_at = NULL WHERE company_id = $1 AND code = $2 AND archived_at IS NOT NULL",
            )
            .bind(company)
            .bind(code),
        )
        .await?
    };
    if changed == 0 {
        let key = if archive { "error.finance.not_active" } else { "error.finance.not_archived" };
        return Err(DomainError::invalid("code", key, code).into());
    }
    let change = if archive { json!({"archived_at": [null, now]}) } else { json!({"archived_at": ["archived", null]}) };
    tx.audit("state", "finance.account", Some(code), &change).await?;
    Ok(())
}

/// Deletes an account entered by mistake. Only an account nothing refers to may go: no entry
/// line (posted or draft) or year-to-date figure of the months before the books, no
/// sub-account, and not one the other modules post to; any other is
/// archived instead, so no history ever loses its account.
pub async fn delete_account(tx: &mut Tx, principal: &Principal, code: &str) -> Result<()> {
    principal.authorize(ACCOUNTS)?;
    let company = principal.company_id.0;
    let row = tx
        .fetch_optional(
            sqlx::query(
                "SELECT a.id, a.name_zh, \
                 (EXISTS (SELECT 1 FROM fin_entry_lines l WHERE l.account_id = a.id) \
                  OR EXISTS (SELECT 1 FROM fin_opening_year_to_date y WHERE y.account_id = a.id)) AS has_lines, \
                 EXISTS (SELECT 1 FROM fin_accounts c WHERE c.parent_id = a.id) AS has_children, \
                 EXISTS (SELECT 1 FROM fin_budgets b WHERE b.account_id = a.id) AS has_budget \
                 FROM fin_accounts a WHERE a.company_id = $1 AND a.code = $2",
            )
            .bind(company)
            .bind(code),
        )
        .await?
        .ok_or_else(|| DomainError::invalid("code", "error.finance.unknown_account", code))?;
    if db::flag(&row, "has_lines")? {
        return Err(DomainError::invalid("code", "error.finance.delete_used", code).into());
    }
    if db::flag(&row, "has_children")? {
        return Err(DomainError::invalid("code", "error.finance.delete_parent", code).into());
    }
    if db::flag(&row, "has_budget")? {
        return Err(DomainError::invalid("code", "error.finance.delete_budgeted", code).into());
    }
    let template = chart::template(tx.conn(), company).await?;
    let simplified = chart::simplified_vat_account(tx.conn(), company).await?;
    if template.is_used_by_modules(code, &simplified) {
        return Err(DomainError::invalid("code", "error.finance.delete_role", code).into());
    }
    let id: i64 = row.try_get("id")?;
    let name: String = row.try_get("name_zh")?;
    tx.execute(sqlx::query("DELETE FROM fin_accounts WHERE id = $1").bind(id)).await?;
    tx.audit("delete", "finance.account", Some(code), &json!({"name_zh": [name, null]})).await?;
    Ok(())
}

/// Opens the twelve months of the year after the company's latest one, so the books go on
/// after December (the year-end close carries the profit into them). Returns the year.
pub async fn open_next_year(tx: &mut Tx, principal: &Principal) -> Result<i32> {
    principal.authorize(CLOSE)?;
    let company = principal.company_id.0;
    // The books' row first: of two clicks at once, the second sees the year the first opened.
    tx.execute(sqlx::query("UPDATE fin_books SET template = template WHERE company_id = $1").bind(company)).await?;
    let latest: Option<String> = tx
        .fetch_one(sqlx::query("SELECT MAX(period) AS latest FROM fin_periods WHERE company_id = $1").bind(company))
        .await?
        .try_get("latest")?;
    let Some(latest) = latest else {
        return Err(DomainError::invalid("year", "error.finance.no_books", "").into());
    };
    let year: i32 = latest[..4].parse().map_err(|_| DomainError::Conflict(format!("stored period {latest}")))?;
    // One year ahead at most: the next year opens once the latest one has begun, so nothing
    // can be dated years ahead by a slip of the keyboard.
    let this_year: i32 = tx.now().get(..4).and_then(|y| y.parse().ok()).unwrap_or(year);
    if year > this_year {
        return Err(DomainError::invalid("year", "error.finance.year_ahead", year.to_string()).into());
    }
    let next = year + 1;
    open_year(tx, company, next, 1).await?;
    tx.audit("create", "finance.year", Some(&next.to_string()), &json!({"periods": [null, 12]})).await?;
    Ok(next)
}

/// The company's chart.
pub async fn accounts(conn: &mut db::Conn, company: i64) -> Result<Vec<Account>> {
    let rows = sqlx::query(
        "SELECT a.id, a.code, a.name_zh, a.name_en, a.class, a.normal_side, p.code AS parent_code, a.archived_at, \
         EXISTS (SELECT 1 FROM fin_balances b WHERE b.account_id = a.id) AS has_postings \
         FROM fin_accounts a LEFT JOIN fin_accounts p ON p.id = a.parent_id WHERE a.company_id = $1 ORDER BY a.code",
    )
    .bind(company)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Account {
                id: r.try_get("id")?,
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                name_en: r.try_get("name_en")?,
                class: r.try_get("class")?,
                normal_side: r.try_get("normal_side")?,
                parent_code: r.try_get("parent_code")?,
                archived: r.try_get::<Option<String>, _>("archived_at")?.is_some(),
                has_postings: db::flag(r, "has_postings")?,
            })
        })
        .collect()
}

async fn period_status(tx: &mut Tx, company: i64, period: &str) -> Result<Option<String>> {
    let row = tx
        .fetch_optional(
            sqlx::query("SELECT status FROM fin_periods WHERE company_id = $1 AND period = $2")
                .bind(company)
                .bind(period),
        )
        .await?;
    Ok(match row {
        Some(r) => Some(r.try_get("status")?),
        None => None,
    })
}

/// Checks that a period is open, and holds a shared lock on its row until the transaction
/// ends, so a close running at the same moment on PostgreSQL waits for this posting or this
/// posting waits for it and then finds the period closed: nothing lands in a closed month.
/// Postings into one period share the lock and do not wait for each other.
async fn require_open(tx: &mut Tx, company: i64, period: &str) -> Result<()> {
    let sql = format!(
        "SELECT status FROM fin_periods WHERE company_id = $1 AND period = $2 AND status = 'open'{}",
        tx.dialect().share_lock()
    );
    let locked = tx.fetch_optional(sqlx::query(&sql).bind(company).bind(period)).await?.is_some();
    if locked {
        return Ok(());
    }
    Err(not_open(tx, company, period).await)
}

/// Checks that a period is open and takes its row for this transaction alone (a no-op
/// update), for closing it: postings into the period wait until the close has committed and
/// then find the period closed, so none slips in past the closing voucher.
pub(crate) async fn claim_open_period(tx: &mut Tx, company: i64, period: &str) -> Result<()> {
    let claimed = tx
        .execute(
            sqlx::query(
                "UPDATE fin_periods SET status = status WHERE company_id = $1 AND period = $2 AND status = 'open'",
            )
            .bind(company)
            .bind(period),
        )
        .await?;
    if claimed == 1 {
        return Ok(());
    }
    Err(not_open(tx, company, period).await)
}

/// Why a period takes no postings: closed, or never opened.
async fn not_open(tx: &mut Tx, company: i64, period: &str) -> db::Error {
    match period_status(tx, company, period).await {
        Ok(Some(_)) => DomainError::invalid("date", "error.finance.period_closed", period).into(),
        Ok(None) => DomainError::invalid("date", "error.finance.period_missing", period).into(),
        Err(e) => e,
    }
}

/// Checks that the entry's period is open, holding the shared lock of [`require_open`], and
/// resolves its account codes to ids, refusing unknown, archived and non-leaf accounts. One
/// query does both: each account row carries the period's status. Opening balances
/// ([`crate::opening::post_opening`]) go to the year's month `00`, which is no period of the books:
/// `check_period` is false for them alone.
async fn open_accounts(tx: &mut Tx, company: i64, entry: &Entry) -> Result<Vec<i64>> {
    accounts_in_period(tx, company, entry, true).await
}

async fn accounts_in_period(tx: &mut Tx, company: i64, entry: &Entry, check_period: bool) -> Result<Vec<i64>> {
    let mut codes: Vec<&str> = entry.lines.iter().map(|l| l.account.as_str()).collect();
    codes.sort_unstable();
    codes.dedup();
    let mut q = db::SqlBuilder::new(
        "SELECT a.code, a.id, a.archived_at, EXISTS (SELECT 1 FROM fin_accounts c WHERE c.parent_id = a.id) AS has_children, \
         p.status AS period_status FROM fin_accounts a LEFT JOIN (SELECT status FROM fin_periods WHERE company_id = ",
    );
    q.bind(company).push(" AND period = ").bind(entry.period.clone());
    q.push(" AND status = 'open'").push(tx.dialect().share_lock()).push(") p ON 1 = 1 WHERE a.company_id = ");
    q.bind(company).push(" AND a.code IN ").bind_list(codes.iter().copied());
    let rows = tx.fetch_all(q.build()).await?;
    match rows.first() {
        _ if !check_period => {}
        Some(row) if row.try_get::<Option<String>, _>("period_status")?.is_some() => {}
        Some(_) => return Err(not_open(tx, company, &entry.period).await),
        // No account known: the period's state decides which refusal comes first.
        None => require_open(tx, company, &entry.period).await?,
    }
    let mut found: BTreeMap<String, (i64, bool, bool)> = BTreeMap::new();
    for r in &rows {
        let has_children = db::flag(r, "has_children")?;
        let archived = r.try_get::<Option<String>, _>("archived_at")?.is_some();
        found.insert(r.try_get("code")?, (r.try_get("id")?, archived, has_children));
    }
    let mut problems = kernel::error::Problems::default();
    let mut ids = Vec::with_capacity(entry.lines.len());
    for (i, line) in entry.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        match found.get(&line.account) {
            None => problems.add(&field, "error.finance.unknown_account", &line.account),
            Some((id, archived, has_children)) => {
                if *archived {
                    problems.add(&field, "error.finance.archived_account", &line.account);
                } else if *has_children {
                    problems.add(&field, "error.finance.parent_account", &line.account);
                }
                ids.push(*id);
            }
        }
    }
    problems.finish()?;
    Ok(ids)
}

/// The checks of a voucher typed by hand that need the books: its month open, its accounts
/// and its cost centres and projects usable (see [`open_accounts`] and
/// [`crate::dimensions::require_usable`]), each refusal on the row of the form it concerns.
/// Returns the lines' account ids.
async fn usable_lines(tx: &mut Tx, company: i64, form: &EntryForm, entry: &Entry) -> Result<Vec<i64>> {
    let on_form_rows = |error| on_form_row(form, error);
    let account_ids = open_accounts(tx, company, entry).await.map_err(on_form_rows)?;
    crate::dimensions::require_usable(tx, company, entry).await.map_err(on_form_rows)?;
    Ok(account_ids)
}

/// A refusal of a checked entry's lines (`lines[k]`) moved to the rows of the form they came
/// from, which may hold blank rows between them ([`EntryForm::rows`]).
pub(crate) fn on_form_row(form: &EntryForm, error: db::Error) -> db::Error {
    match error {
        db::Error::Domain(DomainError::Invalid(errors)) => {
            let rows = form.rows();
            let moved = errors.into_iter().map(|mut e| {
                let line = e.field.strip_prefix("lines[").and_then(|r| r.strip_suffix(']')?.parse::<usize>().ok());
                if let Some(row) = line.and_then(|k| rows.get(k)) {
                    e.field = format!("lines[{row}]");
                }
                e
            });
            db::Error::Domain(DomainError::Invalid(moved.collect()))
        }
        other => other,
    }
}

/// Gives each line of a voucher that names a customer or supplier by its number that party's
/// id; an unknown number is refused on its line.
pub(crate) async fn name_parties(tx: &mut Tx, company: i64, form: &EntryForm, entry: &mut Entry) -> Result<()> {
    let named: Vec<(usize, &str, usize)> = form
        .rows()
        .into_iter()
        .enumerate()
        .map(|(k, i)| (i, form.lines[i].party.trim(), k))
        .filter(|(_, party, _)| !party.is_empty())
        .collect();
    if named.is_empty() {
        return Ok(());
    }
    let mut q = db::SqlBuilder::new("SELECT id, number FROM parties WHERE company_id = ");
    q.bind(company).push(" AND number IN ").bind_list(named.iter().map(|(_, number, _)| number.to_string()));
    let found: BTreeMap<String, i64> = tx
        .fetch_all(q.build())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("number")?, r.try_get("id")?)))
        .collect::<std::result::Result<_, sqlx::Error>>()?;
    let mut problems = kernel::error::Problems::default();
    for (i, number, k) in named {
        match found.get(number) {
            Some(id) => entry.lines[k].party = Some(*id),
            None => problems.add(&format!("lines[{i}]"), "error.finance.party", number),
        }
    }
    problems.finish()?;
    Ok(())
}

/// Saves a draft voucher. Drafts can be changed or posted; they do not touch balances.
pub async fn create_draft(tx: &mut Tx, principal: &Principal, form: &EntryForm) -> Result<i64> {
    principal.authorize(CREATE)?;
    let mut entry = domain::validate(form)?;
    let company = principal.company_id.0;
    name_parties(tx, company, form, &mut entry).await?;
    let account_ids = usable_lines(tx, company, form, &entry).await?;
    let id = insert_entry(tx, company, &entry, &account_ids, "manual", None, Stored::Draft).await?;
    tx.audit(
        "create",
        "finance.entry",
        Some(&id.to_string()),
        &json!({"status": [null, "draft"], "entry": [null, entry]}),
    )
    .await?;
    Ok(id)
}

/// Writes of the document behind a posted entry that need the entry's id (the invoice that
/// points at its voucher); they go to the database in the same call as the entry's lines.
pub type WithEntry<'a> = Box<dyn FnOnce(i64) -> Vec<db::SqlBuilder> + Send + 'a>;

/// How a new entry is stored: as a draft, or posted at once under its number, with its lines
/// added to the balance rows in the same call, and the posting document's own writes.
enum Stored<'a> {
    Draft,
    Posted { number: &'a str, with_entry: WithEntry<'a> },
}

async fn insert_entry(
    tx: &mut Tx,
    company: i64,
    entry: &Entry,
    account_ids: &[i64],
    kind: &str,
    reversal_of: Option<i64>,
    stored: Stored<'_>,
) -> Result<i64> {
    let now = tx.now().to_string();
    let user = tx.actor().user_id;
    let (status, number, posted_at, posted_by, with_entry) = match stored {
        Stored::Draft => ("draft", None, None, None, None),
        Stored::Posted { number, with_entry } => {
            ("posted", Some(number.to_string()), Some(now.clone()), user, Some(with_entry))
        }
    };
    let id: i64 = tx.fetch_one(
        sqlx::query(
            "INSERT INTO fin_entries (company_id, period, entry_date, word, status, number, kind, memo, reversal_of, created_at, created_by, posted_at, posted_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
        )
        .bind(company)
        .bind(&entry.period)
        .bind(&entry.date)
        .bind(&entry.word)
        .bind(status)
        .bind(number.clone())
        .bind(kind)
        .bind(&entry.memo)
        .bind(reversal_of)
        .bind(&now)
        .bind(user)
        .bind(posted_at)
        .bind(posted_by),
    )
    .await?
    .try_get("id")?;
    let mut writes = vec![lines_insert(id, entry, account_ids)];
    // A closing voucher only moves the month's income and expense to 本年利润; the budgets
    // read spending without it, so it is not spending to check.
    if number.is_some() && kind != "closing" {
        let spending: Vec<Spending> = entry
            .lines
            .iter()
            .map(|l| Spending {
                account: &l.account,
                cost_center: &l.cost_center,
                project: &l.project,
                debit: l.debit,
                credit: l.credit,
            })
            .collect();
        crate::budgets::check_posting(tx, company, &entry.period, &spending).await?;
    }
    if number.is_some() {
        let movements =
            entry.lines.iter().zip(account_ids).map(|(l, a)| (*a, l.cost_center.clone(), l.debit, l.credit));
        writes.push(balance_upsert(company, &entry.period, movements));
        let owed = entry.lines.iter().zip(account_ids).filter_map(|(l, a)| Some((*a, l.party?, l.debit, l.credit)));
        writes.extend(named_balance_upsert("fin_party_balances", "party_id", company, &entry.period, owed));
        let projects = entry
            .lines
            .iter()
            .zip(account_ids)
            .filter(|(l, _)| !l.project.is_empty())
            .map(|(l, a)| (*a, l.project.clone(), l.debit, l.credit));
        writes.extend(named_balance_upsert("fin_project_balances", "project", company, &entry.period, projects));
        let lines = entry.lines.iter().zip(account_ids).map(|(l, a)| (l.account.as_str(), *a, l.debit, l.credit));
        writes.extend(cash_flow_upsert(company, &entry.period, kind, lines));
    }
    if let Some(with_entry) = with_entry {
        writes.extend(with_entry(id));
    }
    tx.execute_all(&writes).await?;
    Ok(id)
}

/// The statement that writes an entry's lines, numbered from 1.
fn lines_insert(id: i64, entry: &Entry, account_ids: &[i64]) -> db::SqlBuilder {
    let mut q = db::SqlBuilder::new(
        "INSERT INTO fin_entry_lines (entry_id, line_no, account_id, debit, credit, cost_center, project, memo, currency, foreign_amount, rate, party_id) VALUES ",
    );
    for (i, (line, account)) in entry.lines.iter().zip(account_ids).enumerate() {
        q.push(if i == 0 { "(" } else { ", (" });
        q.bind(id)
            .push(", ")
            .bind(i as i64 + 1)
            .push(", ")
            .bind(*account)
            .push(", ")
            .bind(line.debit)
            .push(", ")
            .bind(line.credit);
        q.push(", ").bind(line.cost_center.clone()).push(", ").bind(line.project.clone());
        q.push(", ").bind(line.memo.clone());
        let (currency, amount, rate) = line.foreign.clone().unwrap_or_else(|| ("CNY".into(), 0, String::new()));
        q.push(", ").bind(currency).push(", ").bind(amount).push(", ").bind(rate);
        q.push(", ").bind(line.party).push(")");
    }
    q
}

/// Why a reversal left a draft for review is not changed: its lines are the reversed voucher's.
pub const REVERSAL_UNCHANGED: &str =
    "a red-ink reversal keeps the lines of the voucher it reverses; delete it and reverse again";

/// A draft of the company that a person made (entered by hand, or a reversal waiting for
/// review), taken for this transaction; refused once it is posted. Returns its kind.
async fn take_draft(tx: &mut Tx, company: i64, id: i64) -> Result<String> {
    let row = tx
        .fetch_optional(
            sqlx::query(&format!(
                "SELECT e.status, e.kind FROM fin_entries e WHERE e.company_id = $1 AND e.id = $2{}",
                tx.dialect().update_lock_of("e")
            ))
            .bind(company)
            .bind(id),
        )
        .await?
        .ok_or(DomainError::NotFound("entry"))?;
    let kind: String = row.try_get("kind")?;
    if row.try_get::<String, _>("status")? != "draft" || !crate::review::REVIEWED_KINDS.contains(&kind.as_str()) {
        return Err(DomainError::Conflict("a posted voucher never changes; reverse it instead".into()).into());
    }
    Ok(kind)
}

/// Changes a draft voucher: its date, word, memo and every line become the form's, checked as
/// when it was saved, and a review it had is taken away (what was reviewed is gone). Posted
/// vouchers never change (they are reversed). Audited with the voucher before and after.
pub async fn update_draft(tx: &mut Tx, principal: &Principal, id: i64, form: &EntryForm) -> Result<()> {
    principal.authorize(CREATE)?;
    let company = principal.company_id.0;
    if take_draft(tx, company, id).await? == "reversal" {
        return Err(DomainError::Conflict(REVERSAL_UNCHANGED.into()).into());
    }
    let before = load_entry(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("entry"))?;
    let mut entry = domain::validate(form)?;
    name_parties(tx, company, form, &mut entry).await?;
    let account_ids = usable_lines(tx, company, form, &entry).await?;
    tx.execute(
        sqlx::query(
            "UPDATE fin_entries SET period = $1, entry_date = $2, word = $3, memo = $4, reviewed_by = NULL, \
             reviewed_at = NULL, cashier_by = NULL, cashier_at = NULL, changed_by = $5, version = version + 1 \
             WHERE id = $6 AND status = 'draft'",
        )
        .bind(&entry.period)
        .bind(&entry.date)
        .bind(&entry.word)
        .bind(&entry.memo)
        .bind(tx.actor().user_id)
        .bind(id),
    )
    .await?;
    tx.execute(sqlx::query("DELETE FROM fin_entry_lines WHERE entry_id = $1").bind(id)).await?;
    tx.execute_all(&[lines_insert(id, &entry, &account_ids)]).await?;
    let mut changes = json!({"entry": [as_audited(&before), entry]});
    if let Some(reviewer) = &before.signatures.reviewed_by {
        changes["reviewed_by"] = json!([reviewer.0, null]);
    }
    if let Some(cashier) = &before.signatures.cashier_by {
        changes["cashier_by"] = json!([cashier.0, null]);
    }
    tx.audit("update", "finance.entry", Some(&id.to_string()), &changes).await?;
    Ok(())
}

/// A draft as the audit log keeps it when it changes or goes: its header and lines.
fn as_audited(entry: &StoredEntry) -> serde_json::Value {
    json!({"date": entry.date, "word": entry.word, "memo": entry.memo, "lines": entry.lines, "reversal_of": entry.reversal_of})
}

/// Deletes a draft voucher entered by mistake, with its attached documents; it never had a
/// number, so no gap is left. Audited with what it held.
pub async fn delete_draft(tx: &mut Tx, principal: &Principal, id: i64) -> Result<()> {
    principal.authorize(CREATE)?;
    let company = principal.company_id.0;
    take_draft(tx, company, id).await?;
    let before = load_entry(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("entry"))?;
    // A statement line it was made from may be booked again.
    tx.execute(sqlx::query("UPDATE fin_bank_lines SET draft_entry_id = NULL WHERE draft_entry_id = $1").bind(id))
        .await?;
    // A month's taxes it would have paid may be paid again.
    tx.execute(sqlx::query("DELETE FROM fin_tax_payment_drafts WHERE entry_id = $1").bind(id)).await?;
    tx.execute(sqlx::query("DELETE FROM fin_attachments WHERE entry_id = $1").bind(id)).await?;
    tx.execute(sqlx::query("DELETE FROM fin_entry_lines WHERE entry_id = $1").bind(id)).await?;
    tx.execute(sqlx::query("DELETE FROM fin_entries WHERE id = $1 AND status = 'draft'").bind(id)).await?;
    tx.audit("delete", "finance.entry", Some(&id.to_string()), &json!({"entry": [as_audited(&before), null]})).await?;
    Ok(())
}

/// The statement that adds a posted entry's lines that name a `key` (a customer or supplier, a
/// project) to the balance rows of (account, period, key) in `table`; none when no line
/// names one. [`movement_upsert`] for such lines.
fn named_balance_upsert<K: Ord + Into<db::query::Value>>(
    table: &str,
    key: &str,
    company: i64,
    period: &str,
    lines: impl Iterator<Item = (i64, K, i64, i64)>,
) -> Option<db::SqlBuilder> {
    let movements = summed(lines);
    (!movements.is_empty()).then(|| movement_upsert(table, key, company, period, movements))
}

/// The source of the cash flow rows of a voucher of `kind`: `exchange` for the month-end
/// revaluation of foreign currency, none for the rest. (Opening balances stand in month `00`,
/// which no statement's range reaches: their cash is the cash the statement opens with.)
pub fn cash_flow_source(kind: &str) -> &'static str {
    if kind == "revaluation" {
        "exchange"
    } else {
        ""
    }
}

/// The kind of the vouchers that enter opening balances ([`crate::opening::post_opening`]).
pub const OPENING: &str = "opening";

/// The books' first month, none before they are set up.
pub async fn first_period(conn: &mut db::Conn, company: i64) -> Result<Option<String>> {
    let row = sqlx::query("SELECT MIN(period) AS first FROM fin_periods WHERE company_id = $1")
        .bind(company)
        .fetch_one(conn)
        .await?;
    Ok(row.try_get("first")?)
}

/// The books' first month, while it is open: held open for the transaction (it cannot be
/// closed meanwhile), so opening balances, the documents they carry and the year's earlier
/// figures may still change. Refused on `field` before the books are set up and once it is
/// closed.
pub(crate) async fn open_first_month(tx: &mut Tx, company: i64, field: &str) -> Result<String> {
    let Some(first) = first_period(tx.conn(), company).await? else {
        return Err(DomainError::invalid(field, "error.finance.no_books", "").into());
    };
    let sql =
        format!("SELECT status FROM fin_periods WHERE company_id = $1 AND period = $2{}", tx.dialect().share_lock());
    let status: String = tx.fetch_one(sqlx::query(&sql).bind(company).bind(&first)).await?.try_get("status")?;
    if status != "open" {
        return Err(DomainError::invalid(field, "error.finance.opening_closed", first).into());
    }
    Ok(first)
}

/// The period opening balances stand in for books whose first month is `first`: its year's
/// month `00` (`2026-00`), before every month of the year.
pub fn opening_period(first: &str) -> String {
    format!("{}-00", &first[..4.min(first.len())])
}

/// The statement that adds a posted entry's other lines to the cash flow rows, when the entry
/// moves cash (`lines` as code, account id, debit, credit); none when it does not. The cash
/// flow statement (the `cash_flow` module) reads them.
fn cash_flow_upsert<'a>(
    company: i64,
    period: &str,
    kind: &str,
    lines: impl Iterator<Item = (&'a str, i64, i64, i64)> + Clone,
) -> Option<db::SqlBuilder> {
    if !lines.clone().any(|(code, ..)| crate::chart::is_cash_account(code)) {
        return None;
    }
    let source = cash_flow_source(kind);
    let others = lines
        .filter(|(code, ..)| !crate::chart::is_cash_account(code))
        .map(|(_, account, debit, credit)| (account, source.to_string(), debit, credit));
    named_balance_upsert("fin_cash_flow_balances", "source", company, period, others)
}

/// The statement that adds a posted entry's lines to the balance rows of (account, period,
/// cost centre).
fn balance_upsert(company: i64, period: &str, lines: impl Iterator<Item = (i64, String, i64, i64)>) -> db::SqlBuilder {
    movement_upsert("fin_balances", "cost_center", company, period, summed(lines))
}

/// Lines' debits and credits added up per (account, key): one upsert may not touch a row
/// twice (PostgreSQL refuses), and one statement for the whole entry is cheaper.
fn summed<K: Ord>(lines: impl Iterator<Item = (i64, K, i64, i64)>) -> BTreeMap<(i64, K), (i64, i64)> {
    let mut movements: BTreeMap<(i64, K), (i64, i64)> = BTreeMap::new();
    for (account, key, debit, credit) in lines {
        let sums = movements.entry((account, key)).or_insert((0, 0));
        sums.0 += debit;
        sums.1 += credit;
    }
    movements
}

/// Adds movements to a table of balance rows keyed (company, account, period, `key`).
fn movement_upsert<K: Into<db::query::Value>>(
    table: &str,
    key: &str,
    company: i64,
    period: &str,
    movements: BTreeMap<(i64, K), (i64, i64)>,
) -> db::SqlBuilder {
    let mut q = db::SqlBuilder::new(format!(
        "INSERT INTO {table} (company_id, account_id, period, {key}, debit, credit) VALUES "
    ));
    for (i, ((account, value), (debit, credit))) in movements.into_iter().enumerate() {
        q.push(if i == 0 { "(" } else { ", (" });
        q.bind(company).push(", ").bind(account).push(", ").bind(period).push(", ").bind(value);
        q.push(", ").bind(debit).push(", ").bind(credit).push(")");
    }
    q.push(&format!(
        " ON CONFLICT (company_id, account_id, period, {key}) \
         DO UPDATE SET debit = {table}.debit + excluded.debit, credit = {table}.credit + excluded.credit"
    ));
    q
}

/// The next gapless voucher number of a word in a period (记-0001 …).
async fn take_voucher_number(tx: &mut Tx, company: i64, period: &str, word: &str) -> Result<String> {
    let (code, year, pattern) = voucher_sequence(period, word)?;
    tx.next_number(company, &code, year, &pattern).await
}

/// The sequence of the vouchers of a word in a period: its code, year and pattern.
pub fn voucher_sequence(period: &str, word: &str) -> Result<(String, i32, String)> {
    let year: i32 = period
        .get(..4)
        .and_then(|y| y.parse().ok())
        .ok_or_else(|| DomainError::Internal(format!("bad period {period}")))?;
    Ok((format!("voucher.{word}.{period}"), year, format!("{word}-{{seq:04}}")))
}

/// Refuses lines whose debits and credits differ, showing the difference. Added up in i128:
/// no sum of i64 amounts can wrap around and look balanced.
fn require_balanced(lines: impl Iterator<Item = (i64, i64)>) -> Result<i64> {
    let (mut debits, mut credits) = (0i128, 0i128);
    for (debit, credit) in lines {
        debits += i128::from(debit);
        credits += i128::from(credit);
    }
    if debits != credits {
        return Err(DomainError::invalid(
            "lines",
            "error.finance.unbalanced",
            domain::yuan(i64::try_from(debits - credits).unwrap_or(i64::MAX)),
        )
        .into());
    }
    Ok(i64::try_from(debits).unwrap_or(i64::MAX))
}

/// The audit row and the `finance.EntryPosted` event of a posting.
async fn record_posting(tx: &mut Tx, id: i64, number: &str, period: &str, amount: i64) -> Result<()> {
    tx.audit(
        "state",
        "finance.entry",
        Some(&id.to_string()),
        &json!({"status": ["draft", "posted"], "number": [null, number]}),
    )
    .await?;
    tx.emit(
        "finance.entry",
        &id.to_string(),
        "finance.EntryPosted",
        &json!({"id": id, "number": number, "period": period, "amount": domain::yuan(amount)}),
    )
    .await
}

/// Posts a draft: checks the period is open and the accounts usable, gives it the next
/// gapless number of its word and period (记-0001 …), adds its lines to the balance rows,
/// and emits `finance.EntryPosted`. A posted entry never changes again. The pages and the API
/// post through [`crate::drafts::post`], which also matches a statement line booked into it.
pub async fn post_entry(tx: &mut Tx, principal: &Principal, id: i64) -> Result<String> {
    principal.authorize(POST)?;
    crate::review::require_signed(tx, principal.company_id.0, id).await?;
    post_unchecked(tx, principal.company_id.0, id, Tags::Check).await
}

/// Whether posting checks its lines' cost centres and projects against the lists (a draft's
/// once more, since one may have been archived after it was saved), or not: a voucher created
/// and posted at once was just checked, and an undoing voucher (a reversal, a credit note,
/// the month's close) carries lines as they were posted, whatever became of their codes since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tags {
    Check,
    AsChecked,
    Undoing,
}

async fn post_unchecked(tx: &mut Tx, company: i64, id: i64, tags: Tags) -> Result<String> {
    let row = tx
        .fetch_optional(
            sqlx::query(
                "SELECT period, word, status, kind, reversal_of FROM fin_entries WHERE company_id = $1 AND id = $2",
            )
            .bind(company)
            .bind(id),
        )
        .await?
        .ok_or(DomainError::NotFound("entry"))?;
    let status: String = row.try_get("status")?;
    if status != "draft" {
        return Err(DomainError::Conflict("the entry is already posted".into()).into());
    }
    // Claim the draft first: of two concurrent posts of one draft, only one changes the row;
    // the other finds it no longer a draft and stops before touching balances or numbers.
    let claimed = tx
        .execute(sqlx::query("UPDATE fin_entries SET status = 'posted' WHERE id = $1 AND status = 'draft'").bind(id))
        .await?;
    if claimed != 1 {
        return Err(DomainError::Conflict("the entry is already posted".into()).into());
    }
    let period: String = row.try_get("period")?;
    let kind: String = row.try_get("kind")?;
    let word: String = row.try_get("word")?;
    let reversal_of: Option<i64> = row.try_get("reversal_of")?;
    // A reversal carries the lines as they were posted, whatever became of their codes since,
    // also when it was left a draft for review.
    let tags = if reversal_of.is_some() { Tags::Undoing } else { tags };
    require_open(tx, company, &period).await?;
    let lines = tx
        .fetch_all(
            sqlx::query(
                "SELECT l.account_id, a.code, l.debit, l.credit, l.cost_center, l.project, l.party_id, a.archived_at, \
         EXISTS (SELECT 1 FROM fin_accounts c WHERE c.parent_id = a.id) AS has_children FROM fin_entry_lines l \
         JOIN fin_accounts a ON a.id = l.account_id WHERE l.entry_id = $1 ORDER BY l.line_no",
            )
            .bind(id),
        )
        .await?;
    let mut amounts = Vec::with_capacity(lines.len());
    let mut movements = Vec::with_capacity(lines.len());
    let mut owed = Vec::new();
    let mut projects = Vec::new();
    let mut named = Vec::new();
    let mut codes = Vec::with_capacity(lines.len());
    for line in &lines {
        codes.push(line.try_get::<String, _>("code")?);
        if line.try_get::<Option<String>, _>("archived_at")?.is_some() {
            return Err(DomainError::invalid("lines", "error.finance.archived_account", "").into());
        }
        if db::flag(line, "has_children")? {
            return Err(DomainError::invalid("lines", "error.finance.parent_account", "").into());
        }
        let (debit, credit) = (line.try_get::<i64, _>("debit")?, line.try_get::<i64, _>("credit")?);
        amounts.push((debit, credit));
        if let Some(party) = line.try_get::<Option<i64>, _>("party_id")? {
            owed.push((line.try_get::<i64, _>("account_id")?, party, debit, credit));
        }
        let project: String = line.try_get("project")?;
        named.push((line.try_get::<String, _>("cost_center")?, project.clone()));
        if !project.is_empty() {
            projects.push((line.try_get::<i64, _>("account_id")?, project, debit, credit));
        }
        movements.push((
            line.try_get::<i64, _>("account_id")?,
            line.try_get::<String, _>("cost_center")?,
            debit,
            credit,
        ));
    }
    // Checked again inside the posting transaction: the invariant, not a convention.
    let amount = require_balanced(amounts.into_iter())?;
    if tags == Tags::Check {
        crate::dimensions::require_listed(tx, company, named.iter().map(|(c, p)| (c.as_str(), p.as_str()))).await?;
    }
    // The voucher number first and the budgets' rows after, as every posting takes them, so
    // two postings at once never wait for each other the other way round.
    let number = take_voucher_number(tx, company, &period, &word).await?;
    let spending: Vec<Spending> = codes
        .iter()
        .zip(&named)
        .zip(&movements)
        .map(|((code, (cost_center, project)), (_, _, debit, credit))| Spending {
            account: code,
            cost_center,
            project,
            debit: *debit,
            credit: *credit,
        })
        .collect();
    crate::budgets::check_posting(tx, company, &period, &spending).await?;
    let now = tx.now().to_string();
    let mark_posted = db::SqlBuilder::with_values(
        "UPDATE fin_entries SET status = 'posted', number = $1, posted_at = $2, posted_by = $3, version = version + 1 WHERE id = $4",
        vec![number.clone().into(), now.into(), tx.actor().user_id.into(), id.into()],
    );
    let lines = codes
        .iter()
        .zip(&movements)
        .map(|(code, (account, _, debit, credit))| (code.as_str(), *account, *debit, *credit));
    let cash_flows = cash_flow_upsert(company, &period, &kind, lines);
    let mut writes = vec![balance_upsert(company, &period, movements.into_iter()), mark_posted];
    writes.extend(named_balance_upsert("fin_party_balances", "party_id", company, &period, owed.into_iter()));
    writes.extend(named_balance_upsert("fin_project_balances", "project", company, &period, projects.into_iter()));
    writes.extend(cash_flows);
    tx.execute_all(&writes).await?;
    record_posting(tx, id, &number, &period, amount).await?;
    if let Some(original) = reversal_of {
        unmatch_reversed(tx, original).await?;
    }
    Ok(number)
}

/// Creates and posts a hand voucher in one step, in the caller's transaction (an import of
/// opening entries, the demo): "save and post" without a page, so refused while a signature
/// rule applies to it ([`crate::review`]). Modules post their documents' vouchers with
/// [`post_document_entry`] under a kind of their own.
pub async fn post(tx: &mut Tx, principal: &Principal, form: &EntryForm) -> Result<(i64, String)> {
    principal.authorize(POST)?;
    let id = create_draft(tx, principal, form).await?;
    crate::review::require_signed(tx, principal.company_id.0, id).await?;
    // Its codes were checked a moment ago, in this transaction.
    let number = post_unchecked(tx, principal.company_id.0, id, Tags::AsChecked).await?;
    Ok((id, number))
}

/// Reverses a posted entry with a red-ink entry (红字冲销): the same lines with negated
/// amounts, posted on `date` in an open period. The original stays as it was. While a
/// signature rule applies to it, the reversal of a voucher made by hand is left a draft that
/// waits for its own signatures and posting ([`crate::review`]). Returns the reversal's id.
pub async fn reverse_entry(tx: &mut Tx, principal: &Principal, id: i64, date: &str) -> Result<i64> {
    principal.authorize(POST)?;
    let company = principal.company_id.0;
    let original = load_entry(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("entry"))?;
    if original.status != "posted" {
        return Err(DomainError::Conflict("only a posted entry can be reversed".into()).into());
    }
    if original.reversed_by.is_some() {
        return Err(DomainError::Conflict("the entry is already reversed".into()).into());
    }
    if original.pending_reversal.is_some() {
        return Err(DomainError::Conflict(
            "the entry's reversal waits for its signatures; post it, or delete it to reverse again".into(),
        )
        .into());
    }
    if original.reversal_of.is_some() {
        return Err(DomainError::Conflict("a reversal is not reversed; post a new entry".into()).into());
    }
    if !STANDALONE_KINDS.contains(&original.kind.as_str()) {
        // An invoice's or payment's voucher is undone through its document (a credit note),
        // a closing voucher by reopening the period; reversing it here would split the two.
        return Err(DomainError::Conflict(format!("a {} voucher is undone through its document", original.kind)).into());
    }
    if chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err() {
        return Err(DomainError::invalid("date", "error.date.format", date).into());
    }
    let entry = red_ink(&original, date);
    let account_ids = open_accounts(tx, company, &entry).await?;
    let moves_cash = original.lines.iter().any(|l| crate::chart::is_cash_account(&l.account));
    let waits = crate::review::reversal_waits(tx, company, &original.kind, moves_cash).await?;
    if waits {
        // Refused now rather than when it is posted, a review later.
        require_open(tx, company, &entry.period).await?;
    }
    let reversal = match insert_entry(tx, company, &entry, &account_ids, "reversal", Some(id), Stored::Draft).await {
        Err(e) if e.is_unique_violation() => {
            return Err(DomainError::Conflict("the entry is already reversed".into()).into())
        }
        other => other?,
    };
    tx.audit(
        "create",
        "finance.entry",
        Some(&reversal.to_string()),
        &json!({"reversal_of": [null, id], "status": [null, "draft"]}),
    )
    .await?;
    if !waits {
        post_unchecked(tx, company, reversal, Tags::Undoing).await?;
    }
    Ok(reversal)
}

/// The reversal of a voucher in red ink, dated `date`: every line's amounts negated, on the
/// same accounts, cost centres, projects and parties.
fn red_ink(original: &StoredEntry, date: &str) -> Entry {
    Entry {
        date: date.to_string(),
        period: domain::period_of(date),
        word: original.word.clone(),
        memo: format!("冲销 {} {}", original.number.clone().unwrap_or_default(), original.memo),
        lines: original
            .lines
            .iter()
            .map(|l| domain::Line {
                account: l.account.clone(),
                debit: -l.debit,
                credit: -l.credit,
                cost_center: l.cost_center.clone(),
                project: l.project.clone(),
                memo: l.memo.clone(),
                foreign: l.foreign.clone().map(|(code, amount, rate)| (code, -amount, rate)),
                party: l.party,
            })
            .collect(),
    }
}

/// Reverses the voucher of a document being undone (a receipt recorded by mistake) on the
/// voucher's own date, posted at once: the document's own function has checked that it may
/// be undone, so no review waits. Refused when the voucher's month is closed or the voucher
/// was reversed already. Returns the reversal's id.
pub(crate) async fn reverse_document_entry(tx: &mut Tx, company: i64, id: i64) -> Result<i64> {
    let original = load_entry(tx.conn(), company, id).await?.ok_or(DomainError::NotFound("entry"))?;
    if original.status != "posted" || original.reversed_by.is_some() {
        return Err(DomainError::Conflict("the voucher was reversed already".into()).into());
    }
    let entry = red_ink(&original, &original.date);
    let account_ids = open_accounts(tx, company, &entry).await?;
    let reversal = match insert_entry(tx, company, &entry, &account_ids, "reversal", Some(id), Stored::Draft).await {
        Err(e) if e.is_unique_violation() => {
            return Err(DomainError::Conflict("the voucher was reversed already".into()).into())
        }
        other => other?,
    };
    tx.audit("create", "finance.entry", Some(&reversal.to_string()), &json!({"reversal_of": [null, id]})).await?;
    post_unchecked(tx, company, reversal, Tags::Undoing).await?;
    Ok(reversal)
}

/// Unmatches the statement lines matched with a voucher whose reversal was just posted: the
/// voucher and its reversal together moved nothing.
async fn unmatch_reversed(tx: &mut Tx, original: i64) -> Result<()> {
    let unmatched = tx
        .execute(
            sqlx::query("UPDATE fin_bank_lines SET entry_id = NULL, matched_at = NULL WHERE entry_id = $1")
                .bind(original),
        )
        .await?;
    if unmatched > 0 {
        tx.audit("state", "finance.bank_line", None, &json!({"entry_id": [original, null], "lines": unmatched}))
            .await?;
    }
    Ok(())
}

/// The kinds of voucher that stand on their own, with no document behind them, and so are
/// reversed as themselves: entered by hand, booked from a bank statement line, and the VAT's
/// month-end transfer, surtax accrual and tax payment.
pub const STANDALONE_KINDS: [&str; 6] =
    ["manual", "bank", "vat_transfer", "vat_exemption", "surtax_accrual", "tax_payment"];

/// A ledger refusal of a voucher a form made, its lines' fields (`lines[1]`) renamed to the
/// form's own (`bank_account`) where the form has one, and to none (the form as a whole)
/// where it has not.
pub fn refusals_on_fields<T>(outcome: Result<T>, renames: &[(&str, &str)]) -> Result<T> {
    outcome.map_err(|error| match error {
        db::Error::Domain(DomainError::Invalid(errors)) => db::Error::Domain(DomainError::Invalid(
            errors
                .into_iter()
                .map(|mut e| {
                    if e.field.starts_with("lines") {
                        e.field = renames.iter().find(|(line, _)| *line == e.field).map_or("", |r| r.1).to_string();
                    }
                    e
                })
                .collect(),
        )),
        other => other,
    })
}

/// A voucher with its lines.
#[derive(Debug, Clone, Serialize)]
pub struct StoredEntry {
    pub id: i64,
    pub period: String,
    pub date: String,
    pub word: String,
    pub number: Option<String>,
    pub status: String,
    pub kind: String,
    pub memo: String,
    pub reversal_of: Option<i64>,
    /// Its posted red-ink reversal.
    pub reversed_by: Option<i64>,
    /// Its red-ink reversal still waiting as a draft for its signatures (see `review`); until
    /// that is posted the voucher is not reversed.
    pub pending_reversal: Option<i64>,
    /// Who changed the draft last, who may not review it.
    pub changed_by: Option<i64>,
    pub lines: Vec<domain::Line>,
    /// The party each line names, as (number, name), beside `lines`.
    pub line_parties: Vec<Option<(String, String)>>,
    pub total: i64,
    /// Who prepared, reviewed and posted it.
    pub signatures: Signatures,
    /// Changes with every change of a draft (and of its review).
    pub version: i64,
}

/// The signatures on a voucher (制单, 审核, 出纳, 记账): each user's id and name, and when the
/// review and the cashier's signature were given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Signatures {
    pub prepared_by: Option<(i64, String)>,
    pub reviewed_by: Option<(i64, String)>,
    pub reviewed_at: Option<String>,
    pub cashier_by: Option<(i64, String)>,
    pub cashier_at: Option<String>,
    pub posted_by: Option<(i64, String)>,
}

pub async fn load_entry(conn: &mut db::Conn, company: i64, id: i64) -> Result<Option<StoredEntry>> {
    let row = sqlx::query(
        "SELECT e.id, e.period, e.entry_date, e.word, e.number, e.status, e.kind, e.memo, e.reversal_of, \
         (SELECT r.id FROM fin_entries r WHERE r.reversal_of = e.id AND r.status = 'posted') AS reversed_by, \
         (SELECT r.id FROM fin_entries r WHERE r.reversal_of = e.id AND r.status = 'draft') AS pending_reversal, \
         e.created_by, c.display_name AS prepared_name, e.reviewed_by, v.display_name AS reviewed_name, e.reviewed_at, \
         e.cashier_by, k.display_name AS cashier_name, e.cashier_at, e.posted_by, p.display_name AS posted_name, e.version, \
         e.changed_by \
         FROM fin_entries e LEFT JOIN users c ON c.id = e.created_by LEFT JOIN users v ON v.id = e.reviewed_by \
         LEFT JOIN users k ON k.id = e.cashier_by \
         LEFT JOIN users p ON p.id = e.posted_by WHERE e.company_id = $1 AND e.id = $2",
    )
    .bind(company)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let rows = sqlx::query(
        "SELECT a.code, l.debit, l.credit, l.cost_center, l.project, l.memo, l.currency, l.foreign_amount, l.rate, l.party_id, \
         p.number AS party_number, p.name AS party_name FROM fin_entry_lines l JOIN fin_accounts a ON a.id = l.account_id \
         LEFT JOIN parties p ON p.id = l.party_id WHERE l.entry_id = $1 ORDER BY l.line_no",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let line_parties = rows
        .iter()
        .map(|l| {
            let number: Option<String> = l.try_get("party_number")?;
            Ok(number.map(|n| (n, l.try_get::<Option<String>, _>("party_name").ok().flatten().unwrap_or_default())))
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    let lines = rows
        .iter()
        .map(|l| {
            Ok(domain::Line {
                account: l.try_get("code")?,
                debit: l.try_get("debit")?,
                credit: l.try_get("credit")?,
                cost_center: l.try_get("cost_center")?,
                project: l.try_get("project")?,
                memo: l.try_get("memo")?,
                foreign: {
                    let currency: String = l.try_get("currency")?;
                    if currency == "CNY" {
                        None
                    } else {
                        Some((currency, l.try_get("foreign_amount")?, l.try_get("rate")?))
                    }
                },
                party: l.try_get("party_id")?,
            })
        })
        .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?;
    Ok(Some(StoredEntry {
        id,
        period: row.try_get("period")?,
        date: row.try_get("entry_date")?,
        word: row.try_get("word")?,
        number: row.try_get("number")?,
        status: row.try_get("status")?,
        kind: row.try_get("kind")?,
        memo: row.try_get("memo")?,
        reversal_of: row.try_get("reversal_of")?,
        reversed_by: row.try_get("reversed_by")?,
        pending_reversal: row.try_get("pending_reversal")?,
        changed_by: row.try_get("changed_by")?,
        version: row.try_get("version")?,
        signatures: {
            let signed = |id: &str, name: &str| -> std::result::Result<Option<(i64, String)>, sqlx::Error> {
                Ok(match row.try_get::<Option<i64>, _>(id)? {
                    Some(user) => Some((user, row.try_get::<Option<String>, _>(name)?.unwrap_or_default())),
                    None => None,
                })
            };
            Signatures {
                prepared_by: signed("created_by", "prepared_name")?,
                reviewed_by: signed("reviewed_by", "reviewed_name")?,
                reviewed_at: row.try_get("reviewed_at")?,
                cashier_by: signed("cashier_by", "cashier_name")?,
                cashier_at: row.try_get("cashier_at")?,
                posted_by: signed("posted_by", "posted_name")?,
            }
        },
        total: lines.iter().map(|l| l.debit).sum(),
        lines,
        line_parties,
    }))
}

/// One row of the trial balance, debit-minus-credit figures in fen.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TrialBalanceRow {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub opening: i64,
    pub debit: i64,
    pub credit: i64,
    pub closing: i64,
}

/// The trial balance from balance rows: opening (before `from`), movements in `from..=to`,
/// closing. O(accounts × periods), never O(entry lines).
pub async fn trial_balance(conn: &mut db::Conn, company: i64, from: &str, to: &str) -> Result<Vec<TrialBalanceRow>> {
    trial_balance_of(conn, company, from, to, LedgerSlice::All).await
}

/// The trial balance of the lines of one cost centre or project (`slice`), from the balance
/// rows kept per centre and per project. Only the lines that name it count, so its debits and
/// credits need not balance: the bank's side of an expense usually names no centre.
pub async fn trial_balance_of(
    conn: &mut db::Conn,
    company: i64,
    from: &str,
    to: &str,
    slice: LedgerSlice<'_>,
) -> Result<Vec<TrialBalanceRow>> {
    let (table, key, value) = slice.balance_rows();
    let rows = sqlx::query(&format!(
        "SELECT a.code, a.name_zh, a.name_en, \
           CAST(COALESCE(SUM(CASE WHEN b.period < $2 THEN b.debit - b.credit ELSE 0 END), 0) AS BIGINT) AS opening, \
           CAST(COALESCE(SUM(CASE WHEN b.period >= $2 THEN b.debit ELSE 0 END), 0) AS BIGINT) AS debit, \
           CAST(COALESCE(SUM(CASE WHEN b.period >= $2 THEN b.credit ELSE 0 END), 0) AS BIGINT) AS credit \
         FROM {table} b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.period <= $3 AND {key} = $4 \
         GROUP BY a.code, a.name_zh, a.name_en ORDER BY a.code"
    ))
    .bind(company)
    .bind(from)
    .bind(to)
    .bind(value)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            let opening: i64 = r.try_get("opening")?;
            let debit: i64 = r.try_get("debit")?;
            let credit: i64 = r.try_get("credit")?;
            Ok(TrialBalanceRow {
                code: r.try_get("code")?,
                name_zh: r.try_get("name_zh")?,
                name_en: r.try_get("name_en")?,
                opening,
                debit,
                credit,
                closing: opening + debit - credit,
            })
        })
        .filter(|row: &Result<TrialBalanceRow>| {
            row.as_ref().map(|r| r.opening != 0 || r.debit != 0 || r.credit != 0).unwrap_or(true)
        })
        .collect()
}

/// One account of the general ledger (总分类账): its balance before the months shown, and each
/// month's totals with the balance after it and the year's totals so far.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerAccount {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    /// Debit positive.
    pub opening: i64,
    pub months: Vec<LedgerMonth>,
}

/// A month of the general ledger: 本月合计 and 本年累计.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LedgerMonth {
    pub period: String,
    pub debit: i64,
    pub credit: i64,
    /// After the month, debit positive.
    pub balance: i64,
    /// From the year's first month to this one.
    pub year_debit: i64,
    pub year_credit: i64,
}

/// The general ledger (总分类账) over `from..=to` (at most 24 months): every first-level
/// account with a balance or a movement, its sub-accounts added in, or (`code`) one account
/// of any level with its sub-accounts; month by month from the balance rows, so it costs
/// O(accounts × months) however many entries there are.
pub async fn general_ledger(
    conn: &mut db::Conn,
    company: i64,
    from: &str,
    to: &str,
    code: Option<&str>,
) -> Result<Vec<LedgerAccount>> {
    let months = crate::costs::months(from, to)?;
    let prefix = code.map(str::trim).filter(|c| !c.is_empty());
    let rows = sqlx::query(
        "SELECT a.code, b.period, CAST(SUM(b.debit) AS BIGINT) AS debit, CAST(SUM(b.credit) AS BIGINT) AS credit \
         FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.period <= $2 AND ($3 = '' OR a.code = $3 OR a.code LIKE $4) \
         GROUP BY a.code, b.period",
    )
    .bind(company)
    .bind(to)
    .bind(prefix.unwrap_or(""))
    .bind(format!("{}%", prefix.unwrap_or("")))
    .fetch_all(&mut *conn)
    .await?;
    // The accounts shown: the one asked for, or every first-level one.
    let named = sqlx::query(
        "SELECT code, name_zh, name_en FROM fin_accounts WHERE company_id = $1 \
         AND (($2 = '' AND parent_id IS NULL) OR code = $2) ORDER BY code",
    )
    .bind(company)
    .bind(prefix.unwrap_or(""))
    .fetch_all(&mut *conn)
    .await?;
    if let (Some(code), true) = (prefix, named.is_empty()) {
        return Err(DomainError::invalid("code", "error.finance.unknown_account", code).into());
    }
    let mut accounts = Vec::with_capacity(named.len());
    for account in &named {
        let code: String = account.try_get("code")?;
        // (period, debit, credit) of the account and its sub-accounts.
        let mut moved: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for r in rows.iter() {
            let line_code: String = r.try_get("code")?;
            if line_code.starts_with(&code) {
                let sums = moved.entry(r.try_get("period")?).or_insert((0, 0));
                sums.0 += r.try_get::<i64, _>("debit")?;
                sums.1 += r.try_get::<i64, _>("credit")?;
            }
        }
        let opening: i64 = moved.range(..from.to_string()).map(|(_, (d, c))| d - c).sum();
        let mut balance = opening;
        let mut shown = Vec::with_capacity(months.len());
        for month in &months {
            let (debit, credit) = moved.get(month).copied().unwrap_or((0, 0));
            balance += debit - credit;
            let year = &month[..4];
            let (year_debit, year_credit) = moved
                .range(format!("{year}-01")..=month.clone())
                .fold((0, 0), |(d, c), (_, (md, mc))| (d + md, c + mc));
            shown.push(LedgerMonth { period: month.clone(), debit, credit, balance, year_debit, year_credit });
        }
        if opening == 0 && shown.iter().all(|m| m.debit == 0 && m.credit == 0) && prefix.is_none() {
            continue;
        }
        accounts.push(LedgerAccount {
            code,
            name_zh: account.try_get("name_zh")?,
            name_en: account.try_get("name_en")?,
            opening,
            months: shown,
        });
    }
    Ok(accounts)
}

/// Debit-minus-credit per first-level account code, over the periods `from..=to`
/// (`from` = None: from the beginning).
pub async fn net_by_first_level(
    conn: &mut db::Conn,
    company: i64,
    from: Option<&str>,
    to: &str,
) -> Result<BTreeMap<String, i64>> {
    let rows = sqlx::query(
        "SELECT a.code, CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.period >= $2 AND b.period <= $3 GROUP BY a.code",
    )
    .bind(company)
    .bind(from.unwrap_or("0000-00"))
    .bind(to)
    .fetch_all(conn)
    .await?;
    let mut map = BTreeMap::new();
    for r in rows {
        let code: String = r.try_get("code")?;
        let net: i64 = r.try_get("net")?;
        *map.entry(code.chars().take(4).collect()).or_insert(0) += net;
    }
    Ok(map)
}

/// A statement: (line key, label, value in fen, is a total) for this period and the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct StatementRow {
    pub key: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    pub amount: i64,
    pub comparison: i64,
    pub total: bool,
}

/// A statement's rows from its lines, with the figures of now and of the comparison column.
pub(crate) fn statement_rows(
    lines: &'static [domain::StatementLine],
    current: &BTreeMap<String, i64>,
    comparison: &BTreeMap<String, i64>,
) -> Vec<StatementRow> {
    let now = domain::compute(lines, current);
    let before = domain::compute(lines, comparison);
    lines
        .iter()
        .zip(now.iter().zip(before.iter()))
        .map(|(line, ((_, amount), (_, comparison)))| StatementRow {
            key: line.key,
            label_zh: line.label_zh,
            label_en: line.label_en,
            amount: *amount,
            comparison: *comparison,
            total: line.total,
        })
        .collect()
}

/// 资产负债表 at the end of `period`, compared with the end of the previous year.
pub async fn balance_sheet(conn: &mut db::Conn, company: i64, period: &str) -> Result<Vec<StatementRow>> {
    let template = chart::template(conn, company).await?;
    let lines = template.balance_sheet();
    let current = balances_at(conn, company, template, lines, period).await?;
    let year: i32 = period[..4].parse().unwrap_or(0);
    let last_year_end = balances_at(conn, company, template, lines, &format!("{}-12", year - 1)).await?;
    Ok(statement_rows(lines, &current, &last_year_end))
}

/// The balances a balance sheet reads at the end of `period`: debit minus credit per
/// first-level account, for each account the sheet splits by side (`1122+` / `1122-`) the
/// sum of its parties' debit balances and of their credit balances, and for a sheet that
/// shows them apart (`2221V`) the VAT columns' debit balances ([`vat_debit_balances`]).
async fn balances_at(
    conn: &mut db::Conn,
    company: i64,
    template: chart::Template,
    lines: &[domain::StatementLine],
    period: &str,
) -> Result<BTreeMap<String, i64>> {
    let mut nets = net_by_first_level(conn, company, None, period).await?;
    let vat_key = lines
        .iter()
        .flat_map(|l| l.accounts.iter())
        .map(|(key, _)| *key)
        .find(|key| key.ends_with(domain::VAT_DEBIT_SUFFIX) && domain::split_key(key).is_none());
    if let Some(key) = vat_key {
        nets.insert(key.to_string(), vat_debit_balances(conn, company, template, period).await?);
    }
    let split: std::collections::BTreeSet<&str> = lines
        .iter()
        .flat_map(|l| l.accounts.iter())
        .filter_map(|(key, _)| domain::split_key(key).map(|(code, _)| code))
        .collect();
    if split.is_empty() {
        return Ok(nets);
    }
    let rows = sqlx::query(
        "SELECT a.code, pb.party_id, CAST(SUM(pb.debit - pb.credit) AS BIGINT) AS net FROM fin_party_balances pb \
         JOIN fin_accounts a ON a.id = pb.account_id WHERE pb.company_id = $1 AND pb.period <= $2 GROUP BY a.code, pb.party_id",
    )
    .bind(company)
    .bind(period)
    .fetch_all(conn)
    .await?;
    let mut per_party: BTreeMap<(String, i64), i64> = BTreeMap::new();
    for r in rows {
        let code: String = r.try_get("code")?;
        let first_level: String = code.chars().take(4).collect();
        if split.contains(first_level.as_str()) {
            *per_party.entry((first_level, r.try_get("party_id")?)).or_insert(0) += r.try_get::<i64, _>("net")?;
        }
    }
    for code in split {
        let (mut debit_side, mut credit_side, mut named) = (0i64, 0i64, 0i64);
        for ((_, _), net) in per_party.iter().filter(|((c, _), _)| c == code) {
            named += net;
            if *net > 0 {
                debit_side += net;
            } else {
                credit_side += net;
            }
        }
        // Lines that name no party (a manual voucher to 1122) count as one party more.
        let unnamed = nets.get(code).copied().unwrap_or(0) - named;
        if unnamed > 0 {
            debit_side += unnamed;
        } else {
            credit_side += unnamed;
        }
        nets.insert(format!("{code}{}", domain::DEBIT_SIDE), debit_side);
        nets.insert(format!("{code}{}", domain::CREDIT_SIDE), credit_side);
    }
    Ok(nets)
}

/// The debit balances of the VAT columns of 应交税费 at the end of `period`: 应交增值税 and its
/// columns as one (input VAT carried forward), and 未交增值税 (tax paid ahead), each counted
/// when it is in debit. CAS shows them under 其他流动资产 (财会〔2016〕22号).
async fn vat_debit_balances(conn: &mut db::Conn, company: i64, template: chart::Template, period: &str) -> Result<i64> {
    let unpaid = template.code(chart::Role::UnpaidVat);
    let rows = sqlx::query(
        "SELECT a.code, CAST(SUM(b.debit - b.credit) AS BIGINT) AS net FROM fin_balances b \
         JOIN fin_accounts a ON a.id = b.account_id WHERE b.company_id = $1 AND b.period <= $2 AND a.code LIKE $3 \
         GROUP BY a.code",
    )
    .bind(company)
    .bind(period)
    .bind(format!("{}%", &unpaid[..4]))
    .fetch_all(conn)
    .await?;
    let (mut columns, mut unpaid_net) = (0i64, 0i64);
    for r in &rows {
        let code: String = r.try_get("code")?;
        let net: i64 = r.try_get::<Option<i64>, _>("net")?.unwrap_or(0);
        if template.vat_accounts().iter().any(|prefix| code.starts_with(prefix)) {
            columns += net;
        } else if code.starts_with(unpaid) {
            unpaid_net += net;
        }
    }
    Ok(columns.max(0) + unpaid_net.max(0))
}

/// 利润表 for `from..=to`, compared with the same months a year earlier. Closing vouchers
/// (which carry income and expense to 本年利润) are left out, so a closed month still shows its
/// revenue and costs.
/// Within `slice`: one cost centre's or one project's revenue and costs (a department's or a
/// project's profit and loss), from the same balance rows.
pub async fn income_statement(
    conn: &mut db::Conn,
    company: i64,
    from: &str,
    to: &str,
    slice: LedgerSlice<'_>,
) -> Result<Vec<StatementRow>> {
    let lines = chart::template(conn, company).await?.income_statement();
    let current = movements_without_closing(conn, company, from, to, slice).await?;
    let year_earlier = domain::year_earlier;
    let previous = movements_without_closing(conn, company, &year_earlier(from), &year_earlier(to), slice).await?;
    Ok(statement_rows(lines, &current, &previous))
}

/// Which statement a line belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Statement {
    BalanceSheet,
    IncomeStatement,
}

impl Statement {
    /// As in the reports' paths: `balance-sheet`, `income-statement`.
    pub fn parse(key: &str) -> Option<Statement> {
        match key {
            "balance-sheet" => Some(Statement::BalanceSheet),
            "income-statement" => Some(Statement::IncomeStatement),
            _ => None,
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Statement::BalanceSheet => "balance-sheet",
            Statement::IncomeStatement => "income-statement",
        }
    }
}

/// A first-level account behind a statement line, with what it adds to the line (its
/// debit-minus-credit times the line's sign for it).
#[derive(Debug, Clone, Serialize)]
pub struct LineAccount {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub amount: i64,
}

/// What a statement figure is made of: the accounts behind an account line, or the lines a
/// subtotal adds (+1) or takes away (−1).
#[derive(Debug, Clone, Serialize)]
pub struct LineDetail {
    pub key: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    pub amount: i64,
    pub accounts: Vec<LineAccount>,
    pub parts: Vec<(StatementRow, i64)>,
}

/// The figure of one statement line for the same range as its statement (a balance sheet at
/// the end of `to`; an income statement over `from..=to` without closing vouchers), taken
/// apart: every account with its share, or the lines of a subtotal. Each account then opens
/// its ledger, so every figure leads to its entries.
pub async fn statement_line(
    conn: &mut db::Conn,
    company: i64,
    statement: Statement,
    key: &str,
    from: &str,
    to: &str,
    slice: LedgerSlice<'_>,
) -> Result<LineDetail> {
    let template = chart::template(conn, company).await?;
    let (lines, nets) = match statement {
        Statement::BalanceSheet => {
            (template.balance_sheet(), balances_at(conn, company, template, template.balance_sheet(), to).await?)
        }
        Statement::IncomeStatement => {
            (template.income_statement(), movements_without_closing(conn, company, from, to, slice).await?)
        }
    };
    let line = lines.iter().find(|l| l.key == key).ok_or(DomainError::NotFound("statement line"))?;
    let values = domain::compute(lines, &nets);
    let value = |k: &str| values.iter().find(|(vk, _)| *vk == k).map(|(_, v)| *v).unwrap_or(0);
    // The names of the chart's first-level accounts in one read, not one per account.
    let names: BTreeMap<String, (String, String)> =
        sqlx::query("SELECT code, name_zh, name_en FROM fin_accounts WHERE company_id = $1 AND parent_id IS NULL")
            .bind(company)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get("code")?, (r.try_get("name_zh")?, r.try_get("name_en")?))))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
    let accounts = line
        .accounts
        .iter()
        .filter_map(|(code, sign)| {
            // A key that is not an account (研发费用's research sub-accounts of 6602, one side
            // of a receivable account's parties) opens the account it is part of.
            let account = domain::key_account(code);
            names.get(account).map(|(name_zh, name_en)| LineAccount {
                code: account.to_string(),
                name_zh: name_zh.clone(),
                name_en: name_en.clone(),
                amount: nets.get(*code).copied().unwrap_or(0) * sign,
            })
        })
        .collect();
    let parts = line
        .sums
        .iter()
        .filter_map(|(part, sign)| lines.iter().find(|l| l.key == *part).map(|l| (l, *sign)))
        .map(|(l, sign)| {
            let row = StatementRow {
                key: l.key,
                label_zh: l.label_zh,
                label_en: l.label_en,
                amount: value(l.key),
                comparison: 0,
                total: l.total,
            };
            (row, sign)
        })
        .collect();
    Ok(LineDetail {
        key: line.key,
        label_zh: line.label_zh,
        label_en: line.label_en,
        amount: value(line.key),
        accounts,
        parts,
    })
}

/// Movements per income-statement key over `from..=to` within `slice`, without the closing
/// vouchers (which empty the income and expense accounts into 本年利润 each month and would
/// zero the statement; they name cost centres but never projects).
async fn movements_without_closing(
    conn: &mut db::Conn,
    company: i64,
    from: &str,
    to: &str,
    slice: LedgerSlice<'_>,
) -> Result<BTreeMap<String, i64>> {
    // The balance rows and their column of the slice; every row passes `'' = ''`.
    let (table, key, value) = slice.balance_rows();
    let balances = sqlx::query(&format!(
        "SELECT a.code, a.name_zh, CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net FROM {table} b \
         JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.period >= $2 AND b.period <= $3 AND {key} = $4 GROUP BY a.code, a.name_zh"
    ))
    .bind(company)
    .bind(from)
    .bind(to)
    .bind(value)
    .fetch_all(&mut *conn)
    .await?;
    let mut map = BTreeMap::new();
    for r in &balances {
        let (code, name): (String, String) = (r.try_get("code")?, r.try_get("name_zh")?);
        *map.entry(domain::income_statement_key(&code, &name)).or_insert(0) += r.try_get::<i64, _>("net")?;
    }
    let closing = match slice {
        LedgerSlice::Project(_) => Vec::new(),
        _ => crate::costs::closing_movements(conn, company, from, to).await?,
    };
    for c in closing {
        if let LedgerSlice::CostCenter(centre) = slice {
            if c.cost_center != centre {
                continue;
            }
        }
        *map.entry(domain::income_statement_key(&c.code, &c.name_zh)).or_insert(0) -= c.net;
    }
    // Books started after January: the year's months before them, typed as figures, count in
    // a range that covers them all, from their January (or before) through their last month
    // (`opening::set_year_to_date`); a range covering part of them cannot split them. They name
    // no cost centre or project.
    if matches!(slice, LedgerSlice::All) {
        let earlier = sqlx::query(&format!(
            "SELECT a.code, a.name_zh, y.debit - y.credit AS net FROM fin_opening_year_to_date y \
             JOIN fin_accounts a ON a.id = y.account_id WHERE y.company_id = $1 AND {EARLIER_MONTHS_COVERED}"
        ))
        .bind(company)
        .bind(from)
        .bind(to)
        .fetch_all(&mut *conn)
        .await?;
        for r in &earlier {
            let (code, name): (String, String) = (r.try_get("code")?, r.try_get("name_zh")?);
            *map.entry(domain::income_statement_key(&code, &name)).or_insert(0) += r.try_get::<i64, _>("net")?;
        }
    }
    Ok(map)
}

/// Whether a range of months (`$2` to `$3`) covers all the earlier months a year-to-date
/// figure `y` stands for: from their January (or before) through their last month.
const EARLIER_MONTHS_COVERED: &str = "substr(y.through, 1, 4) || '-01' >= $2 AND y.through <= $3";

/// What the year's months before the books moved an account (its sub-accounts included), as
/// typed with the opening balances: the last of those months and the debit and credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EarlierMonths {
    pub through: String,
    pub debit: i64,
    pub credit: i64,
}

/// The year-to-date figures of `code` and its sub-accounts that a range of months counts, as
/// the income statement does (see [`EARLIER_MONTHS_COVERED`]): shown beside the account's
/// ledger, whose lines are the books' own, so the statement's figure can be traced to both.
/// None when the range covers none.
pub async fn earlier_months(
    conn: &mut db::Conn,
    company: i64,
    code: &str,
    from: &str,
    to: &str,
) -> Result<Option<EarlierMonths>> {
    let pattern = format!("{}%", code.replace(['%', '_'], ""));
    let row = sqlx::query(&format!(
        "SELECT MAX(y.through) AS through, CAST(COALESCE(SUM(y.debit), 0) AS BIGINT) AS debit, \
         CAST(COALESCE(SUM(y.credit), 0) AS BIGINT) AS credit FROM fin_opening_year_to_date y \
         JOIN fin_accounts a ON a.id = y.account_id WHERE y.company_id = $1 AND {EARLIER_MONTHS_COVERED} AND a.code LIKE $4"
    ))
    .bind(company)
    .bind(from)
    .bind(to)
    .bind(&pattern)
    .fetch_one(conn)
    .await?;
    Ok(match row.try_get::<Option<String>, _>("through")? {
        Some(through) => Some(EarlierMonths { through, debit: row.try_get("debit")?, credit: row.try_get("credit")? }),
        None => None,
    })
}

/// Closes a month (结账): refused while drafts exist or an earlier month is open; carries
/// every income and expense balance of the month to 本年利润 (CAS 4103; the chart's
/// `Role::CurrentYearProfit`) with a closing voucher (转); locks the period; emits
/// `finance.PeriodClosed`. In December, 本年利润 is then carried to 利润分配 (CAS 4104).
pub async fn close_period(tx: &mut Tx, principal: &Principal, period: &str) -> Result<Option<String>> {
    principal.authorize(CLOSE)?;
    let company = principal.company_id.0;
    let period = domain::parse_period("period", period).map_err(|e| DomainError::Invalid(vec![e]))?;
    claim_open_period(tx, company, &period).await?;
    let earlier_open = tx.fetch_optional(sqlx::query("SELECT period FROM fin_periods WHERE company_id = $1 AND period < $2 AND status = 'open' ORDER BY period LIMIT 1")
        .bind(company)
        .bind(&period)
        )
        .await?;
    if let Some(row) = earlier_open {
        let earlier: String = row.try_get("period")?;
        return Err(DomainError::invalid("period", "error.finance.earlier_open", earlier).into());
    }
    let drafts: i64 = tx
        .fetch_one(
            sqlx::query(
                "SELECT COUNT(*) AS n FROM fin_entries WHERE company_id = $1 AND period = $2 AND status = 'draft'",
            )
            .bind(company)
            .bind(&period),
        )
        .await?
        .try_get("n")?;
    if drafts > 0 {
        return Err(DomainError::invalid("period", "error.finance.drafts_open", drafts.to_string()).into());
    }
    let date = last_day(&period);
    let template = chart::template(tx.conn(), company).await?;
    let (current_year_profit, retained_earnings) =
        (template.code(Role::CurrentYearProfit), template.code(Role::RetainedEarnings));
    let profit_and_loss = tx.fetch_all(
        sqlx::query(
            "SELECT a.code, b.cost_center, CAST(SUM(b.debit - b.credit) AS BIGINT) AS net FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id \
             WHERE b.company_id = $1 AND b.period = $2 AND a.class IN ('income', 'expense') GROUP BY a.code, b.cost_center \
             HAVING SUM(b.debit - b.credit) <> 0 ORDER BY a.code, b.cost_center",
        )
        .bind(company)
        .bind(&period),
    )
    .await?;
    let mut number = None;
    let mut lines = Vec::new();
    let mut to_profit = 0i64;
    for r in &profit_and_loss {
        let code: String = r.try_get("code")?;
        let net: i64 = r.try_get("net")?;
        // Bring each account to zero: a debit balance is credited, a credit balance debited,
        // per cost centre so each centre's balance is zero too.
        let cost_center: String = r.try_get("cost_center")?;
        lines.push(domain::Line {
            account: code,
            debit: (-net).max(0),
            credit: net.max(0),
            cost_center,
            project: String::new(),
            memo: String::new(),
            foreign: None,
            party: None,
        });
        to_profit += net;
    }
    // A month whose income and expenses cancel out carries nothing to 本年利润: its voucher
    // closes the accounts against each other and has no 本年利润 line of zero.
    if !lines.is_empty() && to_profit != 0 {
        lines.push(domain::Line {
            account: current_year_profit.into(),
            debit: to_profit.max(0),
            credit: (-to_profit).max(0),
            cost_center: String::new(),
            project: String::new(),
            memo: String::new(),
            foreign: None,
            party: None,
        });
    }
    if !lines.is_empty() {
        number = Some(post_system_entry(tx, company, &period, &date, "期末结转损益", lines).await?);
    }
    if period.ends_with("-12") {
        let row = tx.fetch_one(
            sqlx::query(
                "SELECT CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net FROM fin_balances b JOIN fin_accounts a ON a.id = b.account_id \
                 WHERE b.company_id = $1 AND b.period <= $2 AND a.code = $3",
            )
            .bind(company)
            .bind(&period)
            .bind(current_year_profit),
        )
        .await?;
        let net: i64 = row.try_get("net")?;
        if net != 0 {
            let lines = vec![
                domain::Line {
                    account: current_year_profit.into(),
                    debit: (-net).max(0),
                    credit: net.max(0),
                    cost_center: String::new(),
                    project: String::new(),
                    memo: String::new(),
                    foreign: None,
                    party: None,
                },
                domain::Line {
                    account: retained_earnings.into(),
                    debit: net.max(0),
                    credit: (-net).max(0),
                    cost_center: String::new(),
                    project: String::new(),
                    memo: String::new(),
                    foreign: None,
                    party: None,
                },
            ];
            post_system_entry(tx, company, &period, &date, "年末结转本年利润", lines).await?;
        }
    }
    let now = tx.now().to_string();
    tx.execute(
        sqlx::query("UPDATE fin_periods SET status = 'closed', closed_at = $1 WHERE company_id = $2 AND period = $3")
            .bind(&now)
            .bind(company)
            .bind(&period),
    )
    .await?;
    tx.audit(
        "state",
        "finance.period",
        Some(&period),
        &json!({"status": ["open", "closed"], "closing_entry": [null, number]}),
    )
    .await?;
    tx.emit("finance.period", &period, "finance.PeriodClosed", &json!({"company_id": company, "period": period}))
        .await?;
    Ok(number)
}

async fn post_system_entry(
    tx: &mut Tx,
    company: i64,
    period: &str,
    date: &str,
    memo: &str,
    lines: Vec<domain::Line>,
) -> Result<String> {
    let entry =
        Entry { date: date.to_string(), period: period.to_string(), word: "转".into(), memo: memo.into(), lines };
    let no_writes = Box::new(|_| Vec::new());
    post_entry_of(tx, company, &entry, "closing", None, no_writes, Tags::Undoing).await.map(|(_, number)| number)
}

/// Keeps a voucher the ledger built for what `principal` asked (a statement line booked, a
/// month's taxes paid) under the books' signature rules: posted at once as `kind` by someone
/// the rules let ([`crate::review::Rules::books_at_once`]), signed by them as cashier where the
/// rule asks; for anyone else saved as a draft (kind `manual`) to be signed and posted, signed
/// by them as cashier where the rule asks and they may. `refusals` renames the ledger's line
/// fields to the form's ([`refusals_on_fields`]). Returns the voucher's id and its number,
/// none for a draft.
pub(crate) async fn keep_built(
    tx: &mut Tx,
    principal: &Principal,
    rules: crate::review::Rules,
    entry: Entry,
    (kind, refusals): (&str, &[(&str, &str)]),
) -> Result<(i64, Option<String>)> {
    if rules.books_at_once(principal) {
        let posted = post_document_entry(tx, principal.company_id.0, &entry, kind).await;
        let (id, number) = refusals_on_fields(posted, refusals)?;
        crate::review::sign_booked(tx, principal, rules, id).await?;
        return Ok((id, Some(number)));
    }
    let form = EntryForm {
        date: entry.date,
        word: entry.word,
        memo: entry.memo,
        lines: entry.lines.iter().map(domain::LineForm::of).collect(),
    };
    let id = refusals_on_fields(create_draft(tx, principal, &form).await, refusals)?;
    if rules.cashier && principal.may(crate::review::SIGN_CASH) {
        crate::review::sign(tx, principal, crate::review::Signature::Cashier, id, None).await?;
    }
    Ok((id, None))
}

/// Posts an entry that a document produced: an invoice, a payment or a close of this module,
/// or a stock move's value from the stock module above. The document's own permission was
/// checked; the ledger's rules still hold here (open period, usable accounts, listed and
/// active cost centres and projects, debits = credits). Returns the entry id and number.
pub async fn post_document_entry(tx: &mut Tx, company: i64, entry: &Entry, kind: &str) -> Result<(i64, String)> {
    post_document_entry_with(tx, company, entry, kind, None, Box::new(|_| Vec::new())).await
}

/// [`post_document_entry`] for an entry that undoes an earlier one of the same document (goods
/// a customer sends back, a stock move reversed): its lines carry the cost centres and projects
/// the undone entry carried, whatever became of those codes since, as a reversal's do.
pub async fn post_undoing_document_entry(
    tx: &mut Tx,
    company: i64,
    entry: &Entry,
    kind: &str,
) -> Result<(i64, String)> {
    post_entry_of(tx, company, entry, kind, None, Box::new(|_| Vec::new()), Tags::Undoing).await
}

/// [`post_document_entry`], with the document's own writes that need the entry's id, which
/// then cost no call of their own, and the voucher's number when the caller took it already
/// (from [`voucher_sequence`], together with the document's own number).
pub async fn post_document_entry_with(
    tx: &mut Tx,
    company: i64,
    entry: &Entry,
    kind: &str,
    voucher_number: Option<String>,
    with_entry: WithEntry<'_>,
) -> Result<(i64, String)> {
    post_entry_of(tx, company, entry, kind, voucher_number, with_entry, Tags::Check).await
}

/// [`post_document_entry_with`], for this crate's undoing vouchers too (`tags`).
pub(crate) async fn post_entry_of(
    tx: &mut Tx,
    company: i64,
    entry: &Entry,
    kind: &str,
    voucher_number: Option<String>,
    with_entry: WithEntry<'_>,
    tags: Tags,
) -> Result<(i64, String)> {
    // The entry is whole in hand, so it is checked here and stored posted: no draft row is
    // written, read back and changed, which takes four statements fewer than a draft's posting.
    let amount = require_balanced(entry.lines.iter().map(|l| (l.debit, l.credit)))?;
    let account_ids = accounts_in_period(tx, company, entry, kind != OPENING).await?;
    if tags == Tags::Check {
        crate::dimensions::require_usable(tx, company, entry).await?;
    }
    let number = match voucher_number {
        Some(number) => number,
        None => take_voucher_number(tx, company, &entry.period, &entry.word).await?,
    };
    let stored = Stored::Posted { number: &number, with_entry };
    let id = insert_entry(tx, company, entry, &account_ids, kind, None, stored).await?;
    record_posting(tx, id, &number, &entry.period, amount).await?;
    Ok((id, number))
}

/// A closing rate as entered for revaluation: a currency code and the rate to CNY.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateForm {
    pub currency: String,
    pub rate: String,
}

/// One account's revaluation: its foreign balance, its carrying amount in CNY before, and the
/// difference posted.
#[derive(Debug, Clone, Serialize)]
pub struct Revaluation {
    pub account: String,
    pub currency: String,
    /// The closing rate it was revalued at: as given, or the table's.
    pub rate: String,
    pub foreign_balance: i64,
    pub carrying: i64,
    pub revalued: i64,
    pub difference: i64,
}

/// Revalues foreign-currency balances at the end of an open month (期末调汇): for every account
/// and currency, the foreign balance at `rates` against what it is carried at in CNY, and the
/// difference posted to 财务费用 (CAS 6603; the chart's `Role::FinancialExpense`) with one
/// voucher (转) on the month's last day: a gain credits it, a loss debits it. The voucher's
/// account lines carry the currency with a foreign amount of zero, so they count in the
/// carrying amount next time and a second run at the same rates posts nothing. Every currency
/// held needs a rate: as given, or else the exchange-rate table's in force on the month's last
/// day. Returns the voucher (none when nothing changed) and the revaluations.
pub async fn revalue_foreign(
    tx: &mut Tx,
    principal: &Principal,
    period: &str,
    rates: &[RateForm],
) -> Result<(Option<(i64, String)>, Vec<Revaluation>)> {
    principal.authorize(POST)?;
    let company = principal.company_id.0;
    let period = domain::parse_period("period", period).map_err(|e| DomainError::Invalid(vec![e]))?;
    let mut problems = kernel::error::Problems::default();
    let mut closing: BTreeMap<String, rust_decimal::Decimal> = BTreeMap::new();
    for (i, r) in rates.iter().enumerate() {
        let code = r.currency.trim().to_uppercase();
        if code == "CNY" || kernel::Currency::from_code(&code).is_none() || closing.contains_key(&code) {
            problems.add(&format!("rates[{i}].currency"), "error.finance.currency", &code);
            continue;
        }
        match crate::fx::parse_rate(&r.rate) {
            Some(rate) => {
                closing.insert(code, rate);
            }
            None => problems.add(&format!("rates[{i}].rate"), "error.finance.rate", &r.rate),
        }
    }
    problems.finish()?;
    require_open(tx, company, &period).await?;
    // A currency not given takes the table's rate in force on the month's last day.
    for table in crate::fx::rates_on(tx.conn(), company, &last_day(&period)).await? {
        if let Some(rate) = crate::fx::parse_rate(&table.rate) {
            closing.entry(table.currency).or_insert(rate);
        }
    }
    let held = tx
        .fetch_all(
            sqlx::query(
                "SELECT a.code, l.currency, \
                 CAST(SUM(CASE WHEN l.debit <> 0 THEN l.foreign_amount ELSE -l.foreign_amount END) AS BIGINT) AS foreign_balance, \
                 CAST(SUM(l.debit - l.credit) AS BIGINT) AS carrying \
                 FROM fin_entry_lines l JOIN fin_entries e ON e.id = l.entry_id JOIN fin_accounts a ON a.id = l.account_id \
                 WHERE e.company_id = $1 AND e.status = 'posted' AND e.period <= $2 AND l.currency <> 'CNY' \
                 GROUP BY a.code, l.currency ORDER BY a.code, l.currency",
            )
            .bind(company)
            .bind(&period),
        )
        .await?;
    let mut revaluations = Vec::new();
    let mut missing = kernel::error::Problems::default();
    for row in &held {
        let currency: String = row.try_get("currency")?;
        let Some(rate) = closing.get(&currency) else {
            missing.add("rates", "error.finance.rate_missing", &currency);
            continue;
        };
        let foreign_balance: i64 = row.try_get("foreign_balance")?;
        let carrying: i64 = row.try_get("carrying")?;
        let unit = kernel::Currency::from_code(&currency)
            .ok_or(DomainError::Internal(format!("stored currency {currency}")))?;
        let revalued = domain::in_cny(kernel::Money::from_minor(foreign_balance, unit), *rate)
            .ok_or_else(|| DomainError::Internal(format!("{currency} balance out of range")))?;
        revaluations.push(Revaluation {
            account: row.try_get("code")?,
            rate: rate.to_string(),
            currency,
            foreign_balance,
            carrying,
            revalued,
            difference: revalued - carrying,
        });
    }
    missing.finish()?;
    let changed: Vec<&Revaluation> = revaluations.iter().filter(|r| r.difference != 0).collect();
    if changed.is_empty() {
        return Ok((None, revaluations));
    }
    let template = chart::template(tx.conn(), company).await?;
    let mut lines = Vec::new();
    let mut gain = 0i64;
    for r in &changed {
        let (debit, credit) = if r.difference > 0 { (r.difference, 0) } else { (0, -r.difference) };
        lines.push(domain::Line {
            account: r.account.clone(),
            debit,
            credit,
            cost_center: String::new(),
            project: String::new(),
            memo: format!("{} {}", r.currency, closing[&r.currency]),
            foreign: Some((r.currency.clone(), 0, closing[&r.currency].to_string())),
            party: None,
        });
        gain += r.difference;
    }
    let (debit, credit) = if gain >= 0 { (0, gain) } else { (-gain, 0) };
    if gain != 0 {
        lines.push(domain::Line {
            account: template.code(Role::FinancialExpense).into(),
            debit,
            credit,
            cost_center: String::new(),
            project: String::new(),
            memo: "汇兑损益".into(),
            foreign: None,
            party: None,
        });
    }
    let rates_text: Vec<String> = closing.iter().map(|(c, r)| format!("{c} {r}")).collect();
    let entry = Entry {
        date: last_day(&period),
        period: period.clone(),
        word: "转".into(),
        memo: format!("期末汇兑损益 {period} {}", rates_text.join(" ")),
        lines,
    };
    let posted = post_document_entry(tx, company, &entry, "revaluation").await?;
    tx.audit(
        "revalue",
        "finance.period",
        Some(&period),
        &json!({"rates": [null, rates_text], "entry": [null, posted.1]}),
    )
    .await?;
    Ok((Some(posted), revaluations))
}

/// The last day of a month `YYYY-MM`, as `YYYY-MM-DD`.
pub fn last_day(period: &str) -> String {
    let year: i32 = period[..4].parse().unwrap_or(1970);
    let month: u32 = period[5..].parse().unwrap_or(1);
    let first_next = if month == 12 {
        chrono::NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        chrono::NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    first_next.and_then(|d| d.pred_opt()).map(|d| d.to_string()).unwrap_or_else(|| format!("{period}-28"))
}

/// Reopens the latest closed period (反结账), with its own permission. Its closing vouchers
/// stay posted; closing it again carries only what was posted since.
pub async fn reopen_period(tx: &mut Tx, principal: &Principal, period: &str) -> Result<()> {
    principal.authorize(REOPEN)?;
    let company = principal.company_id.0;
    let latest = tx.fetch_optional(
        sqlx::query(
            "SELECT period FROM fin_periods WHERE company_id = $1 AND status = 'closed' ORDER BY period DESC LIMIT 1",
        )
        .bind(company),
    )
    .await?;
    let latest: Option<String> = match latest {
        Some(r) => Some(r.try_get("period")?),
        None => None,
    };
    if latest.as_deref() != Some(period) {
        return Err(DomainError::invalid("period", "error.finance.reopen_latest", latest.unwrap_or_default()).into());
    }
    tx.execute(
        sqlx::query("UPDATE fin_periods SET status = 'open', closed_at = NULL WHERE company_id = $1 AND period = $2")
            .bind(company)
            .bind(period),
    )
    .await?;
    tx.audit("state", "finance.period", Some(period), &json!({"status": ["closed", "open"]})).await?;
    Ok(())
}

/// Periods of the company with their status.
pub async fn periods(conn: &mut db::Conn, company: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT period, status FROM fin_periods WHERE company_id = $1 ORDER BY period")
        .bind(company)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| Ok((r.try_get("period")?, r.try_get("status")?))).collect()
}

/// A voucher as listed: its header and total.
#[derive(Debug, Clone, Serialize)]
pub struct EntrySummary {
    pub id: i64,
    pub date: String,
    pub number: Option<String>,
    pub status: String,
    pub kind: String,
    pub memo: String,
    pub total: i64,
    /// A draft reviewed (see `review`).
    pub reviewed: bool,
    /// A draft the cashier signed.
    pub cashier_signed: bool,
}

/// Which vouchers a list shows: all, or those at one stage of their way into the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stage {
    #[default]
    All,
    /// Every draft.
    Drafts,
    /// Hand-entered drafts nobody reviewed yet: the reviewer's worklist.
    AwaitingReview,
    /// Drafts reviewed.
    Reviewed,
    /// Hand-made drafts that move cash and the cashier has not signed: the cashier's worklist.
    AwaitingCashier,
    Posted,
}

impl Stage {
    pub const ALL: [Stage; 6] =
        [Stage::All, Stage::Drafts, Stage::AwaitingReview, Stage::Reviewed, Stage::AwaitingCashier, Stage::Posted];

    /// As sent in a query and used in message keys.
    pub fn key(self) -> &'static str {
        match self {
            Stage::All => "all",
            Stage::Drafts => "draft",
            Stage::AwaitingReview => "awaiting_review",
            Stage::Reviewed => "reviewed",
            Stage::AwaitingCashier => "awaiting_cashier",
            Stage::Posted => "posted",
        }
    }

    /// The stage a query names; empty is all.
    pub fn parse(field: &str, key: Option<&str>) -> std::result::Result<Stage, DomainError> {
        match key.map(str::trim).filter(|k| !k.is_empty()) {
            None => Ok(Stage::All),
            Some(key) => Stage::ALL
                .into_iter()
                .find(|s| s.key() == key)
                .ok_or_else(|| DomainError::invalid(field, "error.finance.stage", key)),
        }
    }

    /// Whether a list of this stage covers every month unless one is named: drafts wait in
    /// whatever month they were dated.
    pub fn spans_months(self) -> bool {
        matches!(self, Stage::Drafts | Stage::AwaitingReview | Stage::Reviewed | Stage::AwaitingCashier)
    }

    fn condition(self) -> String {
        let condition = match self {
            Stage::All => "",
            Stage::Drafts => " AND e.status = 'draft'",
            Stage::AwaitingReview => {
                " AND e.status = 'draft' AND e.kind IN ('manual', 'reversal') AND e.reviewed_by IS NULL"
            }
            Stage::Reviewed => " AND e.status = 'draft' AND e.reviewed_by IS NOT NULL",
            Stage::AwaitingCashier => {
                return format!(
                    " AND e.status = 'draft' AND e.kind IN ('manual', 'reversal') AND e.cashier_by IS NULL \
                     AND EXISTS (SELECT 1 FROM fin_entry_lines cl JOIN fin_accounts a ON a.id = cl.account_id \
                     WHERE cl.entry_id = e.id AND {})",
                    crate::chart::cash_condition("a.code")
                )
            }
            Stage::Posted => " AND e.status = 'posted'",
        };
        condition.to_string()
    }
}

/// Entries of a period (of every period when none is named) at a stage, newest first, at most
/// 500, in one query. The drafts of all periods are read through their own index.
pub async fn entries(
    conn: &mut db::Conn,
    company: i64,
    period: Option<&str>,
    stage: Stage,
) -> Result<Vec<EntrySummary>> {
    let mut q = db::SqlBuilder::new(
        "SELECT e.id, e.entry_date, e.number, e.status, e.kind, e.memo, e.reviewed_by, e.cashier_by, \
         CAST(COALESCE(SUM(l.debit), 0) AS BIGINT) AS total \
         FROM fin_entries e LEFT JOIN fin_entry_lines l ON l.entry_id = e.id WHERE e.company_id = ",
    );
    q.bind(company);
    if let Some(period) = period {
        q.push(" AND e.period = ").bind(period);
    }
    q.push(&stage.condition());
    q.push(
        " GROUP BY e.id, e.entry_date, e.number, e.status, e.kind, e.memo, e.reviewed_by, e.cashier_by \
         ORDER BY e.id DESC LIMIT 500",
    );
    let rows = q.build().fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(EntrySummary {
                id: r.try_get("id")?,
                date: r.try_get("entry_date")?,
                number: r.try_get("number")?,
                status: r.try_get("status")?,
                kind: r.try_get("kind")?,
                memo: r.try_get("memo")?,
                total: r.try_get("total")?,
                reviewed: r.try_get::<Option<i64>, _>("reviewed_by")?.is_some(),
                cashier_signed: r.try_get::<Option<i64>, _>("cashier_by")?.is_some(),
            })
        })
        .collect()
}

/// A posted line of an account's ledger, with the running balance (debit minus credit).
#[derive(Debug, Clone, Serialize)]
pub struct LedgerLine {
    pub entry_id: i64,
    pub date: String,
    pub number: Option<String>,
    pub account: String,
    pub memo: String,
    pub debit: i64,
    pub credit: i64,
    pub balance: i64,
}

/// The lines an account ledger or income statement shows: all of them, or those of one cost
/// centre (an empty code: the lines that name none) or of one project. The cost report's
/// figures open there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerSlice<'a> {
    All,
    CostCenter(&'a str),
    Project(&'a str),
}

impl LedgerSlice<'_> {
    /// Where the slice's movements are kept: the balance table, its column (as `b.…`) to
    /// compare with the value, and the value; for all lines a comparison every row passes.
    fn balance_rows(&self) -> (&'static str, &'static str, &str) {
        match *self {
            LedgerSlice::All => ("fin_balances", "''", ""),
            LedgerSlice::CostCenter(centre) => ("fin_balances", "b.cost_center", centre),
            LedgerSlice::Project(project) => ("fin_project_balances", "b.project", project),
        }
    }

    /// The column of an entry line (as `l.…`) to compare with the value.
    fn line_column(&self) -> &'static str {
        match self {
            LedgerSlice::All => "''",
            LedgerSlice::CostCenter(_) => "l.cost_center",
            LedgerSlice::Project(_) => "l.project",
        }
    }

    /// The query parameter that names the slice in a link (`cost_center`, `project`) and its
    /// value; none for all lines.
    pub fn param(&self) -> Option<(&'static str, &str)> {
        match *self {
            LedgerSlice::All => None,
            LedgerSlice::CostCenter(centre) => Some(("cost_center", centre)),
            LedgerSlice::Project(project) => Some(("project", project)),
        }
    }
}

/// The entries behind a figure: the balance before `from` and every posted line of an account
/// and its sub-accounts in `from..=to` within `slice`, with a running balance. (At most 5,000
/// lines; a wider range is narrowed by the caller.)
pub async fn account_ledger(
    conn: &mut db::Conn,
    company: i64,
    code: &str,
    from: &str,
    to: &str,
    slice: LedgerSlice<'_>,
) -> Result<(i64, Vec<LedgerLine>)> {
    let pattern = format!("{}%", code.replace(['%', '_'], ""));
    let (table, key, value) = slice.balance_rows();
    let opening: i64 = sqlx::query(&format!(
        "SELECT CAST(COALESCE(SUM(b.debit - b.credit), 0) AS BIGINT) AS net FROM {table} b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND a.code LIKE $2 AND b.period < $3 AND {key} = $4"
    ))
    .bind(company)
    .bind(&pattern)
    .bind(from)
    .bind(value)
    .fetch_one(&mut *conn)
    .await?
    .try_get("net")?;
    let rows = sqlx::query(&format!(
        "SELECT e.id, e.entry_date, e.number, a.code, e.memo, l.debit, l.credit FROM fin_entry_lines l \
         JOIN fin_entries e ON e.id = l.entry_id JOIN fin_accounts a ON a.id = l.account_id \
         WHERE e.company_id = $1 AND e.status = 'posted' AND a.code LIKE $2 AND e.period >= $3 AND e.period <= $4 \
         AND {} = $5 ORDER BY e.entry_date, e.id, l.line_no LIMIT 5000",
        slice.line_column()
    ))
    .bind(company)
    .bind(&pattern)
    .bind(from)
    .bind(to)
    .bind(value)
    .fetch_all(&mut *conn)
    .await?;
    let mut balance = opening;
    let mut lines = Vec::with_capacity(rows.len());
    for r in rows {
        let debit: i64 = r.try_get("debit")?;
        let credit: i64 = r.try_get("credit")?;
        balance += debit - credit;
        lines.push(LedgerLine {
            entry_id: r.try_get("id")?,
            date: r.try_get("entry_date")?,
            number: r.try_get("number")?,
            account: r.try_get("code")?,
            memo: r.try_get("memo")?,
            debit,
            credit,
            balance,
        });
    }
    Ok((opening, lines))
}
