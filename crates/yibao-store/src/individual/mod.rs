//! The individual account (个人账户) beyond settlement: the monthly credits from
//! contributions, the family members a holder lets use it (门诊共济), and purchases at
//! designated retail pharmacies.

mod credits;
mod family;
mod pharmacy;

pub use credits::CreditRun;
pub use family::{FamilyMember, Relation};
pub use pharmacy::{is_pharmacy, PharmacyLine, PharmacyPurchase, PharmacySettlement};
