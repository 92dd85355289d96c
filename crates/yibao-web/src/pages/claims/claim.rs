//! A claim's page: its state and history, what is missing, the statement line by line, where
//! its money is, and the steps the caller may take.

use super::*;

// ---------------------------------------------------------------------------------------
// A claim's page

pub struct StatementRow {
    pub seq: String,
    pub code: String,
    pub name: String,
    pub category: String,
    pub amount: String,
    pub fulamt: String,
    pub overlmt: String,
    pub preselfpay: String,
    pub inscp: String,
    pub fund: String,
    pub person: String,
    pub why: Vec<String>,
    /// A reviewer's exclusion: reason and comment.
    pub excluded: String,
    /// Outside the catalog (a rescue admission may be offered), and an admission made: its
    /// reason, comment and reviewer.
    pub outside_catalog: bool,
    pub rescued: String,
    /// The rules' hits on this line (staff only): id, rule, severity code, finding, open.
    pub flags: Vec<(i64, String, &'static str, String, bool)>,
}

pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub to: String,
    pub note: String,
}

#[derive(Template)]
#[template(path = "claim.html")]
struct ClaimPage {
    ctx: Ctx,
    c: StoredClaim,
    case: String,
    state: String,
    submitter: String,
    /// By whom and when it was handed in.
    submitted: String,
    hosp_lv: String,
    med_type: String,
    /// Each diagnosis with its name where the list has it: 「I10 原发性高血压」.
    diagnoses: String,
    invoices_total: String,
    missing: Vec<String>,
    documents: Vec<(i64, String, String)>,
    events: Vec<EventRow>,
    statement: Option<Statement>,
    rows: Vec<StatementRow>,
    steps: Vec<String>,
    funds: Vec<(String, String)>,
    payment: String,
    /// For a rejected claim, the reviewer's reason (the page then says what the person can do).
    rejection: Option<String>,
    /// The caller hands claims in for this person (themself, a delegate, a clerk).
    claimant: bool,
    /// What the claimant should do about the payment (a failed one, or no account yet).
    payment_todo: String,
    payment_state: &'static str,
    can_give_account: bool,
    /// An account given by staff and not yet confirmed, or one changed since approval.
    account_check: String,
    can_confirm_account: bool,
    /// The payment order's version, which a confirmation carries.
    order_version: i64,
    /// What the caller may do now.
    can_withdraw: bool,
    can_add_documents: bool,
    can_resubmit: bool,
    can_intake: bool,
    can_take: bool,
    /// For a lead reviewer: the reviewers the claim may be given to (username, name, has it).
    assign: Vec<(String, String, bool)>,
    can_review: bool,
    can_second_review: bool,
    needs_second: bool,
    kinds: Vec<Choice>,
    reasons: Vec<Choice>,
    rescue_reasons: Vec<Choice>,
    /// What the supervision rules found (staff only).
    hits: Vec<HitRow>,
    /// An open violation keeps the claim from approval.
    hits_blocking: bool,
    can_decide_hits: bool,
    /// A claim's hit is never deducted from a clearing (the fund paid the person).
    deduct_allowed: bool,
    /// Staff: how the stay compares with its filing's pre-evaluation (none without one), and
    /// the audit tasks about the claim.
    comparison: Option<(PreEvaluationView, Vec<String>)>,
    tasks: Vec<TaskRow>,
    can_audit: bool,
    errors: Vec<String>,
    notice: Option<String>,
    zh: bool,
}

use crate::pages::inspection::{task_rows, PreEvaluationView, TaskRow};
use crate::pages::supervision::{hit_rows, name_takers, HitRow};

fn statement_rows(c: &StoredClaim, s: &Statement, lang: Lang) -> Vec<StatementRow> {
    s.lines
        .iter()
        .map(|l| {
            let stored = c.lines.iter().find(|x| x.seq.to_string() == l.seq);
            let reason = stored.and_then(|x| x.excluded_reason);
            StatementRow {
                seq: l.seq.clone(),
                code: l.med_list_codg.clone(),
                // Not in the catalog: the name on the hospital's list says what it was.
                name: match stored.map(|x| x.item_name.as_str()).filter(|n| !n.is_empty()) {
                    Some(n) if l.category.is_none() => n.to_string(),
                    _ => l.name.clone(),
                },
                category: l
                    .category
                    .as_ref()
                    .map_or_else(|| i18n::t(lang, "claim.not_in_catalog").to_string(), |t| t.get(lang).to_string()),
                amount: l.amount.to_grouped(),
                fulamt: l.fulamt_ownpay_amt.to_grouped(),
                overlmt: l.overlmt_selfpay.to_grouped(),
                preselfpay: l.preselfpay_amt.to_grouped(),
                inscp: l.inscp_scp_amt.to_grouped(),
                fund: l.fund_pay.to_grouped(),
                person: l.person_pays.to_grouped(),
                why: l.why.iter().map(|t| t.get(lang).to_string()).collect(),
                excluded: reason
                    .map(|r| {
                        let note = stored.and_then(|x| x.excluded_note.clone()).unwrap_or_default();
                        format!("{}{}{note}", r.label().get(lang), if note.is_empty() { "" } else { "：" })
                    })
                    .unwrap_or_default(),
                outside_catalog: l.category.is_none(),
                rescued: stored
                    .and_then(|x| {
                        let r = x.rescue_reason?;
                        let note = x.rescue_note.clone().unwrap_or_default();
                        Some(format!("{}：{note}", r.label().get(lang)))
                    })
                    .unwrap_or_default(),
                flags: Vec::new(),
            }
        })
        .collect()
}

pub(crate) async fn show_claim(
    state: &SharedState,
    caller: &Caller,
    id: i64,
    done: &str,
    errors: Vec<String>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let lang = caller.lang;
    let (c, standing) = svc::claim(&state.store, caller, id).await?;
    let claimant = standing != Standing::Staff || caller.can(Permission::HandleClaims);
    let order = state.store.payment_of_claim(c.id).await?;
    let (payment, payment_todo) = match &order {
        Some(o) => payment_words(o, lang),
        None if matches!(c.state, ClaimState::Approved | ClaimState::Reduced)
            && c.fund_pay_sumamt.unwrap_or(Fen::ZERO) <= Fen::ZERO =>
        {
            (i18n::t(lang, "pay.nothing").to_string(), String::new())
        }
        None => match svc::expected_payment(&state.store, &c).await? {
            Some(e) => (
                format!("{}{}", e.date, if e.provisional { i18n::t(lang, "card.provisional") } else { "" }),
                String::new(),
            ),
            None if c.state == ClaimState::Rejected || c.state == ClaimState::Withdrawn => {
                (String::new(), String::new())
            }
            None => (
                i18n::t(lang, "claim.payment_after_approval").replace("{n}", &PAYMENT_WORKING_DAYS.to_string()),
                String::new(),
            ),
        },
    };
    let can_give_account = claimant
        && !matches!(standing, Standing::Delegate(_))
        && order.as_ref().is_some_and(|o| matches!(o.state, OrderState::AwaitingAccount | OrderState::Failed));
    let (account_check, can_confirm_account) = match &order {
        Some(o) => account_check(o, &standing, caller),
        None => (String::new(), false),
    };
    let (claim_rules, _) = svc::claim_rules(&state.store, caller, c.insured_region).await?;
    let needs_second = c.medfee_sumamt > claim_rules.second_review_above;
    let statement = c.statement.clone();
    let hits = if standing == Standing::Staff { state.store.claim_hits(c.id).await? } else { Vec::new() };
    let (comparison, tasks) = if standing == Standing::Staff {
        let comparison = crate::pages::inspection::comparison_view(
            crate::service::audit::claim_comparison(&state.store, &c).await?,
            lang,
        );
        (comparison, state.store.audit_tasks_of_claim(c.id).await?)
    } else {
        (None, Vec::new())
    };
    let mut hit_list = hit_rows(&hits, lang);
    name_takers(&state.store, caller, &hits, &mut hit_list).await;
    let mut names = super::super::shared::Names::new(&state.store, caller);
    let submitted = names.at(&c.submitted_by, &c.submitted_at).await;
    let mut events = Vec::new();
    for e in &c.events {
        events.push(EventRow {
            at: when(&e.at),
            actor: names.of(&e.actor).await,
            to: e.to_state.label().get(lang).to_string(),
            note: e.note.clone().unwrap_or_default(),
        });
    }
    let named = state.store.diagnoses_named(&c.diagnoses).await?;
    let diagnoses = c
        .diagnoses
        .iter()
        .map(|code| match named.iter().find(|d| &d.code == code) {
            Some(d) => format!("{code} {}", d.name),
            None => code.clone(),
        })
        .collect::<Vec<_>>()
        .join(if caller.lang == Lang::Zh { "；" } else { "; " });
    let assignable = matches!(c.state, ClaimState::Adjudicated | ClaimState::InReview);
    let assign = if caller.can(Permission::AssignClaims) && assignable {
        svc::reviewers_for(&state.store, c.insured_region)
            .await?
            .into_iter()
            .map(|a| {
                let has = c.reviewer.as_deref() == Some(a.actor_label().as_str());
                (a.username, a.display_name, has)
            })
            .collect()
    } else {
        Vec::new()
    };
    let page = ClaimPage {
        assign,
        diagnoses,
        ctx: Ctx::for_caller(
            caller,
            match standing {
                Standing::Staff => "/claims",
                Standing::Employer(_) => "/unit/claims",
                _ => "/my/claims",
            },
        ),
        case: c.case.label().get(lang).to_string(),
        state: c.state.label().get(lang).to_string(),
        submitter: c.submitter.label().get(lang).to_string(),
        submitted,
        hosp_lv: c.hosp_lv.label().get(lang).to_string(),
        med_type: c.med_type.label().get(lang).to_string(),
        invoices_total: Fen::from_fen(c.invoices.iter().map(|i| i.amount.fen()).sum()).to_grouped(),
        missing: c
            .missing
            .iter()
            .map(|m| super::super::shared::aside(lang, m.label().get(lang), m.why.get(lang)))
            .collect(),
        documents: c
            .documents
            .iter()
            .map(|d| (d.document_id, d.kind.label().get(lang).to_string(), d.file_name.clone()))
            .collect(),
        events,
        rows: {
            let mut rows = statement.as_ref().map(|s| statement_rows(&c, s, lang)).unwrap_or_default();
            // Each hit beside the lines it concerns.
            for h in &hit_rows(&hits, lang) {
                for r in rows.iter_mut().filter(|r| h.lines.contains(&r.seq)) {
                    r.flags.push((h.id, h.rule.clone(), h.severity_code, h.message.clone(), h.open));
                }
            }
            rows
        },
        steps: statement
            .as_ref()
            .map(|s| s.steps.iter().map(|t| t.get(lang).to_string()).collect())
            .unwrap_or_default(),
        funds: statement
            .as_ref()
            .map(|s| {
                s.funds
                    .iter()
                    .map(|f| (format!("{} {}", f.fund_pay_type, f.label.get(lang)), f.amount.to_grouped()))
                    .collect()
            })
            .unwrap_or_default(),
        rejection: (c.state == ClaimState::Rejected).then(|| {
            c.events
                .iter()
                .rev()
                .find(|e| e.to_state == ClaimState::Rejected)
                .and_then(|e| e.note.clone())
                .unwrap_or_default()
        }),
        claimant,
        statement,
        payment,
        payment_todo,
        payment_state: order.as_ref().map_or("", |o| o.state.code()),
        can_give_account,
        account_check,
        can_confirm_account,
        order_version: order.as_ref().map_or(0, |o| o.version),
        can_withdraw: claimant && !c.state.is_final(),
        can_add_documents: claimant && matches!(c.state, ClaimState::Submitted | ClaimState::Returned),
        can_resubmit: claimant && c.state == ClaimState::Returned,
        can_intake: caller.can(Permission::HandleClaims) && c.state == ClaimState::Submitted,
        can_take: caller.can(Permission::ReviewClaims) && c.state == ClaimState::Adjudicated,
        can_review: caller.can(Permission::ReviewClaims) && c.state == ClaimState::InReview,
        can_second_review: caller.can(Permission::SecondReviewClaims) && c.state == ClaimState::SecondReview,
        needs_second,
        kinds: choices(DocumentKind::ALL, DocumentKind::code, DocumentKind::label, lang),
        reasons: choices(LineReason::ALL, LineReason::code, LineReason::label, lang),
        rescue_reasons: choices(
            yibao_core::sporadic::RescueReason::ALL,
            yibao_core::sporadic::RescueReason::code,
            yibao_core::sporadic::RescueReason::label,
            lang,
        ),
        hits: hit_list,
        hits_blocking: hits.iter().any(|h| {
            h.state == yibao_store::HitState::Open && h.severity == yibao_core::supervise::Severity::Violation
        }),
        can_decide_hits: caller.can(Permission::DecideHits),
        deduct_allowed: false,
        comparison,
        tasks: if caller.can(Permission::Audit) { task_rows(&tasks, caller) } else { Vec::new() },
        can_audit: caller.can(Permission::Audit) && standing == Standing::Staff,
        notice: notice(lang, done),
        errors: errors.clone(),
        zh: lang == Lang::Zh,
        c,
    };
    render_form(&page, !errors.is_empty())
}

/// A payment order in the claimant's words: where the money is ("paid on D to card
/// ****1234", due by D, or why not), and what to do when it needs them.
fn payment_words(o: &PaymentOrder, lang: Lang) -> (String, String) {
    let card = o.bank_card.as_ref().map(BankCardNumber::masked).unwrap_or_default();
    let due = format!("{}{}", o.due_on, if o.due_provisional { i18n::t(lang, "card.provisional") } else { "" });
    let fill = |key: &str| {
        i18n::t(lang, key)
            .replace("{date}", &o.paid_on.map(|d| d.to_string()).unwrap_or_default())
            .replace("{card}", &card)
            .replace("{due}", &due)
            .replace("{amount}", &o.amount.to_grouped())
            .replace("{state}", o.state.label().get(lang))
    };
    match o.state {
        OrderState::Paid => (fill("pay.paid_on"), String::new()),
        OrderState::Failed => {
            let why = o.failure.map(|f| f.label().get(lang).to_string()).unwrap_or_default();
            let bank = o
                .failure_note
                .as_deref()
                .filter(|n| !n.is_empty())
                .map(|n| super::super::shared::aside(lang, "", n))
                .unwrap_or_default();
            let todo = o.failure.map(|f| f.what_to_do().get(lang).to_string()).unwrap_or_default();
            (format!("{}{why}{bank}", fill("pay.failed")), todo)
        }
        OrderState::AwaitingAccount => (fill("pay.no_account"), i18n::t(lang, "pay.no_account_todo").to_string()),
        OrderState::Ready | OrderState::Batched | OrderState::Exported => (fill("pay.on_its_way"), String::new()),
    }
}

#[derive(Deserialize)]
pub struct AccountFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    bank_card: String,
}

/// What the claim page says of the order's account: given by staff and waiting for a second
/// person (the claimant never sees staff usernames), or paid elsewhere than at approval; and
/// whether this caller may confirm it.
fn account_check(o: &PaymentOrder, standing: &Standing, caller: &Caller) -> (String, bool) {
    let lang = caller.lang;
    let mut words = Vec::new();
    if o.account_changed() {
        let masked = |c: &Option<BankCardNumber>| c.as_ref().map_or_else(|| "—".to_string(), BankCardNumber::masked);
        words.push(
            i18n::t(lang, "pay.account_changed")
                .replace("{old}", &masked(&o.approved_bank_card))
                .replace("{new}", &masked(&o.bank_card)),
        );
    }
    let mut may_confirm = false;
    if let Some(giver) = &o.account_unconfirmed_by {
        if *standing == Standing::Staff {
            words.push(i18n::t(lang, "pay.unconfirmed_staff").replace("{who}", giver));
            may_confirm = caller.can(Permission::HandleClaims) && caller.username() != giver;
            if may_confirm {
                // The confirmer checks the whole number against the claimant's papers.
                let bank = o.bank_name.clone().unwrap_or_default();
                let card = o.bank_card.as_ref().map(ToString::to_string).unwrap_or_default();
                words.push(format!("{bank} {card}"));
            }
        } else {
            words.push(i18n::t(lang, "pay.unconfirmed_claimant").to_string());
            may_confirm = matches!(standing, Standing::Own | Standing::Employer(_));
        }
    }
    (words.join(" "), may_confirm)
}

#[derive(Deserialize)]
pub struct ConfirmFields {
    #[serde(default)]
    csrf: String,
    /// The order's version the page showed: an account given again since is not confirmed.
    #[serde(default)]
    version: i64,
}

/// `POST /claims/{id}/payment-account/confirm`: a second member of staff (or the claimant)
/// confirms an account a member of staff gave.
pub async fn claim_payment_account_confirm(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<ConfirmFields>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match crate::service::payments::confirm_account(&state.store, &caller, id, f.version).await {
        Ok(_) => Ok(Redirect::to(&format!("/claims/{id}?done=payment_account_confirmed")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}

/// `POST /claims/{id}/payment-account`: the claimant (or a clerk) gives the account the
/// claim is paid to, after a failure or where none was registered.
pub async fn claim_payment_account(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<AccountFields>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let card: BankCardNumber = f.bank_card.trim().parse().map_err(|e| AppError::validation(vec![e]))?;
        crate::service::payments::give_account(&state.store, &caller, id, &f.bank_name, &card).await
    }
    .await;
    match result {
        Ok(order) => {
            let done =
                if order.account_unconfirmed_by.is_some() { "payment_account_pending" } else { "payment_account" };
            Ok(Redirect::to(&format!("/claims/{id}?done={done}")).into_response())
        }
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}

/// `GET /claims/{id}`: the claim, its history, what is missing, when it is paid, and the
/// statement.
pub async fn claim_page(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Query(ask): Query<DoneAsk>,
) -> Result<Response, AppError> {
    show_claim(&state, &caller, id, &ask.done, Vec::new()).await
}

/// A step as the claim page's forms send it (every field text).
#[derive(Deserialize)]
pub struct StepFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    approve: String,
    #[serde(default)]
    seq: String,
    #[serde(default)]
    reason: String,
    /// `1` once the claimant confirmed withdrawing.
    #[serde(default)]
    confirmed: String,
}

/// `POST /claims/{id}/steps`: intake, review, second review, resubmission or withdrawal
/// (asked first: it cannot be undone).
pub async fn claim_step_submit(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<StepFields>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    if f.action.trim() == "withdraw" {
        let (action, back) = (format!("/claims/{id}/steps"), format!("/claims/{id}"));
        let fields = [("action", "withdraw"), ("note", f.note.as_str())];
        if let Some(ask) =
            super::super::shared::confirmed_or_ask(&caller, &f.confirmed, "withdraw_claim", &action, &fields, &back)
        {
            return ask;
        }
    }
    let step = StepForm {
        action: f.action.clone(),
        note: f.note.clone(),
        approve: f.approve == "1" || f.approve == "true",
        seq: f.seq.trim().parse().unwrap_or(0),
        reason: f.reason.clone(),
    }
    .step();
    let result = match step {
        Ok(step) => svc::claim_step(&state.store, &caller, id, step).await.map(|_| ()),
        Err(e) => Err(AppError::validation(vec![e])),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/claims/{id}?done=step_{}", f.action.trim())).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}

#[derive(Deserialize)]
pub struct AddDocument {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
}

/// `POST /claims/{id}/documents`: the claimant (or clerk) adds a paper.
pub async fn claim_document_add(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    FormWithFile { form: f, file }: FormWithFile<AddDocument>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    let result = async {
        let kind = DocumentKind::parse(&f.kind)?;
        let file = crate::forms::upload::required_file(file)?;
        svc::attach_document(&state.store, &state.blobs, &caller, id, kind, file).await
    }
    .await;
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/claims/{id}?done=document_added")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}

/// `GET /claims/{id}/statement.csv`: the statement to download.
pub async fn claim_statement_csv(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Response, AppError> {
    let (c, _) = svc::claim(&state.store, &caller, id).await?;
    let statement = c.statement.ok_or_else(|| AppError::not_found("statement"))?;
    let disposition = format!("attachment; filename=\"statement-{}.csv\"", c.number);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)],
        statement.to_csv(caller.lang),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reviewer: String,
}

/// `POST /claims/{id}/assign`: a lead reviewer gives the claim to a reviewer.
pub async fn claim_assign(
    State(state): State<SharedState>,
    caller: Caller,
    Path(id): Path<i64>,
    Form(f): Form<AssignForm>,
) -> Result<Response, AppError> {
    caller.check_csrf(&f.csrf)?;
    match svc::assign(&state.store, &caller, id, &f.reviewer).await {
        Ok(_) => Ok(Redirect::to(&format!("/claims/{id}?done=claim_assigned")).into_response()),
        Err(e) => or_show(e, caller.lang, |m| show_claim(&state, &caller, id, "", m)).await,
    }
}
