//! Contract and collection pages and API.

use super::conn;
use crate::contracts::{self, Contract, ContractForm, InstalmentForm};
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use finance::domain::yuan;
use kernel::DomainError;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{field_messages, finish_form, message_for, render};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/crm/contracts", get(contracts_page).post(create_page))
        .route("/crm/contracts/{id}", get(contract_page))
        .route("/crm/contracts/{id}/instalments/{seq}/{action}", post(instalment_page))
        .route("/api/v1/crm/contracts", get(contracts_api).post(create_api))
        .route("/api/v1/crm/contracts/{id}", get(contract_api))
        .route("/api/v1/crm/contracts/{id}/instalments/{seq}/invoice", post(invoice_api))
        .route("/api/v1/crm/contracts/{id}/instalments/{seq}/remind", post(remind_api))
        .route("/api/v1/crm/reports/collection", get(collection_api))
}

pub fn docs() -> Vec<ApiRoute> {
    use crate::service::{OPPORTUNITY_MANAGE, OPPORTUNITY_READ};
    let route = |method, path, summary, permission: &'static str, request: Option<fn() -> Value>| ApiRoute {
        method,
        path,
        summary,
        tag: "crm",
        permission: Some(permission),
        query: &[],
        request,
        response: object,
    };
    vec![
        route(
            "GET",
            "/api/v1/crm/contracts",
            "Contracts with their instalments' collection state",
            OPPORTUNITY_READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/crm/contracts",
            "Sign a contract with its instalment plan",
            OPPORTUNITY_MANAGE,
            Some(object),
        ),
        route(
            "GET",
            "/api/v1/crm/contracts/{id}",
            "A contract and its plan: planned, invoiced, collected, overdue",
            OPPORTUNITY_READ,
            None,
        ),
        route(
            "POST",
            "/api/v1/crm/contracts/{id}/instalments/{seq}/invoice",
            "Invoice an instalment through finance",
            OPPORTUNITY_MANAGE,
            Some(object),
        ),
        route(
            "POST",
            "/api/v1/crm/contracts/{id}/instalments/{seq}/remind",
            "Remind the customer of an overdue instalment at its dunning level",
            OPPORTUNITY_MANAGE,
            None,
        ),
        route(
            "GET",
            "/api/v1/crm/reports/collection",
            "Per contract: value, invoiced, collected, overdue",
            OPPORTUNITY_READ,
            None,
        ),
    ]
}

fn contract_json(c: &Contract) -> Value {
    json!({
        "id": c.id, "number": c.number, "party_id": c.party_id, "party_name": c.party_name, "title": c.title, "value": yuan(c.value),
        "vat_rate": kernel::vat::choice(c.vat_rate_bp), "start_date": c.start_date, "end_date": c.end_date, "terms": c.terms,
        "owner_name": c.owner_name, "invoiced": yuan(c.invoiced()), "collected": yuan(c.collected()), "overdue": yuan(c.overdue()),
        "instalments": c.instalments.iter().map(|i| json!({"seq": i.seq, "due_date": i.due_date, "amount": yuan(i.amount),
            "invoice_id": i.invoice_id, "invoice_number": i.invoice_number, "collected": yuan(i.collected), "status": i.status,
            "days_overdue": i.days_overdue, "dunning_level": i.dunning_level})).collect::<Vec<_>>(),
    })
}

async fn contracts_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let today = ctx.today().to_string();
    let items: Vec<Value> =
        contracts::contracts(&mut conn, &ctx.principal, &today).await?.iter().map(contract_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn contract_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let today = ctx.today().to_string();
    Ok(Json(contract_json(&contracts::contract(&mut conn, &ctx.principal, id, &today).await?)))
}

async fn create_api(ctx: Ctx, ApiJson(form): ApiJson<ContractForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = contracts::create(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, contract_api(ctx, Path(id)).await?).into_response())
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DateBody {
    #[serde(default)]
    date: String,
}

async fn invoice_api(
    ctx: Ctx,
    Path((id, seq)): Path<(i64, i64)>,
    ApiJson(b): ApiJson<DateBody>,
) -> AppResult<Response> {
    let date = if b.date.is_empty() { ctx.today().to_string() } else { b.date };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let invoice = contracts::invoice(&mut tx, &ctx.principal, id, seq, &date).await?;
    tx.commit().await?;
    let mut body = contract_api(ctx, Path(id)).await?.0;
    body["invoice_id"] = json!(invoice);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

async fn remind_api(ctx: Ctx, Path((id, seq)): Path<(i64, i64)>) -> AppResult<Json<Value>> {
    let today = ctx.today().to_string();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let level = contracts::remind(&mut tx, &ctx.principal, id, seq, &today).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "seq": seq, "dunning_level": level})))
}

async fn collection_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let today = ctx.today().to_string();
    let all = contracts::contracts(&mut conn, &ctx.principal, &today).await?;
    let items: Vec<Value> = all
        .iter()
        .map(|c| json!({"id": c.id, "number": c.number, "party_name": c.party_name, "value": yuan(c.value), "invoiced": yuan(c.invoiced()),
            "collected": yuan(c.collected()), "overdue": yuan(c.overdue()), "open": yuan(c.value - c.collected())}))
        .collect();
    let total = |f: fn(&Contract) -> i64| yuan(all.iter().map(f).sum());
    Ok(Json(json!({"items": items, "totals": {"value": total(|c| c.value), "invoiced": total(Contract::invoiced),
        "collected": total(Contract::collected), "overdue": total(Contract::overdue)}})))
}

// ---- Pages ----

#[derive(Template)]
#[template(path = "crm/contracts.html")]
struct ContractsPage {
    page: PageCtx,
    contracts: Vec<Contract>,
    customers: Vec<(i64, String)>,
    form: ContractForm,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl ContractsPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    /// The plan's rows as (index, due date, amount): those of a refused form as typed (rows
    /// left empty dropped, so each refusal's index is its row), then empty ones, four at least.
    fn instalment_rows(&self) -> Vec<(usize, &str, &str)> {
        let mut rows: Vec<(usize, &str, &str)> = self
            .form
            .instalments
            .iter()
            .enumerate()
            .map(|(i, r)| (i, r.due_date.as_str(), r.amount.as_str()))
            .collect();
        while rows.len() < 4 {
            rows.push((rows.len(), "", ""));
        }
        rows
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn contracts_view(ctx: &Ctx, form: ContractForm, errors: Vec<(String, String)>) -> AppResult<ContractsPage> {
    let mut conn = conn(ctx).await?;
    let today = ctx.today().to_string();
    let contracts = contracts::contracts(&mut conn, &ctx.principal, &today).await?;
    drop(conn);
    Ok(ContractsPage {
        page: PageCtx::new(ctx, "crm.contracts", "/crm/contracts").await?,
        contracts,
        customers: super::customers(ctx).await?,
        form,
        errors,
        can_manage: ctx.principal.may(crate::service::OPPORTUNITY_MANAGE),
    })
}

async fn contracts_page(ctx: Ctx) -> AppResult<Response> {
    render(&contracts_view(&ctx, ContractForm::default(), Vec::new()).await?)
}

async fn create_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let instalments = pairs
        .rows(&["due_date", "amount"])
        .into_iter()
        .filter(|[d, a]| !(d.trim().is_empty() && a.trim().is_empty()))
        .map(|[due_date, amount]| InstalmentForm { due_date, amount })
        .collect();
    let form = ContractForm {
        party_id: pairs.get("party_id").and_then(|p| p.parse().ok()).unwrap_or(0),
        title: pairs.text("title"),
        value: pairs.text("value"),
        vat_rate: pairs.text("vat_rate"),
        start_date: pairs.text("start_date"),
        end_date: pairs.text("end_date"),
        terms: pairs.text("terms"),
        instalments,
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = contracts::create(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/crm/contracts/{id}"), "common.created"),
        async |errors| {
            let text = field_messages(&ctx, &errors);
            contracts_view(&ctx, form, text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "crm/contract.html")]
struct ContractPage {
    page: PageCtx,
    c: Contract,
    today: String,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl ContractPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn contract_view(ctx: &Ctx, id: i64, errors: Vec<(String, String)>) -> AppResult<ContractPage> {
    let mut conn = conn(ctx).await?;
    let today = ctx.today().to_string();
    let c = contracts::contract(&mut conn, &ctx.principal, id, &today).await?;
    drop(conn);
    Ok(ContractPage {
        page: PageCtx::new(ctx, "crm.contract", "/crm/contracts").await?.titled(format!("{} {}", c.number, c.title)),
        c,
        today,
        errors,
        can_manage: ctx.principal.may(crate::service::OPPORTUNITY_MANAGE),
    })
}

async fn contract_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    render(&contract_view(&ctx, id, Vec::new()).await?)
}

async fn instalment_page(
    ctx: Ctx,
    Path((id, seq, action)): Path<(i64, i64, String)>,
    pairs: FormPairs,
) -> AppResult<Response> {
    let today = ctx.today().to_string();
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = match action.as_str() {
        "invoice" => {
            let date = pairs.get("date").filter(|d| !d.is_empty()).map(str::to_string).unwrap_or(today);
            contracts::invoice(&mut tx, &ctx.principal, id, seq, &date).await.map(|_| ())
        }
        "remind" => contracts::remind(&mut tx, &ctx.principal, id, seq, &today).await.map(|_| ()),
        _ => return Err(DomainError::NotFound("action").into()),
    };
    finish_form(
        &ctx,
        tx,
        outcome,
        |()| (format!("/crm/contracts/{id}"), "common.saved"),
        async |errors| {
            let text = field_messages(&ctx, &errors);
            contract_view(&ctx, id, text).await
        },
    )
    .await
}
