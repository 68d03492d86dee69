//! The sales module's permissions, in a file of their own so that orders and shipping can both
//! name them without importing each other.

pub const READ: &str = "sales.order.read";
pub const MANAGE: &str = "sales.order.manage";
pub const CREDIT: &str = "sales.credit.manage";
