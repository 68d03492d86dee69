//! The cash flow statement (现金流量表, 会企03表), direct method, from the cash flow rows the
//! ledger keeps as it posts (`fin_cash_flow_balances`).
//!
//! A voucher that moves cash (a line on 库存现金, 银行存款, 其他货币资金 or their sub-accounts)
//! balances, so its other lines' credits less debits are the cash it brought in. Each of those
//! other accounts says what the cash was for: a receivable or revenue account, sales; a payable,
//! inventory or cost account, purchases; 应付职工薪酬, wages; the taxes payable, taxes; fixed
//! and intangible assets, investing; capital and loans, financing; anything else, other
//! operating cash. An account's credits (cash received) and debits (cash paid) may go to two
//! lines, as a loan's borrowing and repayment do; where they go to one (sales and the refunds
//! of sales), that line shows them net. A receipt net of a bank fee shows the full receipt
//! under sales and the fee under other payments. The month-end revaluation of foreign cash is
//! 汇率变动对现金的影响. The lines add up to the change in the cash accounts' balances: a test
//! checks it against the ledger.
//!
//! Reading the rows, not the vouchers, keeps the statement at O(accounts) however many
//! vouchers a year holds.

use crate::chart::{self, Role, Template};
use crate::domain::{acc, sum, StatementLine};
use crate::service::StatementRow;
use db::Result;
use sqlx::Row;
use std::collections::BTreeMap;

/// The statement's lines. The account lines read the keys [`classify`] gives an account's
/// credits and debits; `opening` is the cash at the start of the first month.
pub const CASH_FLOW_STATEMENT: &[StatementLine] = &[
    acc(
        "op_in_sales",
        "销售商品、提供劳务收到的现金",
        "Cash received from sales of goods and services",
        &[("op_in_sales", 1)],
    ),
    acc("op_in_tax_refund", "收到的税费返还", "Tax refunds received", &[("op_in_tax_refund", 1)]),
    acc(
        "op_in_other",
        "收到其他与经营活动有关的现金",
        "Other cash received from operating activities",
        &[("op_in_other", 1)],
    ),
    sum(
        "op_in_total",
        "经营活动现金流入小计",
        "Cash inflows from operating activities",
        &[("op_in_sales", 1), ("op_in_tax_refund", 1), ("op_in_other", 1)],
    ),
    acc(
        "op_out_purchases",
        "购买商品、接受劳务支付的现金",
        "Cash paid for goods and services",
        &[("op_out_purchases", 1)],
    ),
    acc("op_out_staff", "支付给职工以及为职工支付的现金", "Cash paid to and for employees", &[("op_out_staff", 1)]),
    acc("op_out_taxes", "支付的各项税费", "Taxes paid", &[("op_out_taxes", 1)]),
    acc(
        "op_out_other",
        "支付其他与经营活动有关的现金",
        "Other cash paid for operating activities",
        &[("op_out_other", 1)],
    ),
    sum(
        "op_out_total",
        "经营活动现金流出小计",
        "Cash outflows from operating activities",
        &[("op_out_purchases", 1), ("op_out_staff", 1), ("op_out_taxes", 1), ("op_out_other", 1)],
    ),
    sum(
        "op_net",
        "一、经营活动产生的现金流量净额",
        "Net cash from operating activities",
        &[("op_in_total", 1), ("op_out_total", -1)],
    ),
    acc(
        "inv_in_investments",
        "收回投资收到的现金",
        "Cash received from disposal of investments",
        &[("inv_in_investments", 1)],
    ),
    acc("inv_in_returns", "取得投资收益收到的现金", "Cash received from investment income", &[("inv_in_returns", 1)]),
    acc(
        "inv_in_disposal",
        "处置固定资产、无形资产和其他长期资产收回的现金净额",
        "Net cash from disposal of fixed, intangible and other long-term assets",
        &[("inv_in_disposal", 1)],
    ),
    sum(
        "inv_in_total",
        "投资活动现金流入小计",
        "Cash inflows from investing activities",
        &[("inv_in_investments", 1), ("inv_in_returns", 1), ("inv_in_disposal", 1)],
    ),
    acc(
        "inv_out_assets",
        "购建固定资产、无形资产和其他长期资产支付的现金",
        "Cash paid for fixed, intangible and other long-term assets",
        &[("inv_out_assets", 1)],
    ),
    acc("inv_out_investments", "投资支付的现金", "Cash paid for investments", &[("inv_out_investments", 1)]),
    sum(
        "inv_out_total",
        "投资活动现金流出小计",
        "Cash outflows from investing activities",
        &[("inv_out_assets", 1), ("inv_out_investments", 1)],
    ),
    sum(
        "inv_net",
        "二、投资活动产生的现金流量净额",
        "Net cash from investing activities",
        &[("inv_in_total", 1), ("inv_out_total", -1)],
    ),
    acc("fin_in_capital", "吸收投资收到的现金", "Cash received from capital contributions", &[("fin_in_capital", 1)]),
    acc("fin_in_loans", "取得借款收到的现金", "Cash received from borrowings", &[("fin_in_loans", 1)]),
    sum(
        "fin_in_total",
        "筹资活动现金流入小计",
        "Cash inflows from financing activities",
        &[("fin_in_capital", 1), ("fin_in_loans", 1)],
    ),
    acc("fin_out_repay", "偿还债务支付的现金", "Cash repayments of borrowings", &[("fin_out_repay", 1)]),
    acc(
        "fin_out_interest",
        "分配股利、利润或偿付利息支付的现金",
        "Cash paid for dividends, profit distributions or interest",
        &[("fin_out_interest", 1), ("fin_out_profit", 1)],
    ),
    acc(
        "fin_out_other",
        "支付其他与筹资活动有关的现金",
        "Other cash paid for financing activities",
        &[("fin_out_other", 1)],
    ),
    sum(
        "fin_out_total",
        "筹资活动现金流出小计",
        "Cash outflows from financing activities",
        &[("fin_out_repay", 1), ("fin_out_interest", 1), ("fin_out_other", 1)],
    ),
    sum(
        "fin_net",
        "三、筹资活动产生的现金流量净额",
        "Net cash from financing activities",
        &[("fin_in_total", 1), ("fin_out_total", -1)],
    ),
    acc(
        "exchange",
        "四、汇率变动对现金及现金等价物的影响",
        "Effect of exchange rate changes on cash",
        &[("exchange", 1)],
    ),
    sum(
        "net_increase",
        "五、现金及现金等价物净增加额",
        "Net increase in cash and cash equivalents",
        &[("op_net", 1), ("inv_net", 1), ("fin_net", 1), ("exchange", 1)],
    ),
    acc("opening", "加：期初现金及现金等价物余额", "Add: cash at the beginning of the period", &[("opening", 1)]),
    sum(
        "closing",
        "六、期末现金及现金等价物余额",
        "Cash at the end of the period",
        &[("net_increase", 1), ("opening", 1)],
    ),
];

/// The statement's lines under the standard for small enterprises (会小企03表): no subtotals,
/// no line of its own for tax refunds or exchange rates (both are other operating cash), and
/// interest apart from profit distributions.
pub const SMALL_ENTERPRISE_CASH_FLOW_STATEMENT: &[StatementLine] = &[
    acc(
        "op_in_sales",
        "销售产成品、商品、提供劳务收到的现金",
        "Cash received from sales of products, goods and services",
        &[("op_in_sales", 1)],
    ),
    acc(
        "op_in_other",
        "收到其他与经营活动有关的现金",
        "Other cash received from operating activities",
        &[("op_in_other", 1), ("op_in_tax_refund", 1), ("exchange", 1)],
    ),
    acc(
        "op_out_purchases",
        "购买原材料、商品、接受劳务支付的现金",
        "Cash paid for materials, goods and services",
        &[("op_out_purchases", 1)],
    ),
    acc("op_out_staff", "支付的职工薪酬", "Cash paid for employees' pay", &[("op_out_staff", 1)]),
    acc("op_out_taxes", "支付的税费", "Taxes paid", &[("op_out_taxes", 1)]),
    acc(
        "op_out_other",
        "支付其他与经营活动有关的现金",
        "Other cash paid for operating activities",
        &[("op_out_other", 1)],
    ),
    sum(
        "op_net",
        "经营活动产生的现金流量净额",
        "Net cash from operating activities",
        &[
            ("op_in_sales", 1),
            ("op_in_other", 1),
            ("op_out_purchases", -1),
            ("op_out_staff", -1),
            ("op_out_taxes", -1),
            ("op_out_other", -1),
        ],
    ),
    acc(
        "inv_in_investments",
        "收回短期投资、长期债券投资和长期股权投资收到的现金",
        "Cash received from short-term, bond and equity investments",
        &[("inv_in_investments", 1)],
    ),
    acc("inv_in_returns", "取得投资收益收到的现金", "Cash received from investment income", &[("inv_in_returns", 1)]),
    acc(
        "inv_in_disposal",
        "处置固定资产、无形资产和其他非流动资产收回的现金净额",
        "Net cash from disposal of fixed, intangible and other non-current assets",
        &[("inv_in_disposal", 1)],
    ),
    acc(
        "inv_out_investments",
        "短期投资、长期债券投资和长期股权投资支付的现金",
        "Cash paid for short-term, bond and equity investments",
        &[("inv_out_investments", 1)],
    ),
    acc(
        "inv_out_assets",
        "购建固定资产、无形资产和其他非流动资产支付的现金",
        "Cash paid for fixed, intangible and other non-current assets",
        &[("inv_out_assets", 1)],
    ),
    sum(
        "inv_net",
        "投资活动产生的现金流量净额",
        "Net cash from investing activities",
        &[
            ("inv_in_investments", 1),
            ("inv_in_returns", 1),
            ("inv_in_disposal", 1),
            ("inv_out_investments", -1),
            ("inv_out_assets", -1),
        ],
    ),
    acc("fin_in_loans", "取得借款收到的现金", "Cash received from borrowings", &[("fin_in_loans", 1)]),
    acc("fin_in_capital", "吸收投资者投资收到的现金", "Cash received from investors", &[("fin_in_capital", 1)]),
    acc(
        "fin_out_repay",
        "偿还借款本金支付的现金",
        "Cash repayments of loan principal",
        &[("fin_out_repay", 1), ("fin_out_other", 1)],
    ),
    acc("fin_out_interest", "偿还借款利息支付的现金", "Cash paid for loan interest", &[("fin_out_interest", 1)]),
    acc("fin_out_profit", "分配利润支付的现金", "Cash paid for profit distributions", &[("fin_out_profit", 1)]),
    sum(
        "fin_net",
        "筹资活动产生的现金流量净额",
        "Net cash from financing activities",
        &[
            ("fin_in_loans", 1),
            ("fin_in_capital", 1),
            ("fin_out_repay", -1),
            ("fin_out_interest", -1),
            ("fin_out_profit", -1),
        ],
    ),
    sum("net_increase", "四、现金净增加额", "Net increase in cash", &[("op_net", 1), ("inv_net", 1), ("fin_net", 1)]),
    acc("opening", "加：期初现金余额", "Add: cash at the beginning of the period", &[("opening", 1)]),
    sum("closing", "五、期末现金余额", "Cash at the end of the period", &[("net_increase", 1), ("opening", 1)]),
];

/// The cash flow statement's lines and form number in the company's chart: the CAS form for
/// CAS books and the generic chart, the small enterprises' own for theirs.
pub fn lines_of(template: Template) -> (&'static [StatementLine], &'static str) {
    match template {
        Template::SmallEnterprise => (SMALL_ENTERPRISE_CASH_FLOW_STATEMENT, "会小企03表"),
        Template::Cas => (CASH_FLOW_STATEMENT, "会企03表"),
        Template::GenericEnglish => (CASH_FLOW_STATEMENT, ""),
    }
}

/// Whether a line's key is an inflow (its account's credits add to it, debits take away) or an
/// outflow (the other way round).
fn is_inflow(key: &str) -> bool {
    key.split('_').nth(1) == Some("in") || key == "exchange"
}

/// What a counter account's cash is for: the line its credits (cash received) go to, and the
/// line its debits (cash paid) go to, by its code in the company's chart; `simplified` is the
/// books' account of the simplified method's VAT (`chart::simplified_vat_account`).
pub fn classify(template: Template, simplified: &str, code: &str) -> (&'static str, &'static str) {
    const SALES: (&str, &str) = ("op_in_sales", "op_in_sales");
    const PURCHASES: (&str, &str) = ("op_out_purchases", "op_out_purchases");
    const STAFF: (&str, &str) = ("op_out_staff", "op_out_staff");
    const TAXES: (&str, &str) = ("op_in_tax_refund", "op_out_taxes");
    const INVESTMENTS: (&str, &str) = ("inv_in_investments", "inv_out_investments");
    const RETURNS: (&str, &str) = ("inv_in_returns", "inv_in_returns");
    const LONG_TERM_ASSETS: (&str, &str) = ("inv_in_disposal", "inv_out_assets");
    // 固定资产清理: what a disposal brings in, less what it costs, is one net line.
    const DISPOSAL: (&str, &str) = ("inv_in_disposal", "inv_in_disposal");
    const CAPITAL: (&str, &str) = ("fin_in_capital", "fin_out_other");
    const LOANS: (&str, &str) = ("fin_in_loans", "fin_out_repay");
    // 长期应付款 (leases, instalments): paid off as other financing.
    const LONG_TERM_PAYABLES: (&str, &str) = ("fin_in_loans", "fin_out_other");
    const INTEREST: (&str, &str) = ("fin_out_interest", "fin_out_interest");
    const PROFITS: (&str, &str) = ("fin_out_profit", "fin_out_profit");
    const OTHER: (&str, &str) = ("op_in_other", "op_out_other");
    // The VAT columns first: output VAT comes with a sale, input VAT with a purchase; the
    // rest of the taxes payable are taxes.
    if code.starts_with(template.code(Role::OutputVat)) {
        return SALES;
    }
    if code.starts_with(template.code(Role::InputVat)) {
        return PURCHASES;
    }
    // The simplified method's VAT comes in with a sale and goes out as a tax paid.
    if code.starts_with(simplified) {
        return (SALES.0, TAXES.1);
    }
    let groups: &[(&[&str], (&str, &str))] = match template {
        Template::Cas => &[
            (&["1121", "1122", "2203", "6001", "6051"], SALES),
            (
                &[
                    "1123", "1401", "1402", "1403", "1404", "1405", "1406", "1408", "1411", "2201", "2202", "5001",
                    "5101", "5201", "6401", "6402",
                ],
                PURCHASES,
            ),
            (&["2211"], STAFF),
            (&["2221", "6403", "6801"], TAXES),
            (&["1101", "1501", "1502", "1503", "1511"], INVESTMENTS),
            (&["1131", "1132", "6111"], RETURNS),
            (&["1606"], DISPOSAL),
            // 研发支出 holds the development costs that become an intangible asset.
            (&["1601", "1604", "1605", "1701", "1801", "5301"], LONG_TERM_ASSETS),
            (&["4001", "4002"], CAPITAL),
            (&["2001", "2501", "2502"], LOANS),
            (&["2701"], LONG_TERM_PAYABLES),
            (&["2231"], INTEREST),
            (&["2232", "4104"], PROFITS),
        ],
        Template::SmallEnterprise => &[
            (&["1121", "1122", "2203", "5001", "5051"], SALES),
            (
                &[
                    "1123", "1401", "1402", "1403", "1404", "1405", "1407", "1408", "1411", "1421", "2201", "2202",
                    "4001", "4101", "4401", "4403", "5401", "5402",
                ],
                PURCHASES,
            ),
            (&["2211"], STAFF),
            (&["2221", "5403", "5801"], TAXES),
            (&["1101", "1501", "1511"], INVESTMENTS),
            (&["1131", "1132", "5111"], RETURNS),
            (&["1606"], DISPOSAL),
            (&["1601", "1604", "1605", "1621", "1701", "1801", "4301"], LONG_TERM_ASSETS),
            (&["3001", "3002"], CAPITAL),
            (&["2001", "2501"], LOANS),
            (&["2701"], LONG_TERM_PAYABLES),
            (&["2231"], INTEREST),
            (&["2232", "3104"], PROFITS),
        ],
        Template::GenericEnglish => &[
            (&["1100", "2150", "4000", "4100"], SALES),
            (&["1150", "1200", "1210", "2100", "5000", "5100"], PURCHASES),
            (&["2200"], STAFF),
            (&["2300", "6300", "6900"], TAXES),
            (&["1500", "1600"], LONG_TERM_ASSETS),
            (&["3000"], CAPITAL),
            (&["2000", "2500"], LOANS),
            (&["3100"], PROFITS),
        ],
    };
    groups.iter().find(|(codes, _)| codes.iter().any(|c| code.starts_with(c))).map_or(OTHER, |(_, lines)| *lines)
}

/// The cash flow statement of the months `from..=to`, with the same months of the year before
/// beside it, and the cash the ledger holds at the end of `to` (which the `closing` line
/// equals).
#[derive(Debug, Clone)]
pub struct CashFlowStatement {
    pub from: String,
    pub to: String,
    pub rows: Vec<StatementRow>,
    pub cash_in_ledger: i64,
    /// The accounts behind each account line of `from..=to`, with what each adds to it: the
    /// drill-down from a figure.
    pub accounts: BTreeMap<&'static str, Vec<(String, i64)>>,
    /// The form number printed on it: 会企03表, 会小企03表, or none on the generic chart.
    pub form_number: &'static str,
}

pub async fn cash_flow_statement(conn: &mut db::Conn, company: i64, from: &str, to: &str) -> Result<CashFlowStatement> {
    let (from, to) = crate::domain::period_range(from, to)?;
    let template = chart::template(&mut *conn, company).await?;
    let (current, accounts) = figures(conn, company, template, &from, &to).await?;
    let year_earlier = crate::domain::year_earlier;
    let (previous, _) = figures(conn, company, template, &year_earlier(&from), &year_earlier(&to)).await?;
    let cash_in_ledger = cash_before(conn, company, template, &crate::domain::next_month(&to)).await?;
    let (lines, form_number) = lines_of(template);
    let rows = crate::service::statement_rows(lines, &current, &previous);
    // Each account line's accounts: those of the flows it adds, with its sign for each.
    let mut by_line: BTreeMap<&'static str, Vec<(String, i64)>> = BTreeMap::new();
    for line in lines.iter().filter(|l| !l.total && l.key != "opening") {
        for (flow, sign) in line.accounts {
            for (code, amount) in accounts.get(flow).into_iter().flatten() {
                let behind = by_line.entry(line.key).or_default();
                match behind.iter_mut().find(|(c, _)| c == code) {
                    Some(account) => account.1 += amount * sign,
                    None => behind.push((code.clone(), amount * sign)),
                }
            }
        }
    }
    Ok(CashFlowStatement { rows, from, to, cash_in_ledger, accounts: by_line, form_number })
}

/// The account lines' figures of `from..=to`, by key, and the opening cash; and the accounts
/// behind each line.
async fn figures(
    conn: &mut db::Conn,
    company: i64,
    template: Template,
    from: &str,
    to: &str,
) -> Result<(BTreeMap<String, i64>, BTreeMap<&'static str, Vec<(String, i64)>>)> {
    let rows = sqlx::query(
        "SELECT a.code, b.source, CAST(SUM(b.debit) AS BIGINT) AS debit, CAST(SUM(b.credit) AS BIGINT) AS credit \
         FROM fin_cash_flow_balances b JOIN fin_accounts a ON a.id = b.account_id \
         WHERE b.company_id = $1 AND b.period >= $2 AND b.period <= $3 GROUP BY a.code, b.source",
    )
    .bind(company)
    .bind(from)
    .bind(to)
    .fetch_all(&mut *conn)
    .await?;
    let simplified = chart::simplified_vat_account(&mut *conn, company).await?;
    let mut out: BTreeMap<String, i64> = BTreeMap::new();
    let mut behind: BTreeMap<&'static str, Vec<(String, i64)>> = BTreeMap::new();
    let mut add = |key: &'static str, code: &str, amount: i64| {
        if amount == 0 {
            return;
        }
        *out.entry(key.to_string()).or_insert(0) += amount;
        let accounts = behind.entry(key).or_default();
        match accounts.iter_mut().find(|(c, _)| c == code) {
            Some(account) => account.1 += amount,
            None => accounts.push((code.to_string(), amount)),
        }
    };
    for r in &rows {
        let code: String = r.try_get("code")?;
        let (debit, credit): (i64, i64) = (r.try_get("debit")?, r.try_get("credit")?);
        if r.try_get::<String, _>("source")? == crate::service::cash_flow_source("revaluation") {
            add("exchange", &code, credit - debit);
            continue;
        }
        let (received, paid) = classify(template, &simplified, &code);
        add(received, &code, if is_inflow(received) { credit } else { -credit });
        add(paid, &code, if is_inflow(paid) { -debit } else { debit });
    }
    let opening = cash_before(conn, company, template, from).await?;
    out.insert("opening".into(), opening);
    Ok((out, behind))
}

/// What the cash accounts held before `period` (debit positive).
async fn cash_before(conn: &mut db::Conn, company: i64, template: Template, period: &str) -> Result<i64> {
    let rows = sqlx::query(
        "SELECT a.code, CAST(SUM(b.debit - b.credit) AS BIGINT) AS net FROM fin_balances b \
         JOIN fin_accounts a ON a.id = b.account_id WHERE b.company_id = $1 AND b.period < $2 \
         AND (a.code LIKE $3 OR a.code LIKE $4 OR a.code LIKE $5) GROUP BY a.code",
    )
    .bind(company)
    .bind(period)
    .bind(format!("{}%", template.code(Role::Cash)))
    .bind(format!("{}%", template.code(Role::Bank)))
    .bind(format!("{}%", template.code(Role::OtherMonetaryFunds)))
    .fetch_all(conn)
    .await?;
    let mut cash = 0;
    for r in &rows {
        cash += r.try_get::<Option<i64>, _>("net")?.unwrap_or(0);
    }
    Ok(cash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_chart_sends_its_accounts_to_the_same_lines() {
        let cases = [
            ("1122", "6001", "2202", "2211", "6403", "1601", "4001", "2001"),
            ("1122", "5001", "2202", "2211", "5403", "1601", "3001", "2001"),
            ("1100", "4000", "2100", "2200", "6300", "1500", "3000", "2000"),
        ];
        for (template, (receivable, revenue, payable, wages, taxes, assets, capital, loans)) in
            crate::chart::TEMPLATES.into_iter().zip(cases)
        {
            let classify = |code: &str| classify(template, template.code(Role::SimplifiedVat), code);
            assert_eq!(classify(receivable), ("op_in_sales", "op_in_sales"));
            assert_eq!(classify(revenue), ("op_in_sales", "op_in_sales"));
            assert_eq!(classify(payable), ("op_out_purchases", "op_out_purchases"));
            assert_eq!(classify(wages).1, "op_out_staff");
            assert_eq!(classify(taxes).1, "op_out_taxes");
            assert_eq!(classify(assets), ("inv_in_disposal", "inv_out_assets"));
            assert_eq!(classify(capital).0, "fin_in_capital");
            assert_eq!(classify(loans), ("fin_in_loans", "fin_out_repay"));
            assert_eq!(classify(template.code(Role::OutputVat)).0, "op_in_sales");
            assert_eq!(classify(template.code(Role::InputVat)).1, "op_out_purchases");
            assert_eq!(classify(template.code(Role::UnpaidVat)).1, "op_out_taxes");
            assert_eq!(classify(template.code(Role::SimplifiedVat)), ("op_in_sales", "op_out_taxes"));
            assert_eq!(classify(template.code(Role::FinancialExpense)).1, "op_out_other");
        }
    }

    #[test]
    fn every_line_a_flow_reaches_is_on_the_statement() {
        for template in crate::chart::TEMPLATES {
            let flows: Vec<&str> =
                lines_of(template).0.iter().flat_map(|l| l.accounts.iter().map(|(flow, _)| *flow)).collect();
            for account in template.accounts() {
                let (received, paid) = classify(template, template.code(Role::SimplifiedVat), &account.code);
                assert!(flows.contains(&received) && flows.contains(&paid), "{} of {}", account.code, template.key());
            }
        }
    }
}
