//! What waits for a member of staff, on their home page: each queue their role works, in
//! their regions — how many, how long the oldest has waited, how many are due within three
//! working days or late — each linked to the list behind it.

use yibao_core::calendar::{china_day_of, Calendar};
use yibao_core::cover::FilingStatus;
use yibao_core::payment::{OrderState, Urgency};
use yibao_core::sporadic::{ClaimState, PAYMENT_WORKING_DAYS};
use yibao_core::Permission;
use yibao_store::{ClaimFilter, HitQueue, Store};

use super::staff_scope;
use crate::context::Caller;
use crate::error::AppError;

/// The most items of a queue read to work out its oldest and its deadlines; a longer queue
/// shows its count as `500+`.
const READ: i64 = 500;

/// One queue.
#[derive(Debug, Clone)]
pub struct Waiting {
    /// The queue's words (an i18n key).
    pub key: &'static str,
    pub count: i64,
    /// The count is at least this (more were not read).
    pub more: bool,
    /// Days the oldest has waited.
    pub oldest_days: Option<i64>,
    /// Due within three working days, or late.
    pub due_soon: i64,
    pub href: String,
}

/// How a deadline stands, for the due-soon count.
fn soon(calendar: &Calendar, due: chrono::NaiveDate, today: chrono::NaiveDate) -> bool {
    Urgency::of(calendar, due, today) != Urgency::OnTime
}

pub async fn waiting(store: &Store, caller: &Caller) -> Result<Vec<Waiting>, AppError> {
    if !caller.role().is_staff() {
        return Ok(Vec::new());
    }
    let scope = staff_scope(caller);
    let today = caller.today;
    let calendar = store.calendar().await?;
    let age = |day: Option<chrono::NaiveDate>| day.map(|d| (today - d).num_days());
    let mut out = Vec::new();

    // Claims, each queue the role works: the promise runs 15 working days from receipt.
    let mut claim_queues: Vec<(&'static str, ClaimState, Option<String>, String)> = Vec::new();
    if caller.can(Permission::HandleClaims) {
        claim_queues.push(("work.intake", ClaimState::Submitted, None, "/claims?state=submitted".into()));
    }
    if caller.can(Permission::ReviewClaims) {
        claim_queues.push(("work.unassigned", ClaimState::Adjudicated, None, "/claims?state=adjudicated".into()));
        let mine = format!("/claims?state=in_review&reviewer={}", caller.username());
        claim_queues.push(("work.mine", ClaimState::InReview, Some(caller.actor().label), mine));
    }
    if caller.can(Permission::SecondReviewClaims) {
        claim_queues.push(("work.second", ClaimState::SecondReview, None, "/claims?state=second_review".into()));
    }
    for (key, state, reviewer, href) in claim_queues {
        let f = ClaimFilter { scope: scope.clone(), states: vec![state], reviewer, ..Default::default() };
        let count: i64 =
            store.count_claims_by_state(&f).await?.iter().filter(|(s, _)| *s == state).map(|(_, n)| n).sum();
        let page = store.list_claims(&f, READ.min(200)).await?;
        let received: Vec<chrono::NaiveDate> =
            page.items.iter().filter_map(|c| china_day_of(&c.submitted_at)).collect();
        let due_soon = received
            .iter()
            .filter(|d| {
                calendar
                    .estimate_working_days(**d, PAYMENT_WORKING_DAYS)
                    .is_ok_and(|due| soon(&calendar, due.date, today))
            })
            .count() as i64;
        out.push(Waiting { key, count, more: false, oldest_days: age(received.first().copied()), due_soon, href });
    }
    if caller.can(Permission::ManageFilings) {
        let filings = store.filings_in(&scope, Some(FilingStatus::Applied), READ).await?;
        let oldest = filings.iter().filter_map(|f| china_day_of(&f.applied_at)).min();
        out.push(Waiting {
            key: "work.filings",
            count: filings.len() as i64,
            more: filings.len() as i64 == READ,
            oldest_days: age(oldest),
            due_soon: 0,
            href: "/filings?status=applied".into(),
        });
    }
    if caller.can(Permission::DecideHits) {
        let hits = store.open_hits_in(&scope, &HitQueue::Untaken, READ).await?;
        let oldest = hits.iter().filter_map(|h| china_day_of(&h.found_at)).min();
        out.push(Waiting {
            key: "work.hits",
            count: hits.len() as i64,
            more: hits.len() as i64 == READ,
            oldest_days: age(oldest),
            due_soon: 0,
            href: "/hits?queue=untaken".into(),
        });
    }
    if caller.can(Permission::Audit) {
        let tasks = store.audit_tasks_in(&scope, true, READ).await?;
        out.push(Waiting {
            key: "work.audit_tasks",
            count: tasks.len() as i64,
            more: tasks.len() as i64 == READ,
            oldest_days: None,
            due_soon: tasks.iter().filter(|t| soon(&calendar, t.due_on, today)).count() as i64,
            href: "/audit-tasks".into(),
        });
    }
    if caller.can(Permission::ViewPayments) {
        let states = [OrderState::Ready, OrderState::AwaitingAccount, OrderState::Failed];
        let orders = store.payment_orders_in(&scope, &states, READ).await?;
        out.push(Waiting {
            key: "work.orders",
            count: orders.len() as i64,
            more: orders.len() as i64 == READ,
            oldest_days: None,
            due_soon: orders.iter().filter(|o| soon(&calendar, o.due_on, today)).count() as i64,
            href: "/payments".into(),
        });
    }
    if caller.can(Permission::ManageAccounts) {
        let accounts = super::logins::accounts(store, caller).await?;
        let waiting = accounts
            .iter()
            .filter(|a| {
                a.awaiting_approval_by.as_deref().is_some_and(|by| by != caller.username())
                    || a.pending_change.as_ref().is_some_and(|c| c.by != caller.username())
            })
            .count() as i64;
        out.push(Waiting {
            key: "work.accounts",
            count: waiting,
            more: false,
            oldest_days: None,
            due_soon: 0,
            href: "/accounts".into(),
        });
    }
    Ok(out)
}
