//! Last month cleared and paid (清算与拨付): stays settled at the central hospital and the
//! people's hospital during the previous clearing period; one of them charged the blood
//! count twice, which an auditor confirmed with a deduction; the central hospital applied,
//! objected to the deduction (dismissed), was reviewed and approved; so was the people's
//! hospital. Both gave their corporate accounts, so the payment orders go out with the
//! demo's bank batch. This month stays open. The central hospital's assessment of last year
//! is recorded. The pharmacy cleared last month's purchases too; it has not given its
//! account yet, so its payment waits for one.

use chrono::{Duration, NaiveDate};
use yibao_core::adjudicate::{DateText, FeeLine, MedType};
use yibao_core::{BankCardNumber, Fen};
use yibao_store::{Actor, Consequence, HitDecision, Store, StoreError};

use super::actor_in;

/// (code, name, account name, bank, corporate account)
const HOSPITALS: [(&str, &str, &str, &str); 2] = [
    ("H62030200001", "金昌市中心医院", "中国工商银行金昌分行营业部", "2703020109000012345"),
    ("H62030200002", "金昌市人民医院", "中国农业银行金昌金川支行", "27350101040001234"),
];

/// (serial, code, count, price, amount)
pub(crate) type Line = (&'static str, &'static str, &'static str, &'static str, &'static str);
const BED: Line = ("1", "001102000010000", "3", "40.00", "120.00");
const BLOOD: Line = ("2", "002201000010000", "1", "25.00", "25.00");
const BLOOD_AGAIN: Line = ("3", "002201000010000", "1", "25.00", "25.00");
const OPERATION: Line = ("4", "003113000010000", "1", "4800.00", "4800.00");
const SMALLER: Line = ("4", "003113000010000", "1", "2600.00", "2600.00");

/// A stay of `person` at `code` admitted on `admitted`, discharged and settled the next day.
pub(crate) async fn settled_stay(
    store: &Store,
    code: &str,
    person: i64,
    admitted: NaiveDate,
    ipt_no: &str,
    lines: &[Line],
) -> Result<yibao_store::Settlement, StoreError> {
    let inst = store.institution_by_code(code).await?;
    let p = store.person(person).await?;
    let time = |d: NaiveDate, h: u32| d.and_hms_opt(h, 0, 0).ok_or_else(|| StoreError::Config("demo time".into()));
    let fees = lines
        .iter()
        .map(|(sn, code, cnt, pric, amount)| {
            let bad = || StoreError::Config(format!("demo clearing line {sn}"));
            Ok(yibao_store::FeeUpload {
                line: FeeLine {
                    feedetl_sn: (*sn).into(),
                    med_list_codg: (*code).into(),
                    cnt: cnt.parse().map_err(|_| bad())?,
                    pric: pric.parse().map_err(|_| bad())?,
                    det_item_fee_sumamt: amount.parse().map_err(|_| bad())?,
                    fee_ocur_time: DateText(admitted),
                    reviewer_excluded: false,
                    rescue_admitted: false,
                },
                init_feedetl_sn: None,
                medins_list_codg: format!("HIS-{sn}"),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let admission = yibao_store::Admission {
        insutype: p.scheme,
        med_type: MedType::Inpatient,
        begntime: time(admitted, 9)?,
        ipt_otp_no: ipt_no.into(),
        diagnoses: vec![yibao_store::Diagnosis {
            diag_code: "K35.800".into(),
            diag_name: "急性阑尾炎".into(),
            main: true,
        }],
    };
    let out = admitted + Duration::days(1);
    let mut w = store.begin_write(&Actor::system("seed-demo")).await?;
    let cover = store.direct_cover(&p, &inst, admitted).await?;
    let visit = store.admit_visit(&mut w, &inst, &p, &admission, &cover).await?;
    store.upload_fees(&mut w, inst.id, &visit.mdtrt_id, &fees).await?;
    store.discharge_visit(&mut w, inst.id, &visit.mdtrt_id, time(out, 10)?, "1", &[]).await?;
    let rules = store.rules().await?;
    let request = yibao_store::SettleRequest { acct_used_flag: false, medfee_sumamt: None, setl_time: time(out, 11)? };
    let settled = store.settle_visit(&mut w, &rules, &inst, &visit.mdtrt_id, &request, None).await?;
    w.commit().await?;
    Ok(settled)
}

/// The first `n` of `persons` whom both demo hospitals may settle directly on `day` (a card,
/// contributions paid).
pub async fn settleable(store: &Store, persons: &[i64], day: NaiveDate, n: usize) -> Result<Vec<i64>, StoreError> {
    let mut out = Vec::new();
    for &id in persons {
        let Ok(p) = store.person(id).await else { continue };
        let mut ok = true;
        for (code, ..) in HOSPITALS {
            let inst = store.institution_by_code(code).await?;
            ok &= store.direct_cover(&p, &inst, day).await.is_ok();
        }
        if ok {
            out.push(id);
            if out.len() == n {
                break;
            }
        }
    }
    Ok(out)
}

pub(crate) async fn seed_clearing(store: &Store, persons: &[i64], today: NaiveDate) -> Result<(), StoreError> {
    let central = store.institution_by_code(HOSPITALS[0].0).await?;
    let rules = store.clearing_rules(central.region, today).await?;
    let (start, _) = rules.previous_period(today);
    if chrono::Datelike::year(&start) != chrono::Datelike::year(&today) {
        // The demo's policies are of this year: in its first period there is no last one.
        return Ok(());
    }
    let last: Vec<i64> = persons.iter().rev().copied().collect();
    let [a, b, c] = match settleable(store, &last, start, 3).await?[..] {
        [a, b, c] => [a, b, c],
        _ => return Err(StoreError::Config("the demo has nobody to settle for clearing".into())),
    };
    let day = |n: i64| start + Duration::days(n);
    settled_stay(store, HOSPITALS[0].0, a, day(4), "ZY2026QS001", &[BED, OPERATION]).await?;
    let twice =
        settled_stay(store, HOSPITALS[0].0, b, day(11), "ZY2026QS002", &[BED, BLOOD, BLOOD_AGAIN, SMALLER]).await?;
    settled_stay(store, HOSPITALS[1].0, c, day(18), "ZY2026QS003", &[BED, SMALLER]).await?;

    let accounts = store.list_accounts().await?;
    let actor = |name: &str| actor_in(&accounts, name);
    // The auditor confirms the repeat charge: 25 yuan deducted at clearing.
    let hits = store.hits_of(yibao_store::Subject::Settlement(twice.id)).await?;
    let mut w = store.begin_write(&actor("auditor")?).await?;
    for hit in hits.iter().filter(|h| h.rule_code == "JG-003") {
        let deduct = HitDecision::Confirm { consequence: Consequence::Deduct, amount: Fen::from_yuan(25) };
        store.decide_hit(&mut w, hit.id, deduct, "同日重复收取血常规检查费，拒付一次").await?;
    }
    w.commit().await?;

    for (i, (code, name, bank, account)) in HOSPITALS.iter().enumerate() {
        let inst = store.institution_by_code(code).await?;
        let me = if i == 0 { actor("hospital")? } else { Actor::system(&format!("institution:{code}")) };
        let mut w = store.begin_write(&me).await?;
        let account = BankCardNumber::corporate(account).map_err(|e| StoreError::Config(e.message.en))?;
        store.set_institution_account(&mut w, inst.id, name, bank, &account).await?;
        let clearing = store.apply_for_clearing(&mut w, inst.id, start, None, today).await?;
        // The central hospital objects to the deduction: the auditor dismisses it.
        let objection = match clearing.statement.deductions.first() {
            Some(d) if i == 0 => Some(
                store
                    .object_to_deduction(&mut w, clearing.id, inst.id, d.finding, "第二次血常规为术前复查，有医嘱")
                    .await?,
            ),
            _ => None,
        };
        w.commit().await?;
        let mut w = store.begin_write(&actor("auditor")?).await?;
        let version = match objection {
            Some(o) => {
                let reason = "术前复查与入院检查为同一天同一项目，医嘱未注明复查原因，维持扣减";
                store.decide_objection(&mut w, o.id, o.version, false, reason).await?.1.version
            }
            None => clearing.version,
        };
        let reviewed = store.review_clearing(&mut w, clearing.id, version).await?;
        w.commit().await?;
        let mut w = store.begin_write(&actor("finance")?).await?;
        store.approve_clearing(&mut w, reviewed.id, reviewed.version, today).await?;
        w.commit().await?;
    }
    // Last year's annual assessment of the central hospital (it held no deposit then: the
    // demo's clearings are of this year).
    let mut w = store.begin_write(&actor("auditor")?).await?;
    let note = "服务协议履行良好；病历书写抽查扣 5 分，重复收费扣 3 分";
    store.assess_institution(&mut w, central.id, chrono::Datelike::year(&today) - 1, 92, note, today).await?;
    w.commit().await?;
    Ok(())
}

/// 张三 bought his own medicine at the demo pharmacy in the last period (from his account);
/// the pharmacy applied for clearing, the auditor reviewed and finance approved it.
pub(crate) async fn seed_pharmacy_clearing(store: &Store, zhang: i64, today: NaiveDate) -> Result<(), StoreError> {
    let pharmacy = store.institution_by_code(crate::DEMO_PHARMACY).await?;
    let (start, _) = store.clearing_rules(pharmacy.region, today).await?.previous_period(today);
    if chrono::Datelike::year(&start) != chrono::Datelike::year(&today) {
        return Ok(());
    }
    let at =
        (start + Duration::days(9)).and_hms_opt(16, 40, 0).ok_or_else(|| StoreError::Config("demo time".into()))?;
    let rules = store.rules().await?;
    let person = store.person(zhang).await?;
    let mut w = store.begin_write(&Actor::system(&format!("platform:{}", crate::DEMO_PHARMACY))).await?;
    store.settle_pharmacy(&mut w, &rules, &pharmacy, &person, &crate::mother_purchase("YD-0000")?, at).await?;
    let clearing = store.apply_for_clearing(&mut w, pharmacy.id, start, None, today).await?;
    w.commit().await?;
    let accounts = store.list_accounts().await?;
    let mut w = store.begin_write(&actor_in(&accounts, "auditor")?).await?;
    let reviewed = store.review_clearing(&mut w, clearing.id, clearing.version).await?;
    w.commit().await?;
    let mut w = store.begin_write(&actor_in(&accounts, "finance")?).await?;
    store.approve_clearing(&mut w, reviewed.id, reviewed.version, today).await?;
    w.commit().await
}
