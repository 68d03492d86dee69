//! List conventions, written once: `q` for search, named filters, `sort` (a field, `-` in
//! front for descending), `limit` (1–500, default 50) and an opaque `cursor` for keyset
//! pagination. A parameter the resource does not know is refused, not ignored, so a typo in
//! an integration shows up at once.

use crate::error::AppError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::collections::BTreeMap;

/// What a resource's list accepts.
#[derive(Debug, Clone, Copy)]
pub struct ListSpec {
    pub filters: &'static [&'static str],
    pub sorts: &'static [&'static str],
    pub default_sort: &'static str,
}

/// The position after the last row of a page: its sort key and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    pub key: Value,
    pub id: i64,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::json!([self.key, self.id]).to_string())
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let value: Value = serde_json::from_slice(&bytes).ok()?;
        let parts = value.as_array()?;
        if parts.len() != 2 || !(parts[0].is_string() || parts[0].is_i64() || parts[0].is_null()) {
            return None;
        }
        Some(Cursor { key: parts[0].clone(), id: parts[1].as_i64()? })
    }
}

/// A parsed list request.
#[derive(Debug, Clone)]
pub struct ListParams {
    pub q: Option<String>,
    pub filters: BTreeMap<String, String>,
    pub sort: &'static str,
    pub descending: bool,
    pub limit: i64,
    pub cursor: Option<Cursor>,
}

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

impl ListParams {
    /// Parses query pairs against a spec. Empty values count as absent, so a filter form
    /// submitted with blank fields lists everything.
    pub fn parse(pairs: &[(String, String)], spec: &ListSpec) -> Result<ListParams, AppError> {
        let mut params = ListParams {
            q: None,
            filters: BTreeMap::new(),
            sort: spec.default_sort,
            descending: false,
            limit: DEFAULT_LIMIT,
            cursor: None,
        };
        for (key, value) in pairs {
            let value = value.trim();
            match key.as_str() {
                "q" => params.q = Some(value.to_string()).filter(|v| !v.is_empty()),
                "sort" if !value.is_empty() => {
                    let (descending, field) = match value.strip_prefix('-') {
                        Some(f) => (true, f),
                        None => (false, value),
                    };
                    params.sort = spec.sorts.iter().find(|s| **s == field).copied().ok_or_else(|| {
                        AppError::BadListParam { key: "error.unknown_sort", detail: field.to_string() }
                    })?;
                    params.descending = descending;
                }
                "limit" if !value.is_empty() => {
                    params.limit =
                        value.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                            AppError::BadListParam { key: "error.bad_limit", detail: value.to_string() }
                        })?;
                }
                "cursor" if !value.is_empty() => {
                    params.cursor =
                        Some(Cursor::decode(value).ok_or_else(|| AppError::BadListParam {
                            key: "error.bad_cursor",
                            detail: String::new(),
                        })?);
                }
                "sort" | "limit" | "cursor" => {}
                other if spec.filters.contains(&other) => {
                    if !value.is_empty() {
                        params.filters.insert(other.to_string(), value.to_string());
                    }
                }
                other => return Err(AppError::BadListParam { key: "error.unknown_filter", detail: other.to_string() }),
            }
        }
        Ok(params)
    }

    pub fn filter(&self, name: &str) -> Option<&str> {
        self.filters.get(name).map(String::as_str)
    }

    /// The query string of this list without its cursor, for sort links, the next-page link
    /// and the export link.
    pub fn query_string(&self, overrides: &[(&str, &str)]) -> String {
        let mut pairs: Vec<(String, String)> = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(("q".into(), q.clone()));
        }
        for (k, v) in &self.filters {
            pairs.push((k.clone(), v.clone()));
        }
        pairs.push(("sort".into(), format!("{}{}", if self.descending { "-" } else { "" }, self.sort)));
        for (k, v) in overrides {
            pairs.retain(|(key, _)| key != k);
            if !v.is_empty() {
                pairs.push((k.to_string(), v.to_string()));
            }
        }
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: ListSpec = ListSpec { filters: &["role", "tag"], sorts: &["name", "created_at"], default_sort: "name" };

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_list_request_is_parsed_or_refused_with_the_reason() {
        let p = ListParams::parse(
            &pairs(&[("q", "华为"), ("role", "customer"), ("tag", ""), ("sort", "-created_at"), ("limit", "20")]),
            &SPEC,
        )
        .unwrap();
        assert_eq!(
            (p.q.as_deref(), p.filter("role"), p.filter("tag"), p.sort, p.descending, p.limit),
            (Some("华为"), Some("customer"), None, "created_at", true, 20)
        );
        assert!(matches!(
            ListParams::parse(&pairs(&[("colour", "red")]), &SPEC),
            Err(AppError::BadListParam { key: "error.unknown_filter", .. })
        ));
        assert!(matches!(
            ListParams::parse(&pairs(&[("sort", "password")]), &SPEC),
            Err(AppError::BadListParam { key: "error.unknown_sort", .. })
        ));
        assert!(matches!(
            ListParams::parse(&pairs(&[("limit", "100000")]), &SPEC),
            Err(AppError::BadListParam { key: "error.bad_limit", .. })
        ));
        assert!(matches!(
            ListParams::parse(&pairs(&[("cursor", "!!")]), &SPEC),
            Err(AppError::BadListParam { key: "error.bad_cursor", .. })
        ));
    }

    #[test]
    fn cursors_round_trip() {
        let c = Cursor { key: Value::String("北京华信".into()), id: 42 };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }
}
