//! The registry's vocabulary: schemes, enrolment kinds, person categories and statuses,
//! institution tiers and grades. Each enum has a stable stored code.

use serde::{Deserialize, Serialize};

use crate::error::InvalidValue;
use crate::i18n::Text;

/// Defines a registry enum with its stored code and bilingual label, plus `ALL`,
/// `code()`, `label()` and `parse()`.
macro_rules! coded_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident = $code:literal, $zh:literal, $en:literal;)+ }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn label(self) -> Text {
                match self { $($name::$variant => Text::new($zh, $en)),+ }
            }

            pub fn parse(s: &str) -> Result<$name, InvalidValue> {
                match s {
                    $($code => Ok($name::$variant),)+
                    _ => Err(InvalidValue::new(
                        $field,
                        "unknown",
                        format!("“{s}”不是有效的取值，可选：{}", [$($code),+].join("、")),
                        format!("\"{s}\" is not a valid value; expected one of: {}", [$($code),+].join(", ")),
                    )),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidValue;
            fn try_from(s: String) -> Result<Self, Self::Error> { $name::parse(&s) }
        }

        impl From<$name> for &'static str {
            fn from(v: $name) -> &'static str { v.code() }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.code()) }
        }
    };
}
pub(crate) use coded_enum;

coded_enum!(
    /// 险种: the national `insutype` codes.
    Scheme, "scheme" {
        Employee = "310", "职工基本医疗保险", "Employee basic medical insurance";
        Resident = "390", "城乡居民基本医疗保险", "Urban-rural resident basic medical insurance";
    }
);

coded_enum!(
    /// How a person is enrolled. Flexible employment (灵活就业) enrols in the employee scheme
    /// and pays its own contributions.
    Enrolment, "enrolment" {
        UnitEmployee = "unit_employee", "单位职工", "Employee of a unit";
        FlexibleEmployment = "flexible_employment", "灵活就业人员", "Flexible employment";
        Resident = "resident", "城乡居民", "Urban-rural resident";
    }
);

coded_enum!(
    /// 人员类别.
    PersonCategory, "person_category" {
        InService = "in_service", "在职", "In service";
        Retired = "retired", "退休", "Retired";
        ResidentAdult = "resident_adult", "成年居民", "Adult resident";
        ResidentElderly = "resident_elderly", "老年居民", "Elderly resident";
        Minor = "minor", "未成年人", "Minor";
        Student = "student", "在校学生", "Student";
    }
);

coded_enum!(
    /// 参保状态.
    PersonStatus, "status" {
        Active = "active", "正常参保", "Active";
        Suspended = "suspended", "暂停参保", "Suspended";
        Deceased = "deceased", "死亡", "Deceased";
        TransferredOut = "transferred_out", "转出", "Transferred out";
    }
);

coded_enum!(
    /// The administrative tier of a medical institution.
    InstitutionTier, "tier" {
        Township = "township", "乡镇卫生院", "Township health centre";
        Community = "community", "社区卫生服务中心", "Community health centre";
        County = "county", "县级", "County level";
        City = "city", "市级", "City level";
        Province = "province", "省级", "Province level";
    }
);

coded_enum!(
    /// 医院等级.
    HospitalGrade, "grade" {
        Ungraded = "ungraded", "未定级", "Ungraded";
        Level1 = "1", "一级", "Level 1";
        Level2 = "2", "二级", "Level 2";
        Level3 = "3", "三级", "Level 3";
    }
);

impl Enrolment {
    pub fn scheme(self) -> Scheme {
        match self {
            Enrolment::UnitEmployee | Enrolment::FlexibleEmployment => Scheme::Employee,
            Enrolment::Resident => Scheme::Resident,
        }
    }

    /// Whether this enrolment pays its own contributions (no employer unit).
    pub fn pays_own_contributions(self) -> bool {
        !matches!(self, Enrolment::UnitEmployee)
    }
}

impl PersonCategory {
    /// The categories that exist in a scheme.
    pub fn fits(self, scheme: Scheme) -> bool {
        match scheme {
            Scheme::Employee => matches!(self, PersonCategory::InService | PersonCategory::Retired),
            Scheme::Resident => !matches!(self, PersonCategory::InService | PersonCategory::Retired),
        }
    }

    /// The national `psn_type` where it is fixed (11 在职, 12 退休).
    pub fn psn_type(self) -> Option<&'static str> {
        match self {
            PersonCategory::InService => Some("11"),
            PersonCategory::Retired => Some("12"),
            _ => None,
        }
    }
}

impl InstitutionTier {
    /// Referral certificates (转诊证明) may be issued only at county level or above.
    pub fn may_issue_referrals(self) -> bool {
        matches!(self, InstitutionTier::County | InstitutionTier::City | InstitutionTier::Province)
    }
}

/// Checks that an enrolment, a category and an employer fit together.
pub fn check_enrolment(enrolment: Enrolment, category: PersonCategory, has_employer: bool) -> Result<(), InvalidValue> {
    if !category.fits(enrolment.scheme()) {
        return Err(InvalidValue::new(
            "person_category",
            "scheme_mismatch",
            format!("人员类别“{}”不属于{}", category.label().zh, enrolment.scheme().label().zh),
            format!(
                "person category \"{}\" does not exist in the {}",
                category.label().en,
                enrolment.scheme().label().en
            ),
        ));
    }
    if enrolment == Enrolment::UnitEmployee && category == PersonCategory::InService && !has_employer {
        return Err(InvalidValue::new(
            "employer",
            "required",
            "在职单位职工须填写参保单位",
            "an in-service employee of a unit needs an employer unit",
        ));
    }
    if enrolment != Enrolment::UnitEmployee && has_employer {
        return Err(InvalidValue::new(
            "employer",
            "not_allowed",
            "灵活就业人员和城乡居民不隶属参保单位",
            "flexible-employment and resident enrolments have no employer unit",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in Scheme::ALL {
            assert_eq!(Scheme::parse(s.code()).unwrap(), *s);
        }
        for c in PersonCategory::ALL {
            assert_eq!(PersonCategory::parse(c.code()).unwrap(), *c);
        }
        assert!(PersonStatus::parse("zombie").unwrap_err().message.en.contains("active"));
        assert_eq!(serde_json::to_string(&Scheme::Employee).unwrap(), "\"310\"");
    }

    #[test]
    fn enrolment_table() {
        use Enrolment::*;
        use PersonCategory::*;
        // (enrolment, category, has employer, ok)
        let rows = [
            (UnitEmployee, InService, true, true),
            (UnitEmployee, InService, false, false),
            (UnitEmployee, Retired, false, true),
            (FlexibleEmployment, InService, false, true),
            (FlexibleEmployment, InService, true, false),
            (Resident, Student, false, true),
            (Resident, InService, false, false),
            (UnitEmployee, Minor, true, false),
        ];
        for (e, c, emp, ok) in rows {
            assert_eq!(check_enrolment(e, c, emp).is_ok(), ok, "{e} {c} {emp}");
        }
        assert_eq!(FlexibleEmployment.scheme(), Scheme::Employee);
        assert!(FlexibleEmployment.pays_own_contributions());
    }

    #[test]
    fn referrals_from_county_level_up() {
        let issuers: Vec<_> = InstitutionTier::ALL.iter().filter(|t| t.may_issue_referrals()).collect();
        assert_eq!(issuers, [&InstitutionTier::County, &InstitutionTier::City, &InstitutionTier::Province]);
    }
}
