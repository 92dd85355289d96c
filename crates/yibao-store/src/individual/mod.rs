//! The individual account (个人账户) beyond settlement: the monthly credits from
//! contributions, the family members a holder lets use it (门诊共济), and purchases at
//! designated retail pharmacies, and withdrawals to a bank card.

mod credits;
mod family;
mod pharmacy;
mod withdrawals;

pub use credits::CreditRun;
pub use family::{FamilyMember, Relation};
pub use pharmacy::{is_pharmacy, is_pharmacy_code, PharmacyLine, PharmacyPurchase, PharmacySettlement};
pub use withdrawals::{Heir, Withdrawal, WithdrawalRequest};
