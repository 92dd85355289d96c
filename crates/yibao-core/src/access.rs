//! Who may do what, and where. One table decides it: [`Role::can`]. Staff accounts are
//! scoped to regions ([`Scope`]) and see nothing outside them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::admin_code::AdminCode;
use crate::error::InvalidValue;
use crate::i18n::{Lang, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    IntakeClerk,
    Reviewer,
    SecondReviewer,
    Auditor,
    Finance,
    PolicyAdmin,
    SysAdmin,
    /// An insured person logged in to see their own affairs.
    Insured,
    /// A designated institution calling the API with its key.
    Institution,
    /// An employer unit (参保单位) filing claims for its employees.
    Employer,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// Search and list insured persons in scope (masked).
    ViewPersons,
    /// See a person's full record (unmasked ID, bank card, phone).
    ViewPersonDetail,
    EditPersons,
    ViewEmployers,
    EditEmployers,
    ViewInstitutions,
    EditInstitutions,
    ManageAccounts,
    ViewAuditLog,
    /// An insured person's own record.
    ViewOwnRecord,
    /// Read the policies and catalogs of the caller's regions.
    ViewPolicies,
    /// Import policies and catalogs for the caller's regions.
    ManagePolicies,
    /// File off-site treatment for a person at the window, decide filings, record card
    /// applications and issue no-card certificates, in the caller's regions.
    ManageFilings,
    /// Ask a person's cover (card, filings, the cover at an institution) by ID number.
    CheckCover,
    /// Issue referral certificates (a designated institution allowed to).
    IssueReferrals,
    /// See the sporadic claims of persons in the caller's regions.
    ViewClaims,
    /// Take claims in at the window, accept them or return them for supplement (补正).
    HandleClaims,
    /// Review claims: exclude lines with coded reasons, approve or reject.
    ReviewClaims,
    /// Confirm another reviewer's decision on a claim above the region's amount (复核).
    SecondReviewClaims,
    /// Give claims waiting for review to reviewers of the caller's regions, and move a claim
    /// under review to another (the lead reviewer: the second reviewer, 复核).
    AssignClaims,
    /// See payment orders and batches, the claims at risk of missing the 15-working-day
    /// promise, and the reconciliation, in the caller's regions.
    ViewPayments,
    /// Build, approve (a second finance user), export and cancel batches; import the bank's
    /// results.
    ManagePayments,
    /// Hand claims in for the unit's own employees and follow the claims the unit handed in.
    FileForEmployees,
    /// Decide what the supervision rules found (clear with a reason, or confirm), in the
    /// caller's regions.
    DecideHits,
    /// Audit (稽核) in the caller's regions: add to persons' medical history files by hand,
    /// send and conclude on-site audits with their photos, record pre-evaluations.
    Audit,
    /// Declare a unit's monthly wages (its own, for an employer account; a unit of the
    /// caller's regions, at the window) and read its bills.
    DeclareContributions,
    /// A designated institution's own clearing (清算): apply for a period, read its statements,
    /// object to a deduction, give the bank account it is paid to.
    ApplyForClearing,
}

impl Role {
    pub const ALL: [Role; 10] = [
        Role::IntakeClerk,
        Role::Reviewer,
        Role::SecondReviewer,
        Role::Auditor,
        Role::Finance,
        Role::PolicyAdmin,
        Role::SysAdmin,
        Role::Insured,
        Role::Institution,
        Role::Employer,
    ];

    /// Staff roles are scoped to regions; the others see their own affairs only.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Insured | Role::Institution | Role::Employer)
    }

    /// The single place that decides what a role may do.
    pub fn can(self, p: Permission) -> bool {
        use Permission::*;
        use Role::*;
        match self {
            IntakeClerk => matches!(
                p,
                ViewPersons
                    | ViewPersonDetail
                    | EditPersons
                    | ViewEmployers
                    | EditEmployers
                    | ViewInstitutions
                    | ViewPolicies
                    | ManageFilings
                    | CheckCover
                    | ViewClaims
                    | HandleClaims
                    | DeclareContributions
            ),
            Reviewer => matches!(
                p,
                ViewPersons
                    | ViewPersonDetail
                    | ViewEmployers
                    | ViewInstitutions
                    | ViewPolicies
                    | CheckCover
                    | ViewClaims
                    | ReviewClaims
                    | DecideHits
            ),
            SecondReviewer => matches!(
                p,
                ViewPersons
                    | ViewPersonDetail
                    | ViewEmployers
                    | ViewInstitutions
                    | ViewPolicies
                    | CheckCover
                    | ViewClaims
                    | ReviewClaims
                    | SecondReviewClaims
                    | AssignClaims
                    | DecideHits
            ),
            Auditor => matches!(
                p,
                ViewPersons
                    | ViewPersonDetail
                    | ViewEmployers
                    | ViewInstitutions
                    | ViewAuditLog
                    | ViewPolicies
                    | CheckCover
                    | ViewClaims
                    | ViewPayments
                    | DecideHits
                    | Audit
            ),
            Finance => {
                matches!(p, ViewPersons | ViewEmployers | ViewInstitutions | ViewClaims | ViewPayments | ManagePayments)
            }
            PolicyAdmin => {
                matches!(p, ViewEmployers | ViewInstitutions | EditInstitutions | ViewPolicies | ManagePolicies)
            }
            SysAdmin => matches!(p, ManageAccounts | ViewAuditLog | ViewInstitutions),
            Insured => matches!(p, ViewOwnRecord | ViewInstitutions),
            Institution => matches!(p, CheckCover | IssueReferrals | ApplyForClearing),
            Employer => matches!(p, FileForEmployees | ViewInstitutions | DeclareContributions),
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Role::IntakeClerk => "intake_clerk",
            Role::Reviewer => "reviewer",
            Role::SecondReviewer => "second_reviewer",
            Role::Auditor => "auditor",
            Role::Finance => "finance",
            Role::PolicyAdmin => "policy_admin",
            Role::SysAdmin => "sys_admin",
            Role::Insured => "insured",
            Role::Institution => "institution",
            Role::Employer => "employer",
        }
    }

    pub fn label(self) -> Text {
        let (zh, en) = match self {
            Role::IntakeClerk => ("受理窗口", "Intake clerk"),
            Role::Reviewer => ("审核", "Reviewer"),
            Role::SecondReviewer => ("复核", "Second reviewer"),
            Role::Auditor => ("稽核", "Auditor"),
            Role::Finance => ("财务", "Finance"),
            Role::PolicyAdmin => ("政策管理", "Policy administrator"),
            Role::SysAdmin => ("系统管理", "System administrator"),
            Role::Insured => ("参保人", "Insured person"),
            Role::Institution => ("定点医疗机构", "Designated institution"),
            Role::Employer => ("参保单位", "Employer unit"),
        };
        Text::new(zh, en)
    }

    pub fn label_in(self, lang: Lang) -> String {
        self.label().get(lang).to_string()
    }
}

impl FromStr for Role {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.into_iter().find(|r| r.code() == s).ok_or_else(|| {
            InvalidValue::new("role", "unknown", format!("未知角色“{s}”"), format!("unknown role \"{s}\""))
        })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The regions a staff account may see. A prefecture code covers its counties, a province
/// code its prefectures and counties.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Scope(Vec<AdminCode>);

impl Scope {
    pub fn new(mut regions: Vec<AdminCode>) -> Scope {
        regions.sort();
        regions.dedup();
        Scope(regions)
    }

    pub fn regions(&self) -> &[AdminCode] {
        &self.0
    }

    pub fn covers(&self, code: AdminCode) -> bool {
        self.0.iter().any(|r| r.contains(code))
    }

    /// Parses `620300,620100`.
    pub fn parse_list(s: &str) -> Result<Scope, InvalidValue> {
        let regions =
            s.split([',', ' ', '，']).filter(|p| !p.is_empty()).map(str::parse).collect::<Result<Vec<_>, _>>()?;
        Ok(Scope::new(regions))
    }

    pub fn to_list(&self) -> String {
        self.0.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_clerks_edit_persons_and_only_admins_manage_accounts() {
        for role in Role::ALL {
            assert_eq!(role.can(Permission::EditPersons), role == Role::IntakeClerk, "{role}");
            assert_eq!(role.can(Permission::ManageAccounts), role == Role::SysAdmin, "{role}");
            assert_eq!(role.can(Permission::ViewOwnRecord), role == Role::Insured, "{role}");
            assert_eq!(role.can(Permission::ManagePolicies), role == Role::PolicyAdmin, "{role}");
            assert_eq!(role.can(Permission::ManageFilings), role == Role::IntakeClerk, "{role}");
            assert_eq!(role.can(Permission::IssueReferrals), role == Role::Institution, "{role}");
            assert_eq!(role.can(Permission::HandleClaims), role == Role::IntakeClerk, "{role}");
            assert_eq!(
                role.can(Permission::ReviewClaims),
                matches!(role, Role::Reviewer | Role::SecondReviewer),
                "{role}"
            );
            assert_eq!(role.can(Permission::SecondReviewClaims), role == Role::SecondReviewer, "{role}");
            assert_eq!(role.can(Permission::AssignClaims), role == Role::SecondReviewer, "{role}");
            assert_eq!(role.can(Permission::ManagePayments), role == Role::Finance, "{role}");
            assert_eq!(role.can(Permission::FileForEmployees), role == Role::Employer, "{role}");
            assert_eq!(role.can(Permission::ViewPayments), matches!(role, Role::Finance | Role::Auditor), "{role}");
            // Claims are staff business; the insured see their own through ViewOwnRecord.
            assert_eq!(
                role.can(Permission::ViewClaims),
                role.is_staff() && !matches!(role, Role::PolicyAdmin | Role::SysAdmin),
                "{role}"
            );
            // Nobody outside the agency's staff sees the registry.
            if !role.is_staff() {
                assert!(!role.can(Permission::ViewPersons), "{role}");
            }
        }
    }

    #[test]
    fn role_codes_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.code().parse::<Role>().unwrap(), role);
        }
        assert!("boss".parse::<Role>().is_err());
    }

    #[test]
    fn scope_covers_subregions_only() {
        let s = Scope::parse_list("620300, 110000").unwrap();
        let c = |x: &str| x.parse::<AdminCode>().unwrap();
        assert!(s.covers(c("620302")));
        assert!(s.covers(c("110105")));
        assert!(!s.covers(c("620102")));
        assert!(!s.covers(c("620000")));
        assert!(!Scope::default().covers(c("620302")));
        assert_eq!(s.to_list(), "110000,620300");
    }
}
