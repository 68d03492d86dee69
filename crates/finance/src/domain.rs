//! Ledger rules without I/O: voucher words, periods, balanced entries, the chart templates
//! and the CAS statement lines.

use kernel::error::Problems;
use kernel::{Currency, DomainResult, Money};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Voucher words (凭证字): 记 general, 收 receipt, 付 payment, 转 transfer.
pub const WORDS: [&str; 4] = ["记", "收", "付", "转"];

/// A period `YYYY-MM`, checked.
pub fn parse_period(field: &str, text: &str) -> Result<String, kernel::error::FieldError> {
    let text = text.trim();
    let ok = text.len() == 7
        && text.as_bytes()[4] == b'-'
        && text[..4].chars().all(|c| c.is_ascii_digit())
        && text[5..].chars().all(|c| c.is_ascii_digit())
        && text[5..].parse::<u32>().is_ok_and(|m| (1..=12).contains(&m));
    if ok {
        Ok(text.to_string())
    } else {
        Err(kernel::error::FieldError::new(field, "error.finance.period", text))
    }
}

/// The months `from..=to` of a report, each read as `YYYY-MM`. A month that cannot be read is
/// refused beside its own field, both at once; a `to` before `from` is refused beside `to`,
/// since the statements of a reversed range would read as empty rather than wrong.
pub fn period_range(from: &str, to: &str) -> DomainResult<(String, String)> {
    let mut problems = Problems::default();
    let mut read = |field: &str, text: &str| match parse_period(field, text) {
        Ok(period) => Some(period),
        Err(e) => {
            problems.0.push(e);
            None
        }
    };
    let (from, to) = (read("from", from), read("to", to));
    if let (Some(from), Some(to)) = (&from, &to) {
        if from > to {
            problems.add("to", "error.finance.range_reversed", to.as_str());
        }
    }
    problems.finish()?;
    Ok((from.unwrap_or_default(), to.unwrap_or_default()))
}

/// The period a business date (`YYYY-MM-DD`) falls in.
pub fn period_of(date: &str) -> String {
    date.chars().take(7).collect()
}

/// The same month a year earlier (`2026-03` → `2025-03`): a statement's comparison column.
pub fn year_earlier(period: &str) -> String {
    format!("{}-{}", period[..4].parse::<i32>().unwrap_or(0) - 1, &period[5..])
}

/// The month after `period` (`2026-12` → `2027-01`).
pub fn next_month(period: &str) -> String {
    let (year, month): (i32, u32) = (period[..4].parse().unwrap_or(0), period[5..7].parse().unwrap_or(1));
    if month == 12 {
        format!("{:04}-01", year + 1)
    } else {
        format!("{year:04}-{:02}", month + 1)
    }
}

/// The month before `period` (`2026-01` → `2025-12`).
pub fn previous_month(period: &str) -> String {
    let (year, month): (i32, u32) = (period[..4].parse().unwrap_or(0), period[5..7].parse().unwrap_or(1));
    if month == 1 {
        format!("{:04}-12", year - 1)
    } else {
        format!("{year:04}-{:02}", month - 1)
    }
}

/// The months `from..=to` (`YYYY-MM`), none when `to` comes first.
pub fn months_between(from: &str, to: &str) -> Vec<String> {
    let mut months = Vec::new();
    let mut month = from.to_string();
    while month.as_str() <= to {
        let next = next_month(&month);
        months.push(std::mem::replace(&mut month, next));
    }
    months
}

/// One line of a voucher as entered: an account code and one amount, debit or credit, as
/// decimal text ("1234.50").
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LineForm {
    pub account: String,
    #[serde(default)]
    pub debit: String,
    #[serde(default)]
    pub credit: String,
    /// The code of the line's cost centre (department), from the company's list; empty for none.
    #[serde(default)]
    pub cost_center: String,
    /// The code of the line's project, from the company's list; empty for none.
    #[serde(default)]
    pub project: String,
    #[serde(default)]
    pub memo: String,
    /// For a line in a foreign currency: its code (USD, EUR, HKD, JPY) …
    #[serde(default)]
    pub currency: String,
    /// … the amount in that currency …
    #[serde(default)]
    pub foreign_amount: String,
    /// … and the rate to CNY; the debit or credit must equal amount × rate, rounded to the fen.
    #[serde(default)]
    pub rate: String,
    /// The number of the customer or supplier a receivable, payable or advance line is owed
    /// by or to (`PTY/2026/000001`); empty for none.
    #[serde(default)]
    pub party: String,
}

/// A voucher as entered.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EntryForm {
    /// Business date `YYYY-MM-DD`; the period is its month.
    pub date: String,
    #[serde(default = "default_word")]
    pub word: String,
    #[serde(default)]
    pub memo: String,
    pub lines: Vec<LineForm>,
}

fn default_word() -> String {
    "记".into()
}

/// A checked line: amounts in fen; exactly one side is non-zero.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub account: String,
    pub debit: i64,
    pub credit: i64,
    pub cost_center: String,
    pub project: String,
    pub memo: String,
    /// The line's foreign currency, if any: (code, amount in its minor units, rate as text).
    pub foreign: Option<(String, i64, String)>,
    /// The customer or supplier a receivable, payable or advance line is owed by or to; the
    /// balance sheet reads these per party (`fin_party_balances`) to put a customer's credit
    /// balance under 预收款项 rather than net it off 应收账款.
    pub party: Option<i64>,
}

/// A line's foreign amount (currency, amount in its minor units, rate) as shown:
/// `USD 1,000.00 @ 7.1234`, empty for none.
pub fn foreign_text(foreign: &Option<(String, i64, String)>) -> String {
    match foreign {
        Some((code, amount, rate)) => {
            let currency = Currency::from_code(code).unwrap_or(Currency::CNY);
            format!("{code} {} @ {rate}", Money::from_minor(*amount, currency))
        }
        None => String::new(),
    }
}

impl Line {
    /// The foreign amount as shown: `USD 1,000.00 @ 7.1234`, empty for a CNY line.
    pub fn foreign_text(&self) -> String {
        foreign_text(&self.foreign)
    }

    /// A line in the company currency.
    pub fn cny(account: &str, debit: i64, credit: i64) -> Line {
        Line {
            account: account.into(),
            debit,
            credit,
            cost_center: String::new(),
            project: String::new(),
            memo: String::new(),
            foreign: None,
            party: None,
        }
    }
}

/// A foreign amount in CNY at `rate`, rounded half up to the fen once: a yen amount (no minor
/// unit) times its rate keeps its fen. None when the product is out of range.
pub fn in_cny(amount: Money, rate: rust_decimal::Decimal) -> Option<i64> {
    let product = amount.to_decimal().checked_mul(rate)?;
    Money::from_decimal(product, Currency::CNY, kernel::Rounding::HalfUp).ok().map(|m| m.minor())
}

/// Checks a foreign-currency line: a known currency, an exact amount, a positive rate, and the
/// company-currency amount equal to amount × rate rounded half up to the fen.
fn foreign(problems: &mut Problems, field: &str, line: &LineForm, cny: i64) -> Option<(String, i64, String)> {
    let code = line.currency.trim().to_uppercase();
    if code.is_empty() || code == "CNY" {
        return None;
    }
    let Some(currency) = Currency::from_code(&code) else {
        problems.add(field, "error.finance.currency", &code);
        return None;
    };
    let amount = match Money::parse(&line.foreign_amount, currency) {
        Ok(m) if m.minor() > 0 => m,
        _ => {
            problems.add(field, "error.finance.foreign_amount", &line.foreign_amount);
            return None;
        }
    };
    let rate = match line.rate.trim().parse::<rust_decimal::Decimal>() {
        Ok(r) if r > rust_decimal::Decimal::ZERO && r.scale() <= 6 => r,
        _ => {
            problems.add(field, "error.finance.rate", &line.rate);
            return None;
        }
    };
    match in_cny(amount, rate) {
        Some(e) if e == cny => Some((code, amount.minor(), rate.normalize().to_string())),
        Some(e) => {
            problems.add(field, "error.finance.fx_mismatch", yuan(e));
            None
        }
        None => {
            problems.add(field, "error.finance.foreign_amount", &line.foreign_amount);
            None
        }
    }
}

/// A checked voucher.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub date: String,
    pub period: String,
    pub word: String,
    pub memo: String,
    pub lines: Vec<Line>,
}

fn amount(problems: &mut Problems, field: &str, text: &str) -> i64 {
    if text.trim().is_empty() {
        return 0;
    }
    match Money::parse(text, Currency::CNY) {
        Ok(m) => m.minor(),
        Err(mut e) => {
            e.field = field.to_string();
            problems.0.push(e);
            0
        }
    }
}

/// The largest amount of one line: a thousand billion yuan, far beyond any real voucher and far
/// from where sums of lines could overflow.
pub const MAX_LINE: i64 = 100_000_000_000_000;

/// A voucher a step of the month's end posted on its own (the transfer of unpaid VAT, the
/// accrual of surtaxes): its id, number and amount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedVoucher {
    pub entry_id: i64,
    pub number: String,
    pub amount: i64,
}

/// An amount of `currency` as the API sends it and messages quote it: `1234.50`, `-8.00`,
/// yen `100000`; CNY as [`yuan`] writes it.
pub fn decimal_text(amount: i64, currency: Currency) -> String {
    Money::from_minor(amount, currency).to_decimal().to_string()
}

/// Formats fen as the API's decimal string ("1234.50").
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", fen.unsigned_abs() / 100, fen.unsigned_abs() % 100)
}

impl LineForm {
    /// A row of the form left empty (no account, no amount): skipped, not refused.
    pub fn is_blank(&self) -> bool {
        self.account.trim().is_empty() && self.debit.trim().is_empty() && self.credit.trim().is_empty()
    }

    /// The row of a form that enters `line`, a line the ledger built (booking a statement
    /// line, paying taxes), for a draft its maker may not post; a foreign amount with it.
    pub fn of(line: &Line) -> LineForm {
        let side = |fen: i64| if fen != 0 { yuan(fen) } else { String::new() };
        let (currency, foreign_amount, rate) = match &line.foreign {
            Some((code, amount, rate)) => {
                let unit = Currency::from_code(code).unwrap_or(Currency::CNY);
                (code.clone(), decimal_text(*amount, unit), rate.clone())
            }
            None => Default::default(),
        };
        LineForm {
            account: line.account.clone(),
            debit: side(line.debit),
            credit: side(line.credit),
            memo: line.memo.clone(),
            currency,
            foreign_amount,
            rate,
            ..Default::default()
        }
    }
}

impl EntryForm {
    /// For each line of the checked entry, the row of the form it came from: [`validate`]
    /// skips blank rows, so a refusal of the entry's third line may belong to the form's fifth.
    pub fn rows(&self) -> Vec<usize> {
        self.lines.iter().enumerate().filter(|(_, l)| !l.is_blank()).map(|(i, _)| i).collect()
    }
}

/// Checks a voucher: a real date, a known word, at least two lines, each with one side, and
/// debits equal to credits (the difference is named when they are not). Negative amounts are
/// refused here: only reversals (红字) carry them, and those are built by the ledger itself.
pub fn validate(form: &EntryForm) -> DomainResult<Entry> {
    let mut problems = Problems::default();
    let date = form.date.trim().to_string();
    problems.check(kernel::dates::parse("date", &date));
    if !WORDS.contains(&form.word.as_str()) {
        problems.add("word", "error.finance.word", &form.word);
    }
    if form.memo.chars().count() > 200 {
        problems.add("memo", "error.too_long", "200");
    }
    let mut lines = Vec::new();
    for (i, line) in form.lines.iter().enumerate() {
        if line.is_blank() {
            continue;
        }
        let field = format!("lines[{i}]");
        let debit = amount(&mut problems, &field, &line.debit);
        let credit = amount(&mut problems, &field, &line.credit);
        if line.account.trim().is_empty() {
            problems.add(&field, "error.finance.account_required", "");
        }
        if debit > MAX_LINE || credit > MAX_LINE {
            problems.add(&field, "error.amount.too_large", "");
        } else if debit < 0 || credit < 0 {
            problems.add(&field, "error.finance.negative", "");
        } else if (debit == 0) == (credit == 0) {
            problems.add(&field, "error.finance.one_side", "");
        }
        if line.cost_center.trim().chars().count() > 50 || line.project.trim().chars().count() > 50 {
            problems.add(&field, "error.too_long", "50");
        } else if line.memo.chars().count() > 200 {
            problems.add(&field, "error.too_long", "200");
        }
        let foreign = foreign(&mut problems, &field, line, debit + credit);
        lines.push(Line {
            account: line.account.trim().to_string(),
            debit,
            credit,
            cost_center: line.cost_center.trim().to_string(),
            project: line.project.trim().to_string(),
            memo: line.memo.trim().to_string(),
            foreign,
            party: None,
        });
    }
    if lines.len() < 2 {
        problems.add("lines", "error.finance.two_lines", "");
    }
    let debits: i64 = lines.iter().map(|l| l.debit).sum();
    let credits: i64 = lines.iter().map(|l| l.credit).sum();
    if debits != credits {
        problems.add(
            "lines",
            "error.finance.unbalanced",
            format!("{} / {} (Δ {})", yuan(debits), yuan(credits), yuan(debits - credits)),
        );
    }
    problems.finish()?;
    Ok(Entry { period: period_of(&date), date, word: form.word.clone(), memo: form.memo.trim().to_string(), lines })
}

/// A line of a statement: its label, and either account codes with signs or the lines it sums.
#[derive(Debug, Clone)]
pub struct StatementLine {
    pub key: &'static str,
    pub label_zh: &'static str,
    pub label_en: &'static str,
    /// (first-level code, +1 or -1): debit-minus-credit of the account times the sign.
    pub accounts: &'static [(&'static str, i64)],
    /// Keys of lines whose values this line adds (a subtotal), with signs.
    pub sums: &'static [(&'static str, i64)],
    pub total: bool,
}

pub(crate) const fn acc(
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    accounts: &'static [(&'static str, i64)],
) -> StatementLine {
    StatementLine { key, label_zh: zh, label_en: en, accounts, sums: &[], total: false }
}

pub(crate) const fn sum(
    key: &'static str,
    zh: &'static str,
    en: &'static str,
    sums: &'static [(&'static str, i64)],
) -> StatementLine {
    StatementLine { key, label_zh: zh, label_en: en, accounts: &[], sums, total: true }
}

/// 资产负债表. Asset lines are debit balances; liability and equity lines credit balances
/// (sign −1 on debit-minus-credit). Before the year-end close the income and expense
/// accounts are part of retained earnings, so 未分配利润 includes them and the statement
/// balances in every period.
pub const BALANCE_SHEET: &[StatementLine] = &[
    acc("cash", "货币资金", "Cash and cash equivalents", &[("1001", 1), ("1002", 1), ("1012", 1)]),
    acc("trading_assets", "交易性金融资产", "Trading financial assets", &[("1101", 1)]),
    acc("notes_receivable", "应收票据", "Notes receivable", &[("1121", 1)]),
    // Receivable, payable and advance accounts by the side each party's balance falls on
    // (statements.md): a customer's credit balance is an advance received, not less receivable.
    acc("receivables", "应收账款", "Accounts receivable", &[("1122+", 1), ("2203+", 1), ("1231", 1)]),
    acc("prepayments", "预付款项", "Prepayments", &[("1123+", 1), ("2202+", 1)]),
    acc("other_receivables", "其他应收款", "Other receivables", &[("1221", 1), ("1131", 1), ("1132", 1)]),
    acc(
        "inventories",
        "存货",
        "Inventories",
        &[
            ("1401", 1),
            ("1402", 1),
            ("1403", 1),
            ("1404", 1),
            ("1405", 1),
            ("1406", 1),
            ("1408", 1),
            ("1411", 1),
            ("5001", 1),
            ("5101", 1),
            ("5201", 1),
            ("1471", 1),
        ],
    ),
    acc("other_current_assets", "其他流动资产", "Other current assets", &[("1901", 1), ("2221V", 1)]),
    sum(
        "current_assets",
        "流动资产合计",
        "Total current assets",
        &[
            ("cash", 1),
            ("trading_assets", 1),
            ("notes_receivable", 1),
            ("receivables", 1),
            ("prepayments", 1),
            ("other_receivables", 1),
            ("inventories", 1),
            ("other_current_assets", 1),
        ],
    ),
    acc("lt_investments", "长期股权投资", "Long-term equity investments", &[("1511", 1)]),
    acc("fixed_assets", "固定资产", "Fixed assets", &[("1601", 1), ("1602", 1), ("1603", 1), ("1606", 1)]),
    acc("construction", "在建工程", "Construction in progress", &[("1604", 1)]),
    acc("intangibles", "无形资产", "Intangible assets", &[("1701", 1), ("1702", 1)]),
    acc("development", "开发支出", "Development expenditure", &[("5301", 1)]),
    acc("lt_prepaid", "长期待摊费用", "Long-term prepaid expenses", &[("1801", 1)]),
    acc("deferred_tax_assets", "递延所得税资产", "Deferred tax assets", &[("1811", 1)]),
    sum(
        "non_current_assets",
        "非流动资产合计",
        "Total non-current assets",
        &[
            ("lt_investments", 1),
            ("fixed_assets", 1),
            ("construction", 1),
            ("intangibles", 1),
            ("development", 1),
            ("lt_prepaid", 1),
            ("deferred_tax_assets", 1),
        ],
    ),
    sum("total_assets", "资产总计", "Total assets", &[("current_assets", 1), ("non_current_assets", 1)]),
    acc("short_loans", "短期借款", "Short-term borrowings", &[("2001", -1)]),
    acc("notes_payable", "应付票据", "Notes payable", &[("2201", -1)]),
    acc("payables", "应付账款", "Accounts payable", &[("2202-", -1), ("1123-", -1)]),
    acc("advances", "预收款项", "Advances from customers", &[("2203-", -1), ("1122-", -1)]),
    acc("payroll", "应付职工薪酬", "Employee benefits payable", &[("2211", -1)]),
    acc("taxes", "应交税费", "Taxes payable", &[("2221", -1), ("2221V", 1)]),
    acc("other_payables", "其他应付款", "Other payables", &[("2241", -1), ("2231", -1), ("2232", -1)]),
    sum(
        "current_liabilities",
        "流动负债合计",
        "Total current liabilities",
        &[
            ("short_loans", 1),
            ("notes_payable", 1),
            ("payables", 1),
            ("advances", 1),
            ("payroll", 1),
            ("taxes", 1),
            ("other_payables", 1),
        ],
    ),
    acc("lt_loans", "长期借款", "Long-term borrowings", &[("2501", -1)]),
    acc("lt_payables", "长期应付款", "Long-term payables", &[("2701", -1)]),
    acc("provisions", "预计负债", "Provisions", &[("2801", -1)]),
    acc("deferred_tax_liabilities", "递延所得税负债", "Deferred tax liabilities", &[("2901", -1)]),
    sum(
        "non_current_liabilities",
        "非流动负债合计",
        "Total non-current liabilities",
        &[("lt_loans", 1), ("lt_payables", 1), ("provisions", 1), ("deferred_tax_liabilities", 1)],
    ),
    sum(
        "total_liabilities",
        "负债合计",
        "Total liabilities",
        &[("current_liabilities", 1), ("non_current_liabilities", 1)],
    ),
    acc("paid_in_capital", "实收资本（或股本）", "Paid-in capital", &[("4001", -1)]),
    acc("capital_reserve", "资本公积", "Capital reserve", &[("4002", -1)]),
    acc("surplus_reserve", "盈余公积", "Surplus reserve", &[("4101", -1)]),
    acc(
        "retained_earnings",
        "未分配利润",
        "Retained earnings",
        &[
            ("4103", -1),
            ("4104", -1),
            ("6001", -1),
            ("6051", -1),
            ("6101", -1),
            ("6111", -1),
            ("6301", -1),
            ("6401", -1),
            ("6402", -1),
            ("6403", -1),
            ("6601", -1),
            ("6602", -1),
            ("6603", -1),
            ("6701", -1),
            ("6711", -1),
            ("6801", -1),
            ("6901", -1),
        ],
    ),
    sum(
        "total_equity",
        "所有者权益合计",
        "Total owners' equity",
        &[("paid_in_capital", 1), ("capital_reserve", 1), ("surplus_reserve", 1), ("retained_earnings", 1)],
    ),
    sum(
        "total_liabilities_and_equity",
        "负债和所有者权益总计",
        "Total liabilities and owners' equity",
        &[("total_liabilities", 1), ("total_equity", 1)],
    ),
];

/// 利润表, from movements in the period. Revenue lines are credit movements (sign −1 on
/// debit-minus-credit); cost and expense lines debit movements.
pub const INCOME_STATEMENT: &[StatementLine] = &[
    acc("revenue", "一、营业收入", "Operating revenue", &[("6001", -1), ("6051", -1)]),
    acc("cost_of_sales", "减：营业成本", "Less: cost of sales", &[("6401", 1), ("6402", 1)]),
    acc("taxes_surcharges", "税金及附加", "Taxes and surcharges", &[("6403", 1)]),
    acc("selling", "销售费用", "Selling expenses", &[("6601", 1)]),
    acc("administrative", "管理费用", "Administrative expenses", &[("6602", 1)]),
    acc("research", "研发费用", "Research and development expenses", &[("6602R", 1)]),
    acc("financial", "财务费用", "Financial expenses", &[("6603", 1)]),
    acc("investment_income", "加：投资收益", "Add: investment income", &[("6111", -1)]),
    acc("fair_value", "公允价值变动收益", "Gains from fair-value changes", &[("6101", -1)]),
    acc("impairment", "资产减值损失", "Asset impairment losses", &[("6701", 1)]),
    sum(
        "operating_profit",
        "二、营业利润",
        "Operating profit",
        &[
            ("revenue", 1),
            ("cost_of_sales", -1),
            ("taxes_surcharges", -1),
            ("selling", -1),
            ("administrative", -1),
            ("research", -1),
            ("financial", -1),
            ("investment_income", 1),
            ("fair_value", 1),
            ("impairment", -1),
        ],
    ),
    acc("non_operating_income", "加：营业外收入", "Add: non-operating income", &[("6301", -1)]),
    acc("non_operating_expense", "减：营业外支出", "Less: non-operating expenses", &[("6711", 1)]),
    sum(
        "profit_before_tax",
        "三、利润总额",
        "Profit before tax",
        &[("operating_profit", 1), ("non_operating_income", 1), ("non_operating_expense", -1)],
    ),
    acc("income_tax", "减：所得税费用", "Less: income tax expense", &[("6801", 1)]),
    sum("net_profit", "四、净利润", "Net profit", &[("profit_before_tax", 1), ("income_tax", -1)]),
];

/// What marks the debit balances of an account's parties in a balance-sheet key (`1122+`: the
/// customers who owe) …
pub const DEBIT_SIDE: &str = "+";
/// … and their credit balances (`1122-`: customers owed money back, as a negative amount).
pub const CREDIT_SIDE: &str = "-";

/// The account and side of a balance-sheet key that splits an account by its parties'
/// balances (`2203+` → ("2203", true)); none for a plain account code.
pub fn split_key(key: &str) -> Option<(&str, bool)> {
    if let Some(code) = key.strip_suffix(DEBIT_SIDE) {
        Some((code, true))
    } else {
        key.strip_suffix(CREDIT_SIDE).map(|code| (code, false))
    }
}

/// What marks the research sub-accounts of 管理费用 in an income-statement key (`6602R`).
pub const RESEARCH_SUFFIX: &str = "R";

/// What marks, in a balance-sheet key (`2221V`), the debit balances of the VAT columns of
/// 应交税费 (应交增值税 and 未交增值税: input VAT carried forward, tax paid ahead), which CAS
/// shows under 其他流动资产 rather than as less tax payable (财会〔2016〕22号).
pub const VAT_DEBIT_SUFFIX: &str = "V";

/// The first-level account a statement key reads: the key itself, or the account a side
/// (`1122+`), its research sub-accounts (`6602R`) or its VAT debit balances (`2221V`) are
/// part of.
pub fn key_account(key: &str) -> &str {
    match split_key(key) {
        Some((code, _)) => code,
        None => key.strip_suffix(RESEARCH_SUFFIX).or_else(|| key.strip_suffix(VAT_DEBIT_SUFFIX)).unwrap_or(key),
    }
}

/// The key an account's movement counts under on the income statement: its first-level code,
/// except the research sub-accounts of 管理费用 (a sub-account of 6602 whose name has 研发 in
/// it), which CAS shows on a line of their own, 研发费用, under the key `6602R`.
pub fn income_statement_key(code: &str, name_zh: &str) -> String {
    let first_level: String = code.chars().take(4).collect();
    if first_level == "6602" && code.len() > 4 && name_zh.contains("研发") {
        format!("6602{RESEARCH_SUFFIX}")
    } else {
        first_level
    }
}

/// Computes a statement from debit-minus-credit per first-level account code.
pub fn compute(lines: &[StatementLine], net_by_code: &BTreeMap<String, i64>) -> Vec<(&'static str, i64)> {
    let mut values: Vec<(&'static str, i64)> = Vec::with_capacity(lines.len());
    for line in lines {
        let value = if line.total {
            line.sums
                .iter()
                .map(|(key, sign)| values.iter().find(|(k, _)| k == key).map(|(_, v)| v * sign).unwrap_or(0))
                .sum()
        } else {
            line.accounts.iter().map(|(code, sign)| net_by_code.get(*code).copied().unwrap_or(0) * sign).sum()
        };
        values.push((line.key, value));
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(account: &str, debit: &str, credit: &str) -> LineForm {
        LineForm { account: account.into(), debit: debit.into(), credit: credit.into(), ..Default::default() }
    }

    #[test]
    fn an_unbalanced_voucher_is_refused_with_the_difference() {
        let form = EntryForm {
            date: "2026-03-05".into(),
            word: "记".into(),
            memo: "收到投资款".into(),
            lines: vec![line("1002", "500000.00", ""), line("4001", "", "499999.50")],
        };
        let Err(kernel::DomainError::Invalid(errors)) = validate(&form) else { panic!("refused") };
        assert_eq!(errors[0].key, "error.finance.unbalanced");
        assert!(errors[0].detail.contains("Δ 0.50"), "{}", errors[0].detail);
    }

    #[test]
    fn a_dollar_line_must_match_its_rate_to_the_fen() {
        let mut usd = line("1002", "7123.40", "");
        usd.currency = "usd".into();
        usd.foreign_amount = "1000.00".into();
        usd.rate = "7.1234".into();
        let form = EntryForm {
            date: "2026-03-05".into(),
            word: "收".into(),
            memo: String::new(),
            lines: vec![usd.clone(), line("1122", "", "7123.40")],
        };
        let entry = validate(&form).unwrap();
        assert_eq!(entry.lines[0].foreign, Some(("USD".into(), 100_000, "7.1234".into())));
        usd.debit = "7123.00".into();
        let form = EntryForm { lines: vec![usd, line("1122", "", "7123.00")], ..form };
        let Err(kernel::DomainError::Invalid(errors)) = validate(&form) else { panic!("refused") };
        assert_eq!((errors[0].key, errors[0].detail.as_str()), ("error.finance.fx_mismatch", "7123.40"));
    }

    #[test]
    fn each_line_has_exactly_one_side() {
        let form = EntryForm {
            date: "2026-03-05".into(),
            word: "转".into(),
            memo: String::new(),
            lines: vec![line("1002", "1", "1"), line("4001", "", "")],
        };
        let Err(kernel::DomainError::Invalid(errors)) = validate(&form) else { panic!("refused") };
        assert!(errors.iter().all(|e| e.key == "error.finance.one_side"));
    }

    #[test]
    fn periods_and_amounts_read_as_written() {
        assert_eq!(parse_period("p", "2026-13").unwrap_err().key, "error.finance.period");
        assert_eq!(yuan(-5), "-0.05");
    }

    #[test]
    fn a_foreign_amount_is_rounded_to_the_fen_once() {
        // ¥1,000 (Japanese yen have no minor unit) at 0.0483 is 48.30 yuan, not 48.00 from
        // rounding to whole yen first.
        let yen = Money::from_minor(1_000, Currency::from_code("JPY").unwrap());
        assert_eq!(in_cny(yen, "0.0483".parse().unwrap()), Some(4_830));
        let dollars = Money::from_minor(100_000, Currency::from_code("USD").unwrap());
        assert_eq!(in_cny(dollars, "7.12345".parse().unwrap()), Some(712_345));
        assert_eq!(
            in_cny(Money::from_minor(-1_005, Currency::from_code("USD").unwrap()), "0.5".parse().unwrap()),
            Some(-503)
        );
    }
}
