//! The VAT return page (增值税申报): the month's sales and purchases by rate, the output and
//! input tax from the ledger with what is payable or carried forward, the surtaxes on it,
//! downloads, the button that transfers the month's unpaid VAT and accrues its surtaxes, and
//! the form that pays them.

use super::api::PeriodQuery;
use super::figures_or_refusal;
use super::pages::{asked_range, export};
use crate::domain::yuan;
use crate::service;
use crate::surtaxes::{self, Owed, SurtaxRow};
use crate::vat_return::{self, RateRow, VatReturn};
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use web::page::{finish_form, Refused};
use web::{AppResult, Ctx, FormPairs, PageCtx};

#[derive(Template)]
#[template(path = "finance/vat.html")]
struct VatPage {
    page: PageCtx,
    from: String,
    to: String,
    /// The return, or none when the months asked for could not be read.
    figures: Option<VatReturn>,
    /// Why the months were refused, beside their fields.
    errors: Vec<(String, String)>,
    /// May post the transfer of unpaid VAT.
    can_transfer: bool,
    /// What the last month shown leaves to pay, for the payment form of someone who may enter
    /// vouchers (posted at once, or a draft for the signatures they may not give).
    owed: Option<Owed>,
    /// The draft voucher paying taxes that waits to be posted, named in place of the button.
    waiting_draft: Option<i64>,
    /// The day and bank account the payment form starts from: the 15th of the next month (the
    /// filing deadline) and the company's bank.
    pay_date: String,
    bank: &'static str,
    /// The transfer or payment just refused, beside its button or fields.
    refused: Refused,
}

impl VatPage {
    /// The two schedules as shown: (element id, title key, rows, total).
    fn schedules<'a>(&self, f: &'a VatReturn) -> [(&'static str, &'static str, &'a [RateRow], RateRow); 2] {
        [
            ("vat-sales", "finance.vat_sales", &f.sales, f.sales_total()),
            ("vat-purchases", "finance.vat_purchases", &f.purchases, f.purchases_total()),
        ]
    }

    fn rate(&self, row: &RateRow, sales: bool) -> String {
        rate_shown(row, sales, |key| self.page.t(key))
    }

    /// A surtax's name and rate as shown: `城市维护建设税 7%`.
    fn surtax(&self, row: &SurtaxRow) -> String {
        format!("{} {}%", self.page.t(&format!("finance.surtax.{}", row.tax.key())), row.rate_text())
    }

    /// A small-scale taxpayer's months exempted from VAT, each with its tax: `2026-03 (500.00)`.
    fn exempt_months(&self, figures: &VatReturn) -> String {
        let months: Vec<String> =
            figures.exempt_months().iter().map(|e| format!("{} ({})", e.month, self.page.money(&e.exempt))).collect();
        months.join("、")
    }

    /// The payment's refusals that name no field of its form (the month, say).
    fn payment_errors(&self) -> Vec<&str> {
        let beside = ["pay:date", "pay:bank_account"];
        self.refused
            .errors
            .iter()
            .filter(|(f, _)| f.starts_with("pay:") && !beside.contains(&f.as_str()))
            .map(|(_, m)| m.as_str())
            .collect()
    }

    /// What the payment form shows it will pay: (label, account, amount) of each tax owed.
    fn owed_lines<'a>(&self, owed: &'a Owed) -> Vec<(String, &'a str, i64)> {
        let mut lines = vec![
            (self.page.t("finance.unpaid_vat"), owed.vat.0, owed.vat.1),
            (self.page.t("finance.simplified_method"), owed.simplified.1.as_str(), owed.simplified.0),
        ];
        for (tax, account, amount) in &owed.surtaxes {
            lines.push((self.page.t(&format!("finance.surtax.{}", tax.key())), account, *amount));
        }
        lines.retain(|l| l.2 > 0);
        lines
    }
}

/// A rate as the schedules show it, on the page and in the downloads: `13%`, 免税 (Exempt),
/// and `5%（简易计税）` for sales under the simplified method (a purchase at its rates is input
/// VAT as any other). `t` translates a message key.
fn rate_shown(row: &RateRow, sales: bool, t: impl Fn(&str) -> String) -> String {
    let rate = t(&web::page::vat_choice_label(&row.rate_text()));
    match sales && kernel::vat::simplified_method(row.rate_bp) {
        true => format!("{rate}（{}）", t("finance.simplified_method")),
        false => rate,
    }
}

async fn vat_page(ctx: &Ctx, from: &Option<String>, to: &Option<String>, refused: Refused) -> AppResult<VatPage> {
    ctx.require(service::REPORTS)?;
    // A single month unless a first month is given, as a return is filed.
    let ((shown_from, shown_to), asked) = asked_range(ctx, from, to, str::to_string);
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        let mut conn = ctx.db().read_conn().await?;
        Ok(vat_return::vat_return(&mut conn, ctx.company_id(), &from, &to).await?)
    }
    .await;
    let page = PageCtx::new(ctx, "finance.vat_return", "/finance/reports/vat").await?;
    let (page, from, to, figures, errors) = match figures_or_refusal(ctx, read)? {
        Ok(figures) => {
            let subtitle = format!("{} — {}", figures.from, figures.to);
            (page.as_report(subtitle, ""), figures.from.clone(), figures.to.clone(), Some(figures), Vec::new())
        }
        Err(errors) => (page, shown_from, shown_to, None, errors),
    };
    let can_transfer = ctx.principal.may(service::POST);
    let (mut owed, mut waiting_draft, mut pay_date, mut bank) = (None, None, String::new(), "");
    // A month's taxes are paid once it has ended: the form shows for a past month only.
    let ended = figures.as_ref().is_some_and(|f| f.to < super::pages::this_period(ctx));
    let mut conn = ctx.db().read_conn().await?;
    let may_pay = crate::review::rules(&mut conn, ctx.company_id()).await?.may_book(&ctx.principal);
    if let (true, true, Some(f)) = (may_pay, ended, &figures) {
        owed = Some(surtaxes::owed(&mut conn, ctx.company_id(), &f.to).await?);
        waiting_draft = surtaxes::waiting_draft(&mut conn, ctx.company_id()).await?;
        bank = crate::chart::code(&mut conn, ctx.company_id(), crate::chart::Role::Bank).await?;
        // The month's last day and fifteen more: the 15th of the next month.
        let last = chrono::NaiveDate::parse_from_str(&service::last_day(&f.to), "%Y-%m-%d").ok();
        pay_date = last.map(|d| (d + chrono::Duration::days(15)).to_string()).unwrap_or_default();
    }
    Ok(VatPage { page, from, to, figures, errors, can_transfer, owed, waiting_draft, pay_date, bank, refused })
}

pub async fn page(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    let shown = vat_page(&ctx, &q.from, &q.to, Refused::default()).await?;
    if let (Some(format), Some(figures)) = (export(&q), &shown.figures) {
        return download(&ctx, format, figures);
    }
    let refused = !shown.errors.is_empty();
    web::page::render_answer(&shown, refused)
}

/// The return as CSV or XLSX: the schedules' rows, then the figures that count.
fn download(ctx: &Ctx, format: &str, figures: &VatReturn) -> AppResult<Response> {
    let header: Vec<String> =
        ["finance.vat_side", "finance.vat_rate", "finance.documents", "finance.net", "finance.tax"]
            .iter()
            .map(|k| ctx.t(k))
            .collect();
    let mut rows = Vec::new();
    for (side, lines) in [("finance.vat_sales", &figures.sales), ("finance.vat_purchases", &figures.purchases)] {
        for r in lines.iter() {
            rows.push(vec![
                ctx.t(side),
                rate_shown(r, side == "finance.vat_sales", |key| ctx.t(key)),
                r.documents.to_string(),
                yuan(r.net),
                yuan(r.tax),
            ]);
        }
    }
    for (key, amount) in [
        ("finance.vat_output", figures.output),
        ("finance.vat_input", figures.input),
        ("finance.vat_input_reversed", figures.input_reversed),
        ("finance.vat_reduction", figures.reduction),
        ("finance.vat_output_deduction", figures.output_deduction),
        ("finance.vat_input_share_short", figures.input_share_to_take_back()),
        ("finance.vat_opening", figures.opening),
        ("finance.vat_credit_in", figures.credit_carried_in),
        ("finance.vat_untransferred_before", figures.untransferred_before),
        ("finance.vat_payable", figures.payable),
        ("finance.vat_simplified", figures.simplified),
        ("finance.vat_exempt", figures.exempt_total()),
        ("finance.vat_tax_due", figures.tax_due()),
        ("finance.vat_settled", figures.settled),
        ("finance.vat_to_transfer", figures.to_transfer()),
        ("finance.vat_carried_forward", figures.carried_forward()),
        ("finance.vat_paid_ahead", figures.paid_ahead),
    ] {
        rows.push(vec![ctx.t(key), String::new(), String::new(), String::new(), yuan(amount)]);
    }
    // The surtaxes: rate, then the base in the net column and the tax due.
    for s in &figures.surtaxes {
        let name = ctx.t(&format!("finance.surtax.{}", s.tax.key()));
        rows.push(vec![name, format!("{}%", s.rate_text()), String::new(), yuan(figures.surtax_base), yuan(s.due)]);
    }
    web::page::download(format, &format!("vat-return-{}-{}", figures.from, figures.to), &header, &rows)
}

/// Transfers the month's unpaid VAT and accrues its surtaxes from the page; goes back to the
/// month's return, with a note of what was posted or that there was nothing to post.
pub async fn transfer(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let period = pairs.text("period");
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = vat_return::transfer_unpaid(&mut tx, &ctx.principal, &period).await;
    let back = format!("/finance/reports/vat?from={period}&to={period}");
    let saved = |posted: vat_return::MonthEnd| match posted.is_empty() {
        false => (back, "finance.posted_ok"),
        true => (back, "finance.vat_nothing_to_transfer"),
    };
    finish_form(&ctx, tx, outcome, saved, async |errors| {
        let refused = Refused::new(&ctx, "transfer", errors, FormPairs::default());
        vat_page(&ctx, &Some(period.clone()), &Some(period.clone()), refused).await
    })
    .await
}

/// Pays the month's unpaid VAT and surtaxes from the page; goes to the voucher posted or
/// drafted, or back with a note that nothing was owed. A bad day or account is refused beside its field.
pub async fn pay(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = surtaxes::PaymentForm {
        period: pairs.text("period"),
        date: pairs.text("date"),
        bank_account: pairs.text("bank_account"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = surtaxes::pay(&mut tx, &ctx.principal, &form).await;
    let back = format!("/finance/reports/vat?from={0}&to={0}", form.period);
    let saved = |paid: Option<surtaxes::Payment>| match paid {
        Some(payment) if payment.number.is_some() => {
            (format!("/finance/entries/{}", payment.entry_id), "finance.posted_ok")
        }
        // The draft's page, to be signed, reviewed and posted.
        Some(payment) => (format!("/finance/entries/{}", payment.entry_id), "finance.tax_payment_draft"),
        None => (back, "finance.nothing_owed"),
    };
    finish_form(&ctx, tx, outcome, saved, async |errors| {
        let refused = Refused::new(&ctx, "pay", errors, pairs.clone());
        vat_page(&ctx, &Some(form.period.clone()), &Some(form.period.clone()), refused).await
    })
    .await
}
