//! Typed ids: a `PartyId` cannot be passed where a `UserId` is expected.
//!
//! Every id is a 64-bit integer assigned by the database, which keeps keys small and joins
//! fast on both SQLite and PostgreSQL.

/// Declares a typed id: a transparent wrapper around the database's `i64` key.
#[macro_export]
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(v: i64) -> Self {
                Self(v)
            }
        }
    };
}

typed_id!(
    /// A company: the legal entity whose books and records a row belongs to.
    CompanyId
);
typed_id!(
    /// A login account.
    UserId
);
typed_id!(
    /// A role: a named set of grants.
    RoleId
);
typed_id!(
    /// A person or organisation in the one party model.
    PartyId
);
typed_id!(
    /// An event in the outbox.
    EventId
);
