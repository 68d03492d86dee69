//! The error of a database-backed operation: a domain rule said no, or the database failed.

use kernel::DomainError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    /// A domain refusal about line `index` of a document (see `DomainError::within_line`).
    pub fn within_line(self, index: usize) -> Self {
        match self {
            Error::Domain(e) => Error::Domain(e.within_line(index)),
            other => other,
        }
    }

    /// A domain refusal with its fields renamed (see `DomainError::on_fields`).
    pub fn on_fields(self, rename: impl Fn(&str) -> Option<String>) -> Self {
        match self {
            Error::Domain(e) => Error::Domain(e.on_fields(rename)),
            other => other,
        }
    }

    /// Whether the database refused a duplicate key (two concurrent creates of one code).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            Error::Database(sqlx::Error::Database(e)) => {
                e.is_unique_violation() || e.message().contains("UNIQUE constraint failed")
            }
            _ => false,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
