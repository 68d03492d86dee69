//! `/api/v1/parties`: the same operations as the pages, as JSON.

use crate::domain::PartyForm;
use crate::service::{self, CreateOutcome};
use crate::store::LIST_SPEC;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kernel::DomainError;
use serde_json::{json, Value};
use web::list::ListParams;
use web::openapi::{object, ApiRoute};
use web::{ApiJson, AppError, AppResult, Ctx};

fn party_schema() -> Value {
    json!({
        "type": "object",
        "required": ["kind", "name"],
        "properties": {
            "kind": {"enum": ["person", "organization"]},
            "name": {"type": "string", "maxLength": 200},
            "name_en": {"type": ["string", "null"]},
            "credit_code": {"type": ["string", "null"], "description": "Unified social credit code, 18 characters with check character"},
            "id_number": {"type": ["string", "null"], "description": "Resident ID; masked on read without party.party.read_sensitive"},
            "roles": {"type": "array", "items": {"enum": crate::domain::ROLES}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "contacts": {"type": "array", "items": {"type": "object", "properties": {"kind": {"enum": crate::domain::CONTACT_KINDS}, "value": {"type": "string"}, "label": {"type": "string"}}}},
            "addresses": {"type": "array", "items": {"type": "object", "properties": {"kind": {"enum": crate::domain::ADDRESS_KINDS}, "province": {"type": "string"}, "city": {"type": "string"}, "district": {"type": "string"}, "street": {"type": "string"}, "postcode": {"type": "string"}}}},
            "notes": {"type": "string"},
            "owner_id": {"type": ["integer", "null"]},
            "confirm_duplicates": {"type": "boolean"}
        }
    })
}

fn patch_schema() -> Value {
    let mut schema = party_schema();
    schema["required"] = json!(["version"]);
    schema["properties"]["version"] = json!({"type": "integer"});
    schema
}

fn page_schema() -> Value {
    json!({"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}, "next_cursor": {"type": ["string", "null"]}}})
}

pub fn docs() -> Vec<ApiRoute> {
    vec![
        ApiRoute {
            method: "GET",
            path: "/api/v1/parties",
            summary: "List parties (keyset pagination)",
            tag: "party",
            permission: Some(service::READ),
            query: &[
                ("q", "Substring of name or number; exact mobile, e-mail or credit code"),
                ("role", "customer, supplier, employee, patient or candidate"),
                ("tag", "A tag"),
                ("kind", "person or organization"),
                ("sort", "name, number or created_at; prefix - for descending"),
                ("limit", "1–500, default 50"),
                ("cursor", "next_cursor of the previous page"),
            ],
            request: None,
            response: page_schema,
        },
        ApiRoute {
            method: "POST",
            path: "/api/v1/parties",
            summary: "Create a party (409 /problems/duplicate unless confirm_duplicates)",
            tag: "party",
            permission: Some(service::CREATE),
            query: &[],
            request: Some(party_schema),
            response: object,
        },
        ApiRoute {
            method: "GET",
            path: "/api/v1/parties/{id}",
            summary: "Read a party",
            tag: "party",
            permission: Some(service::READ),
            query: &[],
            request: None,
            response: party_schema,
        },
        ApiRoute {
            method: "PATCH",
            path: "/api/v1/parties/{id}",
            summary: "Change a party; `version` must be current",
            tag: "party",
            permission: Some(service::UPDATE),
            query: &[],
            request: Some(patch_schema),
            response: party_schema,
        },
        ApiRoute {
            method: "GET",
            path: "/api/v1/parties/{id}/history",
            summary: "The party's change history from the audit chain",
            tag: "party",
            permission: Some(service::READ),
            query: &[],
            request: None,
            response: object,
        },
    ]
}

pub async fn list(ctx: Ctx, Query(pairs): Query<Vec<(String, String)>>) -> AppResult<Json<Value>> {
    let params = ListParams::parse(&pairs, &LIST_SPEC)?;
    let page = service::list(ctx.db(), &ctx.principal, &params).await?;
    Ok(Json(json!(page)))
}

pub async fn create(ctx: Ctx, ApiJson(form): ApiJson<PartyForm>) -> AppResult<Response> {
    match service::create(ctx.db(), &ctx.principal, &form).await? {
        CreateOutcome::Created(id) => {
            let party = service::get(ctx.db(), &ctx.principal, id).await?;
            Ok((StatusCode::CREATED, [(header::LOCATION, format!("/api/v1/parties/{id}"))], Json(json!(party)))
                .into_response())
        }
        CreateOutcome::PossibleDuplicates(found) => {
            let body = json!({
                "type": "/problems/duplicate",
                "title": "Possible duplicate",
                "status": 409,
                "detail": ctx.t("party.duplicate_warning"),
                "instance": "/api/v1/parties",
                "duplicates": found,
            });
            Ok((StatusCode::CONFLICT, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string())
                .into_response())
        }
    }
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::Domain(DomainError::NotFound("party")))
}

pub async fn get(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let party = service::get(ctx.db(), &ctx.principal, parse_id(&id)?).await?;
    Ok(Json(json!(party)))
}

/// Merges the given fields into the stored party and saves it, refusing a stale version.
pub async fn patch(ctx: Ctx, Path(id): Path<String>, ApiJson(body): ApiJson<Value>) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    let Value::Object(mut changes) = body else {
        return Err(AppError::Malformed { json: true, detail: "expected a JSON object".into() });
    };
    let version = changes
        .remove("version")
        .and_then(|v| v.as_i64())
        .ok_or_else(|| AppError::Domain(DomainError::invalid("version", "error.required", "")))?;
    let current = service::load(ctx.db(), &ctx.principal, id).await?;
    let mut merged = serde_json::to_value(service::form_of(&current))
        .map_err(|e| AppError::Domain(DomainError::Internal(e.to_string())))?;
    for (key, value) in changes {
        merged[key] = value;
    }
    let form: PartyForm =
        serde_json::from_value(merged).map_err(|e| AppError::Malformed { json: true, detail: e.to_string() })?;
    service::update(ctx.db(), &ctx.principal, id, version, &form).await?;
    let party = service::get(ctx.db(), &ctx.principal, id).await?;
    Ok(Json(json!(party)))
}

pub async fn history(ctx: Ctx, Path(id): Path<String>) -> AppResult<Json<Value>> {
    let id = parse_id(&id)?;
    // Reading the history needs the right to read the party itself.
    service::load(ctx.db(), &ctx.principal, id).await?;
    let entries = db::audit::list(
        ctx.db(),
        &db::audit::AuditFilter {
            company_id: Some(ctx.company_id()),
            resource: Some("party.party".into()),
            resource_id: Some(id.to_string()),
            limit: 500,
            ..Default::default()
        },
    )
    .await?;
    let items: Vec<Value> = entries
        .iter()
        .filter(|e| e.record.action != "read")
        .map(|e| {
            json!({
                "seq": e.record.seq,
                "at": e.record.at,
                "actor": e.record.actor,
                "action": e.record.action,
                "changes": serde_json::from_str::<Value>(&e.record.changes).unwrap_or(Value::Null),
            })
        })
        .collect();
    Ok(Json(json!({"items": items})))
}
