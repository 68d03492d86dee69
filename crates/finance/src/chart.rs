//! Chart templates and the accounts other modules post to by role.
//!
//! A company's books are set up from one of three templates: the CAS chart (企业会计准则),
//! the chart for small enterprises (小企业会计准则), or a short generic English chart. The
//! template is kept in `fin_books` and decides three things: the accounts installed, the
//! code behind each [`Role`] (what an invoice, a receipt, a stock move or a payroll posts to),
//! and the lines of the balance sheet and income statement. Modules never write an account
//! code of their own: they ask for a role, so the same sales order posts to 6001 主营业务收入
//! under CAS, 5001 under the small-enterprise chart and 4000 Sales revenue under the
//! English one.

use crate::domain::{acc, sum, StatementLine};
use db::Result;
use kernel::DomainError;
use sqlx::Row;

/// The chart a company's books were set up from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// 企业会计准则: the CAS first-level accounts with the VAT sub-accounts.
    Cas,
    /// 小企业会计准则 (2013): its own codes for equity (3xxx), cost (4xxx) and profit and loss
    /// (5xxx), and its own statement formats (会小企01表, 会小企02表).
    SmallEnterprise,
    /// A short generic chart with English-style numbering, for foreign-owned companies that
    /// report to a parent abroad; statements in a plain IFRS-like layout.
    GenericEnglish,
}

pub const TEMPLATES: [Template; 3] = [Template::Cas, Template::SmallEnterprise, Template::GenericEnglish];

/// What an account is for, independent of its code in a given chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Cash,
    Bank,
    OtherMonetaryFunds,
    Receivable,
    SupplierAdvance,
    GoodsInTransit,
    Inventory,
    PendingDisposal,
    Payable,
    CustomerAdvance,
    WagesPayable,
    OtherPayables,
    InputVat,
    OutputVat,
    /// 转出未交增值税: debited by the month-end transfer of unpaid VAT.
    VatTransferredOut,
    /// 进项税额转出: input VAT taken back (goods lost, bought for tax-exempt or staff use),
    /// which adds to the month's tax.
    InputVatReversed,
    /// 减免税款: VAT the law lets the company take off the month's tax (the tax-control
    /// equipment and its service fee, 增值税税控系统专用设备和技术维护费用抵减): a debit
    /// that lowers the month's tax.
    VatReduction,
    /// 销项税额抵减: output VAT taken off under the difference method (差额征税: a travel
    /// agency's payments to the hotels and carriers it resells): a debit that lowers the
    /// month's tax.
    OutputVatDeduction,
    /// 未交增值税: the VAT to pay, after the month-end transfer.
    UnpaidVat,
    /// 简易计税: the VAT on sales taxed under the simplified method (5 %, 3 %, 1 %), credited
    /// when they are invoiced and paid as it is, never set against input VAT (财会〔2016〕22号).
    SimplifiedVat,
    IncomeTaxWithheld,
    /// 应交城市维护建设税, 应交教育费附加, 应交地方教育附加: the surtaxes on the VAT a month
    /// owes, accrued at month end and paid with it.
    UrbanConstructionTax,
    EducationSurcharge,
    LocalEducationSurcharge,
    PaidInCapital,
    CurrentYearProfit,
    RetainedEarnings,
    ProductionCost,
    Revenue,
    CostOfSales,
    SellingExpense,
    AdministrativeExpense,
    FinancialExpense,
    /// 税金及附加: the expense the surtaxes are accrued to.
    TaxesAndSurcharges,
    /// 营业外收入: where a small-scale taxpayer's VAT goes when a month of small sales is
    /// exempted from it (小企业会计准则 names this account; under CAS it is the account the
    /// chart has for such income).
    NonOperatingIncome,
}

impl Role {
    /// Every role: the accounts other modules post to by role, which the chart must keep.
    pub const ALL: [Role; 35] = [
        Role::Cash,
        Role::Bank,
        Role::OtherMonetaryFunds,
        Role::Receivable,
        Role::SupplierAdvance,
        Role::GoodsInTransit,
        Role::Inventory,
        Role::PendingDisposal,
        Role::Payable,
        Role::CustomerAdvance,
        Role::WagesPayable,
        Role::OtherPayables,
        Role::InputVat,
        Role::OutputVat,
        Role::VatTransferredOut,
        Role::InputVatReversed,
        Role::VatReduction,
        Role::OutputVatDeduction,
        Role::UnpaidVat,
        Role::SimplifiedVat,
        Role::IncomeTaxWithheld,
        Role::UrbanConstructionTax,
        Role::EducationSurcharge,
        Role::LocalEducationSurcharge,
        Role::PaidInCapital,
        Role::CurrentYearProfit,
        Role::RetainedEarnings,
        Role::ProductionCost,
        Role::Revenue,
        Role::CostOfSales,
        Role::SellingExpense,
        Role::AdministrativeExpense,
        Role::FinancialExpense,
        Role::TaxesAndSurcharges,
        Role::NonOperatingIncome,
    ];
}

impl Template {
    /// The key stored in `fin_books.template` and sent by forms and the API.
    pub fn key(self) -> &'static str {
        match self {
            Template::Cas => "cas",
            Template::SmallEnterprise => "small_enterprise",
            Template::GenericEnglish => "generic_en",
        }
    }

    pub fn parse(key: &str) -> Option<Template> {
        TEMPLATES.into_iter().find(|t| t.key() == key)
    }

    /// The template a form or request names; none named is CAS.
    pub fn chosen(key: Option<&str>) -> std::result::Result<Template, DomainError> {
        match key.map(str::trim).filter(|k| !k.is_empty()) {
            None => Ok(Template::Cas),
            Some(key) => {
                Template::parse(key).ok_or_else(|| DomainError::invalid("template", "error.finance.template", key))
            }
        }
    }

    /// The account code this chart uses for `role`.
    pub fn code(self, role: Role) -> &'static str {
        use Role::*;
        let (cas, small, english) = match role {
            Cash => ("1001", "1001", "1000"),
            Bank => ("1002", "1002", "1010"),
            OtherMonetaryFunds => ("1012", "1012", "1020"),
            Receivable => ("1122", "1122", "1100"),
            SupplierAdvance => ("1123", "1123", "1150"),
            GoodsInTransit => ("1402", "1402", "1210"),
            Inventory => ("1405", "1405", "1200"),
            PendingDisposal => ("1901", "1901", "1900"),
            Payable => ("2202", "2202", "2100"),
            CustomerAdvance => ("2203", "2203", "2150"),
            WagesPayable => ("2211", "2211", "2200"),
            OtherPayables => ("2241", "2241", "2400"),
            InputVat => ("22210101", "22210101", "230001"),
            OutputVat => ("22210102", "22210102", "230002"),
            VatTransferredOut => ("22210104", "22210104", "230005"),
            InputVatReversed => ("22210105", "22210105", "230009"),
            VatReduction => ("22210106", "22210106", "230020"),
            OutputVatDeduction => ("22210107", "22210107", "230021"),
            UnpaidVat => ("222102", "222102", "230003"),
            SimplifiedVat => ("222107", "222107", "230010"),
            IncomeTaxWithheld => ("222103", "222103", "230004"),
            UrbanConstructionTax => ("222104", "222104", "230006"),
            EducationSurcharge => ("222105", "222105", "230007"),
            LocalEducationSurcharge => ("222106", "222106", "230008"),
            PaidInCapital => ("4001", "3001", "3000"),
            CurrentYearProfit => ("4103", "3103", "3200"),
            RetainedEarnings => ("4104", "3104", "3100"),
            ProductionCost => ("5001", "4001", "5100"),
            Revenue => ("6001", "5001", "4000"),
            CostOfSales => ("6401", "5401", "5000"),
            SellingExpense => ("6601", "5601", "6000"),
            AdministrativeExpense => ("6602", "5602", "6100"),
            FinancialExpense => ("6603", "5603", "6200"),
            TaxesAndSurcharges => ("6403", "5403", "6300"),
            NonOperatingIncome => ("6301", "5301", "4900"),
        };
        match self {
            Template::Cas => cas,
            Template::SmallEnterprise => small,
            Template::GenericEnglish => english,
        }
    }

    /// The accounts (codes and their sub-accounts) that together hold the month's VAT until it
    /// is transferred as unpaid: 应交增值税 and all its columns under both Chinese standards;
    /// input, output and transferred-out VAT on the generic chart, which has no such parent.
    pub fn vat_accounts(self) -> &'static [&'static str] {
        match self {
            Template::Cas | Template::SmallEnterprise => &["222101"],
            Template::GenericEnglish => &["230001", "230002", "230005", "230009", "230020", "230021"],
        }
    }

    /// Whether `code` is a cash or bank account (or one of their sub-accounts): what a
    /// receipt, a payment or a bank statement may use.
    /// 固定资产清理, which the sale of a used fixed asset is credited to: 1606 in the CAS and
    /// small-enterprise charts; the short English chart has no such account.
    pub fn fixed_asset_disposal(self) -> Option<&'static str> {
        match self {
            Template::Cas | Template::SmallEnterprise => Some("1606"),
            Template::GenericEnglish => None,
        }
    }

    pub fn is_cash_or_bank(self, code: &str) -> bool {
        [Role::Cash, Role::Bank, Role::OtherMonetaryFunds].iter().any(|r| code.starts_with(self.code(*r)))
    }

    /// The cash or bank account a form names in `bank_account`: the chart's bank when left
    /// empty, refused beside the field when it is no cash or bank account.
    pub fn bank_account(self, typed: &str, problems: &mut kernel::error::Problems) -> String {
        let bank = match typed.trim() {
            "" => self.code(Role::Bank).to_string(),
            chosen => chosen.to_string(),
        };
        if !self.is_cash_or_bank(&bank) {
            problems.add("bank_account", "error.finance.bank_account", &bank);
        }
        bank
    }

    /// Whether `code` is an account some module posts to (receivables, VAT, revenue, …) or one
    /// of their parents: such an account can be archived but never deleted. `simplified` is the
    /// books' account of the simplified method's VAT ([`simplified_vat_code`]), which may not
    /// be the template's.
    pub fn is_used_by_modules(self, code: &str, simplified: &str) -> bool {
        simplified.starts_with(code)
            || Role::ALL.iter().filter(|r| **r != Role::SimplifiedVat).any(|r| self.code(*r).starts_with(code))
    }

    /// The accounts the template installs, parents before their sub-accounts.
    pub fn accounts(self) -> Vec<TemplateAccount> {
        match self {
            Template::Cas => with_vat_sub_accounts(read_csv(include_str!("../data/cas-chart-of-accounts.csv"))),
            Template::SmallEnterprise => {
                with_vat_sub_accounts(read_csv(include_str!("../data/small-enterprise-chart-of-accounts.csv")))
            }
            Template::GenericEnglish => read_csv(include_str!("../data/generic-english-chart-of-accounts.csv")),
        }
    }

    /// 资产负债表 lines of this chart.
    pub fn balance_sheet(self) -> &'static [StatementLine] {
        match self {
            Template::Cas => crate::domain::BALANCE_SHEET,
            Template::SmallEnterprise => SMALL_ENTERPRISE_BALANCE_SHEET,
            Template::GenericEnglish => ENGLISH_BALANCE_SHEET,
        }
    }

    /// 利润表 lines of this chart.
    pub fn income_statement(self) -> &'static [StatementLine] {
        match self {
            Template::Cas => crate::domain::INCOME_STATEMENT,
            Template::SmallEnterprise => SMALL_ENTERPRISE_INCOME_STATEMENT,
            Template::GenericEnglish => ENGLISH_INCOME_STATEMENT,
        }
    }

    /// The form number printed on the statements (会企01表 under CAS, 会小企01表 for small
    /// enterprises); none for the English chart.
    pub fn form_numbers(self) -> (&'static str, &'static str) {
        match self {
            Template::Cas => ("会企01表", "会企02表"),
            Template::SmallEnterprise => ("会小企01表", "会小企02表"),
            Template::GenericEnglish => ("", ""),
        }
    }
}

/// The cash and cash-equivalent accounts (库存现金, 银行存款, 其他货币资金) of every chart: 1001,
/// 1002 and 1012 under both Chinese standards, 1000, 1010 and 1020 on the generic chart.
pub const CASH_PREFIXES: [&str; 6] = ["1001", "1002", "1012", "1000", "1010", "1020"];

/// Whether `code` is a cash account, whichever chart it belongs to. First-level accounts come
/// only from the templates and a sub-account's code starts with its parent's, and no chart has
/// an account under another chart's cash codes (a test checks it), so the codes alone tell,
/// without reading the company's template: what posting needs, at no cost of a query.
pub fn is_cash_account(code: &str) -> bool {
    CASH_PREFIXES.iter().any(|p| code.starts_with(p))
}

/// The SQL condition that `column` (an account's code) is a cash account, as
/// [`is_cash_account`] tells it.
pub fn cash_condition(column: &str) -> String {
    let any: Vec<String> = CASH_PREFIXES.iter().map(|p| format!("{column} LIKE '{p}%'")).collect();
    format!("({})", any.join(" OR "))
}

/// The template of a company's books. A company whose books are not set up yet reads as CAS:
/// anything it tries to post then fails on the missing account, as before set-up.
pub async fn template(conn: &mut db::Conn, company: i64) -> Result<Template> {
    let row =
        sqlx::query("SELECT template FROM fin_books WHERE company_id = $1").bind(company).fetch_optional(conn).await?;
    stored_template(row.map(|r| r.try_get("template")).transpose()?)
}

/// The template as stored in a company's books; books set up before templates were stored
/// (no row) are CAS.
pub fn stored_template(key: Option<String>) -> Result<Template> {
    match key {
        None => Ok(Template::Cas),
        Some(key) => {
            Template::parse(&key).ok_or_else(|| DomainError::Conflict(format!("unknown chart template {key}")).into())
        }
    }
}

/// The account of the simplified method's VAT (简易计税) in a company's books: the template's
/// ([`Role::SimplifiedVat`]: 222107, 230010), or the code migration 0037 gave it (`stored`)
/// where the books had made an account of their own under that code before.
pub fn simplified_vat_code(template: Template, stored: &str) -> String {
    match stored.trim() {
        "" => template.code(Role::SimplifiedVat).to_string(),
        code => code.to_string(),
    }
}

/// [`simplified_vat_code`] of a company, read from its books.
pub async fn simplified_vat_account(conn: &mut db::Conn, company: i64) -> Result<String> {
    let row = sqlx::query("SELECT template, simplified_vat_code FROM fin_books WHERE company_id = $1")
        .bind(company)
        .fetch_optional(conn)
        .await?;
    Ok(match row {
        Some(r) => simplified_vat_code(
            stored_template(r.try_get("template")?)?,
            &r.try_get::<String, _>("simplified_vat_code")?,
        ),
        None => Template::Cas.code(Role::SimplifiedVat).to_string(),
    })
}

/// Changes settings kept in the company's books row: `set` names the columns as
/// `column = $1, …` over `values` (the company is bound after them), and `changes` is what the
/// audit log keeps. Refused beside `field` when the books are not set up.
pub async fn update_books(
    tx: &mut db::Tx,
    company: i64,
    set: &str,
    mut values: Vec<db::query::Value>,
    field: &str,
    changes: serde_json::Value,
) -> Result<()> {
    let sql = format!("UPDATE fin_books SET {set} WHERE company_id = ${}", values.len() + 1);
    values.push(company.into());
    if tx.execute(db::SqlBuilder::with_values(sql, values).build()).await? == 0 {
        return Err(DomainError::invalid(field, "error.finance.no_books", "").into());
    }
    tx.audit("update", "finance.books", Some(&company.to_string()), &changes).await?;
    Ok(())
}

/// The code of `role` in the company's chart.
pub async fn code(conn: &mut db::Conn, company: i64, role: Role) -> Result<&'static str> {
    Ok(template(conn, company).await?.code(role))
}

/// An account of a chart template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateAccount {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub class: String,
    pub normal_side: String,
    pub parent: Option<String>,
}

/// Reads `code,name_zh,name_en,class,normal_side[,parent]` lines after the header.
fn read_csv(text: &str) -> Vec<TemplateAccount> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let parts: Vec<&str> = line.split(',').collect();
            (parts.len() >= 5).then(|| TemplateAccount {
                code: parts[0].into(),
                name_zh: parts[1].into(),
                name_en: parts[2].into(),
                class: parts[3].into(),
                normal_side: parts[4].into(),
                parent: parts.get(5).filter(|p| !p.is_empty()).map(|p| p.to_string()),
            })
        })
        .collect()
}

/// The VAT and withholding sub-accounts under 2221 应交税费 that every Chinese company
/// needs, whichever of the two Chinese standards it follows.
fn with_vat_sub_accounts(mut accounts: Vec<TemplateAccount>) -> Vec<TemplateAccount> {
    let statutory = [
        ("222101", "应交增值税", "VAT payable", "2221"),
        ("22210101", "进项税额", "Input VAT", "222101"),
        ("22210102", "销项税额", "Output VAT", "222101"),
        ("22210103", "已交税金", "VAT paid", "222101"),
        ("22210104", "转出未交增值税", "Unpaid VAT transferred out", "222101"),
        ("22210105", "进项税额转出", "Input VAT reversed", "222101"),
        ("22210106", "减免税款", "VAT reduction", "222101"),
        ("22210107", "销项税额抵减", "Output VAT deduction", "222101"),
        ("222102", "未交增值税", "Unpaid VAT", "2221"),
        // Withheld from wages by payroll (hr) and paid over to the tax office.
        ("222103", "应交个人所得税", "Individual income tax payable", "2221"),
        // Accrued on the month's VAT with its transfer (surtaxes) and paid with it.
        ("222104", "应交城市维护建设税", "Urban construction tax payable", "2221"),
        ("222105", "应交教育费附加", "Education surcharge payable", "2221"),
        ("222106", "应交地方教育附加", "Local education surcharge payable", "2221"),
        // Sales taxed under the simplified method, paid with the month's taxes.
        ("222107", "简易计税", "VAT under the simplified method", "2221"),
    ];
    for (code, zh, en, parent) in statutory {
        accounts.push(TemplateAccount {
            code: code.into(),
            name_zh: zh.into(),
            name_en: en.into(),
            class: "liability".into(),
            normal_side: "credit".into(),
            parent: Some(parent.into()),
        });
    }
    accounts
}

/// 资产负债表 (会小企01表). 存货 includes the cost accounts (生产成本, 制造费用, 工程施工,
/// 机械作业) and 研发支出 shows as 开发支出, as the standard's notes on the lines say.
const SMALL_ENTERPRISE_BALANCE_SHEET: &[StatementLine] = &[
    acc("cash", "货币资金", "Cash", &[("1001", 1), ("1002", 1), ("1012", 1)]),
    acc("short_investments", "短期投资", "Short-term investments", &[("1101", 1)]),
    acc("notes_receivable", "应收票据", "Notes receivable", &[("1121", 1)]),
    // Receivable, payable and advance accounts by the side each party's balance falls on, as
    // under CAS (domain::BALANCE_SHEET).
    acc("receivables", "应收账款", "Accounts receivable", &[("1122+", 1), ("2203+", 1)]),
    acc("prepayments", "预付账款", "Prepayments", &[("1123+", 1), ("2202+", 1)]),
    acc("dividends_receivable", "应收股利", "Dividends receivable", &[("1131", 1)]),
    acc("interest_receivable", "应收利息", "Interest receivable", &[("1132", 1)]),
    acc("other_receivables", "其他应收款", "Other receivables", &[("1221", 1)]),
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
            ("1407", 1),
            ("1408", 1),
            ("1411", 1),
            ("1421", 1),
            ("4001", 1),
            ("4101", 1),
            ("4401", 1),
            ("4403", 1),
        ],
    ),
    acc("other_current_assets", "其他流动资产", "Other current assets", &[("1901", 1)]),
    sum(
        "current_assets",
        "流动资产合计",
        "Total current assets",
        &[
            ("cash", 1),
            ("short_investments", 1),
            ("notes_receivable", 1),
            ("receivables", 1),
            ("prepayments", 1),
            ("dividends_receivable", 1),
            ("interest_receivable", 1),
            ("other_receivables", 1),
            ("inventories", 1),
            ("other_current_assets", 1),
        ],
    ),
    acc("lt_bonds", "长期债券投资", "Long-term bond investments", &[("1501", 1)]),
    acc("lt_equity", "长期股权投资", "Long-term equity investments", &[("1511", 1)]),
    acc("fixed_assets_cost", "固定资产原价", "Fixed assets at cost", &[("1601", 1)]),
    acc("depreciation", "减：累计折旧", "Less: accumulated depreciation", &[("1602", -1)]),
    sum(
        "fixed_assets",
        "固定资产账面价值",
        "Fixed assets, carrying amount",
        &[("fixed_assets_cost", 1), ("depreciation", -1)],
    ),
    acc("construction", "在建工程", "Construction in progress", &[("1604", 1)]),
    acc("construction_materials", "工程物资", "Construction materials", &[("1605", 1)]),
    acc("disposal", "固定资产清理", "Fixed assets in disposal", &[("1606", 1)]),
    acc("biological", "生产性生物资产", "Productive biological assets", &[("1621", 1), ("1622", 1)]),
    acc("intangibles", "无形资产", "Intangible assets", &[("1701", 1), ("1702", 1)]),
    acc("development", "开发支出", "Development expenditure", &[("4301", 1)]),
    acc("lt_prepaid", "长期待摊费用", "Long-term prepaid expenses", &[("1801", 1)]),
    sum(
        "non_current_assets",
        "非流动资产合计",
        "Total non-current assets",
        &[
            ("lt_bonds", 1),
            ("lt_equity", 1),
            ("fixed_assets", 1),
            ("construction", 1),
            ("construction_materials", 1),
            ("disposal", 1),
            ("biological", 1),
            ("intangibles", 1),
            ("development", 1),
            ("lt_prepaid", 1),
        ],
    ),
    sum("total_assets", "资产总计", "Total assets", &[("current_assets", 1), ("non_current_assets", 1)]),
    acc("short_loans", "短期借款", "Short-term borrowings", &[("2001", -1)]),
    acc("notes_payable", "应付票据", "Notes payable", &[("2201", -1)]),
    acc("payables", "应付账款", "Accounts payable", &[("2202-", -1), ("1123-", -1)]),
    acc("advances", "预收账款", "Advances from customers", &[("2203-", -1), ("1122-", -1)]),
    acc("payroll", "应付职工薪酬", "Employee benefits payable", &[("2211", -1)]),
    acc("taxes", "应交税费", "Taxes payable", &[("2221", -1)]),
    acc("interest_payable", "应付利息", "Interest payable", &[("2231", -1)]),
    acc("profits_payable", "应付利润", "Profits payable", &[("2232", -1)]),
    acc("other_payables", "其他应付款", "Other payables", &[("2241", -1)]),
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
            ("interest_payable", 1),
            ("profits_payable", 1),
            ("other_payables", 1),
        ],
    ),
    acc("lt_loans", "长期借款", "Long-term borrowings", &[("2501", -1)]),
    acc("lt_payables", "长期应付款", "Long-term payables", &[("2701", -1)]),
    acc("deferred_income", "递延收益", "Deferred income", &[("2401", -1)]),
    sum(
        "non_current_liabilities",
        "非流动负债合计",
        "Total non-current liabilities",
        &[("lt_loans", 1), ("lt_payables", 1), ("deferred_income", 1)],
    ),
    sum(
        "total_liabilities",
        "负债合计",
        "Total liabilities",
        &[("current_liabilities", 1), ("non_current_liabilities", 1)],
    ),
    acc("paid_in_capital", "实收资本（或股本）", "Paid-in capital", &[("3001", -1)]),
    acc("capital_reserve", "资本公积", "Capital reserve", &[("3002", -1)]),
    acc("surplus_reserve", "盈余公积", "Surplus reserve", &[("3101", -1)]),
    acc(
        "retained_earnings",
        "未分配利润",
        "Retained earnings",
        &[
            ("3103", -1),
            ("3104", -1),
            ("5001", -1),
            ("5051", -1),
            ("5111", -1),
            ("5301", -1),
            ("5401", -1),
            ("5402", -1),
            ("5403", -1),
            ("5601", -1),
            ("5602", -1),
            ("5603", -1),
            ("5711", -1),
            ("5801", -1),
        ],
    ),
    sum(
        "total_equity",
        "所有者权益（或股东权益）合计",
        "Total owners' equity",
        &[("paid_in_capital", 1), ("capital_reserve", 1), ("surplus_reserve", 1), ("retained_earnings", 1)],
    ),
    sum(
        "total_liabilities_and_equity",
        "负债和所有者权益（或股东权益）总计",
        "Total liabilities and owners' equity",
        &[("total_liabilities", 1), ("total_equity", 1)],
    ),
];

/// 利润表 (会小企02表).
const SMALL_ENTERPRISE_INCOME_STATEMENT: &[StatementLine] = &[
    acc("revenue", "一、营业收入", "Operating revenue", &[("5001", -1), ("5051", -1)]),
    acc("cost_of_sales", "减：营业成本", "Less: cost of sales", &[("5401", 1), ("5402", 1)]),
    acc("taxes_surcharges", "税金及附加", "Taxes and surcharges", &[("5403", 1)]),
    acc("selling", "销售费用", "Selling expenses", &[("5601", 1)]),
    acc("administrative", "管理费用", "Administrative expenses", &[("5602", 1)]),
    acc("financial", "财务费用", "Financial expenses", &[("5603", 1)]),
    acc("investment_income", "加：投资收益", "Add: investment income", &[("5111", -1)]),
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
            ("financial", -1),
            ("investment_income", 1),
        ],
    ),
    acc("non_operating_income", "加：营业外收入", "Add: non-operating income", &[("5301", -1)]),
    acc("non_operating_expense", "减：营业外支出", "Less: non-operating expenses", &[("5711", 1)]),
    sum(
        "profit_before_tax",
        "三、利润总额",
        "Profit before tax",
        &[("operating_profit", 1), ("non_operating_income", 1), ("non_operating_expense", -1)],
    ),
    acc("income_tax", "减：所得税费用", "Less: income tax expense", &[("5801", 1)]),
    sum("net_profit", "四、净利润", "Net profit", &[("profit_before_tax", 1), ("income_tax", -1)]),
];

/// Balance sheet of the generic English chart: current and non-current assets, liabilities,
/// and equity with the year's result in retained earnings until the year is closed.
const ENGLISH_BALANCE_SHEET: &[StatementLine] = &[
    acc("cash", "货币资金", "Cash and cash equivalents", &[("1000", 1), ("1010", 1), ("1020", 1)]),
    // By the side each party's balance falls on, as under CAS.
    acc("receivables", "应收账款", "Trade receivables", &[("1100+", 1), ("2150+", 1)]),
    acc("prepayments", "预付账款", "Advances to suppliers", &[("1150+", 1), ("2100+", 1)]),
    acc("other_receivables", "其他应收款", "Other receivables", &[("1190", 1)]),
    acc("inventories", "存货", "Inventories", &[("1200", 1), ("1210", 1), ("5100", 1)]),
    acc("other_current_assets", "其他流动资产", "Other current assets", &[("1900", 1), ("2300V", 1)]),
    sum(
        "current_assets",
        "流动资产合计",
        "Total current assets",
        &[
            ("cash", 1),
            ("receivables", 1),
            ("prepayments", 1),
            ("other_receivables", 1),
            ("inventories", 1),
            ("other_current_assets", 1),
        ],
    ),
    acc("fixed_assets", "固定资产", "Property, plant and equipment", &[("1500", 1), ("1510", 1)]),
    acc("intangibles", "无形资产", "Intangible assets", &[("1600", 1)]),
    sum("non_current_assets", "非流动资产合计", "Total non-current assets", &[("fixed_assets", 1), ("intangibles", 1)]),
    sum("total_assets", "资产总计", "Total assets", &[("current_assets", 1), ("non_current_assets", 1)]),
    acc("short_loans", "短期借款", "Short-term loans", &[("2000", -1)]),
    acc("payables", "应付账款", "Trade payables", &[("2100-", -1), ("1150-", -1)]),
    acc("advances", "预收账款", "Advances from customers", &[("2150-", -1), ("1100-", -1)]),
    acc("payroll", "应付职工薪酬", "Wages and benefits payable", &[("2200", -1)]),
    acc("taxes", "应交税费", "Taxes payable", &[("2300", -1), ("2300V", 1)]),
    acc("other_payables", "其他应付款", "Other payables", &[("2400", -1)]),
    sum(
        "current_liabilities",
        "流动负债合计",
        "Total current liabilities",
        &[("short_loans", 1), ("payables", 1), ("advances", 1), ("payroll", 1), ("taxes", 1), ("other_payables", 1)],
    ),
    acc("lt_loans", "长期借款", "Long-term loans", &[("2500", -1)]),
    sum("total_liabilities", "负债合计", "Total liabilities", &[("current_liabilities", 1), ("lt_loans", 1)]),
    acc("share_capital", "实收资本", "Share capital", &[("3000", -1)]),
    acc(
        "retained_earnings",
        "留存收益",
        "Retained earnings",
        &[
            ("3100", -1),
            ("3200", -1),
            ("4000", -1),
            ("4100", -1),
            ("4900", -1),
            ("5000", -1),
            ("6000", -1),
            ("6100", -1),
            ("6200", -1),
            ("6300", -1),
            ("6800", -1),
            ("6900", -1),
        ],
    ),
    sum("total_equity", "所有者权益合计", "Total equity", &[("share_capital", 1), ("retained_earnings", 1)]),
    sum(
        "total_liabilities_and_equity",
        "负债和所有者权益总计",
        "Total liabilities and equity",
        &[("total_liabilities", 1), ("total_equity", 1)],
    ),
];

/// Income statement of the generic English chart, by function of expense.
const ENGLISH_INCOME_STATEMENT: &[StatementLine] = &[
    acc("revenue", "营业收入", "Revenue", &[("4000", -1), ("4100", -1)]),
    acc("cost_of_sales", "减：营业成本", "Cost of sales", &[("5000", 1)]),
    sum("gross_profit", "毛利", "Gross profit", &[("revenue", 1), ("cost_of_sales", -1)]),
    acc("selling", "销售费用", "Selling expenses", &[("6000", 1)]),
    acc("administrative", "管理费用", "Administrative expenses", &[("6100", 1)]),
    acc("taxes_surcharges", "税金及附加", "Taxes and surcharges", &[("6300", 1)]),
    sum(
        "operating_profit",
        "营业利润",
        "Operating profit",
        &[("gross_profit", 1), ("selling", -1), ("administrative", -1), ("taxes_surcharges", -1)],
    ),
    acc("financial", "财务费用", "Finance costs", &[("6200", 1)]),
    acc("non_operating_income", "营业外收入", "Non-operating income", &[("4900", -1)]),
    acc("non_operating_expense", "营业外支出", "Non-operating expenses", &[("6800", 1)]),
    sum(
        "profit_before_tax",
        "利润总额",
        "Profit before tax",
        &[("operating_profit", 1), ("financial", -1), ("non_operating_income", 1), ("non_operating_expense", -1)],
    ),
    acc("income_tax", "所得税费用", "Income tax expense", &[("6900", 1)]),
    sum("net_profit", "净利润", "Net profit", &[("profit_before_tax", 1), ("income_tax", -1)]),
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_cash_codes_of_all_charts_name_only_cash_accounts() {
        for template in super::TEMPLATES {
            for account in template.accounts() {
                assert_eq!(
                    super::is_cash_account(&account.code),
                    template.is_cash_or_bank(&account.code),
                    "{} of {}",
                    account.code,
                    template.key()
                );
            }
        }
    }

    use super::*;

    fn first_level(template: Template) -> Vec<TemplateAccount> {
        template.accounts().into_iter().filter(|a| a.parent.is_none()).collect()
    }

    fn lines_naming(lines: &[StatementLine], code: &str) -> usize {
        lines.iter().filter(|l| l.accounts.iter().any(|(c, _)| *c == code)).count()
    }

    #[test]
    fn every_first_level_account_sits_on_exactly_one_balance_sheet_line_so_the_sheet_balances() {
        for template in TEMPLATES {
            for account in first_level(template) {
                // Whole on one line, or split by its parties' sides, each side on one line.
                let sheet = template.balance_sheet();
                let whole = lines_naming(sheet, &account.code);
                let debit_side = lines_naming(sheet, &format!("{}{}", account.code, crate::domain::DEBIT_SIDE));
                let credit_side = lines_naming(sheet, &format!("{}{}", account.code, crate::domain::CREDIT_SIDE));
                assert!(
                    (whole, debit_side, credit_side) == (1, 0, 0) || (whole, debit_side, credit_side) == (0, 1, 1),
                    "{:?}: {} {} on the balance sheet",
                    template,
                    account.code,
                    account.name_zh
                );
            }
            // Nothing on the sheet names an account the chart does not have.
            for line in template.balance_sheet().iter().chain(template.income_statement()) {
                for (code, _) in line.accounts {
                    // 研发费用 reads research sub-accounts of 6602 under the key `6602R`.
                    let code = crate::domain::key_account(code);
                    assert!(first_level(template).iter().any(|a| a.code == code), "{template:?}: {code}");
                }
            }
        }
    }

    #[test]
    fn every_income_and_expense_account_sits_on_exactly_one_income_statement_line() {
        for template in TEMPLATES {
            // CAS 6901 以前年度损益调整 corrects earlier years: it is carried to 利润分配, not
            // reported in this year's income statement.
            let reported = |a: &&TemplateAccount| (a.class == "income" || a.class == "expense") && a.code != "6901";
            for account in first_level(template).iter().filter(reported) {
                assert_eq!(
                    lines_naming(template.income_statement(), &account.code),
                    1,
                    "{template:?}: {}",
                    account.code
                );
            }
        }
    }

    #[test]
    fn every_role_is_a_leaf_account_of_each_chart_with_the_right_class() {
        use Role::*;
        let roles = [
            (Cash, "asset"),
            (Bank, "asset"),
            (OtherMonetaryFunds, "asset"),
            (Receivable, "asset"),
            (SupplierAdvance, "asset"),
            (GoodsInTransit, "asset"),
            (Inventory, "asset"),
            (PendingDisposal, "asset"),
            (Payable, "liability"),
            (CustomerAdvance, "liability"),
            (WagesPayable, "liability"),
            (OtherPayables, "liability"),
            (InputVat, "liability"),
            (OutputVat, "liability"),
            (SimplifiedVat, "liability"),
            (IncomeTaxWithheld, "liability"),
            (PaidInCapital, "equity"),
            (CurrentYearProfit, "equity"),
            (RetainedEarnings, "equity"),
            (ProductionCost, "cost"),
            (Revenue, "income"),
            (CostOfSales, "expense"),
            (SellingExpense, "expense"),
            (AdministrativeExpense, "expense"),
            (FinancialExpense, "expense"),
        ];
        for template in TEMPLATES {
            let accounts = template.accounts();
            for (role, class) in roles {
                let code = template.code(role);
                let account =
                    accounts.iter().find(|a| a.code == code).unwrap_or_else(|| panic!("{template:?} {role:?}"));
                assert_eq!(account.class, class, "{template:?} {role:?}");
                assert!(
                    !accounts.iter().any(|a| a.parent.as_deref() == Some(code)),
                    "{template:?} {role:?} {code} has sub-accounts"
                );
            }
            assert_eq!(Template::parse(template.key()), Some(template));
        }
    }

    #[test]
    fn the_charts_differ_where_the_standards_do() {
        let cas = Template::Cas.accounts();
        assert!(cas.iter().any(|a| a.code == "1122" && a.name_zh == "应收账款"));
        assert!(cas
            .iter()
            .any(|a| a.code == "22210102" && a.name_zh == "销项税额" && a.parent.as_deref() == Some("222101")));
        let small = Template::SmallEnterprise.accounts();
        assert!(small.iter().any(|a| a.code == "5001" && a.name_zh == "主营业务收入"));
        assert!(small.iter().any(|a| a.code == "4001" && a.name_zh == "生产成本"));
        assert!(small.iter().any(|a| a.code == "22210101" && a.name_zh == "进项税额"));
        let english = Template::GenericEnglish.accounts();
        assert!(english
            .iter()
            .any(|a| a.code == "230002" && a.name_en == "Output VAT" && a.parent.as_deref() == Some("2300")));
        assert!(english.len() < 50, "a short chart");
    }
}
