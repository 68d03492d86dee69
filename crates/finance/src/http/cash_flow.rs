//! The cash flow statement page (现金流量表): the months chosen beside the same months of the
//! year before, each account line opening the accounts behind it, downloads and print.

use super::api::PeriodQuery;
use super::figures_or_refusal;
use super::pages::{asked_range, export};
use crate::cash_flow::{self, CashFlowStatement};
use crate::domain::yuan;
use crate::service;
use askama::Template;
use axum::extract::Query;
use axum::response::Response;
use web::{AppResult, Ctx, PageCtx};

#[derive(Template)]
#[template(path = "finance/cash_flow.html")]
struct CashFlowPage {
    page: PageCtx,
    from: String,
    to: String,
    figures: Option<CashFlowStatement>,
    errors: Vec<(String, String)>,
    /// The line whose accounts are shown below the statement, if one was opened.
    line: Option<String>,
}

impl CashFlowPage {
    /// The accounts behind the opened line, with what each adds.
    fn opened(&self) -> Vec<(String, i64)> {
        match (&self.figures, &self.line) {
            (Some(f), Some(line)) => f.accounts.get(line.as_str()).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }

    /// The opened line's label.
    fn opened_label(&self) -> String {
        let row = self.figures.as_ref().and_then(|f| f.rows.iter().find(|r| Some(r.key) == self.line.as_deref()));
        row.map(|r| if self.page.lang_tag() == "en" { r.label_en } else { r.label_zh }).unwrap_or_default().to_string()
    }

    /// Whether a line is read from accounts (and so opens them).
    fn opens(&self, key: &str) -> bool {
        self.figures.as_ref().is_some_and(|f| f.accounts.contains_key(key))
    }
}

pub async fn page(ctx: Ctx, Query(q): Query<PeriodQuery>) -> AppResult<Response> {
    ctx.require(service::REPORTS)?;
    // The year to date unless a first month is given.
    let ((shown_from, shown_to), asked) = asked_range(&ctx, &q.from, &q.to, |to| format!("{}-01", &to[..4]));
    let read: AppResult<_> = async {
        let (from, to) = asked?;
        let mut conn = ctx.db().read_conn().await?;
        Ok(cash_flow::cash_flow_statement(&mut conn, ctx.company_id(), &from, &to).await?)
    }
    .await;
    let page = PageCtx::new(&ctx, "finance.cash_flow", "/finance/reports/cash-flow").await?;
    let (page, from, to, figures, errors) = match figures_or_refusal(&ctx, read)? {
        Ok(figures) => {
            let subtitle = format!("{} — {}", figures.from, figures.to);
            let form_number = figures.form_number;
            (page.as_report(subtitle, form_number), figures.from.clone(), figures.to.clone(), Some(figures), Vec::new())
        }
        Err(errors) => (page, shown_from, shown_to, None, errors),
    };
    if let (Some(format), Some(figures)) = (export(&q), &figures) {
        let header: Vec<String> =
            ["finance.line", "finance.amount", "finance.comparison"].iter().map(|k| ctx.t(k)).collect();
        let rows: Vec<Vec<String>> = figures
            .rows
            .iter()
            .map(|r| {
                let label = if ctx.lang == kernel::Lang::En { r.label_en } else { r.label_zh };
                vec![label.to_string(), yuan(r.amount), yuan(r.comparison)]
            })
            .collect();
        return web::page::download(format, &format!("cash-flow-{}-{}", figures.from, figures.to), &header, &rows);
    }
    let refused = !errors.is_empty();
    let shown = CashFlowPage { page, from, to, figures, errors, line: q.line.clone().filter(|l| !l.is_empty()) };
    web::page::render_answer(&shown, refused)
}
