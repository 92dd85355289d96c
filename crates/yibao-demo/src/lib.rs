//! The demo region: 金昌市 (620300) with its districts, institutions of every level in
//! Jinchang, Lanzhou and Beijing, employers, 200+ insured persons of both schemes with valid
//! generated ID numbers, and one account per role. Deterministic: the same seed every time.

use std::sync::Arc;

use chrono::NaiveDate;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use yibao_core::document::DocumentKind;
use yibao_core::registry::{Enrolment, HospitalGrade, InstitutionTier, PersonCategory, PersonStatus};
use yibao_core::{AdminCode, BankCardNumber, CreditCode, Fen, ResidentId, Role, Scope};

mod accounts;
mod audit;
mod clearing;
mod contributions;
mod hits;
mod outliers;
pub use accounts::{mother_purchase, DEMO_MOTHER_ID, DEMO_MOTHER_NAME, DEMO_PHARMACY};
pub use audit::demo_pre_evaluation;
pub use clearing::settleable;
pub use contributions::{demo_contribution_rules, demo_wage, DEMO_CONTRIBUTION_RULES};
mod catalog;

pub use catalog::demo_catalog_csv;
use yibao_store::{
    Actor, BlobStore, Consequence, EmployerInput, HitDecision, InstitutionInput, NewAccount, PersonInput, Store,
    StoreError,
};

/// Every demo account's password.
pub const DEMO_PASSWORD: &str = "demo2026";
/// The demo signing secret of 金昌市中心医院 for the national platform interface.
pub const DEMO_PLATFORM_SECRET: &str = "yb_demo_H62030200001_sign";

/// The demo API key of 金昌市中心医院 ([`DEMO_INSTITUTION`]).
pub const DEMO_API_KEY: &str = "yb_demo_H62030200001_key";
/// The insured person behind the `zhangsan` demo account.
pub const DEMO_INSURED_ID: &str = "620302198506120036";

/// (username, display name, role, regions)
pub const DEMO_ACCOUNTS: &[(&str, &str, Role, &str)] = &[
    ("admin", "系统管理员", Role::SysAdmin, "620000,110000"),
    ("admin2", "系统管理员（复核）", Role::SysAdmin, "620000,110000"),
    ("clerk", "受理窗口 王芳", Role::IntakeClerk, "620300"),
    ("clerk2", "受理窗口 赵磊", Role::IntakeClerk, "620300"),
    ("reviewer", "审核 李明", Role::Reviewer, "620300"),
    ("reviewer2", "复核 赵强", Role::SecondReviewer, "620300"),
    ("auditor", "稽核 陈静", Role::Auditor, "620300"),
    ("finance", "财务 刘洋", Role::Finance, "620300"),
    ("finance2", "财务复核 周敏", Role::Finance, "620300"),
    ("policy", "政策管理 孙丽", Role::PolicyAdmin, "620000"),
    ("zhangsan", "张三", Role::Insured, ""),
    ("hospital", "金昌市中心医院 医保办", Role::Institution, ""),
    ("unit", "金川集团股份有限公司 人事科", Role::Employer, ""),
];

/// The demo's diagnosis list (ICD-10 codes with their Chinese names), as a policy
/// administrator imports it.
pub const DEMO_DIAGNOSES: &[u8] = include_bytes!("../data/diagnoses.csv");

/// The institution the demo's institution account acts for (the holder of [`DEMO_API_KEY`]).
pub const DEMO_INSTITUTION: &str = "H62030200001";

/// The documented example claim's items (`docs/formats/examples/claim-inpatient.json`), as
/// the demo's settled visit, the tests and the load generator upload them: (serial, national
/// code, count, unit price, amount), 5,271.95 yuan in all.
pub const DEMO_VISIT_LINES: [(&str, &str, &str, &str, &str); 7] = [
    ("1", "001102000010000", "6", "40.00", "240.00"),
    ("2", "002201000010000", "2", "25.00", "50.00"),
    ("3", "003113000010000", "1", "4800.00", "4800.00"),
    ("4", "XJ01CRA045E001010101947", "6", "15.50", "93.00"),
    ("5", "XA01ABD075A002010100483", "5", "12.35", "61.75"),
    ("6", "XN02BEA001A001010101589", "2", "8.50", "17.00"),
    ("7", "C1403010010000009120", "12", "0.85", "10.20"),
];

/// 张三's individual account balance carried over when the demo opens it.
pub const DEMO_ACCOUNT_OPENING: Fen = Fen::from_yuan(4_000);

const JINCHANG: &[&str] = &["620302", "620321"];
const LANZHOU: &[&str] = &["620102", "620103", "620104", "620105"];

/// (code suffix, name, region, tier, grade, designated, direct settlement)
const INSTITUTIONS: &[(&str, &str, &str, InstitutionTier, HospitalGrade, bool)] = &[
    ("H62030200001", "金昌市中心医院", "620302", InstitutionTier::City, HospitalGrade::Level3, true),
    ("H62030200002", "金昌市人民医院", "620302", InstitutionTier::City, HospitalGrade::Level2, true),
    ("H62030200003", "金川集团职工医院", "620302", InstitutionTier::City, HospitalGrade::Level2, true),
    ("H62030200004", "金昌市中西医结合医院", "620302", InstitutionTier::City, HospitalGrade::Level2, true),
    ("H62030200005", "金川区人民医院", "620302", InstitutionTier::County, HospitalGrade::Level2, true),
    ("H62030200006", "金川区宁远堡镇卫生院", "620302", InstitutionTier::Township, HospitalGrade::Level1, true),
    ("H62030200007", "金川区滨河路社区卫生服务中心", "620302", InstitutionTier::Community, HospitalGrade::Level1, true),
    ("H62030200008", "金川区新华路社区卫生服务中心", "620302", InstitutionTier::Community, HospitalGrade::Level1, true),
    ("P62030200001", "金昌国大药房新华路店", "620302", InstitutionTier::Community, HospitalGrade::Ungraded, true),
    ("H62032100001", "永昌县人民医院", "620321", InstitutionTier::County, HospitalGrade::Level2, true),
    ("H62032100002", "永昌县中医医院", "620321", InstitutionTier::County, HospitalGrade::Level2, true),
    ("H62032100003", "永昌县河西堡镇卫生院", "620321", InstitutionTier::Township, HospitalGrade::Level1, true),
    ("H62032100004", "永昌县城关镇卫生院", "620321", InstitutionTier::Township, HospitalGrade::Ungraded, false),
    ("H62010200001", "兰州大学第一医院", "620102", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H62010200002", "甘肃省人民医院", "620102", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H62010300001", "兰州大学第二医院", "620103", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H62010200003", "甘肃省中医院", "620102", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H62010200004", "兰州市第一人民医院", "620102", InstitutionTier::City, HospitalGrade::Level3, true),
    ("H62010500001", "兰州市第二人民医院", "620105", InstitutionTier::City, HospitalGrade::Level3, true),
    ("H62012300001", "榆中县人民医院", "620123", InstitutionTier::County, HospitalGrade::Level2, true),
    ("H62010200005", "城关区酒泉路社区卫生服务中心", "620102", InstitutionTier::Community, HospitalGrade::Level1, true),
    ("H11010100001", "北京协和医院", "110101", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H11010200001", "北京大学第一医院", "110102", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H11010200002", "北京大学人民医院", "110102", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H11010500001", "首都医科大学附属北京朝阳医院", "110105", InstitutionTier::Province, HospitalGrade::Level3, true),
    ("H11010500002", "朝阳区双井社区卫生服务中心", "110105", InstitutionTier::Community, HospitalGrade::Level1, true),
];

/// (first 17 characters of the credit code, name, region)
const EMPLOYERS: &[(&str, &str, &str)] = &[
    ("91620300224420010", "金川集团股份有限公司", "620302"),
    ("12620300438004521", "金昌市第一中学", "620302"),
    ("11620300013924610", "金昌市自然资源局", "620302"),
    ("91620321MA72XK3L0", "永昌县祁连山水泥有限公司", "620321"),
    ("91620300MA71A4QX8", "甘肃金昌化工有限公司", "620302"),
    ("91620102MA73DKT95", "兰州黄河商贸有限公司", "620102"),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林",
    "罗",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀兰", "霞", "平", "刚", "桂英", "建国", "玉兰", "志强", "海燕", "文", "春梅", "德华",
];

fn code(s: &str) -> Result<AdminCode, StoreError> {
    Ok(s.parse()?)
}

/// Seeds the demo into an empty database. `today` dates the statuses.
///
/// The seed takes many writes. Its first records [`SEED_STARTED`] and its last [`SEEDED`], so
/// a seed cut short (the process killed on its very first start) is recognised by
/// [`interrupted`] and can be done again from the start.
pub async fn seed_demo(store: &Store, blobs: &Arc<dyn BlobStore>, today: NaiveDate) -> Result<DemoSummary, StoreError> {
    let summary = seed_everything(store, blobs, today).await?;
    let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
    let after = serde_json::json!({ "persons": summary.persons, "claims_for": DEMO_INSURED_ID });
    w.record::<(), _>(SEEDED, "demo", "620300", None, Some(&after)).await?;
    w.commit().await?;
    Ok(summary)
}

/// The audit action of the demo seed's first write.
pub const SEED_STARTED: &str = "demo.seed_started";
/// The audit action of its last.
pub const SEEDED: &str = "demo.seeded";

/// Whether a demo seed began in this database and never finished: what it left is only the
/// beginning of the demo, to be erased and seeded again.
pub async fn interrupted(store: &Store) -> Result<bool, StoreError> {
    Ok(store.audit_has_action(SEED_STARTED).await? && !store.audit_has_action(SEEDED).await?)
}

async fn seed_everything(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    today: NaiveDate,
) -> Result<DemoSummary, StoreError> {
    let mut rng = StdRng::seed_from_u64(620_300);
    let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
    w.record::<(), ()>(SEED_STARTED, "demo", "620300", None, None).await?;
    let designated_from = NaiveDate::from_ymd_opt(2015, 1, 1);

    let mut central_id = 0;
    for (c, name, region, tier, grade, designated) in INSTITUTIONS {
        let inst = store
            .create_institution(
                &mut w,
                &InstitutionInput {
                    code: (*c).into(),
                    name: (*name).into(),
                    region: code(region)?,
                    tier: *tier,
                    grade: *grade,
                    designated_from: if *designated { designated_from } else { None },
                    designated_to: None,
                    may_issue_referrals: *designated && tier.may_issue_referrals(),
                    direct_settlement: *designated,
                },
            )
            .await?;
        if inst.code == DEMO_INSTITUTION {
            central_id = inst.id;
        }
    }
    store.issue_known_api_key(&mut w, central_id, "demo HIS", DEMO_API_KEY).await?;
    store.issue_known_platform_secret(&mut w, central_id, DEMO_PLATFORM_SECRET).await?;

    let mut employer_ids = Vec::new();
    for (first17, name, region) in EMPLOYERS {
        let e = store
            .create_employer(
                &mut w,
                &EmployerInput {
                    credit_code: CreditCode::complete(first17)?,
                    name: (*name).into(),
                    region: code(region)?,
                    contact_name: Some("人事科".into()),
                    contact_phone: Some("0935-8221234".parse()?),
                    // The units' accounts, for the claims they file for their employees.
                    bank_name: Some("中国建设银行金昌分行".into()),
                    bank_card: Some(BankCardNumber::complete(&format!("621700271000{:06}", employer_ids.len() + 1))?),
                },
            )
            .await?;
        employer_ids.push((e.id, e.region));
    }

    let mut persons = 0;
    // Active persons insured in 金昌, for the filings and cards of the demo.
    let mut jinchang_active = Vec::new();
    // The named demo insured person first.
    let zhang = PersonInput {
        resident_id: DEMO_INSURED_ID.parse()?,
        name: "张三".parse()?,
        enrolment: Enrolment::UnitEmployee,
        category: PersonCategory::InService,
        insured_region: code("620302")?,
        hukou_region: code("620302")?,
        employer_id: employer_ids.first().map(|e| e.0),
        bank_name: Some("中国工商银行金昌分行".into()),
        bank_card: Some(BankCardNumber::complete("622202270300123456")?),
        phone: Some("13893512345".parse()?),
        status: PersonStatus::Active,
        status_from: NaiveDate::from_ymd_opt(2010, 7, 1).unwrap_or(today),
    };
    let zhang_id = store.create_person(&mut w, &zhang).await?.id;
    let demo_person_id = Some(zhang_id);
    persons += 1;

    for i in 0..239u32 {
        let region = match i % 10 {
            0..=6 => JINCHANG[(i as usize) % JINCHANG.len()],
            7 | 8 => LANZHOU[(i as usize) % LANZHOU.len()],
            _ => "110105",
        };
        let region = code(region)?;
        let age_days = rng.gen_range(200..32_000);
        let birth = today - chrono::Duration::days(age_days);
        let age = age_days / 365;
        let rid = ResidentId::from_parts(region, birth, (i % 999) as u16 + 1)?;
        let name = format!("{}{}", SURNAMES[rng.gen_range(0..SURNAMES.len())], GIVEN[rng.gen_range(0..GIVEN.len())]);
        let (enrolment, category) = if age < 18 {
            (Enrolment::Resident, if age >= 6 { PersonCategory::Student } else { PersonCategory::Minor })
        } else if i % 3 == 0 {
            (
                Enrolment::Resident,
                if age >= 60 { PersonCategory::ResidentElderly } else { PersonCategory::ResidentAdult },
            )
        } else if i % 7 == 1 {
            (Enrolment::FlexibleEmployment, if age >= 60 { PersonCategory::Retired } else { PersonCategory::InService })
        } else {
            (Enrolment::UnitEmployee, if age >= 60 { PersonCategory::Retired } else { PersonCategory::InService })
        };
        let employer_id = if enrolment == Enrolment::UnitEmployee && category == PersonCategory::InService {
            employer_ids
                .iter()
                .find(|(_, r)| r.prefecture() == region.prefecture())
                .or(employer_ids.first())
                .map(|e| e.0)
        } else {
            None
        };
        let with_bank = i % 4 != 3;
        let bank_card = if with_bank {
            Some(BankCardNumber::complete(&format!("6228480{:011}", 30_000_000_000u64 + u64::from(i) * 7_919))?)
        } else {
            None
        };
        let status = match i % 53 {
            17 => PersonStatus::Suspended,
            31 => PersonStatus::TransferredOut,
            44 => PersonStatus::Deceased,
            _ => PersonStatus::Active,
        };
        let input = PersonInput {
            resident_id: rid,
            name: name.parse()?,
            enrolment,
            category,
            insured_region: region,
            hukou_region: region,
            employer_id,
            bank_name: with_bank.then(|| "中国农业银行".to_string()),
            bank_card,
            phone: Some(format!("139{:08}", 35_000_000 + i * 37).parse()?),
            status,
            status_from: NaiveDate::from_ymd_opt(2018 + (i % 8) as i32, 1 + i % 12, 1).unwrap_or(today),
        };
        let p = store.create_person(&mut w, &input).await?;
        if status == PersonStatus::Active && region.prefecture() == code("620300")? {
            jinchang_active.push(p.id);
        }
        persons += 1;
    }

    for (username, display, role, scope) in DEMO_ACCOUNTS {
        store
            .create_account(
                &mut w,
                &NewAccount {
                    username: (*username).into(),
                    display_name: (*display).into(),
                    role: *role,
                    password: DEMO_PASSWORD.into(),
                    scope: Scope::parse_list(scope)?,
                    person_id: if *role == Role::Insured { demo_person_id } else { None },
                    institution_code: (*role == Role::Institution).then(|| DEMO_INSTITUTION.to_string()),
                    employer_code: (*role == Role::Employer)
                        .then(|| CreditCode::complete(EMPLOYERS[0].0).map(|c| c.to_string()))
                        .transpose()?,
                    // The demo's accounts log in with the published demo password as they are.
                    temporary_password: false,
                },
            )
            .await?;
    }

    // The year's policies for both schemes and the catalog, imported as a policy
    // administrator would.
    for document in DEMO_POLICIES {
        store.import_policy(&mut w, document, None).await?;
    }
    // The employees' policy of the year before, so that the policy page has a version to
    // compare with: a lower cap and a higher level-3 deductible then.
    store.import_policy(&mut w, &employee_policy_2025(), None).await?;
    let catalog = store.import_catalog(&mut w, "demo-catalog.csv", demo_catalog_csv().as_bytes(), None).await?;
    // The diagnosis list people pick from by name: a realistic subset of ICD-10.
    store.import_diagnoses(&mut w, "demo-diagnoses.csv", DEMO_DIAGNOSES).await?;
    // The region's supervision rule base, which looks at every claim the engine adjudicates.
    store.import_rule_base(&mut w, DEMO_RULE_BASE).await?;
    w.commit().await?;
    if let Some(&(first_unit, _)) = employer_ids.first() {
        contributions::seed_contributions(store, first_unit, &jinchang_active, today).await?;
    }
    let filings = seed_cover(store, blobs, zhang_id, central_id, &jinchang_active, today).await?;
    seed_settlement(store, blobs, zhang_id, central_id, today).await?;
    // Before the claims: their bank batch pays the clearings too.
    clearing::seed_clearing(store, &jinchang_active, today).await?;
    seed_claims(store, blobs, zhang_id, today).await?;
    audit::seed_history(store, zhang_id, today).await?;
    if let Some(&referred) = jinchang_active.first() {
        audit::seed_pre_evaluated_claim(store, blobs, referred, today).await?;
    }
    hits::seed_hits(store, blobs, jinchang_active.get(1..).unwrap_or_default(), today).await?;
    outliers::seed_outlier(store, &jinchang_active, today).await?;
    contributions::seed_online(store, &jinchang_active, today).await?;
    accounts::seed_accounts(store, zhang_id, today).await?;
    seed_account_lifecycle(store).await?;
    Ok(DemoSummary {
        institutions: INSTITUTIONS.len(),
        employers: EMPLOYERS.len(),
        persons,
        accounts: DEMO_ACCOUNTS.len(),
        policies: DEMO_POLICIES.len() + 1,
        catalog_entries: catalog.rows_accepted as usize,
        filings,
    })
}

/// The demo employees' policy of 2025: the 2026 one with the year's dates, a cap of 250,000
/// yuan (not 300,000), a level-3 deductible of 1,000 yuan (not 900) and no 糖尿病 benefit.
pub fn employee_policy_2025() -> String {
    let employee = DEMO_POLICIES.iter().find(|d| d.contains("scheme = \"310\"")).copied().unwrap_or_default();
    let mut document = employee
        .replace("2026", "2025")
        .replacen("annual_cap = \"300000.00\"", "annual_cap = \"250000.00\"", 1)
        .replacen("level3 = \"900.00\"", "level3 = \"1000.00\"", 1);
    // The last special illness (糖尿病) was added in 2026.
    if let Some(at) = document.rfind("[[outpatient.special]]") {
        let end = document[at + 1..].find("\n[").map_or(document.len(), |e| at + 1 + e);
        document.replace_range(at..end, "");
    }
    document
}

/// The documents of an inpatient claim of a person living elsewhere who had surgery.
pub const INPATIENT_DOCUMENTS: &[DocumentKind] = &[
    DocumentKind::IdCard,
    DocumentKind::SocialSecurityCard,
    DocumentKind::Invoice,
    DocumentKind::ItemisedList,
    DocumentKind::DischargeSummary,
    DocumentKind::ResidenceCertificate,
    // A person living elsewhere who had surgery (seed 004, 4.).
    DocumentKind::SurgeryPhotos,
];
/// The documents of an outpatient claim of a person living elsewhere.
pub const OUTPATIENT_DOCUMENTS: &[DocumentKind] = &[
    DocumentKind::IdCard,
    DocumentKind::SocialSecurityCard,
    DocumentKind::Invoice,
    DocumentKind::MedicalRecords,
    DocumentKind::ResidenceCertificate,
];

/// The demo region's supervision rule base (the documented example).
pub const DEMO_RULE_BASE: &str = include_str!("../../../docs/formats/examples/rules-620300-1.toml");

/// 张三's sporadic claims (零星报销), one in each state a newcomer should see: waiting for
/// intake, returned for supplement (补正), adjudicated and waiting for review, approved with
/// a line excluded after a second review and paid to his card in a batch, approved and
/// waiting for the next batch, and withdrawn. Each goes through the same store
/// calls the portal and the API make, as the demo account that would take the step.
async fn seed_claims(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    zhang: i64,
    today: NaiveDate,
) -> Result<(), StoreError> {
    use yibao_core::sporadic::{ClaimCase, LineReason};

    use yibao_store::ClaimInput;

    let accounts = store.list_accounts().await?;
    let actor = |username: &str| actor_in(&accounts, username);
    let days_ago = |n: i64| today - chrono::Duration::days(n);
    let claim = |case: ClaimCase, invoice: &str, ended: i64, lines: &[(&str, &str, &str, &str)]| {
        lanzhou_claim(zhang, case, invoice, days_ago(ended), lines)
    };
    let stay: Vec<(&str, &str, &str, &str)> =
        DEMO_VISIT_LINES.iter().map(|(_, code, cnt, pric, amount)| (*code, *cnt, *pric, *amount)).collect();
    let visit = [("002201000010000", "2", "25.00", "50.00"), ("XN02BEA001A001010101589", "2", "8.50", "17.00")];
    let rules = store.rules().await?;
    let zhangsan = actor("zhangsan")?;
    let submit = |input: ClaimInput, documents: &'static [DocumentKind]| {
        let zhangsan = zhangsan.clone();
        async move {
            let mut w = store.begin_write(&zhangsan).await?;
            let c = store.submit_claim(&mut w, &input, today).await?;
            for kind in documents {
                let name = format!("{}.png", kind.label().zh);
                store.attach_claim_document(&mut w, blobs, c.id, *kind, &name, DEMO_SCAN_PNG.to_vec()).await?;
            }
            w.commit().await?;
            Ok::<_, StoreError>(c.id)
        }
    };
    let step = |who: Actor| async move { store.begin_write(&who).await };
    // The itemised list and the discharge summary left out.
    const PARTIAL: &[DocumentKind] = &[
        DocumentKind::IdCard,
        DocumentKind::SocialSecurityCard,
        DocumentKind::Invoice,
        DocumentKind::ResidenceCertificate,
    ];

    // Approved with a line excluded, after review and second review (5,271.95 > 5,000).
    let id = submit(claim(ClaimCase::OffsiteInpatient, "LZ-2026-0001", 20, &stay)?, INPATIENT_DOCUMENTS).await?;
    let mut w = step(actor("clerk")?).await?;
    store.accept_claim(&mut w, &rules, id, today).await?;
    w.commit().await?;
    let mut w = step(actor("reviewer")?).await?;
    store.take_claim(&mut w, id).await?;
    // The rules had flagged a line (血常规 twice on one day): confirmed, and the line excluded.
    for hit in store.claim_hits(id).await? {
        store
            .decide_hit(
                &mut w,
                hit.id,
                HitDecision::Confirm { consequence: Consequence::None, amount: Fen::ZERO },
                "重复收费属实，剔除该项明细",
            )
            .await?;
    }
    store
        .exclude_claim_line(
            &mut w,
            &rules,
            id,
            2,
            Some(LineReason::DuplicateCharge),
            "同日血常规已在门诊收费，重复收取",
        )
        .await?;
    store.decide_claim(&mut w, &rules, id, true, "其余费用符合规定", today).await?;
    w.commit().await?;
    let mut w = step(actor("reviewer2")?).await?;
    store.second_review_claim(&mut w, &rules, id, true, "", today).await?;
    w.commit().await?;
    // Paid: finance builds the batch, a second finance user approves and exports it, and
    // the bank's result file says it was paid.
    let mut w = step(actor("finance")?).await?;
    let batch = store.build_payment_batch(&mut w, code("620300")?, today, yibao_core::payment::BankFormat::Csv).await?;
    w.commit().await?;
    let mut w = step(actor("finance2")?).await?;
    store.approve_payment_batch(&mut w, batch.id).await?;
    let (_, file) = store.export_payment_batch(&mut w, batch.id).await?;
    w.commit().await?;
    let mut w = step(actor("finance")?).await?;
    store.import_bank_results(&mut w, &demo_bank_results(&file, today)).await?;
    w.commit().await?;

    // Approved without a second review, its payment ready for the next batch.
    let short_stay = [
        ("001102000010000", "4", "40.00", "160.00"),
        ("002201000010000", "2", "25.00", "50.00"),
        ("003113000010000", "1", "3000.00", "3000.00"),
    ];
    let id = submit(claim(ClaimCase::OffsiteInpatient, "LZ-2026-0088", 15, &short_stay)?, INPATIENT_DOCUMENTS).await?;
    let mut w = step(actor("clerk")?).await?;
    store.accept_claim(&mut w, &rules, id, today).await?;
    w.commit().await?;
    let mut w = step(actor("reviewer")?).await?;
    store.take_claim(&mut w, id).await?;
    // The rules found it overlapping the earlier stay (a violation, which blocks approval)
    // and the blood count charged twice on one day: the reviewer decides each first.
    for hit in store.claim_hits(id).await? {
        let reason = if hit.rule_code == "JG-001" {
            "经核实：前次住院于本次入院当日转入本院，出院记录日期有误，已由医院更正"
        } else {
            "经核实：同日两次血常规分别为入院检查和术前复查，医嘱齐全"
        };
        store.decide_hit(&mut w, hit.id, HitDecision::Clear, reason).await?;
    }
    store.decide_claim(&mut w, &rules, id, true, "材料齐全，费用符合规定", today).await?;
    w.commit().await?;

    // Adjudicated, waiting for a reviewer.
    let id = submit(claim(ClaimCase::OffsiteOutpatient, "LZ-2026-0107", 12, &visit)?, OUTPATIENT_DOCUMENTS).await?;
    let mut w = step(actor("clerk")?).await?;
    store.accept_claim(&mut w, &rules, id, today).await?;
    w.commit().await?;

    // Returned for supplement: the itemised list and the discharge summary are missing.
    let id = submit(claim(ClaimCase::OffsiteInpatient, "LZ-2026-0231", 9, &stay)?, PARTIAL).await?;
    let mut w = step(actor("clerk")?).await?;
    store.return_claim(&mut w, id, "请补交费用明细清单和出院小结（加盖医院公章）", today).await?;
    w.commit().await?;

    // Handed in this week, waiting for intake; and one withdrawn.
    submit(claim(ClaimCase::OffsiteOutpatient, "LZ-2026-0355", 3, &visit)?, OUTPATIENT_DOCUMENTS).await?;
    let id = submit(claim(ClaimCase::OffsiteOutpatient, "LZ-2026-0356", 3, &visit[..1])?, &[]).await?;
    let mut w = step(zhangsan.clone()).await?;
    store.withdraw_claim(&mut w, id, "票据开错，重新开具后再申报").await?;
    w.commit().await?;
    Ok(())
}

/// A claim of `person_id`'s care at 兰州大学第一医院 (off-site for 金昌) ending on `care_end`
/// (a week's stay for an inpatient case), handed in online by the person, with `lines`
/// (code, count, unit price, amount) on one invoice. The demo's claims and the tests' are
/// made with it.
pub fn lanzhou_claim(
    person_id: i64,
    case: yibao_core::sporadic::ClaimCase,
    invoice: &str,
    care_end: NaiveDate,
    lines: &[(&str, &str, &str, &str)],
) -> Result<yibao_store::ClaimInput, StoreError> {
    use yibao_core::adjudicate::MedType;
    use yibao_core::filing::Channel;
    use yibao_core::registry::HospitalGrade;

    use yibao_store::{ClaimInput, InvoiceInput, ItemisedLine, SubmittedBy};

    let bad = |what: &str| StoreError::Config(format!("demo claim line {what}"));
    let lines = lines
        .iter()
        .map(|(code, cnt, pric, amount)| {
            Ok(ItemisedLine {
                med_list_codg: (*code).into(),
                item_name: String::new(),
                cnt: cnt.parse().map_err(|_| bad("cnt"))?,
                pric: pric.parse().map_err(|_| bad("pric"))?,
                amount: amount.parse().map_err(|_| bad("amount"))?,
                fee_ocur_time: care_end,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let total = lines.iter().map(|l: &ItemisedLine| l.amount).sum();
    Ok(ClaimInput {
        person_id,
        case,
        by: SubmittedBy::Insured,
        channel: Channel::Online,
        med_type: if case.is_inpatient() { MedType::Inpatient } else { MedType::GeneralOutpatient },
        institution_code: "H62010200001".into(),
        institution_name: "兰州大学第一医院".into(),
        treatment_region: code("620102")?,
        hosp_lv: HospitalGrade::Level3,
        visit_no: None,
        care_start: care_end - chrono::Duration::days(if case.is_inpatient() { 6 } else { 0 }),
        care_end,
        diagnoses: vec!["K80.1".into()],
        invoices: vec![InvoiceInput { invoice_no: invoice.into(), invoice_date: care_end, amount: total }],
        lines,
        late_excuse: None,
        treatment_catalog: false,
    })
}

/// The audit actor of the demo account `username` among `accounts`.
/// A clerk who left, whose account the administrator disabled; and 赵磊 (clerk2) put forward
/// by the administrator to review claims, waiting for the second administrator.
async fn seed_account_lifecycle(store: &Store) -> Result<(), StoreError> {
    let accounts = store.list_accounts().await?;
    let mut w = store.begin_write(&actor_in(&accounts, "admin")?).await?;
    let departed = store
        .create_account(
            &mut w,
            &NewAccount {
                username: "clerk_left".into(),
                display_name: "受理窗口 钱亮（已调离）".into(),
                role: Role::IntakeClerk,
                password: DEMO_PASSWORD.into(),
                scope: "620300".parse::<AdminCode>().map(|r| Scope::new(vec![r]))?,
                person_id: None,
                institution_code: None,
                employer_code: None,
                temporary_password: false,
            },
        )
        .await?;
    store.set_account_disabled(&mut w, departed.id, true).await?;
    if let Some(clerk2) = accounts.iter().find(|a| a.username == "clerk2") {
        store.propose_account_change(&mut w, clerk2.id, Role::Reviewer, &clerk2.scope, "admin").await?;
    }
    w.commit().await
}

fn actor_in(accounts: &[yibao_store::Account], username: &str) -> Result<Actor, StoreError> {
    let a = accounts
        .iter()
        .find(|a| a.username == username)
        .ok_or_else(|| StoreError::Config(format!("demo account {username}")))?;
    Ok(Actor { label: a.actor_label(), request_id: String::new() })
}

/// The demo's claim returned for 补正 (`id`), completed by 张三 with the itemised list, the surgery photos and
/// the discharge summary it lacked, handed in again and accepted by the clerk: adjudicated,
/// waiting for a reviewer. For tests that take it further.
pub async fn complete_returned_claim(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    rules: &yibao_store::Rules,
    id: i64,
    today: NaiveDate,
) -> Result<(), StoreError> {
    use yibao_core::document::DocumentKind;
    let accounts = store.list_accounts().await?;
    let actor = |username: &str| actor_in(&accounts, username);
    let mut w = store.begin_write(&actor("zhangsan")?).await?;
    for kind in [DocumentKind::ItemisedList, DocumentKind::DischargeSummary, DocumentKind::SurgeryPhotos] {
        store.attach_claim_document(&mut w, blobs, id, kind, "scan.png", DEMO_SCAN_PNG.to_vec()).await?;
    }
    store.resubmit_claim(&mut w, id, today).await?;
    w.commit().await?;
    let mut w = store.begin_write(&actor("clerk")?).await?;
    store.accept_claim(&mut w, rules, id, today).await?;
    w.commit().await
}

/// The bank's result file for a demo batch: every line paid on `day`.
pub fn demo_bank_results(file: &yibao_core::payment::BatchFile, day: NaiveDate) -> Vec<u8> {
    let mut text = format!("H,{},{},{}\n", file.batch_no, file.lines.len(), file.total().to_plain());
    for l in &file.lines {
        text.push_str(&format!("R,{},{},{},S,,,{day}\n", l.seq, l.order_no, l.amount.to_plain()));
    }
    text.into_bytes()
}

/// 张三's individual account, a visit at the central hospital settled directly a week ago
/// (through the same calls the platform interface makes), and a patient still in hospital
/// with fee lines uploaded, for the hospital to discharge and settle.
async fn seed_settlement(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    zhang: i64,
    central_id: i64,
    today: NaiveDate,
) -> Result<(), StoreError> {
    use yibao_core::adjudicate::{DateText, FeeLine, MedType};

    let central = store.institution(central_id).await?;
    let person = store.person(zhang).await?;
    let at = |days_ago: i64, hour: u32| {
        (today - chrono::Duration::days(days_ago))
            .and_hms_opt(hour, 30, 0)
            .ok_or_else(|| StoreError::Config("demo time".into()))
    };
    let fees = |day: NaiveDate| -> Result<Vec<yibao_store::FeeUpload>, StoreError> {
        let bad = |what: &str| StoreError::Config(format!("demo visit line {what}"));
        DEMO_VISIT_LINES
            .iter()
            .map(|(sn, code, cnt, pric, amount)| {
                Ok(yibao_store::FeeUpload {
                    line: FeeLine {
                        feedetl_sn: (*sn).into(),
                        med_list_codg: (*code).into(),
                        cnt: cnt.parse().map_err(|_| bad("cnt"))?,
                        pric: pric.parse().map_err(|_| bad("pric"))?,
                        det_item_fee_sumamt: amount.parse().map_err(|_| bad("amount"))?,
                        fee_ocur_time: DateText(day),
                        reviewer_excluded: false,
                        rescue_admitted: false,
                    },
                    init_feedetl_sn: None,
                    medins_list_codg: format!("HIS-{sn}"),
                })
            })
            .collect()
    };
    let diagnosis =
        |code: &str, name: &str| yibao_store::Diagnosis { diag_code: code.into(), diag_name: name.into(), main: true };
    let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
    store.open_individual_account(&mut w, zhang, DEMO_ACCOUNT_OPENING).await?;
    let admission = yibao_store::Admission {
        insutype: person.scheme,
        med_type: MedType::Inpatient,
        begntime: at(12, 9)?,
        ipt_otp_no: "ZY2026110001".into(),
        diagnoses: vec![diagnosis("K80.1", "胆囊结石伴胆囊炎")],
    };
    let cover = store.direct_cover(&person, &central, admission.begntime.date()).await?;
    let visit = store.admit_visit(&mut w, &central, &person, &admission, &cover).await?;
    store.upload_fees(&mut w, central_id, &visit.mdtrt_id, &fees(today - chrono::Duration::days(11))?).await?;
    store.discharge_visit(&mut w, central_id, &visit.mdtrt_id, at(7, 10)?, "1", &[]).await?;
    let rules = store.rules().await?;
    let request = yibao_store::SettleRequest { acct_used_flag: true, medfee_sumamt: None, setl_time: at(7, 11)? };
    store.settle_visit(&mut w, &rules, &central, &visit.mdtrt_id, &request, None).await?;
    // Still in hospital: admitted two days ago, the first day's lines uploaded.
    let admission = yibao_store::Admission {
        begntime: at(2, 15)?,
        ipt_otp_no: "ZY2026110002".into(),
        diagnoses: vec![diagnosis("J18.900", "肺炎")],
        ..admission
    };
    let cover = store.direct_cover(&person, &central, admission.begntime.date()).await?;
    let visit = store.admit_visit(&mut w, &central, &person, &admission, &cover).await?;
    store.upload_fees(&mut w, central_id, &visit.mdtrt_id, &fees(today - chrono::Duration::days(1))?[..2]).await?;
    w.commit().await?;
    // An auditor was sent to see that he is really in the ward (现场稽核): two photos taken
    // yesterday, not concluded.
    let accounts = store.list_accounts().await?;
    let mut w = store.begin_write(&actor_in(&accounts, "auditor")?).await?;
    let task = yibao_store::NewTask {
        kind: yibao_core::inspection::AuditTaskKind::OnSite,
        person_id: zhang,
        claim_id: None,
        visit_id: Some(visit.id),
        filing_id: None,
        place: central.name.clone(),
        assignee: "auditor".into(),
        due_on: today + chrono::Duration::days(2),
        instructions: "核实患者是否在床、病情与住院诊断是否相符，拍摄病房及床头卡照片".into(),
    };
    let task = store.create_audit_task(&mut w, &task, today).await?;
    for (name, hour, caption) in [("病房.png", 10, "病房内患者在床"), ("床头卡.png", 11, "床头卡：肺炎")]
    {
        let taken = (today - chrono::Duration::days(1))
            .and_hms_opt(hour, 5, 0)
            .ok_or_else(|| StoreError::Config("demo time".into()))?;
        let photo = yibao_store::NewPhoto {
            file_name: name.into(),
            bytes: DEMO_SCAN_PNG.to_vec(),
            taken_at: taken,
            caption: caption.into(),
        };
        store.add_audit_photo(&mut w, blobs, task.id, photo).await?;
    }
    w.commit().await
}

/// Cards, a referral certificate, filings in every state and a no-card certificate, made
/// through the same calls the portal uses. Filings are dated around `today` (the
/// retroactive window is relative to it); cards were applied for in 2024, whose calendar is
/// built in.
async fn seed_cover(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    zhang: i64,
    central_id: i64,
    others: &[i64],
    today: NaiveDate,
) -> Result<usize, StoreError> {
    use yibao_core::card::CardEvent;
    use yibao_core::cover::FilingType;
    use yibao_core::filing::{Channel, Decision, DocumentKind, FilingApplication, FilingDocument, RejectReason};

    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| StoreError::Config("demo date".into()));
    let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
    let card = card_application("中国工商银行");
    // 张三 and most others have an active card; one has reported it lost and holds a
    // no-card certificate; one is still waiting for the bank.
    let (lost, waiting) = (others.get(1).copied(), others.get(4).copied());
    for (i, &id) in std::iter::once(&zhang).chain(others.iter().take(12)).enumerate() {
        let c = store.apply_card(&mut w, id, &card, day(2024, 3, 4 + i as u32 % 3)?).await?;
        if Some(id) == waiting {
            // Made and waiting at the bank: the person is told to collect it.
            store.card_event(&mut w, c.id, CardEvent::Ready, today - chrono::Duration::days(1), today).await?;
            continue;
        }
        store.card_event(&mut w, c.id, CardEvent::Collect, day(2024, 4, 22)?, today).await?;
        store.card_event(&mut w, c.id, CardEvent::Activate, day(2024, 4, 22)?, today).await?;
        if Some(id) == lost {
            let lost_on = today - chrono::Duration::days(6);
            store.card_event(&mut w, c.id, CardEvent::ReportLost, lost_on, today).await?;
            store.issue_no_card_certificate(&mut w, id, None, today - chrono::Duration::days(2)).await?;
        }
    }

    let start = today - chrono::Duration::days(20);
    let doc = |kind, reference: &str| vec![FilingDocument { kind, reference: reference.into(), document_id: None }];
    let file = |kind, destination: &str, documents| -> Result<FilingApplication, StoreError> {
        Ok(FilingApplication {
            kind,
            destination: Some(code(destination)?),
            institution: None,
            start,
            documents,
            delegate_id: None,
        })
    };
    let mut count = 0;
    // 张三: visiting family in Beijing, approved.
    let f = store
        .apply_filing(&mut w, zhang, &file(FilingType::TemporaryOther, "110000", vec![])?, Channel::Online, None, today)
        .await?;
    store.decide_filing(&mut w, f.id, f.version, &Decision::Approve).await?;
    count += 1;
    w.commit().await?;
    // A referral from 金昌市中心医院 to 兰州 with both seals, then the filing, approved.
    // Each step is its own transaction, as it is in the portal and the API.
    if let Some(&referred) = others.first() {
        let central = store.institution(central_id).await?;
        let input = yibao_store::ReferralInput {
            resident_id: store.person(referred).await?.resident_id,
            diagnosis: "冠状动脉粥样硬化性心脏病，拟行冠脉介入治疗".into(),
            destination: code("620100")?,
            destination_institution: Some("H62010200001".into()),
            valid_from: start,
            valid_to: start + chrono::Duration::days(90),
            hospital_seal_by: "医务科 周立".into(),
        };
        let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
        let r = store.issue_referral(&mut w, &central, &input, today).await?;
        w.commit().await?;
        let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
        store.seal_referral(&mut w, &central, &r.number, "医保办 吴敏").await?;
        w.commit().await?;
        let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
        let app = file(FilingType::Referral, "620100", doc(DocumentKind::ReferralCertificate, &r.number))?;
        let f = store.apply_filing(&mut w, referred, &app, Channel::Window, None, today).await?;
        w.commit().await?;
        // The clerk asks the person to come in first (预评估), records what was seen, then
        // approves.
        let clerk = actor_in(&store.list_accounts().await?, "clerk")?;
        let mut w = store.begin_write(&clerk).await?;
        let note = "请携带近期病历、冠脉造影报告到市医保中心二楼窗口预评估";
        let pre = store.require_pre_evaluation(&mut w, f.id, note).await?;
        store.record_pre_evaluation(&mut w, f.id, pre.version, &demo_pre_evaluation(), today).await?;
        let f = store.filing(f.id).await?;
        store.decide_filing(&mut w, f.id, f.version, &Decision::Approve).await?;
        w.commit().await?;
        count += 1;
    }
    let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
    // A retiree resettled in Hainan, waiting for the clerk; a posted worker rejected for a
    // missing posting certificate; an emergency filed afterwards (补办), waiting.
    if let [_, _, a, b, c, ..] = others {
        // The retiree uploaded a photo of the residence certificate with the application.
        let scan = store.save_document(&mut w, blobs, *a, "居住证明.png", DEMO_SCAN_PNG.to_vec()).await?;
        let mut documents = doc(DocumentKind::ResidenceCertificate, "三亚市吉阳区居委会证明");
        documents[0].document_id = Some(scan.id);
        let app = file(FilingType::RetireeResettled, "460200", documents)?;
        store.apply_filing(&mut w, *a, &app, Channel::Online, None, today).await?;
        let app = file(FilingType::PostedWorker, "110000", doc(DocumentKind::ResidencePermit, "京居 0931"))?;
        let f = store.apply_filing(&mut w, *b, &app, Channel::Window, None, today).await?;
        let no =
            Decision::Reject { reason: RejectReason::MissingDocuments, note: "请补充单位派驻证明".into() };
        store.decide_filing(&mut w, f.id, f.version, &no).await?;
        let app = file(FilingType::Emergency, "620100", doc(DocumentKind::EmergencyRecord, "兰大一院急诊 2211"))?;
        store.apply_filing(&mut w, *c, &app, Channel::Online, None, today).await?;
        count += 3;
    }
    w.commit().await?;
    Ok(count)
}

/// A 1×1 PNG: the demo's uploaded scan (the bytes matter only as a real PNG; tests upload
/// it too).
pub const DEMO_SCAN_PNG: &[u8] = b"\x89\x50\x4e\x47\x0d\x0a\x1a\x0a\x00\x00\x00\x0d\x49\x48\x44\x52\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\x0d\x49\x44\x41\x54\x78\xda\x63\xfc\xcf\xc0\x50\x0f\x00\x04\x85\x01\x80\x84\xa9\x8c\x21\x00\x00\x00\x00\x49\x45\x4e\x44\xae\x42\x60\x82";

/// The demo region's policies (the documented examples).
pub use yibao_core::adjudicate::synthetic::DEMO_POLICY_DOCUMENTS as DEMO_POLICIES;

#[derive(Debug, Clone, Copy)]
pub struct DemoSummary {
    pub institutions: usize,
    pub employers: usize,
    pub persons: usize,
    pub accounts: usize,
    pub policies: usize,
    pub catalog_entries: usize,
    pub filings: usize,
}

/// A card application at the service point, with the ID card's photo, for a card of `bank`.
pub(crate) fn card_application(bank: &str) -> yibao_core::card::CardApplication {
    yibao_core::card::CardApplication {
        photo: yibao_core::card::PhotoSource::IdCard,
        photo_reference: String::new(),
        bank: bank.into(),
        applicant_confirmed: true,
        service_point_confirmed: true,
    }
}
