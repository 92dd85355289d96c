//! What callers are shown: registry records as the caller may see them. Lists are always
//! masked; a detail is whole only for roles allowed to see personal data, and for the
//! person themself.

use serde::Serialize;
use yibao_core::{BankCardNumber, Lang};
use yibao_store::{AccountCheck, Employer, Institution, Person};

/// A registered bank account that waits for a second person's confirmation, with the account
/// confirmed before it (masked).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountCheckView {
    pub confirmed_bank_name: Option<String>,
    pub confirmed_bank_card: Option<String>,
}

impl From<&AccountCheck> for AccountCheckView {
    fn from(c: &AccountCheck) -> Self {
        AccountCheckView {
            confirmed_bank_name: c.confirmed_bank_name.clone(),
            confirmed_bank_card: c.confirmed_bank_card.as_ref().map(BankCardNumber::masked),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub id: i64,
    pub resident_id: String,
    pub name: String,
    pub sex: String,
    pub birth_date: Option<String>,
    /// `insutype`: 310 employee, 390 resident.
    pub scheme: String,
    pub scheme_label: String,
    pub enrolment: String,
    pub enrolment_label: String,
    pub category: String,
    pub category_label: String,
    pub insured_region: String,
    pub pooling_region: String,
    pub hukou_region: String,
    pub employer_id: Option<i64>,
    pub employer_name: Option<String>,
    pub bank_name: Option<String>,
    pub bank_card: Option<String>,
    pub phone: Option<String>,
    /// Set while the bank account staff registered waits for confirmation.
    pub account_check: Option<AccountCheckView>,
    pub status: String,
    pub status_label: String,
    pub status_from: String,
    pub version: i64,
    pub updated_at: String,
    /// Whether identity data in this view is masked.
    pub masked: bool,
}

impl PersonView {
    pub fn new(p: &Person, lang: Lang, masked: bool) -> PersonView {
        let sex = match (p.sex, lang) {
            (yibao_core::Sex::Male, Lang::Zh) => "男",
            (yibao_core::Sex::Female, Lang::Zh) => "女",
            (yibao_core::Sex::Male, Lang::En) => "male",
            (yibao_core::Sex::Female, Lang::En) => "female",
        };
        PersonView {
            id: p.id,
            resident_id: if masked { p.resident_id.masked() } else { p.resident_id.to_string() },
            name: if masked { p.name.masked() } else { p.name.to_string() },
            sex: sex.into(),
            birth_date: (!masked).then(|| p.birth_date.to_string()),
            scheme: p.scheme.code().into(),
            scheme_label: p.scheme.label().get(lang).into(),
            enrolment: p.enrolment.code().into(),
            enrolment_label: p.enrolment.label().get(lang).into(),
            category: p.category.code().into(),
            category_label: p.category.label().get(lang).into(),
            insured_region: p.insured_region.to_string(),
            pooling_region: p.pooling_region.to_string(),
            hukou_region: p.hukou_region.to_string(),
            employer_id: p.employer_id,
            employer_name: p.employer_name.clone(),
            bank_name: p.bank_name.clone(),
            bank_card: p.bank_card.as_ref().map(|c| if masked { c.masked() } else { c.to_string() }),
            phone: p.phone.as_ref().map(|x| if masked { x.masked() } else { x.to_string() }),
            account_check: p.account_check.as_ref().map(Into::into),
            status: p.status.code().into(),
            status_label: p.status.label().get(lang).into(),
            status_from: p.status_from.to_string(),
            version: p.version,
            updated_at: p.updated_at.clone(),
            masked,
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EmployerView {
    pub id: i64,
    pub credit_code: String,
    pub name: String,
    pub region: String,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub bank_name: Option<String>,
    /// Masked: the full number goes only into the bank file.
    pub bank_card: Option<String>,
    /// Set while the bank account staff registered waits for confirmation.
    pub account_check: Option<AccountCheckView>,
    pub version: i64,
    pub updated_at: String,
}

impl From<&Employer> for EmployerView {
    fn from(e: &Employer) -> Self {
        EmployerView {
            id: e.id,
            credit_code: e.credit_code.to_string(),
            name: e.name.clone(),
            region: e.region.to_string(),
            contact_name: e.contact_name.clone(),
            contact_phone: e.contact_phone.as_ref().map(ToString::to_string),
            bank_name: e.bank_name.clone(),
            bank_card: e.bank_card.as_ref().map(BankCardNumber::masked),
            account_check: e.account_check.as_ref().map(Into::into),
            version: e.version,
            updated_at: e.updated_at.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InstitutionView {
    pub id: i64,
    /// `fixmedins_code`.
    pub code: String,
    pub name: String,
    pub region: String,
    pub tier: String,
    pub tier_label: String,
    pub grade: String,
    pub grade_label: String,
    pub designated_from: Option<String>,
    pub designated_to: Option<String>,
    pub may_issue_referrals: bool,
    pub direct_settlement: bool,
    pub version: i64,
    pub updated_at: String,
}

impl InstitutionView {
    pub fn new(i: &Institution, lang: Lang) -> InstitutionView {
        InstitutionView {
            id: i.id,
            code: i.code.clone(),
            name: i.name.clone(),
            region: i.region.to_string(),
            tier: i.tier.code().into(),
            tier_label: i.tier.label().get(lang).into(),
            grade: i.grade.code().into(),
            grade_label: i.grade.label().get(lang).into(),
            designated_from: i.designated_from.map(|d| d.to_string()),
            designated_to: i.designated_to.map(|d| d.to_string()),
            may_issue_referrals: i.may_issue_referrals,
            direct_settlement: i.direct_settlement,
            version: i.version,
            updated_at: i.updated_at.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PageView<T> {
    pub items: Vec<T>,
    /// Pass as `after` for the next page.
    pub next: Option<String>,
}
