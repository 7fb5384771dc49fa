//! Who is on the other end: a customer, or someone who never is — the
//! business's own staff, its own numbers, a number it blocked. Staff texts
//! keep their meaning (an on-call tech's ACK) but never open a customer
//! lead, never get a customer's automatic reply, and never put a job packet
//! "about" a staff phone in front of the dispatcher.

use crate::config::{Business, Config};
use crate::domain::PhoneNumber;

/// Who sent a text (or placed a call) to a business's number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Party {
    Customer,
    /// Someone on the on-call roster: a text may acknowledge a page.
    OnCall,
    /// Other staff: internal numbers, the dispatcher, the owner, the phone
    /// the shop rings.
    Staff,
    /// One of the config's own numbers (a tracking number or ring phone).
    OwnNumber,
    /// A number the business blocked.
    Blocked,
}

impl Party {
    /// Is this a customer, whose texts open and move leads?
    pub fn is_customer(self) -> bool {
        self == Party::Customer
    }
}

/// Who `from` is to `business`. A number that does not parse is treated as
/// a customer (the conversation records it; the gate refuses to text it).
pub fn party(config: &Config, business: &Business, from: &str) -> Party {
    let Ok(phone) = PhoneNumber::parse(from) else {
        return Party::Customer;
    };
    if business
        .roster
        .as_ref()
        .is_some_and(|r| r.person_by_phone(&phone).is_some())
    {
        return Party::OnCall;
    }
    if business.is_staff(&phone) {
        return Party::Staff;
    }
    if config.is_own_number(phone.as_str()) {
        return Party::OwnNumber;
    }
    if business.block_list.contains(&phone) {
        return Party::Blocked;
    }
    Party::Customer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::conversation::tests_support::config;

    #[test]
    fn staff_own_and_blocked_numbers_are_not_customers() {
        let c = config();
        let b = &c.businesses[0];
        assert_eq!(party(&c, b, "+15125550147"), Party::Customer);
        assert_eq!(party(&c, b, "+15125550150"), Party::Staff, "internal");
        assert_eq!(party(&c, b, "+15125550199"), Party::Staff, "ring phone");
        assert_eq!(party(&c, b, "+15125550100"), Party::OwnNumber);
        assert_eq!(party(&c, b, "+15125550666"), Party::Blocked);
        assert_eq!(party(&c, b, "not a number"), Party::Customer);
        assert!(Party::Customer.is_customer() && !Party::Staff.is_customer());
    }
}
