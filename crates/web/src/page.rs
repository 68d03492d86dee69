//! Shared page components: the layout context every page template receives, form fields
//! with their messages, the change-history timeline and the flash message. Modules build
//! their pages from these, so every page has the same menu, switches and behaviour.

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::i18n::Messages;
use crate::FormPairs;
use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use kernel::error::FieldError;
use kernel::Lang;
use serde_json::Value;
use std::sync::Arc;

/// A menu entry as shown.
#[derive(Debug, Clone)]
pub struct MenuEntry {
    pub label: String,
    pub href: &'static str,
    pub active: bool,
}

/// What a printed report carries above and below its table: the reporting period and unit
/// under the title, the statutory form number (会企01表) on the right, and the signature line
/// a Chinese statement is signed on.
#[derive(Debug, Clone, Default)]
pub struct ReportHeading {
    pub subtitle: String,
    pub form_number: String,
    pub signatures: bool,
}

#[derive(Debug, Clone)]
pub struct MenuSectionView {
    pub title: String,
    pub entries: Vec<MenuEntry>,
}

/// What the layout needs: language, title, the user's companies, the menu the user may
/// see, the CSRF token for forms, a flash message.
#[derive(Clone)]
pub struct PageCtx {
    pub lang: Lang,
    pub title: String,
    pub user_name: String,
    pub company_id: i64,
    pub companies: Vec<(i64, String)>,
    pub menu: Vec<MenuSectionView>,
    pub csrf: String,
    pub flash: Option<String>,
    pub path: String,
    /// This page's own address (path and query), where the language switch returns to.
    pub here: String,
    /// Set on reports: the page prints as the report itself (heading, company, signatures).
    pub report: Option<ReportHeading>,
    messages: Arc<Messages>,
}

/// The label of a VAT rate choice: `13%`, or the message key of exemption, which
/// [`PageCtx::t`] and [`FormBuilder::choice`] translate (免税, Exempt).
pub fn vat_choice_label(choice: &str) -> String {
    match choice {
        "exempt" => "vat.exempt".into(),
        percent => format!("{percent}%"),
    }
}

impl PageCtx {
    pub async fn new(ctx: &Ctx, title_key: &str, path: &str) -> AppResult<PageCtx> {
        let companies = crate::accounts::companies_of(ctx.db(), ctx.principal.user_id.0).await?;
        let menu = ctx
            .state
            .menu
            .iter()
            .map(|section| MenuSectionView {
                title: ctx.t(section.title_key),
                entries: section
                    .items
                    .iter()
                    .enumerate()
                    // An entry without a permission is for every signed-in user (their own payslips).
                    .filter(|(_, item)| item.permission.is_empty() || ctx.principal.may(item.permission))
                    // A page listed once per grant that opens it is shown once.
                    .filter(|(i, item)| {
                        !section.items[..*i].iter().any(|e| {
                            e.href == item.href && (e.permission.is_empty() || ctx.principal.may(e.permission))
                        })
                    })
                    .map(|(_, item)| MenuEntry {
                        label: ctx.t(item.label_key),
                        href: item.href,
                        active: path == item.href || path.starts_with(&format!("{}/", item.href)),
                    })
                    .collect(),
            })
            .filter(|s| !s.entries.is_empty())
            .collect();
        Ok(PageCtx {
            lang: ctx.lang,
            title: ctx.t(title_key),
            user_name: ctx
                .session
                .as_ref()
                .map(|s| s.display_name.clone())
                .unwrap_or_else(|| ctx.principal.login.clone()),
            company_id: ctx.company_id(),
            companies,
            menu,
            csrf: ctx.csrf.clone(),
            flash: ctx.flash.as_ref().map(|k| ctx.t(k)),
            path: path.to_string(),
            here: ctx.target.clone(),
            report: None,
            messages: ctx.state.messages.clone(),
        })
    }

    /// A page outside the signed-in area (login, errors).
    pub fn public(messages: Arc<Messages>, lang: Lang, title_key: &str, csrf: String) -> PageCtx {
        PageCtx {
            lang,
            title: messages.get(lang, title_key),
            user_name: String::new(),
            company_id: 0,
            companies: Vec::new(),
            menu: Vec::new(),
            csrf,
            flash: None,
            path: String::new(),
            here: String::from("/"),
            report: None,
            messages,
        }
    }

    pub fn t(&self, key: &str) -> String {
        self.messages.get(self.lang, key)
    }

    /// A message with its `{0}` filled.
    pub fn tf(&self, key: &str, detail: &str) -> String {
        self.messages.format(self.lang, key, detail)
    }

    pub fn lang_tag(&self) -> &'static str {
        self.lang.tag()
    }

    /// A stored VAT rate as pages show it: `13%`, `0%`, and 免税 (Exempt) for an exempt line.
    pub fn vat_rate(&self, rate_bp: &i64) -> String {
        self.vat_choice(&kernel::vat::choice(*rate_bp))
    }

    /// A form's VAT rate choice ([`kernel::vat::RATE_CHOICES`]) as its option reads.
    pub fn vat_choice(&self, choice: &str) -> String {
        self.t(&vat_choice_label(choice))
    }

    /// An amount in fen as pages show money: `1,234.50`, and blank for zero so a ledger
    /// column reads cleanly.
    pub fn money(&self, fen: &i64) -> String {
        if *fen == 0 {
            String::new()
        } else {
            kernel::Money::from_minor(*fen, kernel::Currency::CNY).to_string()
        }
    }

    /// The name of the company the page is for.
    pub fn company_name(&self) -> &str {
        self.companies.iter().find(|(id, _)| *id == self.company_id).map(|(_, name)| name.as_str()).unwrap_or("")
    }

    /// Makes the page a report that prints as one: `subtitle` (the period) under the title with
    /// the unit, the company as 编制单位, and with `form_number` a statutory statement's form
    /// number and signature line.
    pub fn as_report(mut self, subtitle: impl Into<String>, form_number: &str) -> Self {
        self.report = Some(ReportHeading {
            subtitle: subtitle.into(),
            form_number: form_number.to_string(),
            signatures: !form_number.is_empty(),
        });
        self
    }

    /// Replaces the title (for a record's own name).
    pub fn titled(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }
}

/// Refusals as (field, message in the user's language), for a page to show next to its fields.
pub fn field_messages(ctx: &Ctx, errors: &[FieldError]) -> Vec<(String, String)> {
    errors.iter().map(|e| (e.field.to_string(), ctx.state.messages.format(ctx.lang, e.key, &e.detail))).collect()
}

/// Refusals of one form on a page with several: each field named `<form>:<field>`, so the page
/// shows it beside that form's field.
pub fn within_form(form: &str, errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|mut e| {
            e.field = format!("{form}:{}", e.field);
            e
        })
        .collect()
}

/// The message for one field, if it was refused.
pub fn message_for<'a>(errors: &'a [(String, String)], field: &str) -> Option<&'a str> {
    errors.iter().find(|(f, _)| f == field).map(|(_, m)| m.as_str())
}

/// Messages for a public page (a job application, a web form): it has no session, so they are
/// in Chinese, the page's language.
pub fn public_messages(messages: &Messages, errors: &[FieldError]) -> Vec<(String, String)> {
    errors.iter().map(|e| (e.field.clone(), messages.format(Lang::ZhCn, e.key, &e.detail))).collect()
}

/// Every message for one field (a line of a table may be refused for several reasons).
pub fn messages_for<'a>(errors: &'a [(String, String)], field: &str) -> Vec<&'a str> {
    errors.iter().filter(|(f, _)| f == field).map(|(_, m)| m.as_str()).collect()
}

/// The form of a page that was just refused: its messages and the values it sent, so the page
/// shows that form again as typed with each message beside its field. On a page with several
/// forms each field is named `<form>:<field>`; with an empty form name (a page whose forms'
/// fields do not collide) fields keep their own names. Empty when the page is shown without a
/// refusal.
#[derive(Debug, Clone, Default)]
pub struct Refused {
    pub errors: Vec<(String, String)>,
    sent: Vec<(String, String)>,
}

impl Refused {
    pub fn new(ctx: &Ctx, form: &str, errors: Vec<FieldError>, sent: FormPairs) -> Self {
        if form.is_empty() {
            return Self { errors: field_messages(ctx, &errors), sent: sent.0 };
        }
        let sent = sent.0.into_iter().map(|(field, value)| (format!("{form}:{field}"), value)).collect();
        Self { errors: field_messages(ctx, &within_form(form, errors)), sent }
    }

    /// The message for `<form>:<field>` (or `<field>`), if that field was refused.
    pub fn message(&self, field: &str) -> Option<&str> {
        message_for(&self.errors, field)
    }

    /// Every message of one form, whichever field it names: for a form whose refusals name
    /// nothing typed into it (a button that posts or closes a month).
    pub fn messages_of(&self, form: &str) -> Vec<&str> {
        messages_within(&self.errors, form)
    }

    /// What the refused form sent in `<form>:<field>` (or `<field>`), if it was that form.
    fn sent(&self, field: &str) -> Option<&str> {
        self.sent.iter().find(|(f, _)| f == field).map(|(_, v)| v.as_str())
    }

    /// Whether the form refused under the name `form` was the one posted with `action`: a
    /// record's forms share its name (`review-12`), their hidden `action` tells them apart.
    pub fn sent_by(&self, form: &str, action: &str) -> bool {
        self.sent(&format!("{form}:action")) == Some(action)
    }

    /// What `form` held in `field` when it was `action`'s form that was refused (an
    /// interview's notes are not an offer's), else `usual`.
    pub fn typed_in(&self, form: &str, action: &str, field: &str, usual: &str) -> String {
        if self.sent_by(form, action) {
            self.typed(&format!("{form}:{field}"), usual)
        } else {
            usual.to_string()
        }
    }

    /// Everything the refused form sent in a field that repeats (one per row of a table), in
    /// order; empty when that form was not the one refused.
    pub fn sent_rows(&self, field: &str) -> Vec<&str> {
        self.sent.iter().filter(|(f, _)| f == field).map(|(_, v)| v.as_str()).collect()
    }

    /// What the refused form held in `<form>:<field>` (or `<field>`), or the field's usual value.
    pub fn typed(&self, field: &str, usual: impl std::fmt::Display) -> String {
        self.sent(field).map_or_else(|| usual.to_string(), str::to_string)
    }

    /// Whether an option of a select shows as chosen: the one the refused form sent in
    /// `<form>:<field>`, or, when that form was not the one refused, the usual choice.
    pub fn chosen(&self, field: &str, value: impl std::fmt::Display, usual: bool) -> bool {
        self.sent(field).map_or(usual, |sent| sent == value.to_string())
    }
}

/// Every message of one form of a page with several (fields named `<form>:<field>`).
pub fn messages_within<'a>(errors: &'a [(String, String)], form: &str) -> Vec<&'a str> {
    errors
        .iter()
        .filter(|(f, _)| f.strip_prefix(form).is_some_and(|rest| rest.starts_with(':')))
        .map(|(_, m)| m.as_str())
        .collect()
}

/// The messages for fields a page does not show beside a field of its own, so none is lost.
/// `shown` names the fields shown; a name ending in `[]` stands for all its rows (`lines[]`
/// for `lines[0]`, `lines[1]` …).
pub fn messages_elsewhere<'a>(errors: &'a [(String, String)], shown: &[&str]) -> Vec<&'a str> {
    let is_shown = |field: &str| {
        shown.iter().any(|s| match s.strip_suffix("[]") {
            Some(rows) => field.strip_prefix(rows).is_some_and(|rest| rest.starts_with('[')),
            None => field == *s,
        })
    };
    errors.iter().filter(|(f, _)| !is_shown(f)).map(|(_, m)| m.as_str()).collect()
}

/// Text made safe to put in a web address, in a query value or a path segment alike
/// (`R&D/东区` → `R%26D%2F%E4%B8%9C%E5%8C%BA`): for codes a user typed that end up in links.
pub fn url_component(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>().replace('+', "%20")
}

/// Renders a template as a page.
pub fn render(template: &impl Template) -> AppResult<Response> {
    Ok(Html(template.render().map_err(AppError::from)?).into_response())
}

/// Renders a template as a page with a status (a form shown again with its errors is 422).
pub fn render_status(status: axum::http::StatusCode, template: &impl Template) -> AppResult<Response> {
    Ok((status, Html(template.render().map_err(AppError::from)?)).into_response())
}

/// Renders a page that answers a question (a report's months, a converter's quantity): 200,
/// or 422 when it shows why the question cannot be answered instead of the answer.
pub fn render_answer(template: &impl Template, refused: bool) -> AppResult<Response> {
    if refused {
        render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, template)
    } else {
        render(template)
    }
}

/// An option of a select or checkbox list: (value, label, selected).
pub type Choice = (String, String, bool);

/// One form field as shown: its label, current value, choices and message.
#[derive(Debug, Clone)]
pub struct FieldView {
    pub name: String,
    pub label: String,
    pub value: String,
    /// `text`, `password`, `email`, `date`, `textarea`, `select`, `checkboxes`, `checkbox`.
    pub kind: &'static str,
    /// (value, label, selected) for selects and checkbox lists.
    pub options: Vec<Choice>,
    pub required: bool,
    pub error: Option<String>,
    pub hint: Option<String>,
    pub max_length: usize,
}

/// Builds the fields of a form in the request's language, with the errors of a failed save.
pub struct FormBuilder<'a> {
    messages: &'a Messages,
    lang: Lang,
    errors: &'a [FieldError],
    pub fields: Vec<FieldView>,
}

impl<'a> FormBuilder<'a> {
    pub fn new(ctx: &'a Ctx, errors: &'a [FieldError]) -> Self {
        Self { messages: &ctx.state.messages, lang: ctx.lang, errors, fields: Vec::new() }
    }

    fn error_for(&self, name: &str) -> Option<String> {
        let messages: Vec<String> = self
            .errors
            .iter()
            .filter(|e| e.field == name)
            .map(|e| self.messages.format(self.lang, e.key, &e.detail))
            .collect();
        if messages.is_empty() {
            None
        } else {
            Some(messages.join("; "))
        }
    }

    /// Adds a field.
    pub fn field(&mut self, kind: &'static str, name: &str, label_key: &str, value: &str, required: bool) -> &mut Self {
        self.fields.push(FieldView {
            name: name.to_string(),
            label: self.messages.get(self.lang, label_key),
            value: value.to_string(),
            kind,
            options: Vec::new(),
            required,
            error: self.error_for(name),
            hint: None,
            max_length: 200,
        });
        self
    }

    /// Adds a select or a checkbox list: options are (value, label key or text, selected).
    pub fn choice(
        &mut self,
        kind: &'static str,
        name: &str,
        label_key: &str,
        options: Vec<(String, String, bool)>,
    ) -> &mut Self {
        let options = options
            .into_iter()
            .map(|(v, l, s)| {
                let label = if self.messages.contains(&l) { self.messages.get(self.lang, &l) } else { l };
                (v, label, s)
            })
            .collect();
        self.fields.push(FieldView {
            name: name.to_string(),
            label: self.messages.get(self.lang, label_key),
            value: String::new(),
            kind,
            options,
            required: false,
            error: self.error_for(name),
            hint: None,
            max_length: 200,
        });
        self
    }

    /// Sets a hint under the last field.
    pub fn hint(&mut self, key: &str) -> &mut Self {
        let text = self.messages.get(self.lang, key);
        if let Some(f) = self.fields.last_mut() {
            f.hint = Some(text);
        }
        self
    }

    /// Errors that belong to no field shown (a stale version, a rule across fields).
    pub fn general_errors(&self) -> Vec<String> {
        let names: Vec<&str> = self.fields.iter().map(|f| f.name.as_str()).collect();
        self.errors
            .iter()
            .filter(|e| !names.contains(&e.field.as_str()))
            .map(|e| self.messages.format(self.lang, e.key, &e.detail))
            .collect()
    }

    pub fn finish(self) -> Vec<FieldView> {
        self.fields
    }
}

/// One change of a record, as the history timeline shows it.
#[derive(Debug, Clone)]
pub struct HistoryEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    /// (field, before, after)
    pub changes: Vec<(String, String, String)>,
}

fn show(value: &Value) -> String {
    match value {
        Value::Null => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The change history of a record, newest first, from the audit chain.
pub async fn history(ctx: &Ctx, resource: &str, resource_id: &str) -> AppResult<Vec<HistoryEntry>> {
    let rows = db::audit::list(
        ctx.db(),
        &db::audit::AuditFilter {
            company_id: Some(ctx.company_id()),
            resource: Some(resource.to_string()),
            resource_id: Some(resource_id.to_string()),
            limit: 200,
            ..Default::default()
        },
    )
    .await?;
    // Reads of sensitive fields are in the audit log; the timeline shows changes.
    Ok(rows.into_iter().filter(|row| row.record.action != "read").map(|row| history_entry(ctx, &row.record)).collect())
}

/// One audit record as a timeline entry.
pub fn history_entry(ctx: &Ctx, record: &kernel::audit::AuditRecord) -> HistoryEntry {
    let changes: Value = serde_json::from_str(&record.changes).unwrap_or(Value::Null);
    let changes = changes
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(field, pair)| {
                    // `party.party` changes name fields of the party module: `party.name`, …
                    let module = record.resource.split('.').next().unwrap_or_default();
                    let key = format!("{module}.{field}");
                    let label = if ctx.state.messages.contains(&key) { ctx.t(&key) } else { field.clone() };
                    match pair.as_array() {
                        Some(p) if p.len() == 2 => (label, show(&p[0]), show(&p[1])),
                        _ => (label, String::new(), show(pair)),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    HistoryEntry {
        at: local_time(&record.at),
        actor: record.actor.clone(),
        action: ctx.t(&format!("action.{}", record.action)),
        changes,
    }
}

/// An instant shown in China Standard Time (the company time zone is Asia/Shanghai by
/// default; other zones come with the company settings page).
pub fn local_time(instant: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(instant)
        .map(|t| (t + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| instant.to_string())
}

/// A redirect after a successful post, with a message (a message key) for the next page.
pub fn flash_redirect(ctx: &Ctx, to: &str, key: &str) -> Response {
    let mut response = axum::response::Redirect::to(to).into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&crate::auth::set_cookie(
        &ctx.state,
        crate::auth::FLASH_COOKIE,
        key,
        Some(60),
    )) {
        response.headers_mut().append(axum::http::header::SET_COOKIE, v);
    }
    response
}

/// Ends the transaction of a form sent from a page, the one way every module does it.
///
/// - The operation succeeded: the transaction commits and the browser goes where `saved`
///   says (an address, and the message key of the flash shown there), built from what the
///   operation returned (the new record's id, say).
/// - The operation refused the input (`DomainError::Invalid`): the transaction is dropped, so
///   nothing is stored, and `refused` renders the page again from the refusals, answered with
///   422 so the user sees each message beside its field.
/// - Anything else (a conflict, a missing record, no permission) is an error page.
pub async fn finish_form<T, P: Template>(
    ctx: &Ctx,
    tx: db::Tx,
    outcome: db::Result<T>,
    saved: impl FnOnce(T) -> (String, &'static str),
    refused: impl AsyncFnOnce(Vec<FieldError>) -> AppResult<P>,
) -> AppResult<Response> {
    match outcome {
        Ok(value) => {
            tx.commit().await?;
            let (to, flash) = saved(value);
            Ok(flash_redirect(ctx, &to, flash))
        }
        Err(db::Error::Domain(kernel::DomainError::Invalid(errors))) => {
            drop(tx);
            render_status(axum::http::StatusCode::UNPROCESSABLE_ENTITY, &refused(errors).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// A CSV download of a report: a header row and data rows, UTF-8 with a byte-order mark so
/// spreadsheet programs open Chinese text correctly.
pub fn csv_download(filename: &str, header: &[String], rows: &[Vec<String>]) -> AppResult<Response> {
    let mut out = csv::Writer::from_writer(vec![0xEF, 0xBB, 0xBF]);
    let fail = |e: csv::Error| AppError::Domain(kernel::DomainError::Internal(e.to_string()));
    out.write_record(header).map_err(fail)?;
    for row in rows {
        out.write_record(row).map_err(fail)?;
    }
    let bytes = out.into_inner().map_err(|e| AppError::Domain(kernel::DomainError::Internal(e.to_string())))?;
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// A stored file sent back as a download, under its own name: an ASCII fallback for old
/// clients and the UTF-8 name (RFC 6266) so a Chinese file name survives. Never rendered in
/// place and never sniffed into another type, whatever it contains.
pub fn file_download(name: &str, content_type: &str, bytes: Vec<u8>) -> Response {
    let ascii: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).collect();
    let ascii = if ascii.trim_matches('.').is_empty() { "file".to_string() } else { ascii };
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}");
    (
        [
            (axum::http::header::CONTENT_TYPE, content_type.to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response()
}

/// A report download in the format asked for: `xlsx` for a workbook, anything else CSV.
pub fn download(format: &str, name: &str, header: &[String], rows: &[Vec<String>]) -> AppResult<Response> {
    if format != "xlsx" {
        return csv_download(&format!("{name}.csv"), header, rows);
    }
    let bytes = crate::xlsx::workbook(name, header, rows);
    let disposition = format!("attachment; filename=\"{name}.xlsx\"");
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
