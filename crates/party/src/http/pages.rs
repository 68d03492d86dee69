//! Party pages: the list with search, filters, sort, keyset pages and CSV export; the
//! detail page with its history; the form for new and existing parties. Everything works
//! without JavaScript.

use crate::domain::{Address, Contact, PartyForm, ADDRESS_KINDS, CONTACT_KINDS, ROLES};
use crate::service::{self, CreateOutcome, Duplicate};
use crate::store::{Party, PartyRow, LIST_SPEC};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use kernel::error::FieldError;
use kernel::DomainError;
use web::list::ListParams;
use web::page::{render, render_status, Choice, HistoryEntry};
use web::{AppError, AppResult, Ctx, FieldView, FormBuilder, FormPairs, PageCtx};

#[derive(Template)]
#[template(path = "party/party_list.html")]
struct ListPage {
    page: PageCtx,
    items: Vec<PartyRow>,
    q: String,
    role: String,
    tag: String,
    sort: String,
    roles: Vec<(String, String)>,
    sorts: Vec<(String, String)>,
    tags: Vec<String>,
    next_link: Option<String>,
    first_link: Option<String>,
    export_link: String,
    can_create: bool,
    can_export: bool,
}

pub async fn list(ctx: Ctx, Query(pairs): Query<Vec<(String, String)>>) -> AppResult<Response> {
    let params = ListParams::parse(&pairs, &LIST_SPEC)?;
    let page_data = service::list(ctx.db(), &ctx.principal, &params).await?;
    let mut conn = ctx.db().read_conn().await?;
    let tags = crate::store::tags_in_use(&mut conn, ctx.company_id()).await?;
    drop(conn);
    let page = PageCtx::new(&ctx, "party.list", "/parties").await?;
    let sort_value = format!("{}{}", if params.descending { "-" } else { "" }, params.sort);
    render(&ListPage {
        items: page_data.items,
        q: params.q.clone().unwrap_or_default(),
        role: params.filter("role").unwrap_or_default().to_string(),
        tag: params.filter("tag").unwrap_or_default().to_string(),
        roles: ROLES.iter().map(|r| (r.to_string(), page.t(&format!("party.role.{r}")))).collect(),
        sorts: ["name", "number", "created_at", "-created_at"]
            .iter()
            .map(|s| (s.to_string(), page.t(&format!("party.sort.{s}"))))
            .collect(),
        sort: sort_value,
        tags,
        next_link: page_data.next_cursor.map(|c| format!("/parties?{}", params.query_string(&[("cursor", &c)]))),
        first_link: params.cursor.as_ref().map(|_| format!("/parties?{}", params.query_string(&[]))),
        export_link: format!("/parties/export.csv?{}", params.query_string(&[])),
        can_create: ctx.principal.may(service::CREATE),
        can_export: ctx.principal.may(service::EXPORT),
        page,
    })
}

pub async fn export(ctx: Ctx, Query(pairs): Query<Vec<(String, String)>>) -> AppResult<Response> {
    let params = ListParams::parse(&pairs, &LIST_SPEC)?;
    let bytes = service::export_csv(ctx.db(), &ctx.principal, &params, ctx.lang, &ctx.state.messages).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"parties.csv\""),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "party/party_detail.html")]
struct DetailPage {
    page: PageCtx,
    party: Party,
    kind: String,
    roles: Vec<String>,
    contacts: Vec<(String, String, String)>,
    addresses: Vec<(String, String)>,
    history: Vec<HistoryEntry>,
    can_edit: bool,
}

fn parse_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::Domain(DomainError::NotFound("party")))
}

pub async fn detail(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let party = service::get(ctx.db(), &ctx.principal, id).await?;
    let history = web::page::history(&ctx, "party.party", &id.to_string()).await?;
    let page = PageCtx::new(&ctx, "party.list", "/parties").await?.titled(party.name.clone());
    render(&DetailPage {
        kind: page.t(&format!("party.kind.{}", party.kind)),
        roles: party.roles.iter().map(|r| page.t(&format!("party.role.{r}"))).collect(),
        contacts: party
            .contacts
            .iter()
            .map(|c| (page.t(&format!("party.contact.{}", c.kind)), c.value.clone(), c.label.clone()))
            .collect(),
        addresses: party
            .addresses
            .iter()
            .map(|a| {
                (
                    page.t(&format!("party.address.{}", a.kind)),
                    format!("{}{}{} {} {}", a.province, a.city, a.district, a.street, a.postcode).trim().to_string(),
                )
            })
            .collect(),
        can_edit: ctx.principal.may(service::UPDATE),
        history,
        party,
        page,
    })
}

#[derive(Template)]
#[template(path = "party/party_form.html")]
struct FormPage {
    page: PageCtx,
    action: String,
    version: i64,
    fields: Vec<FieldView>,
    contact_rows: Vec<ContactRow>,
    address_rows: Vec<AddressRow>,
    general_errors: Vec<String>,
    duplicates: Vec<Duplicate>,
}

/// A contact line of the form: kind choices, value, label and its message.
struct ContactRow {
    kinds: Vec<Choice>,
    value: String,
    label: String,
    error: Option<String>,
}

/// An address line of the form.
struct AddressRow {
    kinds: Vec<Choice>,
    address: Address,
    error: Option<String>,
}

/// Reads the form: repeated `contact_*` and `addr_*` fields make the rows, tags are comma
/// separated (either comma).
fn form_from_pairs(pairs: &FormPairs) -> PartyForm {
    let kinds = pairs.all("contact_kind");
    let values = pairs.all("contact_value");
    let labels = pairs.all("contact_label");
    let contacts = kinds
        .iter()
        .zip(values.iter())
        .enumerate()
        .map(|(i, (kind, value))| Contact {
            kind: kind.clone(),
            value: value.clone(),
            label: labels.get(i).cloned().unwrap_or_default(),
        })
        .filter(|c| !c.value.trim().is_empty())
        .collect();
    let column = |name: &str| pairs.all(name);
    let (a_kind, a_province, a_city, a_district, a_street, a_postcode) = (
        column("addr_kind"),
        column("addr_province"),
        column("addr_city"),
        column("addr_district"),
        column("addr_street"),
        column("addr_postcode"),
    );
    let addresses = (0..a_kind.len())
        .map(|i| Address {
            kind: a_kind[i].clone(),
            country: "CN".into(),
            province: a_province.get(i).cloned().unwrap_or_default(),
            city: a_city.get(i).cloned().unwrap_or_default(),
            district: a_district.get(i).cloned().unwrap_or_default(),
            street: a_street.get(i).cloned().unwrap_or_default(),
            postcode: a_postcode.get(i).cloned().unwrap_or_default(),
        })
        .filter(|a| {
            !(a.street.trim().is_empty()
                && a.province.trim().is_empty()
                && a.city.trim().is_empty()
                && a.district.trim().is_empty())
        })
        .collect();
    PartyForm {
        kind: pairs.text("kind"),
        name: pairs.text("name"),
        name_en: pairs.get("name_en").map(str::to_string),
        credit_code: pairs.get("credit_code").map(str::to_string),
        id_number: pairs.get("id_number").map(str::to_string),
        roles: pairs.all("roles"),
        tags: pairs.text("tags").split([',', '，']).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
        contacts,
        addresses,
        notes: pairs.text("notes"),
        owner_id: None,
        confirm_duplicates: pairs.get("confirm_duplicates") == Some("true"),
    }
}

async fn form_page(
    ctx: &Ctx,
    action: String,
    version: i64,
    form: &PartyForm,
    errors: &[FieldError],
    duplicates: Vec<Duplicate>,
    title_key: &str,
) -> AppResult<FormPage> {
    let page = PageCtx::new(ctx, title_key, "/parties").await?;
    let mut b = FormBuilder::new(ctx, errors);
    b.choice(
        "select",
        "kind",
        "party.kind",
        ["organization", "person"]
            .iter()
            .map(|k| (k.to_string(), format!("party.kind.{k}"), form.kind == *k))
            .collect(),
    );
    b.field("text", "name", "party.name", &form.name, true);
    b.field("text", "name_en", "party.name_en", form.name_en.as_deref().unwrap_or(""), false);
    b.field("text", "credit_code", "party.credit_code", form.credit_code.as_deref().unwrap_or(""), false);
    b.field("text", "id_number", "party.id_number", form.id_number.as_deref().unwrap_or(""), false);
    b.choice(
        "checkboxes",
        "roles",
        "party.roles",
        ROLES.iter().map(|r| (r.to_string(), format!("party.role.{r}"), form.roles.iter().any(|x| x == r))).collect(),
    );
    b.field("text", "tags", "party.tags", &form.tags.join(", "), false).hint("party.tags_hint");
    b.field("textarea", "notes", "party.notes", &form.notes, false);
    let general_errors = b.general_errors();
    let fields = b.finish();
    let message = |field: &str| -> Option<String> {
        let found: Vec<String> = errors
            .iter()
            .filter(|e| e.field == field)
            .map(|e| ctx.state.messages.format(ctx.lang, e.key, &e.detail))
            .collect();
        if found.is_empty() {
            None
        } else {
            Some(found.join("; "))
        }
    };
    let kind_options = |selected: &str, kinds: &[&str], prefix: &str| -> Vec<Choice> {
        kinds.iter().map(|k| (k.to_string(), ctx.t(&format!("{prefix}.{k}")), *k == selected)).collect()
    };
    let mut contacts = form.contacts.clone();
    contacts.push(Contact { kind: "mobile".into(), ..Default::default() });
    contacts.push(Contact { kind: "email".into(), ..Default::default() });
    let contact_rows = contacts
        .iter()
        .enumerate()
        .map(|(i, c)| ContactRow {
            kinds: kind_options(&c.kind, &CONTACT_KINDS, "party.contact"),
            value: c.value.clone(),
            label: c.label.clone(),
            error: message(&format!("contacts[{i}]")),
        })
        .collect();
    let mut addresses = form.addresses.clone();
    addresses.push(Address { kind: "office".into(), country: "CN".into(), ..Default::default() });
    let address_rows = addresses
        .iter()
        .enumerate()
        .map(|(i, a)| AddressRow {
            kinds: kind_options(&a.kind, &ADDRESS_KINDS, "party.address"),
            address: a.clone(),
            error: message(&format!("addresses[{i}]")),
        })
        .collect();
    // Errors on rows are shown on the rows; do not repeat them at the top.
    let general_errors = general_errors
        .into_iter()
        .filter(|m: &String| {
            !errors.iter().any(|e| {
                (e.field.starts_with("contacts[") || e.field.starts_with("addresses["))
                    && ctx.state.messages.format(ctx.lang, e.key, &e.detail) == *m
            })
        })
        .collect();
    Ok(FormPage { page, action, version, fields, contact_rows, address_rows, general_errors, duplicates })
}

pub async fn new(ctx: Ctx) -> AppResult<Response> {
    ctx.require(service::CREATE)?;
    let form = PartyForm { kind: "organization".into(), roles: vec!["customer".into()], ..Default::default() };
    render(&form_page(&ctx, "/parties".into(), 0, &form, &[], Vec::new(), "party.new").await?)
}

pub async fn create(ctx: Ctx, pairs: FormPairs) -> AppResult<Response> {
    let form = form_from_pairs(&pairs);
    match service::create(ctx.db(), &ctx.principal, &form).await {
        Ok(CreateOutcome::Created(id)) => {
            Ok(web::page::flash_redirect(&ctx, &format!("/parties/{id}"), "common.created"))
        }
        Ok(CreateOutcome::PossibleDuplicates(found)) => {
            let page = form_page(&ctx, "/parties".into(), 0, &form, &[], found, "party.new").await?;
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            let page = form_page(&ctx, "/parties".into(), 0, &form, &errors, Vec::new(), "party.new").await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> AppResult<Response> {
    let id = parse_id(&id)?;
    ctx.require(service::UPDATE)?;
    let party = service::get(ctx.db(), &ctx.principal, id).await?;
    let form = service::form_of(&party);
    render(&form_page(&ctx, format!("/parties/{id}"), party.version, &form, &[], Vec::new(), "party.edit").await?)
}

pub async fn save(ctx: Ctx, Path(id): Path<String>, pairs: FormPairs) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let form = form_from_pairs(&pairs);
    let version: i64 = pairs.get("version").and_then(|v| v.parse().ok()).unwrap_or(0);
    match service::update(ctx.db(), &ctx.principal, id, version, &form).await {
        Ok(()) => Ok(web::page::flash_redirect(&ctx, &format!("/parties/{id}"), "common.saved")),
        Err(db::Error::Domain(DomainError::Invalid(errors))) => {
            let page =
                form_page(&ctx, format!("/parties/{id}"), version, &form, &errors, Vec::new(), "party.edit").await?;
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        Err(db::Error::Domain(DomainError::StaleVersion { .. })) => {
            let errors = vec![FieldError::new("version", "error.stale_version", "")];
            let page =
                form_page(&ctx, format!("/parties/{id}"), version, &form, &errors, Vec::new(), "party.edit").await?;
            render_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}
