//! The kernel: the pure types every Zhongshu module shares.
//!
//! Nothing here performs I/O. The kernel owns typed ids, the exact `Money` and `Qty` types,
//! typed domain errors, the clock that tests can set, the permission model, the language
//! enum, business dates, identifier validation (credit codes, resident IDs, mobile numbers, e-mail),
//! China's VAT rates and the rule that links audit rows into a hash chain. Every other crate builds on these, so a rule
//! that must hold the same everywhere lives here once.

pub mod audit;
pub mod clock;
pub mod dates;
pub mod error;
pub mod identifiers;
pub mod ids;
pub mod lang;
pub mod money;
pub mod permission;
pub mod vat;

pub use clock::Clock;
pub use error::{DomainError, DomainResult};
pub use lang::Lang;
pub use money::{Currency, Money, Qty, Rounding};
pub use permission::{Grant, Permission, Scope};
