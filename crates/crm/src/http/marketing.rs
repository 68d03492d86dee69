//! Segment and campaign pages and API.

use super::conn;
use crate::marketing::{self, Campaign, CampaignForm, Effect, Segment, SegmentForm};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use finance::domain::yuan;
use serde::Deserialize;
use serde_json::{json, Value};
use web::openapi::{object, ApiRoute};
use web::page::{field_messages, finish_form, flash_redirect, message_for, render};
use web::{ApiJson, AppResult, AppState, Ctx, FormPairs, PageCtx};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/crm/segments", get(segments_page).post(create_segment_page))
        .route("/crm/segments/{id}", get(segment_page))
        .route("/crm/campaigns", get(campaigns_page).post(create_campaign_page))
        .route("/crm/campaigns/{id}", get(campaign_page))
        .route("/crm/campaigns/{id}/launch", post(launch_page))
        .route("/api/v1/crm/segments", get(segments_api).post(create_segment_api))
        .route("/api/v1/crm/segments/{id}/members", get(members_api))
        .route("/api/v1/crm/segments/{id}/export", get(export_api))
        .route("/api/v1/crm/campaigns", get(campaigns_api).post(create_campaign_api))
        .route("/api/v1/crm/campaigns/{id}", get(campaign_api))
        .route("/api/v1/crm/campaigns/{id}/launch", post(launch_api))
        .route("/api/v1/crm/campaigns/{id}/effect", get(effect_api))
}

pub fn docs() -> Vec<ApiRoute> {
    use marketing::{MANAGE, READ};
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
        route("GET", "/api/v1/crm/segments", "Segments with their live member counts", READ, None),
        route("POST", "/api/v1/crm/segments", "Save a segment's rules", MANAGE, Some(object)),
        ApiRoute {
            query: &[("after", "The last party id seen (paging)"), ("limit", "Members, 1–1000 (default 100)")],
            ..route("GET", "/api/v1/crm/segments/{id}/members", "A segment's members today, evaluated live", READ, None)
        },
        route(
            "GET",
            "/api/v1/crm/segments/{id}/export",
            "A segment's members as CSV for the sending channel",
            MANAGE,
            None,
        ),
        route("GET", "/api/v1/crm/campaigns", "Campaigns", READ, None),
        route("POST", "/api/v1/crm/campaigns", "Plan a campaign", MANAGE, Some(object)),
        route("GET", "/api/v1/crm/campaigns/{id}", "A campaign with its effect", READ, None),
        route(
            "POST",
            "/api/v1/crm/campaigns/{id}/launch",
            "Launch: record the segment's members as touched",
            MANAGE,
            None,
        ),
        route(
            "GET",
            "/api/v1/crm/campaigns/{id}/effect",
            "Responses, leads, new customers, conversion, attributed revenue, cost per lead, ROI",
            READ,
            None,
        ),
    ]
}

fn segment_json(s: &Segment, count: i64) -> Value {
    json!({"id": s.id, "name": s.name, "min_spend_12m": s.min_spend_12m.map(yuan), "region": s.region, "tag": s.tag,
        "no_purchase_since": s.no_purchase_since, "members": count})
}

fn effect_json(e: &Effect) -> Value {
    let percent = crate::domain::hundredths;
    json!({"touched": e.touched, "responses": e.responses, "leads": e.leads, "new_customers": e.new_customers,
        "conversion_rate": percent(e.conversion_bp), "revenue": yuan(e.revenue), "budget": yuan(e.budget),
        "cost_per_lead": e.cost_per_lead.map(yuan), "roi": e.roi_bp.map(percent)})
}

fn campaign_json(c: &Campaign) -> Value {
    json!({"id": c.id, "code": c.code, "name": c.name, "channel": c.channel, "budget": yuan(c.budget), "start_date": c.start_date,
        "end_date": c.end_date, "segment_id": c.segment_id, "segment_name": c.segment_name, "status": c.status})
}

async fn segments_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let mut items = Vec::new();
    for s in marketing::segments(&mut conn, &ctx.principal).await? {
        let n = marketing::count(&mut conn, &ctx.principal, &s, ctx.today()).await?;
        items.push(segment_json(&s, n));
    }
    Ok(Json(json!({"items": items})))
}

async fn create_segment_api(ctx: Ctx, ApiJson(form): ApiJson<SegmentForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = marketing::create_segment(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    let segment = marketing::segment(&mut conn, &ctx.principal, id).await?;
    let n = marketing::count(&mut conn, &ctx.principal, &segment, ctx.today()).await?;
    Ok((StatusCode::CREATED, Json(segment_json(&segment, n))).into_response())
}

#[derive(Deserialize, Default)]
pub struct PageQuery {
    after: Option<i64>,
    limit: Option<i64>,
}

async fn members_api(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<PageQuery>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let segment = marketing::segment(&mut conn, &ctx.principal, id).await?;
    let total = marketing::count(&mut conn, &ctx.principal, &segment, ctx.today()).await?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1_000);
    let items =
        marketing::members(&mut conn, &ctx.principal, &segment, ctx.today(), q.after.unwrap_or(0), limit).await?;
    let next = (items.len() as i64 == limit).then(|| items.last().map(|m| m.party_id)).flatten();
    Ok(Json(json!({"total": total, "items": items, "next_after": next})))
}

async fn export_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let csv = marketing::export_csv(&mut tx, &ctx.principal, id, ctx.today()).await?;
    tx.commit().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"segment.csv\""),
        ],
        csv,
    )
        .into_response())
}

async fn campaigns_api(ctx: Ctx) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let items: Vec<Value> = marketing::campaigns(&mut conn, &ctx.principal).await?.iter().map(campaign_json).collect();
    Ok(Json(json!({"items": items})))
}

async fn create_campaign_api(ctx: Ctx, ApiJson(form): ApiJson<CampaignForm>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let id = marketing::create_campaign(&mut tx, &ctx.principal, &form).await?;
    tx.commit().await?;
    let mut conn = conn(&ctx).await?;
    Ok((StatusCode::CREATED, Json(campaign_json(&marketing::campaign(&mut conn, &ctx.principal, id).await?)))
        .into_response())
}

async fn campaign_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    let campaign = marketing::campaign(&mut conn, &ctx.principal, id).await?;
    let effect = marketing::effect(&mut conn, &ctx.principal, id).await?;
    let mut body = campaign_json(&campaign);
    body["effect"] = effect_json(&effect);
    Ok(Json(body))
}

async fn effect_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut conn = conn(&ctx).await?;
    Ok(Json(effect_json(&marketing::effect(&mut conn, &ctx.principal, id).await?)))
}

async fn launch_api(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Json<Value>> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let touched = marketing::launch(&mut tx, &ctx.principal, id, ctx.today()).await?;
    tx.commit().await?;
    Ok(Json(json!({"id": id, "status": "running", "touched": touched})))
}

// ---- Pages ----

#[derive(Template)]
#[template(path = "crm/segments.html")]
struct SegmentsPage {
    page: PageCtx,
    segments: Vec<(Segment, i64)>,
    form: SegmentForm,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl SegmentsPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

async fn segments_view(ctx: &Ctx, form: SegmentForm, errors: Vec<(String, String)>) -> AppResult<SegmentsPage> {
    let mut conn = conn(ctx).await?;
    let mut segments = Vec::new();
    for s in marketing::segments(&mut conn, &ctx.principal).await? {
        let n = marketing::count(&mut conn, &ctx.principal, &s, ctx.today()).await?;
        segments.push((s, n));
    }
    drop(conn);
    Ok(SegmentsPage {
        page: PageCtx::new(ctx, "crm.segments", "/crm/segments").await?,
        segments,
        form,
        errors,
        can_manage: ctx.principal.may(marketing::MANAGE),
    })
}

async fn segments_page(ctx: Ctx) -> AppResult<Response> {
    render(&segments_view(&ctx, SegmentForm::default(), Vec::new()).await?)
}

async fn create_segment_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = SegmentForm {
        name: pairs.text("name"),
        min_spend_12m: pairs.text("min_spend_12m"),
        region: pairs.text("region"),
        tag: pairs.text("tag"),
        no_purchase_since: pairs.text("no_purchase_since"),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = marketing::create_segment(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/crm/segments/{id}"), "common.created"),
        async |errors| {
            let text = field_messages(&ctx, &errors);
            segments_view(&ctx, form, text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "crm/segment.html")]
struct SegmentPage {
    page: PageCtx,
    segment: Segment,
    total: i64,
    members: Vec<marketing::Member>,
    next: Option<i64>,
    can_manage: bool,
}

async fn segment_page(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<PageQuery>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let segment = marketing::segment(&mut conn, &ctx.principal, id).await?;
    let total = marketing::count(&mut conn, &ctx.principal, &segment, ctx.today()).await?;
    let members =
        marketing::members(&mut conn, &ctx.principal, &segment, ctx.today(), q.after.unwrap_or(0), 100).await?;
    drop(conn);
    let next = (members.len() == 100).then(|| members.last().map(|m| m.party_id)).flatten();
    render(&SegmentPage {
        page: PageCtx::new(&ctx, "crm.segment", "/crm/segments").await?.titled(segment.name.clone()),
        segment,
        total,
        members,
        next,
        can_manage: ctx.principal.may(marketing::MANAGE),
    })
}

#[derive(Template)]
#[template(path = "crm/campaigns.html")]
struct CampaignsPage {
    page: PageCtx,
    campaigns: Vec<Campaign>,
    segments: Vec<Segment>,
    channels: [&'static str; 6],
    form: CampaignForm,
    errors: Vec<(String, String)>,
    can_manage: bool,
}

impl CampaignsPage {
    fn error(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }
}

async fn campaigns_view(ctx: &Ctx, form: CampaignForm, errors: Vec<(String, String)>) -> AppResult<CampaignsPage> {
    let mut conn = conn(ctx).await?;
    let campaigns = marketing::campaigns(&mut conn, &ctx.principal).await?;
    let segments = marketing::segments(&mut conn, &ctx.principal).await?;
    drop(conn);
    Ok(CampaignsPage {
        page: PageCtx::new(ctx, "crm.campaigns", "/crm/campaigns").await?,
        campaigns,
        segments,
        channels: marketing::CHANNELS,
        form,
        errors,
        can_manage: ctx.principal.may(marketing::MANAGE),
    })
}

async fn campaigns_page(ctx: Ctx) -> AppResult<Response> {
    render(&campaigns_view(&ctx, CampaignForm::default(), Vec::new()).await?)
}

async fn create_campaign_page(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = CampaignForm {
        code: pairs.text("code"),
        name: pairs.text("name"),
        channel: pairs.text("channel"),
        budget: pairs.text("budget"),
        start_date: pairs.text("start_date"),
        end_date: pairs.text("end_date"),
        segment_id: pairs.get("segment_id").and_then(|s| s.parse().ok()),
    };
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    let outcome = marketing::create_campaign(&mut tx, &ctx.principal, &form).await;
    finish_form(
        &ctx,
        tx,
        outcome,
        |id| (format!("/crm/campaigns/{id}"), "common.created"),
        async |errors| {
            let text = field_messages(&ctx, &errors);
            campaigns_view(&ctx, form, text).await
        },
    )
    .await
}

#[derive(Template)]
#[template(path = "crm/campaign.html")]
struct CampaignPage {
    page: PageCtx,
    c: Campaign,
    e: Effect,
    can_manage: bool,
}

impl CampaignPage {
    fn percent(&self, bp: impl std::borrow::Borrow<i64>) -> String {
        format!("{}%", crate::domain::hundredths(*bp.borrow()))
    }

    fn money(&self, fen: impl std::borrow::Borrow<i64>) -> String {
        self.page.money(fen.borrow())
    }
}

async fn campaign_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut conn = conn(&ctx).await?;
    let c = marketing::campaign(&mut conn, &ctx.principal, id).await?;
    let e = marketing::effect(&mut conn, &ctx.principal, id).await?;
    drop(conn);
    render(&CampaignPage {
        page: PageCtx::new(&ctx, "crm.campaigns", "/crm/campaigns").await?.titled(c.name.clone()),
        c,
        e,
        can_manage: ctx.principal.may(marketing::MANAGE),
    })
}

async fn launch_page(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut tx = ctx.db().begin(ctx.actor()).await?;
    marketing::launch(&mut tx, &ctx.principal, id, ctx.today()).await?;
    tx.commit().await?;
    Ok(flash_redirect(&ctx, &format!("/crm/campaigns/{id}"), "common.saved"))
}
