//! Insured persons (参保人): created and changed by a clerk, found by ID number or search,
//! with every version kept.

use super::*;

impl Store {
    pub async fn create_person(&self, wtx: &mut WriteTx, input: &PersonInput) -> Result<Person, StoreError> {
        check_enrolment(input.enrolment, input.category, input.employer_id.is_some())?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO persons (resident_id, name, sex, birth_date, enrolment, scheme, category, insured_region, \
             pooling_region, hukou_region, employer_id, bank_name, bank_card, phone, status, status_from, version, \
             updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,1,$17) RETURNING id",
        )
        .bind(input.resident_id.as_str().to_string())
        .bind(input.name.as_str().to_string())
        .bind(input.resident_id.sex().code())
        .bind(date_text(input.resident_id.birth_date()))
        .bind(input.enrolment.code())
        .bind(input.enrolment.scheme().code())
        .bind(input.category.code())
        .bind(i64::from(input.insured_region.value()))
        .bind(i64::from(input.insured_region.prefecture().value()))
        .bind(i64::from(input.hukou_region.value()))
        .bind(input.employer_id)
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(|c| c.as_str().to_string()))
        .bind(input.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(input.status.code())
        .bind(date_text(input.status_from))
        .bind(wtx.at().to_string())
        .fetch_one(&mut *wtx.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "resident_id"))?;
        let person = fetch_person(&mut *wtx.tx, id).await?;
        record_change(wtx, "person", id, 1, None, &person).await?;
        Ok(person)
    }

    /// Updates a person if nobody changed it since `expected_version` was read; for member of
    /// staff `by` (username). A bank account they register waits for a second person to
    /// confirm it ([`Store::confirm_registered_account`]), and the person is told of it.
    pub async fn update_person(
        &self,
        wtx: &mut WriteTx,
        id: i64,
        expected_version: i64,
        input: &PersonInput,
        by: &str,
    ) -> Result<Person, StoreError> {
        check_enrolment(input.enrolment, input.category, input.employer_id.is_some())?;
        let before = fetch_person(&mut *wtx.tx, id).await?;
        if before.resident_id != input.resident_id {
            return Err(InvalidValue::new(
                "resident_id",
                "immutable",
                "身份证号码不能修改；如登记有误，请注销后重新登记",
                "a resident ID number cannot be changed; if it was registered wrongly, cancel and register again",
            )
            .into());
        }
        let check = account_check_after(
            (&before.bank_name, &before.bank_card, &before.account_check),
            (&input.bank_name, &input.bank_card),
            by,
        );
        let n = sqlx::query(
            "UPDATE persons SET name=$1, enrolment=$2, scheme=$3, category=$4, insured_region=$5, pooling_region=$6, \
             hukou_region=$7, employer_id=$8, bank_name=$9, bank_card=$10, phone=$11, status=$12, status_from=$13, \
             version = version + 1, updated_at=$14, bank_unconfirmed_by=$17, confirmed_bank_name=$18, \
             confirmed_bank_card=$19 WHERE id=$15 AND version=$16",
        )
        .bind(input.name.as_str().to_string())
        .bind(input.enrolment.code())
        .bind(input.enrolment.scheme().code())
        .bind(input.category.code())
        .bind(i64::from(input.insured_region.value()))
        .bind(i64::from(input.insured_region.prefecture().value()))
        .bind(i64::from(input.hukou_region.value()))
        .bind(input.employer_id)
        .bind(input.bank_name.clone())
        .bind(input.bank_card.as_ref().map(|c| c.as_str().to_string()))
        .bind(input.phone.as_ref().map(|p| p.as_str().to_string()))
        .bind(input.status.code())
        .bind(date_text(input.status_from))
        .bind(wtx.at().to_string())
        .bind(id)
        .bind(expected_version)
        .bind(check.as_ref().map(|c| c.changed_by.clone()))
        .bind(check.as_ref().and_then(|c| c.confirmed_bank_name.clone()))
        .bind(check.as_ref().and_then(|c| c.confirmed_bank_card.as_ref().map(ToString::to_string)))
        .execute(&mut *wtx.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::Stale("person"));
        }
        let after = fetch_person(&mut *wtx.tx, id).await?;
        record_change(wtx, "person", id, after.version, Some(&before), &after).await?;
        let changed = (&before.bank_name, &before.bank_card) != (&after.bank_name, &after.bank_card);
        if changed && after.account_check.is_some() {
            self.tell_of_registered_account(wtx, &after).await?;
        }
        Ok(after)
    }

    /// Tells the insured person that staff registered a bank account on their record.
    pub(crate) async fn tell_of_registered_account(&self, w: &mut WriteTx, person: &Person) -> Result<(), StoreError> {
        let bank = person.bank_name.clone().unwrap_or_default();
        let card = person.bank_card.as_ref().map(BankCardNumber::masked).unwrap_or_default();
        let zh = format!(
            "您登记的收款银行账户已由医保经办人员变更为 {bank} {card}，待另一名经办人员或您本人确认后用于报销款支付。如非您本人申请，请立即联系医保经办机构。"
        );
        let en = format!(
            "Insurance staff changed the bank account registered for your reimbursements to {bank} {card}; it is used once a second member of staff or you confirm it. If you did not ask for this, contact the insurance agency at once."
        );
        self.add_notice(w, person.id, "registered_account", &zh, &en).await
    }

    pub async fn person(&self, id: i64) -> Result<Person, StoreError> {
        fetch_person(&mut self.read_conn().await?, id).await
    }

    pub async fn person_by_resident_id(&self, rid: &ResidentId) -> Result<Option<Person>, StoreError> {
        let row = sqlx::query(&format!("SELECT {PERSON_COLS} FROM {PERSON_FROM} WHERE p.resident_id = $1"))
            .bind(rid.as_str().to_string())
            .fetch_optional(&mut self.read_conn().await?)
            .await?;
        row.as_ref().map(person_from_row).transpose()
    }

    /// Searches persons by name prefix or resident ID prefix, within a region and scope,
    /// in pages (keyset pagination: every page is an index range scan, however deep).
    pub async fn search_persons(&self, q: &PersonQuery) -> Result<Page<Person>, StoreError> {
        let limit = q.limit.clamp(1, 200);
        let text = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let by_id =
            text.is_some_and(|t| t.len() >= 4 && t.bytes().all(|b| b.is_ascii_digit() || b == b'X' || b == b'x'));
        let mut sql = Sql::new(&format!("SELECT {PERSON_COLS} FROM {PERSON_FROM} WHERE 1 = 1"));
        let order = match text {
            Some(t) if by_id => {
                let t = t.to_ascii_uppercase();
                let lo = sql.arg(Arg::S(t.clone()));
                let hi = sql.arg(Arg::S(prefix_upper(&t)));
                sql.text.push_str(&format!(" AND p.resident_id >= {lo} AND p.resident_id < {hi}"));
                if let Some(after) = &q.after {
                    let a = sql.arg(Arg::S(after.clone()));
                    sql.text.push_str(&format!(" AND p.resident_id > {a}"));
                }
                " ORDER BY p.resident_id"
            }
            Some(t) => {
                let lo = sql.arg(Arg::S(t.to_string()));
                let hi = sql.arg(Arg::S(prefix_upper(t)));
                sql.text.push_str(&format!(" AND p.name >= {lo} AND p.name < {hi}"));
                if let Some((after_id, after_name)) = q.after.as_deref().and_then(|a| a.split_once(':')) {
                    let after_id: i64 = after_id.parse().unwrap_or(0);
                    let n1 = sql.arg(Arg::S(after_name.to_string()));
                    let n2 = sql.arg(Arg::S(after_name.to_string()));
                    let i = sql.arg(Arg::I(after_id));
                    sql.text.push_str(&format!(" AND (p.name > {n1} OR (p.name = {n2} AND p.id > {i}))"));
                }
                " ORDER BY p.name, p.id"
            }
            None => {
                if let Some(after) = q.after.as_deref().and_then(|a| a.parse::<i64>().ok()) {
                    let a = sql.arg(Arg::I(after));
                    sql.text.push_str(&format!(" AND p.id > {a}"));
                }
                " ORDER BY p.id"
            }
        };
        if let Some(region) = q.region {
            sql.scope_filter("p.insured_region", &Scope::new(vec![region]));
        }
        if let Some(scope) = &q.scope {
            sql.scope_filter("p.insured_region", scope);
        }
        sql.text.push_str(order);
        let l = sql.arg(Arg::I(limit + 1));
        sql.text.push_str(&format!(" LIMIT {l}"));
        let rows = sql.fetch_all(&self.db).await?;
        let mut items = rows.iter().map(person_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = if items.len() as i64 > limit {
            items.truncate(limit as usize);
            items.last().map(|p| match text {
                Some(_) if by_id => p.resident_id.to_string(),
                Some(_) => format!("{}:{}", p.id, p.name),
                None => p.id.to_string(),
            })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// How many persons are insured within `scope` (`None`: everywhere).
    pub async fn count_persons(&self, scope: Option<&Scope>) -> Result<i64, StoreError> {
        let mut sql = Sql::new("SELECT COUNT(*) FROM persons p WHERE 1 = 1");
        if let Some(scope) = scope {
            sql.scope_filter("p.insured_region", scope);
        }
        let rows = sql.fetch_all(&self.db).await?;
        Ok(rows.first().map(|r| r.try_get::<i64, _>(0)).transpose()?.unwrap_or(0))
    }

    /// Every version of a record, newest first.
    pub async fn record_versions(&self, entity: &str, id: i64) -> Result<Vec<RecordVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, recorded_at, recorded_by, data FROM record_versions \
             WHERE entity = $1 AND entity_id = $2 ORDER BY version DESC",
        )
        .bind(entity)
        .bind(id)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let data: String = r.try_get(3)?;
                Ok(RecordVersion {
                    version: r.try_get(0)?,
                    recorded_at: r.try_get(1)?,
                    recorded_by: r.try_get(2)?,
                    data: serde_json::from_str(&data).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                })
            })
            .collect()
    }
}
