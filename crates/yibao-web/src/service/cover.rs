//! Filings, referral certificates, cards, no-card certificates and the cover question,
//! each checking who may do it: the insured person for their own affairs, the intake clerk
//! for persons in their regions, an institution for what institutions do (issue referral
//! certificates, check a patient's cover at itself).

use chrono::NaiveDate;
use std::sync::Arc;
use yibao_core::card::{CardApplication, CardEvent, PhotoSource};
use yibao_core::cover::FilingStatus;
use yibao_core::filing::{Channel, Decision, FilingApplication};

use yibao_core::{InvalidValue, Permission, ResidentId};
use yibao_store::{
    BlobStore, Card, CoverReport, Document, NoCardCertificate, Person, Referral, ReferralInput, Store, StoredFiling,
};

use super::staff_scope;
use crate::context::Caller;
use crate::error::AppError;
use crate::forms::upload::Upload;

/// Whether `person_id` is the logged-in insured person.
pub(crate) fn is_own(caller: &Caller, person_id: i64) -> bool {
    caller.can(Permission::ViewOwnRecord) && caller.session().and_then(|s| s.account.person_id) == Some(person_id)
}

/// The person, if the caller may act on them: their own record, or (with `staff`) a person
/// insured in the staff caller's regions. Anyone else gets "not found".
pub(crate) async fn person_for(
    store: &Store,
    caller: &Caller,
    person_id: i64,
    staff: Permission,
) -> Result<Person, AppError> {
    if is_own(caller, person_id) {
        return Ok(store.person(person_id).await?);
    }
    caller.require(staff)?;
    let p = store.person(person_id).await?;
    if !caller.covers(p.insured_region) {
        return Err(AppError::not_found("person"));
    }
    Ok(p)
}

/// A filing the caller may see: their own, or (a clerk or an auditor) one of a person in their
/// regions.
pub async fn filing(store: &Store, caller: &Caller, id: i64) -> Result<StoredFiling, AppError> {
    let f = store.filing(id).await?;
    // Clerks decide filings; auditors read them (a pre-evaluation, an on-site audit).
    let staff = caller.can(Permission::ManageFilings) || caller.can(Permission::Audit);
    if is_own(caller, f.person_id) || (staff && caller.covers(f.insured_region)) {
        return Ok(f);
    }
    if !staff {
        caller.require(Permission::ManageFilings)?;
    }
    Err(AppError::not_found("filing"))
}

/// A person's filings (their own, or a clerk's person in scope).
pub async fn filings_of(store: &Store, caller: &Caller, person_id: i64) -> Result<Vec<StoredFiling>, AppError> {
    person_for(store, caller, person_id, Permission::ManageFilings).await?;
    let mut filings = store.filings_of(person_id).await?;
    let mut names = super::StaffNames::new(store, caller);
    for f in &mut filings {
        names.hide(&mut f.applied_by).await;
        if let Some(by) = f.decided_by.as_mut() {
            names.hide(by).await;
        }
    }
    Ok(filings)
}

/// The clerk's queue: filings of persons in their regions, by status (default: applied).
pub async fn filings_queue(
    store: &Store,
    caller: &Caller,
    status: Option<FilingStatus>,
) -> Result<Vec<StoredFiling>, AppError> {
    caller.require(Permission::ManageFilings)?;
    Ok(store.filings_in(&staff_scope(caller), status, 200).await?)
}

/// Files off-site treatment: online by the person, or at the window by a clerk (for the
/// person or their delegate).
///
/// A file sent with the portal's form is the scan of its (last) document, stored in the
/// same transaction as the filing: both are recorded, or neither.
pub async fn apply_filing(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    caller: &Caller,
    person_id: i64,
    app: &FilingApplication,
    replaces: Option<i64>,
    file: Option<Upload>,
) -> Result<StoredFiling, AppError> {
    let channel = if is_own(caller, person_id) { Channel::Online } else { Channel::Window };
    person_for(store, caller, person_id, Permission::ManageFilings).await?;
    let mut app = app.clone();
    let mut w = store.begin_write(&caller.actor()).await?;
    if let Some(file) = file {
        let Some(doc) = app.documents.last_mut() else {
            return Err(AppError::validation(vec![InvalidValue::new(
                "documents",
                "file_without_kind",
                "请选择上传的文件是哪种材料",
                "say which document the uploaded file is",
            )]));
        };
        doc.document_id = Some(store.save_document(&mut w, blobs, person_id, &file.file_name, file.bytes).await?.id);
    }
    let f = store.apply_filing(&mut w, person_id, &app, channel, replaces, caller.today).await?;
    w.commit().await?;
    Ok(f)
}

/// Uploads a document for a person: their own, or a clerk's person in scope.
pub async fn upload_document(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    caller: &Caller,
    person_id: i64,
    file: Upload,
) -> Result<Document, AppError> {
    person_for(store, caller, person_id, Permission::ManageFilings).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let d = store.save_document(&mut w, blobs, person_id, &file.file_name, file.bytes).await?;
    w.commit().await?;
    Ok(d)
}

/// A document's record: the person's own, one of a person the staff caller may see in full,
/// or a paper of a claim the caller may see (a delegate's, say). Anyone else is told it does
/// not exist.
pub async fn document(store: &Store, caller: &Caller, id: i64) -> Result<Document, AppError> {
    let d = store.document(id).await?;
    // An audit's photo is the auditors' of the person's region alone.
    if let Some(region) = store.audit_photo_region(id).await? {
        return if caller.can(Permission::Audit) && caller.covers(region) {
            Ok(d)
        } else {
            Err(AppError::not_found("document"))
        };
    }
    let Err(e) = person_for(store, caller, d.person_id, Permission::ViewPersonDetail).await else { return Ok(d) };
    // A paper of a claim is also for the claim's own people (a delegate who handed it in, the
    // employer unit that filed it); staff read papers only where they see the person in full
    // (finance sees claims, not ID-card scans).
    for claim_id in store.claims_with_document(id).await? {
        if let Ok((_, standing)) = super::claims::claim(store, caller, claim_id).await {
            if standing != super::claims::Standing::Staff {
                return Ok(d);
            }
        }
    }
    Err(if e.status == axum::http::StatusCode::FORBIDDEN { AppError::not_found("document") } else { e })
}

/// A document and its bytes (see [`document`] for who may read it).
pub async fn document_content(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    caller: &Caller,
    id: i64,
) -> Result<(Document, Vec<u8>), AppError> {
    let d = document(store, caller, id).await?;
    let bytes = store.document_bytes(blobs, &d).await?;
    if !is_own(caller, d.person_id) {
        super::record_read(store, caller, "document", id).await?;
    }
    Ok((d, bytes))
}

/// A clerk approves or rejects an application (with a coded reason).
pub async fn decide_filing(
    store: &Store,
    caller: &Caller,
    id: i64,
    version: i64,
    decision: &Decision,
) -> Result<StoredFiling, AppError> {
    caller.require(Permission::ManageFilings)?;
    let f = store.filing(id).await?;
    if !caller.covers(f.insured_region) {
        return Err(AppError::not_found("filing"));
    }
    let mut w = store.begin_write(&caller.actor()).await?;
    let f = store.decide_filing(&mut w, id, version, decision).await?;
    w.commit().await?;
    Ok(f)
}

/// Withdraws an application or revokes a filing: the person's own, or a clerk's.
pub async fn revoke_filing(store: &Store, caller: &Caller, id: i64) -> Result<StoredFiling, AppError> {
    let f = filing(store, caller, id).await?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let f = store.revoke_filing(&mut w, f.id, caller.today).await?;
    w.commit().await?;
    Ok(f)
}

/// A person's cards (their own, or a clerk's person in scope).
pub async fn cards_of(store: &Store, caller: &Caller, person_id: i64) -> Result<Vec<Card>, AppError> {
    person_for(store, caller, person_id, Permission::ManageFilings).await?;
    let mut cards = store.cards_of(person_id).await?;
    let mut names = super::StaffNames::new(store, caller);
    for c in &mut cards {
        names.hide(&mut c.recorded_by).await;
    }
    Ok(cards)
}

/// The service point records a card application.
///
/// A photo file handed in (`PhotoSource::Upload`) is stored with the application, in the
/// same transaction; the card's photo reference is then the document's id.
pub async fn apply_card(
    store: &Store,
    blobs: &Arc<dyn BlobStore>,
    caller: &Caller,
    person_id: i64,
    app: &CardApplication,
    photo: Option<Upload>,
) -> Result<Card, AppError> {
    caller.require(Permission::ManageFilings)?;
    person_for(store, caller, person_id, Permission::ManageFilings).await?;
    let mut app = app.clone();
    let mut w = store.begin_write(&caller.actor()).await?;
    if let Some(file) = photo {
        if app.photo != PhotoSource::Upload {
            return Err(AppError::validation(vec![InvalidValue::new(
                "photo",
                "file_not_upload",
                "上传照片文件时，照片来源请选择“现场提交电子照片”",
                "a photo file goes with the photo source \"electronic photo handed in\"",
            )]));
        }
        let doc = store.save_document(&mut w, blobs, person_id, &file.file_name, file.bytes).await?;
        app.photo_reference = doc.id.to_string();
    }
    let card = store.apply_card(&mut w, person_id, &app, caller.today).await?;
    w.commit().await?;
    Ok(card)
}

/// A card's next step. The person may report their own card lost or damaged (today); a
/// clerk records every step, on a past date if need be.
pub async fn card_event(
    store: &Store,
    caller: &Caller,
    card_id: i64,
    event: CardEvent,
    on: Option<NaiveDate>,
) -> Result<Card, AppError> {
    let card = store.card(card_id).await?;
    let own_report =
        is_own(caller, card.person_id) && matches!(event, CardEvent::ReportLost | CardEvent::ReportDamaged);
    if !own_report {
        person_for(store, caller, card.person_id, Permission::ManageFilings).await?;
        caller.require(Permission::ManageFilings)?;
    }
    let today = caller.today;
    let on = if own_report { today } else { on.unwrap_or(today) };
    let mut w = store.begin_write(&caller.actor()).await?;
    let card = store.card_event(&mut w, card_id, event, on, today).await?;
    w.commit().await?;
    Ok(card)
}

/// The agency issues a no-card certificate, optionally for the admitting institution.
pub async fn issue_no_card_certificate(
    store: &Store,
    caller: &Caller,
    person_id: i64,
    institution_code: Option<&str>,
) -> Result<NoCardCertificate, AppError> {
    caller.require(Permission::ManageFilings)?;
    person_for(store, caller, person_id, Permission::ManageFilings).await?;
    let institution = match institution_code.map(str::trim).filter(|c| !c.is_empty()) {
        Some(code) => Some(store.institution_by_code(code).await?.id),
        None => None,
    };
    let mut w = store.begin_write(&caller.actor()).await?;
    let c = store.issue_no_card_certificate(&mut w, person_id, institution, caller.today).await?;
    w.commit().await?;
    Ok(c)
}

/// Whom the cover question is about.
pub enum Whom<'a> {
    Id(i64),
    ResidentId(&'a ResidentId),
}

/// The cover question. The insured person asks about themselves at any institution; staff
/// about persons in their regions; an institution about any patient, at itself only.
pub async fn cover(
    store: &Store,
    caller: &Caller,
    whom: Whom<'_>,
    date: NaiveDate,
    institution_code: Option<&str>,
) -> Result<(Person, CoverReport), AppError> {
    if let (Some(_), Whom::Id(_)) = (caller.institution(), &whom) {
        // At the desk the patient shows their ID card: an institution asks by its number,
        // never by yibao's own person number (which would let it walk the registry).
        return Err(AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "resident_id_required",
            "医疗机构须凭身份证号码查询参保人的待遇",
            "an institution looks up cover by the resident ID number on the patient's ID card",
        ));
    }
    let person = match whom {
        Whom::Id(id) => store.person(id).await?,
        Whom::ResidentId(rid) => {
            store.person_by_resident_id(rid).await?.ok_or_else(|| AppError::not_found("person"))?
        }
    };
    let institution_code = if let Some(own) = caller.institution() {
        caller.require(Permission::CheckCover)?;
        Some(own.code.clone())
    } else if is_own(caller, person.id) {
        institution_code.map(str::to_string)
    } else {
        caller.require(Permission::CheckCover)?;
        if !caller.covers(person.insured_region) {
            return Err(AppError::not_found("person"));
        }
        institution_code.map(str::to_string)
    };
    let mut report = store.cover_report(&person, date, institution_code.as_deref()).await?;
    let mut names = super::StaffNames::new(store, caller);
    for f in &mut report.filings {
        names.hide(&mut f.applied_by).await;
        if let Some(by) = f.decided_by.as_mut() {
            names.hide(by).await;
        }
    }
    for c in &mut report.cards {
        names.hide(&mut c.recorded_by).await;
    }
    if let Some(own) = caller.institution() {
        // An institution sees what settlement needs: the card state, the filings in force
        // that day and its own answer; not the card history or the agency's certificates,
        // and names masked, no delegate's ID and no staff usernames.
        report.filings.retain(|f| f.in_force_on(date));
        for f in &mut report.filings {
            f.person_name =
                f.person_name.parse::<yibao_core::name::PersonName>().map_or_else(|_| "*".into(), |n| n.masked());
            f.delegate_id = None;
            f.applied_by = String::new();
            f.decided_by = None;
            f.note = None;
        }
        report.cards.clear();
        report.certificates.clear();
        // Every institution's lookup is in the audit log: who asked about whom, for when.
        let mut w = store.begin_write(&caller.actor()).await?;
        let asked = serde_json::json!({ "institution": own.code, "date": date.to_string() });
        w.record("cover.lookup", "person", &person.id.to_string(), None::<&()>, Some(&asked)).await?;
        w.commit().await?;
    }
    Ok((person, report))
}

/// Counts an institution's cover lookup against its allowance (see
/// [`crate::throttle::Lookups`]); refused with 429 once the minute's is spent.
pub fn count_lookup(state: &crate::AppState, caller: &Caller) -> Result<(), AppError> {
    let Some(own) = caller.institution() else {
        return Ok(());
    };
    state.lookups.count(&own.code, std::time::Instant::now()).map_err(|wait| {
        AppError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_lookups",
            &format!("本机构本分钟的待遇查询次数已达上限，请 {} 秒后再试", wait.as_secs().max(1)),
            &format!("your institution has made its lookups for this minute; try again in {} s", wait.as_secs().max(1)),
        )
    })
}

/// An institution issues a referral certificate with its hospital seal.
pub async fn issue_referral(store: &Store, caller: &Caller, input: &ReferralInput) -> Result<Referral, AppError> {
    caller.require(Permission::IssueReferrals)?;
    let own = caller.institution().ok_or_else(AppError::forbidden)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let r = store.issue_referral(&mut w, own, input, caller.today).await?;
    w.commit().await?;
    Ok(r)
}

/// The referral certificates the caller's institution issued, newest first.
pub async fn referrals_issued(store: &Store, caller: &Caller, limit: i64) -> Result<Vec<Referral>, AppError> {
    caller.require(Permission::IssueReferrals)?;
    let own = caller.institution().ok_or_else(AppError::forbidden)?;
    Ok(store.referrals_issued_by(own.id, limit.clamp(1, 500)).await?)
}

/// The issuing hospital's social security window adds the second seal.
pub async fn seal_referral(store: &Store, caller: &Caller, number: &str, by: &str) -> Result<Referral, AppError> {
    caller.require(Permission::IssueReferrals)?;
    let own = caller.institution().ok_or_else(AppError::forbidden)?;
    let mut w = store.begin_write(&caller.actor()).await?;
    let r = store.seal_referral(&mut w, own, number, by).await?;
    w.commit().await?;
    Ok(r)
}

/// A referral certificate by number: its issuing and its destination institution, the
/// agency's staff for persons in their regions, and the person it was issued to. Anyone
/// else is told it does not exist (the certificate names a diagnosis).
pub async fn referral(store: &Store, caller: &Caller, number: &str) -> Result<Referral, AppError> {
    let r = store.referral_by_number(number).await?.ok_or_else(|| AppError::not_found("referral"))?;
    if is_own(caller, r.person_id) {
        return Ok(r);
    }
    if let Some(own) = caller.institution() {
        let ours = own.code == r.issuer_code || r.destination_institution.as_deref() == Some(own.code.as_str());
        return if ours { Ok(r) } else { Err(AppError::not_found("referral")) };
    }
    caller.require(Permission::CheckCover)?;
    let p = store.person(r.person_id).await?;
    if !caller.covers(p.insured_region) {
        return Err(AppError::not_found("referral"));
    }
    Ok(r)
}
