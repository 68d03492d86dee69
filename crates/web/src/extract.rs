//! Body extractors whose rejections are our errors: malformed JSON or form data and
//! oversized bodies become a translated message or problem document, never axum's plain text.

use crate::error::AppError;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// A JSON body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::BytesRejection(_)) => Err(AppError::TooLarge),
            Err(e) => Err(AppError::Malformed { json: true, detail: e.body_text() }),
        }
    }
}

/// A form body (`application/x-www-form-urlencoded`). The CSRF field was already checked.
pub struct HtmlForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for HtmlForm<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(HtmlForm(value)),
            Err(FormRejection::BytesRejection(_)) => Err(AppError::TooLarge),
            Err(e) => Err(AppError::Malformed { json: false, detail: e.body_text() }),
        }
    }
}

/// Form fields as ordered pairs, for forms with repeated fields (roles, grants, tags).
#[derive(Debug, Clone, Default)]
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub fn text(&self, key: &str) -> String {
        self.get(key).unwrap_or_default().to_string()
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == key).map(|(_, v)| v.clone()).collect()
    }

    /// The rows of a table of inputs sharing names (`product_id`, `quantity` … once per row):
    /// the i-th row takes the i-th value of each name, and a name sent fewer times (a client
    /// that leaves a column out) reads as empty rather than shifting or dropping rows.
    pub fn rows<const N: usize>(&self, keys: &[&str; N]) -> Vec<[String; N]> {
        let columns: Vec<Vec<String>> = keys.iter().map(|k| self.all(k)).collect();
        let count = columns.iter().map(Vec::len).max().unwrap_or(0);
        (0..count).map(|i| std::array::from_fn(|c| columns[c].get(i).cloned().unwrap_or_default())).collect()
    }
}

impl<S: Send + Sync> FromRequest<S> for FormPairs {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|_| AppError::TooLarge)?;
        Ok(FormPairs(form_urlencoded::parse(&bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()))
    }
}

/// The largest upload a page form may send (its file and fields together).
pub const UPLOAD_LIMIT: usize = 12 * 1024 * 1024;

/// A file sent with a form.
#[derive(Debug, Clone)]
pub struct UploadedFile {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A `multipart/form-data` page form: its text fields, and the file sent as `file` (none when
/// the field was left empty). Routes taking one raise their body limit to [`UPLOAD_LIMIT`].
pub struct Upload {
    pub fields: FormPairs,
    pub file: Option<UploadedFile>,
}

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let malformed =
            |e: axum::extract::multipart::MultipartError| AppError::Malformed { json: false, detail: e.body_text() };
        let mut multipart = axum::extract::Multipart::from_request(req, state)
            .await
            .map_err(|e| AppError::Malformed { json: false, detail: e.body_text() })?;
        let mut fields = Vec::new();
        let mut file = None;
        while let Some(field) = multipart.next_field().await.map_err(malformed)? {
            let name = field.name().unwrap_or("").to_string();
            if name == "file" {
                let file_name = field.file_name().unwrap_or("").to_string();
                let content_type = field.content_type().unwrap_or("").to_string();
                let bytes = field.bytes().await.map_err(|_| AppError::TooLarge)?;
                if !file_name.is_empty() && !bytes.is_empty() {
                    file = Some(UploadedFile { name: file_name, content_type, bytes: bytes.to_vec() });
                }
            } else {
                fields.push((name, field.text().await.map_err(malformed)?));
            }
        }
        Ok(Upload { fields: FormPairs(fields), file })
    }
}

/// The `_csrf` field of a buffered multipart body, for the forgery check (which must read it
/// before the handler does).
pub(crate) async fn multipart_csrf(content_type: &str, body: axum::body::Bytes) -> Option<String> {
    let request = Request::builder()
        .header(axum::http::header::CONTENT_TYPE, content_type)
        .body(axum::body::Body::from(body))
        .ok()?;
    let mut multipart = axum::extract::Multipart::from_request(request, &()).await.ok()?;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("_csrf") {
            return field.text().await.ok();
        }
    }
    None
}
