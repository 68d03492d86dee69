//! Sales rules without I/O: the credit check and what a line may be invoiced for.

use serde::Serialize;

/// A customer's exposure when an order is confirmed: what is owed on posted invoices, what
/// confirmed orders will still invoice, and this order. All in fen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Exposure {
    pub open_receivables: i64,
    pub open_orders: i64,
    pub this_order: i64,
}

impl Exposure {
    /// Added up without wrapping: an absurd exposure is still over any limit.
    pub fn total(&self) -> i64 {
        self.open_receivables.saturating_add(self.open_orders).saturating_add(self.this_order)
    }

    /// Within the limit, or the customer has none (`None`).
    pub fn within(&self, limit: Option<i64>) -> bool {
        limit.is_none_or(|limit| self.total() <= limit)
    }
}

/// What a line may be invoiced for now, by its product's policy: as ordered (services, which
/// are never delivered, and goods billed in advance) or as delivered (goods, by default).
pub fn invoiceable(as_ordered: bool, quantity: i64, delivered: i64, invoiced: i64) -> i64 {
    let basis = if as_ordered { quantity } else { delivered };
    (basis - invoiced).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_order_that_takes_the_customer_over_the_limit_is_not_within_it() {
        let exposure = Exposure { open_receivables: 600_000, open_orders: 200_000, this_order: 271_200 };
        assert_eq!(exposure.total(), 1_071_200);
        assert!(!exposure.within(Some(1_000_000)));
        assert!(exposure.within(Some(1_071_200)));
        assert!(exposure.within(None));
    }

    #[test]
    fn goods_are_invoiced_as_delivered_and_services_as_ordered() {
        assert_eq!(invoiceable(false, 120, 80, 50), 30);
        assert_eq!(invoiceable(true, 8, 0, 0), 8);
        assert_eq!(invoiceable(false, 120, 80, 80), 0);
    }
}
