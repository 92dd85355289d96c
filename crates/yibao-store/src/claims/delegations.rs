//! Delegations (委托): a person authorises a delegate (受托人) to hand claims in for them,
//! until revoked.

use super::*;

impl Store {
    /// Records a person's authorisation of a delegate.
    pub async fn grant_delegation(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        delegate: &ResidentId,
        name: &str,
    ) -> Result<Delegation, StoreError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "delegate_name",
                "required",
                "请填写受托人姓名",
                "give the delegate's name",
            )));
        }
        let person = fetch_person(&mut *w.tx, person_id).await?;
        if &person.resident_id == delegate {
            return Err(StoreError::Invalid(InvalidValue::new(
                "delegate_id",
                "self",
                "不能委托自己",
                "a person cannot be their own delegate",
            )));
        }
        let delegate_person: Option<i64> = sqlx::query_scalar("SELECT id FROM persons WHERE resident_id = $1")
            .bind(delegate.as_str().to_string())
            .fetch_optional(&mut *w.tx)
            .await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO delegations (person_id, delegate_resident_id, delegate_name, delegate_person_id, granted_at, \
             granted_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(person_id)
        .bind(delegate.as_str().to_string())
        .bind(name.to_string())
        .bind(delegate_person)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await?;
        let d = self.delegation_in(w, id).await?;
        w.record::<(), _>("delegation.grant", "delegation", &id.to_string(), None, Some(&d)).await?;
        Ok(d)
    }

    /// Revokes an authorisation: the delegate can no longer act for the person.
    pub async fn revoke_delegation(&self, w: &mut WriteTx, person_id: i64, id: i64) -> Result<Delegation, StoreError> {
        let before = self.delegation_in(w, id).await?;
        if before.person_id != person_id {
            return Err(StoreError::NotFound("delegation"));
        }
        if before.revoked_at.is_some() {
            return Err(StoreError::Invalid(InvalidValue::new(
                "delegation",
                "revoked",
                "该委托已撤销",
                "the authorisation is already revoked",
            )));
        }
        sqlx::query("UPDATE delegations SET revoked_at = $1, revoked_by = $2 WHERE id = $3")
            .bind(w.at().to_string())
            .bind(w.actor().label.clone())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        let after = self.delegation_in(w, id).await?;
        w.record("delegation.revoke", "delegation", &id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    async fn delegation_in(&self, w: &mut WriteTx, id: i64) -> Result<Delegation, StoreError> {
        let row = sqlx::query(&format!("SELECT {DELEGATION_COLS} FROM delegations WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *w.tx)
            .await?
            .ok_or(StoreError::NotFound("delegation"))?;
        delegation_from_row(&row)
    }

    /// The authorisations a person gave, newest first.
    pub async fn delegations_of(&self, person_id: i64) -> Result<Vec<Delegation>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {DELEGATION_COLS} FROM delegations WHERE person_id = $1 ORDER BY id DESC"))
                .bind(person_id)
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(delegation_from_row).collect()
    }

    /// The authorisations in force that name `delegate_person_id` as delegate.
    pub async fn delegations_to(&self, delegate_person_id: i64) -> Result<Vec<Delegation>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {DELEGATION_COLS} FROM delegations WHERE delegate_person_id = $1 AND revoked_at IS NULL ORDER BY id"
        ))
        .bind(delegate_person_id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(delegation_from_row).collect()
    }

    /// The authorisation a delegate acts under: the one named, or the one in force for the
    /// delegate's ID, or (at the window, with the delegate's ID card in hand) a new one.
    pub(super) async fn delegation_for(
        &self,
        w: &mut WriteTx,
        person: &Person,
        delegation_id: Option<i64>,
        resident_id: Option<&ResidentId>,
        name: &str,
    ) -> Result<i64, StoreError> {
        let no_delegation = || {
            refuse(
                "no_delegation",
                "没有参保人对该受托人的有效委托",
                "the person has not authorised this delegate (or revoked it)",
            )
        };
        if let Some(id) = delegation_id {
            let d = self.delegation_in(w, id).await?;
            if d.person_id != person.id || d.revoked_at.is_some() {
                return Err(no_delegation());
            }
            return Ok(id);
        }
        let Some(rid) = resident_id else {
            return Err(no_delegation());
        };
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM delegations WHERE person_id = $1 AND delegate_resident_id = $2 AND revoked_at IS NULL \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(person.id)
        .bind(rid.as_str().to_string())
        .fetch_optional(&mut *w.tx)
        .await?;
        match existing {
            Some(id) => Ok(id),
            None => Ok(self.grant_delegation(w, person.id, rid, name).await?.id),
        }
    }
}

const DELEGATION_COLS: &str =
    "id, person_id, delegate_resident_id, delegate_name, delegate_person_id, granted_at, granted_by, revoked_at";

fn delegation_from_row(r: &AnyRow) -> Result<Delegation, StoreError> {
    Ok(Delegation {
        id: r.try_get(0)?,
        person_id: r.try_get(1)?,
        delegate_resident_id: r.try_get(2)?,
        delegate_name: r.try_get(3)?,
        delegate_person_id: r.try_get(4)?,
        granted_at: r.try_get(5)?,
        granted_by: r.try_get(6)?,
        revoked_at: r.try_get(7)?,
    })
}
