//! yibao's pure domain core.
//!
//! Everything here is deterministic: no I/O, no clock, no database. Callers pass "today"
//! and every other fact in; functions return values, decisions and their reasons.
//! Validated types live here so that an invalid resident ID, region code, amount or card
//! number cannot be built or deserialised anywhere in yibao.

pub mod access;
pub mod adjudicate;
pub mod admin_code;
pub mod audit;
pub mod bank_card;
pub mod benefits;
pub mod books;
pub mod calendar;
pub mod card;
pub mod catalog;
pub mod clearing;
pub mod contribution;
pub mod cover;
pub mod credit_code;
pub mod diagnosis;
pub mod document;
pub mod error;
pub mod filing;
#[doc(hidden)]
pub mod fuzzing;
pub mod history;
pub mod i18n;
pub mod inspection;
pub mod insurance_year;
pub mod money;
pub mod name;
pub mod payment;
pub mod pharmacy;
pub mod phone;
pub mod platform;
pub mod policy;
pub mod ratio;
pub mod region;
pub mod registry;
pub mod resident_id;
pub mod settlement;
pub mod sporadic;
pub mod supervise;
pub mod table;
pub mod text;

pub use access::{Permission, Role, Scope};
pub use admin_code::{AdminCode, AdminLevel};
pub use bank_card::BankCardNumber;
pub use credit_code::CreditCode;
pub use error::InvalidValue;
pub use i18n::{Lang, Text};
pub use insurance_year::InsuranceYear;
pub use money::Fen;
pub use name::PersonName;
pub use phone::PhoneNumber;
pub use ratio::Ratio;
pub use resident_id::{ResidentId, Sex};
