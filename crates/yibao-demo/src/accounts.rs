//! The demo's individual accounts: credited for every month of the year so far as the
//! region's rules say; 张三's mother, authorised under 门诊共济, buying her blood-pressure
//! tablets at a designated pharmacy and seeing a doctor at the central hospital on his
//! account; a colleague leaving the region, whose withdrawal waits for finance.

use chrono::{Datelike, NaiveDate};
use yibao_core::contribution::months::YearMonth;
use yibao_core::contribution::withdrawal::WithdrawalReason;
use yibao_core::registry::{Enrolment, PersonCategory, PersonStatus};
use yibao_core::{AdminCode, ResidentId};
use yibao_store::{
    Actor, PersonInput, PersonalPeriod, PharmacyLine, PharmacyPurchase, Relation, Store, StoreError, WithdrawalRequest,
};

use super::actor_in;

/// The demo's designated retail pharmacy.
pub const DEMO_PHARMACY: &str = "P62030200001";
/// 张三's mother, born 1958 in 金川区.
pub const DEMO_MOTHER_ID: &str = "620302195803150027";
pub const DEMO_MOTHER_NAME: &str = "李秀兰";

/// The purchase of 张三's mother: two boxes of captopril and a cold remedy in the catalog,
/// paracetamol (丙类) her own.
pub fn mother_purchase(invono: &str) -> Result<PharmacyPurchase, StoreError> {
    let bad = |w: &str| StoreError::Config(format!("demo purchase {w}"));
    let line = |sn: &str, code: &str, cnt: &str, pric: &str, amount: &str| -> Result<PharmacyLine, StoreError> {
        Ok(PharmacyLine {
            feedetl_sn: sn.into(),
            med_list_codg: code.into(),
            cnt: cnt.parse().map_err(|_| bad("cnt"))?,
            pric: pric.parse().map_err(|_| bad("pric"))?,
            det_item_fee_sumamt: amount.parse().map_err(|_| bad("amount"))?,
            in_catalog: false,
        })
    };
    Ok(PharmacyPurchase {
        invono: invono.into(),
        lines: vec![
            line("1", "XC09AAE066A001010101734", "2", "15.00", "30.00")?,
            line("2", "ZA01AAG0020010101823", "1", "18.50", "18.50")?,
            line("3", "XN02BEA001A001010101589", "1", "6.80", "6.80")?,
        ],
        use_account: true,
        medfee_sumamt: None,
    })
}

/// Registers 张三's mother (a resident who paid her years), credits the region's accounts
/// for January to last month, has 张三 authorise her, and settles her purchase.
pub(crate) async fn seed_accounts(store: &Store, zhang: i64, today: NaiveDate) -> Result<(), StoreError> {
    let accounts = store.list_accounts().await?;
    let region: AdminCode = "620302".parse()?;
    let mut w = store.begin_write(&actor_in(&accounts, "clerk")?).await?;
    let mother = store
        .create_person(
            &mut w,
            &PersonInput {
                resident_id: DEMO_MOTHER_ID.parse::<ResidentId>()?,
                name: DEMO_MOTHER_NAME.parse()?,
                enrolment: Enrolment::Resident,
                category: PersonCategory::ResidentElderly,
                insured_region: region,
                hukou_region: region,
                employer_id: None,
                bank_name: None,
                bank_card: None,
                phone: Some("13993512346".parse()?),
                status: PersonStatus::Active,
                status_from: NaiveDate::from_ymd_opt(2012, 1, 1).unwrap_or(today),
            },
        )
        .await?;
    // Her social security card, collected and activated: she is settled at hospitals too.
    let card = crate::card_application("中国农业银行");
    let issued = NaiveDate::from_ymd_opt(2019, 5, 6).unwrap_or(today);
    let c = store.apply_card(&mut w, mother.id, &card, issued).await?;
    for event in [yibao_core::card::CardEvent::Collect, yibao_core::card::CardEvent::Activate] {
        store.card_event(&mut w, c.id, event, issued + chrono::Duration::days(30), today).await?;
    }
    w.commit().await?;
    let mut w = store.begin_write(&actor_in(&accounts, "finance")?).await?;
    for year in [today.year() - 1, today.year()] {
        let Some(rules) = store.contribution_rules(region, year).await? else { continue };
        let Some(amount) = rules.resident_amount(mother.category).map(|a| a.personal) else { continue };
        let on = rules.resident.collection_to - chrono::Duration::days(10);
        let reference = format!("SW{year}{:06}", mother.id);
        store.record_personal_payment(&mut w, &mother, PersonalPeriod::Year(year), amount, on, &reference).await?;
    }
    w.commit().await?;

    let system = Actor::system("account-credit");
    let mut month = YearMonth { year: today.year(), month: 1 };
    while month < YearMonth::of(today) {
        store.credit_accounts(&system, region, month, today, |_, _| {}).await?;
        month = month.plus(1);
    }

    let mut w = store.begin_write(&actor_in(&accounts, "zhangsan")?).await?;
    store.authorise_family(&mut w, zhang, &mother.resident_id, DEMO_MOTHER_NAME, Relation::Parent, today).await?;
    w.commit().await?;
    let pharmacy = store.institution_by_code(DEMO_PHARMACY).await?;
    let rules = store.rules().await?;
    let at = (today - chrono::Duration::days(2)).and_hms_opt(10, 12, 0).unwrap_or_default();
    let mut w = store.begin_write(&Actor::system(&format!("platform:{DEMO_PHARMACY}"))).await?;
    store.settle_pharmacy(&mut w, &rules, &pharmacy, &mother, &mother_purchase("YD-0001")?, at).await?;
    w.commit().await?;

    // 门诊共济 at a hospital: three days ago she saw a doctor at the central hospital for her
    // blood pressure; her in-scope share was paid from 张三's account (acct_mulaid_pay).
    let central = store.institution_by_code(crate::DEMO_INSTITUTION).await?;
    let day = today - chrono::Duration::days(3);
    let at = |h: u32| day.and_hms_opt(h, 5, 0).ok_or_else(|| StoreError::Config("demo time".into()));
    let mother = store.person(mother.id).await?;
    let mut w = store.begin_write(&Actor::system(&format!("platform:{}", crate::DEMO_INSTITUTION))).await?;
    let admission = yibao_store::Admission {
        insutype: mother.scheme,
        med_type: yibao_core::adjudicate::MedType::GeneralOutpatient,
        begntime: at(9)?,
        ipt_otp_no: "MZ2026110381".into(),
        diagnoses: vec![yibao_store::Diagnosis {
            diag_code: "I10.x00".into(), diag_name: "高血压".into(), main: true
        }],
    };
    let cover = store.direct_cover(&mother, &central, day).await?;
    let visit = store.admit_visit(&mut w, &central, &mother, &admission, &cover).await?;
    let fee =
        |sn: &str, code: &str, cnt: &str, pric: &str, amount: &str| -> Result<yibao_store::FeeUpload, StoreError> {
            let bad = |what: &str| StoreError::Config(format!("demo outpatient line {what}"));
            Ok(yibao_store::FeeUpload {
                line: yibao_core::adjudicate::FeeLine {
                    feedetl_sn: sn.into(),
                    med_list_codg: code.into(),
                    cnt: cnt.parse().map_err(|_| bad("cnt"))?,
                    pric: pric.parse().map_err(|_| bad("pric"))?,
                    det_item_fee_sumamt: amount.parse().map_err(|_| bad("amount"))?,
                    fee_ocur_time: yibao_core::adjudicate::DateText(day),
                    reviewer_excluded: false,
                    rescue_admitted: false,
                },
                init_feedetl_sn: None,
                medins_list_codg: format!("HIS-MZ-{sn}"),
            })
        };
    let lines = [
        fee("1", "XC09AAE066A001010101734", "4", "15.00", "60.00")?,
        fee("2", "ZA01AAG0020010101823", "2", "18.50", "37.00")?,
    ];
    store.upload_fees(&mut w, central.id, &visit.mdtrt_id, &lines).await?;
    let request = yibao_store::SettleRequest { acct_used_flag: true, medfee_sumamt: None, setl_time: at(10)? };
    store.settle_visit(&mut w, &rules, &central, &visit.mdtrt_id, &request, None).await?;
    w.commit().await?;

    // The first other account holder is leaving the region: the clerk saw the papers and
    // recorded the withdrawal of the whole balance; finance decides it.
    let mut w = store.begin_write(&actor_in(&accounts, "clerk")?).await?;
    for id in 1..300 {
        if id == zhang || id == mother.id {
            continue;
        }
        if store.individual_account(id).await?.is_some_and(|a| a.balance.is_positive()) {
            let reason = WithdrawalReason::LeavingRegion;
            let papers = reason.papers().iter().map(|(c, _)| (*c).to_string()).collect();
            let req = WithdrawalRequest { reason, amount: None, papers, heir: None };
            store.request_withdrawal(&mut w, id, &req, today).await?;
            break;
        }
    }
    w.commit().await?;
    crate::clearing::seed_pharmacy_clearing(store, zhang, today).await
}
