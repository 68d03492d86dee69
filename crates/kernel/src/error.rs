//! Typed domain errors. Services return these; the web layer turns each into a message
//! next to a form field or an RFC 9457 problem document with a stable `type`.

use thiserror::Error;

/// What went wrong, in terms a user can act on.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// One or more fields are invalid. Each entry is (field, message key, detail for the
    /// message), so the UI can show the translated message next to the field.
    #[error("validation failed: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The record does not exist (or is outside what the user may see, which must look the same).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The record changed since the user read it: optimistic concurrency refused the update.
    #[error("{resource} was changed by someone else (version {expected} expected, {actual} stored)")]
    StaleVersion { resource: &'static str, expected: i64, actual: i64 },
    /// A state rule refuses the operation; the key names the rule for translation.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The user lacks the permission named.
    #[error("permission {0} required")]
    Forbidden(String),
    /// No valid session or token.
    #[error("authentication required")]
    Unauthenticated,
    /// Too many attempts; try again later.
    #[error("too many attempts")]
    Throttled,
    /// The database or another dependency failed; details are logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
}

/// A problem with one field of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The input field, as named in the form and the JSON body.
    pub field: String,
    /// The i18n key of the message, e.g. `error.credit_code.check_digit`.
    pub key: &'static str,
    /// A value the message may mention, e.g. the expected check character.
    pub detail: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, key: &'static str, detail: impl Into<String>) -> Self {
        Self { field: field.into(), key, detail: detail.into() }
    }
}

impl DomainError {
    /// A validation error for a single field.
    pub fn invalid(field: &str, key: &'static str, detail: impl Into<String>) -> Self {
        DomainError::Invalid(vec![FieldError::new(field, key, detail)])
    }

    /// The same refusal about line `index` of a document: `quantity` becomes `lines[2].quantity`,
    /// for an operation that checked one line through another module.
    pub fn within_line(self, index: usize) -> Self {
        match self {
            DomainError::Invalid(errors) => DomainError::Invalid(
                errors
                    .into_iter()
                    .map(|mut e| {
                        // The date is the document's, not the line's: it stays where the form has it.
                        if e.field != "date" {
                            e.field = format!("lines[{index}].{}", e.field);
                        }
                        e
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    /// The same refusal with its fields renamed where `rename` gives a new name: a form that
    /// shows a document's lines under other names (a credit note's lines as quantities on its
    /// invoice's page) puts each message beside the field it is about.
    pub fn on_fields(self, rename: impl Fn(&str) -> Option<String>) -> Self {
        match self {
            DomainError::Invalid(errors) => DomainError::Invalid(
                errors
                    .into_iter()
                    .map(|mut e| {
                        if let Some(field) = rename(&e.field) {
                            e.field = field;
                        }
                        e
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Collects field errors while an input is checked, so a form shows every problem at once.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<FieldError>);

impl Problems {
    pub fn add(&mut self, field: &str, key: &'static str, detail: impl Into<String>) {
        self.0.push(FieldError::new(field, key, detail));
    }

    /// Records the error of a check, if it failed.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.0.push(error);
                None
            }
        }
    }

    /// A positive quantity of at most `max` (millionths), as text; zero when refused.
    pub fn quantity(&mut self, field: &str, text: &str, max: i64) -> i64 {
        match crate::Qty::parse(text) {
            Ok(q) if q.scaled() > 0 && q.scaled() <= max => q.scaled(),
            Ok(_) => {
                self.add(field, "error.catalog.quantity_positive", text);
                0
            }
            Err(mut e) => {
                e.field = field.into();
                self.0.push(e);
                0
            }
        }
    }

    /// An amount in yuan that is not negative, as text, in fen; zero when refused.
    pub fn amount(&mut self, field: &str, text: &str) -> i64 {
        match crate::Money::parse(text, crate::Currency::CNY) {
            Ok(m) if m.minor() >= 0 => m.minor(),
            Ok(_) => {
                self.add(field, "error.finance.negative", text);
                0
            }
            Err(mut e) => {
                e.field = field.into();
                self.0.push(e);
                0
            }
        }
    }

    /// `Ok(())` when nothing was found, else the collected errors.
    pub fn finish(self) -> DomainResult<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(self.0))
        }
    }
}
