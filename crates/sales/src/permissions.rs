//! The sales module's permissions and the record rules of its orders, in a file of their own
//! so that orders and shipping can both name them without importing each other.

pub const READ: &str = "sales.order.read";
pub const MANAGE: &str = "sales.order.manage";
pub const CREDIT: &str = "sales.credit.manage";

/// The orders table as a document table: locks, record rules (by who wrote the order) and
/// status changes.
pub(crate) const ORDERS: db::document::Documents = db::document::Documents {
    table: "sal_orders",
    party_column: "customer_id",
    resource: "sales.order",
    noun: "sales order",
    owner_column: "created_by",
};
