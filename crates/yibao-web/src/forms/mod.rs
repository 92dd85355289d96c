//! What people submit — portal forms and JSON bodies share these shapes — and their parsing
//! into validated inputs. Parsing collects every field's error, so a person sees all of
//! them at once.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use yibao_core::registry::{Enrolment, HospitalGrade, InstitutionTier, PersonCategory, PersonStatus};
use yibao_core::{InvalidValue, Role, Scope};
use yibao_store::{EmployerInput, InstitutionInput, NewAccount, PersonInput};

pub mod claims;
pub mod cover;
pub mod upload;

/// Keeps a parsed value or records its error under `field`.
fn take<T>(errors: &mut Vec<InvalidValue>, field: &'static str, r: Result<T, InvalidValue>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(mut e) => {
            e.field = field;
            errors.push(e);
            None
        }
    }
}

/// An optional field: blank means absent.
/// The bank's name, checked to come with a card number (both or neither).
fn bank_pair(errors: &mut Vec<InvalidValue>, bank_name: &str, has_card: bool) -> Option<String> {
    let bank_name = Some(bank_name.trim().to_string()).filter(|s| !s.is_empty());
    if has_card != bank_name.is_some() && errors.iter().all(|x| x.field != "bank_card") {
        errors.push(InvalidValue::new(
            "bank_name",
            "pair",
            "开户银行和银行卡号须同时填写",
            "give both the bank and the card number, or neither",
        ));
    }
    bank_name
}

fn optional<T>(
    errors: &mut Vec<InvalidValue>,
    field: &'static str,
    value: &str,
    parse: impl FnOnce(&str) -> Result<T, InvalidValue>,
) -> Option<T> {
    let v = value.trim();
    if v.is_empty() {
        None
    } else {
        take(errors, field, parse(v))
    }
}

pub fn parse_date(s: &str) -> Result<NaiveDate, InvalidValue> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        InvalidValue::new(
            "date",
            "format",
            "日期格式应为 年-月-日，如 2026-01-31",
            "dates are written year-month-day, e.g. 2026-01-31",
        )
    })
}

/// A `date` field: blank means `default` (the business date).
pub fn date_or(default: NaiveDate, s: &str) -> Result<NaiveDate, InvalidValue> {
    if s.trim().is_empty() {
        return Ok(default);
    }
    parse_date(s).map_err(|mut e| {
        e.field = "date";
        e
    })
}

fn parse_id(s: &str) -> Result<i64, InvalidValue> {
    s.trim().parse().map_err(|_| InvalidValue::new("id", "format", "应为数字编号", "expected a number"))
}

fn parse_bool(s: &str) -> bool {
    matches!(s.trim(), "1" | "true" | "on" | "yes")
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PersonForm {
    /// GB 11643 resident ID number, e.g. `620302198506120036`.
    pub resident_id: String,
    pub name: String,
    /// `unit_employee`, `flexible_employment` or `resident`.
    pub enrolment: String,
    /// `in_service`, `retired`, `resident_adult`, `resident_elderly`, `minor`, `student`.
    pub category: String,
    /// Six-digit division code of the insured region (参保地).
    pub insured_region: String,
    pub hukou_region: String,
    pub employer_id: String,
    pub bank_name: String,
    pub bank_card: String,
    pub phone: String,
    /// `active`, `suspended`, `deceased`, `transferred_out`.
    pub status: String,
    /// `YYYY-MM-DD`.
    pub status_from: String,
    /// The version being edited (edits only).
    pub version: i64,
    #[serde(skip_serializing)]
    pub csrf: String,
}

impl PersonForm {
    pub fn parse(&self) -> Result<PersonInput, Vec<InvalidValue>> {
        let mut e = Vec::new();
        let resident_id = take(&mut e, "resident_id", self.resident_id.parse());
        let name = take(&mut e, "name", self.name.parse());
        let enrolment = take(&mut e, "enrolment", Enrolment::parse(self.enrolment.trim()));
        let category = take(&mut e, "category", PersonCategory::parse(self.category.trim()));
        let insured_region = take(&mut e, "insured_region", self.insured_region.parse());
        let hukou_region = take(&mut e, "hukou_region", self.hukou_region.parse());
        let employer_id = optional(&mut e, "employer_id", &self.employer_id, parse_id);
        let bank_card = optional(&mut e, "bank_card", &self.bank_card, str::parse);
        let phone = optional(&mut e, "phone", &self.phone, str::parse);
        let status = take(&mut e, "status", PersonStatus::parse(self.status.trim()));
        let status_from = take(&mut e, "status_from", parse_date(&self.status_from));
        let bank_name = bank_pair(&mut e, &self.bank_name, bank_card.is_some());
        match (resident_id, name, enrolment, category, insured_region, hukou_region, status, status_from) {
            (
                Some(resident_id),
                Some(name),
                Some(enrolment),
                Some(category),
                Some(ir),
                Some(hr),
                Some(st),
                Some(sf),
            ) if e.is_empty() => {
                let input = PersonInput {
                    resident_id,
                    name,
                    enrolment,
                    category,
                    insured_region: ir,
                    hukou_region: hr,
                    employer_id,
                    bank_name,
                    bank_card,
                    phone,
                    status: st,
                    status_from: sf,
                };
                yibao_core::registry::check_enrolment(enrolment, category, employer_id.is_some())
                    .map_err(|x| vec![x])?;
                Ok(input)
            }
            _ => Err(e),
        }
    }

    pub fn from_person(p: &yibao_store::Person) -> PersonForm {
        PersonForm {
            resident_id: p.resident_id.to_string(),
            name: p.name.to_string(),
            enrolment: p.enrolment.code().into(),
            category: p.category.code().into(),
            insured_region: p.insured_region.to_string(),
            hukou_region: p.hukou_region.to_string(),
            employer_id: p.employer_id.map(|i| i.to_string()).unwrap_or_default(),
            bank_name: p.bank_name.clone().unwrap_or_default(),
            bank_card: p.bank_card.as_ref().map(ToString::to_string).unwrap_or_default(),
            phone: p.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
            status: p.status.code().into(),
            status_from: p.status_from.to_string(),
            version: p.version,
            csrf: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EmployerForm {
    pub credit_code: String,
    pub name: String,
    pub region: String,
    pub contact_name: String,
    pub contact_phone: String,
    /// The unit's account, for claims it files for its employees (both or neither).
    pub bank_name: String,
    pub bank_card: String,
    pub version: i64,
    #[serde(skip_serializing)]
    pub csrf: String,
}

impl EmployerForm {
    pub fn parse(&self) -> Result<EmployerInput, Vec<InvalidValue>> {
        let mut e = Vec::new();
        let credit_code = take(&mut e, "credit_code", self.credit_code.parse());
        let region = take(&mut e, "region", self.region.parse());
        let contact_phone = optional(&mut e, "contact_phone", &self.contact_phone, str::parse);
        let contact_name = Some(self.contact_name.trim().to_string()).filter(|s| !s.is_empty());
        let bank_card = optional(&mut e, "bank_card", &self.bank_card, str::parse);
        let bank_name = bank_pair(&mut e, &self.bank_name, bank_card.is_some());
        match (credit_code, region) {
            (Some(credit_code), Some(region)) if e.is_empty() => {
                let input = EmployerInput {
                    credit_code,
                    name: self.name.trim().into(),
                    region,
                    contact_name,
                    contact_phone,
                    bank_name,
                    bank_card,
                };
                input.validate().map_err(|x| vec![x])?;
                Ok(input)
            }
            _ => Err(e),
        }
    }

    pub fn from_employer(x: &yibao_store::Employer) -> EmployerForm {
        EmployerForm {
            credit_code: x.credit_code.to_string(),
            name: x.name.clone(),
            region: x.region.to_string(),
            contact_name: x.contact_name.clone().unwrap_or_default(),
            contact_phone: x.contact_phone.as_ref().map(ToString::to_string).unwrap_or_default(),
            bank_name: x.bank_name.clone().unwrap_or_default(),
            bank_card: x.bank_card.as_ref().map(ToString::to_string).unwrap_or_default(),
            version: x.version,
            csrf: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InstitutionForm {
    pub code: String,
    pub name: String,
    pub region: String,
    /// `township`, `community`, `county`, `city`, `province`.
    pub tier: String,
    /// `ungraded`, `1`, `2`, `3`.
    pub grade: String,
    pub designated_from: String,
    pub designated_to: String,
    /// `on`/`true`/`1` for yes.
    pub may_issue_referrals: String,
    pub direct_settlement: String,
    pub version: i64,
    #[serde(skip_serializing)]
    pub csrf: String,
}

impl InstitutionForm {
    pub fn parse(&self) -> Result<InstitutionInput, Vec<InvalidValue>> {
        let mut e = Vec::new();
        let region = take(&mut e, "region", self.region.parse());
        let tier = take(&mut e, "tier", InstitutionTier::parse(self.tier.trim()));
        let grade = take(&mut e, "grade", HospitalGrade::parse(self.grade.trim()));
        let designated_from = optional(&mut e, "designated_from", &self.designated_from, parse_date);
        let designated_to = optional(&mut e, "designated_to", &self.designated_to, parse_date);
        match (region, tier, grade) {
            (Some(region), Some(tier), Some(grade)) if e.is_empty() => {
                let input = InstitutionInput {
                    code: self.code.trim().to_ascii_uppercase(),
                    name: self.name.trim().into(),
                    region,
                    tier,
                    grade,
                    designated_from,
                    designated_to,
                    may_issue_referrals: parse_bool(&self.may_issue_referrals),
                    direct_settlement: parse_bool(&self.direct_settlement),
                };
                input.validate().map_err(|x| vec![x])?;
                Ok(input)
            }
            _ => Err(e),
        }
    }

    pub fn from_institution(x: &yibao_store::Institution) -> InstitutionForm {
        let b = |v: bool| if v { "on".to_string() } else { String::new() };
        InstitutionForm {
            code: x.code.clone(),
            name: x.name.clone(),
            region: x.region.to_string(),
            tier: x.tier.code().into(),
            grade: x.grade.code().into(),
            designated_from: x.designated_from.map(|d| d.to_string()).unwrap_or_default(),
            designated_to: x.designated_to.map(|d| d.to_string()).unwrap_or_default(),
            may_issue_referrals: b(x.may_issue_referrals),
            direct_settlement: b(x.direct_settlement),
            version: x.version,
            csrf: String::new(),
        }
    }
}

/// A new account. The API sends `scope` as a list; the portal as one comma-separated field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct AccountForm {
    pub username: String,
    pub display_name: String,
    /// `intake_clerk`, `reviewer`, `second_reviewer`, `auditor`, `finance`, `policy_admin`, `sys_admin`,
    /// `insured`, `institution`, `employer`.
    pub role: String,
    pub password: String,
    /// Division codes, e.g. `620300,620302` (staff).
    pub scope: String,
    /// The registry record (insured persons).
    pub person_id: String,
    /// The institution's national code (an institution's staff).
    pub institution_code: String,
    /// The unit's unified social credit code (an employer unit's account).
    pub employer_code: String,
    #[serde(skip_serializing)]
    pub csrf: String,
}

impl AccountForm {
    pub fn parse(&self) -> Result<NewAccount, Vec<InvalidValue>> {
        let mut e = Vec::new();
        let role = take(&mut e, "role", self.role.trim().parse::<Role>());
        let scope = take(&mut e, "scope", Scope::parse_list(&self.scope));
        let person_id = optional(&mut e, "person_id", &self.person_id, parse_id);
        let username = self.username.trim();
        if username.is_empty() || username.chars().count() > 64 || username.chars().any(char::is_whitespace) {
            e.push(InvalidValue::new(
                "username",
                "format",
                "用户名须为 1 至 64 个字符，不含空格",
                "a username is 1 to 64 characters without spaces",
            ));
        }
        if self.display_name.trim().is_empty() {
            e.push(InvalidValue::new("display_name", "required", "请填写姓名", "give a display name"));
        }
        take(&mut e, "password", yibao_store::validate_password(&self.password));
        match (role, scope) {
            (Some(role), Some(scope)) if e.is_empty() => Ok(NewAccount {
                username: username.to_string(),
                display_name: self.display_name.trim().to_string(),
                role,
                password: self.password.clone(),
                scope,
                person_id,
                institution_code: Some(self.institution_code.trim().to_string()).filter(|c| !c.is_empty()),
                employer_code: Some(self.employer_code.trim().to_string()).filter(|c| !c.is_empty()),
                temporary_password: true,
            }),
            _ => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> PersonForm {
        PersonForm {
            resident_id: "620302198506120036".into(),
            name: "张三".into(),
            enrolment: "resident".into(),
            category: "resident_adult".into(),
            insured_region: "620302".into(),
            hukou_region: "620302".into(),
            status: "active".into(),
            status_from: "2020-01-01".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_good_form_parses() {
        let p = good().parse().unwrap();
        assert_eq!(p.insured_region.to_string(), "620302");
    }

    #[test]
    fn every_bad_field_is_reported_under_its_own_name() {
        let mut f = good();
        f.resident_id = "620302198506120037".into();
        f.insured_region = "99".into();
        f.hukou_region = "990000".into();
        f.phone = "123".into();
        f.status_from = "2020/01/01".into();
        let errs = f.parse().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["resident_id", "insured_region", "hukou_region", "phone", "status_from"]);
        assert!(errs.iter().all(|e| !e.message.zh.is_empty() && !e.message.en.is_empty()));
    }

    #[test]
    fn enrolment_rules_apply_to_forms() {
        let mut f = good();
        f.category = "retired".into();
        assert_eq!(f.parse().unwrap_err()[0].code, "scheme_mismatch");
        let mut f = good();
        f.bank_card = "4111111111111111".into();
        assert_eq!(f.parse().unwrap_err()[0].field, "bank_name");
    }
}
