//! Four eyes on the bank accounts registered on persons and employer units: an account staff
//! register waits for a second person (another member of staff, or the holder) to confirm it,
//! and the insured person is told of it at once. A payment order made meanwhile pays to it
//! only once it is confirmed (see `Store::create_payment_order`); confirming the registered
//! account confirms those orders too.

use super::AccountGiver;
use crate::registry::{fetch_employer, fetch_person, AccountHolder};
use crate::{Store, StoreError, WriteTx};
use yibao_core::InvalidValue;

fn refuse(code: &'static str, zh: &str, en: &str) -> StoreError {
    StoreError::Invalid(InvalidValue::new("bank_card", code, zh, en))
}

impl Store {
    /// Confirms the account staff registered on `holder`, at the `version` the confirmer was
    /// shown: by another member of staff than the one who registered it, or by the holder.
    /// The holder's payment orders that wait for the same account are confirmed with it.
    pub async fn confirm_registered_account(
        &self,
        w: &mut WriteTx,
        holder: AccountHolder,
        version: i64,
        by: &AccountGiver,
    ) -> Result<(), StoreError> {
        let (table, entity, id, check, card, current) = match holder {
            AccountHolder::Person(id) => {
                let p = fetch_person(&mut *w.tx, id).await?;
                ("persons", "person", id, p.account_check.clone(), p.bank_card.clone(), p.version)
            }
            AccountHolder::Employer(id) => {
                let e = fetch_employer(&mut *w.tx, id).await?;
                ("employers", "employer", id, e.account_check.clone(), e.bank_card.clone(), e.version)
            }
        };
        if current != version {
            return Err(StoreError::Stale(entity));
        }
        let Some(check) = check else {
            return Err(refuse("nothing_to_confirm", "该银行账户无需确认", "this bank account has nothing to confirm"));
        };
        if matches!(by, AccountGiver::Staff(u) if *u == check.changed_by) {
            return Err(refuse(
                "four_eyes",
                "银行账户须由变更人以外的另一名经办人员（或本人）确认",
                "the bank account must be confirmed by another member of staff than the one who changed it (or by its holder)",
            ));
        }
        let n = sqlx::query(&format!(
            "UPDATE {table} SET bank_unconfirmed_by = NULL, confirmed_bank_name = NULL, confirmed_bank_card = NULL, \
             version = version + 1, updated_at = $1 WHERE id = $2 AND version = $3"
        ))
        .bind(w.at().to_string())
        .bind(id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale(entity));
        }
        match holder {
            AccountHolder::Person(id) => {
                let before = fetch_person(&mut *w.tx, id).await?;
                let mut was = before.clone();
                was.account_check = Some(check.clone());
                was.version = version;
                w.record("person.account_confirmed", "person", &id.to_string(), Some(&was), Some(&before)).await?;
            }
            AccountHolder::Employer(id) => {
                let before = fetch_employer(&mut *w.tx, id).await?;
                let mut was = before.clone();
                was.account_check = Some(check.clone());
                was.version = version;
                w.record("employer.account_confirmed", "employer", &id.to_string(), Some(&was), Some(&before)).await?;
            }
        }
        // The orders made meanwhile that wait for this very account.
        let Some(card) = card else { return Ok(()) };
        let holder_filter = match holder {
            AccountHolder::Person(_) => "o.payee = 'insured' AND o.person_id = $1",
            AccountHolder::Employer(_) => {
                "o.payee = 'employer' AND o.claim_id IN (SELECT c.id FROM claims c WHERE c.employer_id = $1)"
            }
        };
        let orders: Vec<(i64, i64)> = sqlx::query_as(&format!(
            "SELECT o.id, o.version FROM payment_orders o WHERE {holder_filter} AND o.account_unconfirmed_by = $2 \
             AND o.bank_card = $3 AND o.state IN ('ready', 'awaiting_account', 'failed') ORDER BY o.id"
        ))
        .bind(id)
        .bind(&check.changed_by)
        .bind(card.to_string())
        .fetch_all(&mut *w.tx)
        .await?;
        for (order, version) in orders {
            self.confirm_payment_account(w, order, version, by).await?;
        }
        Ok(())
    }
}
