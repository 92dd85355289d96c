//! The demo's audit (稽核): 张三's medical history file as an auditor completed it, and the
//! referred person's pre-evaluated transfer whose claim differs from its pre-evaluation.

use std::sync::Arc;

use chrono::NaiveDate;
use yibao_core::Fen;
use yibao_store::{BlobStore, Store, StoreError};

use crate::{actor_in, lanzhou_claim, DEMO_SCAN_PNG};

/// What the auditor added to 张三's medical history file by hand (the settlement and the
/// approved claims added their diagnoses themselves): a chronic illness from a hospital
/// document, and an allergy found at an audit.
pub(crate) async fn seed_history(store: &Store, zhang: i64, today: NaiveDate) -> Result<(), StoreError> {
    use yibao_core::history::{HistoryInput, HistoryKind, HistorySource};
    let accounts = store.list_accounts().await?;
    let mut w = store.begin_write(&actor_in(&accounts, "auditor")?).await?;
    let entries = [
        (
            HistoryKind::Chronic,
            "I10",
            "原发性高血压",
            800,
            HistorySource::Document,
            "金昌市中心医院门诊病历（2024-09）",
        ),
        (HistoryKind::Allergy, "", "青霉素过敏", 400, HistorySource::Audit, "入院稽核记录"),
    ];
    for (kind, code, name, days_ago, source, source_ref) in entries {
        let input = HistoryInput {
            kind,
            code: code.into(),
            name: name.into(),
            noted_on: today - chrono::Duration::days(days_ago),
        };
        store.add_history(&mut w, zhang, &input, source, source_ref, today).await?;
    }
    w.commit().await
}

/// What the clerk saw when the referred person came in before the transfer to 兰州: heart
/// disease, a stent planned, about eight days and 45,000 yuan, photos and a re-check required.
pub fn demo_pre_evaluation() -> yibao_core::inspection::PreEvaluation {
    yibao_core::inspection::PreEvaluation {
        condition: "活动后胸痛三月，心电图 ST 段压低，市中心医院冠脉造影示前降支狭窄 80%".into(),
        diagnosis_code: "I25.1".into(),
        diagnosis_name: "动脉硬化性心脏病".into(),
        surgery_planned: true,
        treatment: "经皮冠状动脉支架置入术".into(),
        expected_days: Some(8),
        expected_amount: Some(Fen::from_yuan(45_000)),
        photos_required: true,
        recheck_within_days: Some(30),
    }
}

/// The referred person's claim for the stay in 兰州, handed in at the window and accepted:
/// it differs from the pre-evaluation (no stent charged, another main diagnosis, six days, far
/// less money), which the reviewer sees beside it; its re-check visit is due 30 days after
/// discharge.
pub(crate) async fn seed_pre_evaluated_claim(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    person: i64,
    today: NaiveDate,
) -> Result<(), StoreError> {
    use yibao_core::document::DocumentKind;
    use yibao_core::sporadic::ClaimCase;
    let accounts = store.list_accounts().await?;
    let clerk = actor_in(&accounts, "clerk")?;
    let lines = [("001102000010000", "6", "40.00", "240.00"), ("002201000010000", "1", "25.00", "25.00")];
    let mut input =
        lanzhou_claim(person, ClaimCase::Referral, "LZ-2026-0415", today - chrono::Duration::days(5), &lines)?;
    input.channel = yibao_core::filing::Channel::Window;
    let mut w = store.begin_write(&clerk).await?;
    let c = store.submit_claim(&mut w, &input, today).await?;
    for kind in [
        DocumentKind::IdCard,
        DocumentKind::SocialSecurityCard,
        DocumentKind::Invoice,
        DocumentKind::ItemisedList,
        DocumentKind::DischargeSummary,
        DocumentKind::ReferralCertificate,
        DocumentKind::MedicalRecords,
        DocumentKind::BankAccount,
        DocumentKind::SurgeryPhotos,
    ] {
        let name = format!("{}.png", kind.label().zh);
        store.attach_claim_document(&mut w, blobs, c.id, kind, &name, DEMO_SCAN_PNG.to_vec()).await?;
    }
    w.commit().await?;
    let rules = store.rules().await?;
    let mut w = store.begin_write(&clerk).await?;
    store.accept_claim(&mut w, &rules, c.id, today).await?;
    w.commit().await
}
