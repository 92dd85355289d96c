//! Social security cards (applied for, collected, activated, lost, damaged, replaced) and
//! no-card certificates (无卡证明).

use super::*;

impl Store {
    /// Records a card application at a service point; the expected issue date is 30
    /// working days on. A person with a card in use (or being made) cannot apply; a lost or
    /// damaged card is replaced by the new one when it is activated.
    pub async fn apply_card(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        app: &CardApplication,
        today: NaiveDate,
    ) -> Result<Card, StoreError> {
        app.check().map_err(StoreError::Problems)?;
        fetch_person(&mut *w.tx, person_id).await?;
        let cards = self.cards_in(w, person_id).await?;
        if let Some(c) = cards.iter().find(|c| c.status.blocks_new_application()) {
            return Err(invalid(
                "card",
                "exists",
                format!("已有社会保障卡（{}），请先挂失或报损后再申请补换", c.status.label().zh),
                format!(
                    "a card exists ({}); report it lost or damaged before applying for a new one",
                    c.status.label().en
                ),
            ));
        }
        let replaces = cards.iter().find(|c| matches!(c.status, CardStatus::Lost | CardStatus::Damaged)).map(|c| c.id);
        let calendar = self.calendar().await?;
        let expected = expected_issue_date(&calendar, today)
            .map_err(|e| invalid("applied_on", "calendar", e.message.zh, e.message.en))?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cards (person_id, status, bank, photo, photo_reference, applied_on, expected_on, replaces, \
             recorded_by, expected_provisional) VALUES ($1, 'applied', $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(person_id)
        .bind(app.bank.trim())
        .bind(app.photo.code())
        .bind(app.photo_reference.trim())
        .bind(date_text(today))
        .bind(date_text(expected.date))
        .bind(replaces)
        .bind(w.actor().label.clone())
        .bind(i64::from(expected.provisional))
        .fetch_one(&mut *w.tx)
        .await?;
        let after = self.card_in(w, id).await?;
        w.record("card.apply", "card", &id.to_string(), None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    /// Moves a card on (collection, activation, loss, damage, cancellation) on `on`, which
    /// may not be in the future nor before the card's previous step.
    pub async fn card_event(
        &self,
        w: &mut WriteTx,
        card_id: i64,
        event: CardEvent,
        on: NaiveDate,
        today: NaiveDate,
    ) -> Result<Card, StoreError> {
        let before = self.card_in(w, card_id).await?;
        let status = before.status.apply(event)?;
        let last = [before.applied_on]
            .into_iter()
            .chain(
                [before.ready_on, before.collected_on, before.activated_on, before.lost_on, before.damaged_on]
                    .into_iter()
                    .flatten(),
            )
            .chain(before.earlier_losses.iter().map(|&(_, found)| found))
            .max()
            .unwrap_or(before.applied_on);
        if on > today || on < last {
            return Err(invalid(
                "on",
                "range",
                format!("日期须在 {last} 至 {today} 之间"),
                format!("the date must lie between {last} and {today}"),
            ));
        }
        if event == CardEvent::Ready && before.ready_on.is_some() {
            return Err(invalid(
                "card",
                "transition",
                "这张卡已登记为制卡完成",
                "the card is already recorded as ready",
            ));
        }
        let column = match event {
            CardEvent::Ready => Some("ready_on"),
            CardEvent::Collect => Some("collected_on"),
            CardEvent::Activate => Some("activated_on"),
            CardEvent::ReportLost => Some("lost_on"),
            CardEvent::ReportDamaged => Some("damaged_on"),
            CardEvent::Replace | CardEvent::Cancel => Some("ended_on"),
            CardEvent::Found => None,
        };
        match column {
            Some(column) => self.set_card_status(w, &before, status, column, Some(on)).await?,
            None => self.record_found(w, &before, on).await?,
        }
        let after = self.card_in(w, card_id).await?;
        let action = match event {
            CardEvent::Ready => "card.ready".to_string(),
            CardEvent::Found => "card.found".to_string(),
            _ => format!("card.{}", status.code()),
        };
        w.record(&action, "card", &card_id.to_string(), Some(&before), Some(&after)).await?;
        if event == CardEvent::Ready {
            let text = yibao_core::Text::new(
                format!("您的社保卡已制作完成，请携带本人身份证原件到{}领取，领卡后激活即可使用。", after.bank),
                format!("Your social security card is ready: collect it at {} with your original ID card, then activate it.", after.bank),
            );
            self.tell(w, after.person_id, "card_ready", &text, Some("/my/cover")).await?;
        }
        if let (CardEvent::Activate, Some(old)) = (event, before.replaces) {
            let old_before = self.card_in(w, old).await?;
            let old_status = old_before.status.apply(CardEvent::Replace)?;
            self.set_card_status(w, &old_before, old_status, "ended_on", Some(on)).await?;
            let old_after = self.card_in(w, old).await?;
            w.record("card.replaced", "card", &old.to_string(), Some(&old_before), Some(&old_after)).await?;
        }
        Ok(after)
    }

    /// 解挂: the loss period is kept (lost from `lost_on`, in use again from `on`) and the
    /// card is in use again. Refused once a replacement is being made: the new card would
    /// replace one in use.
    async fn record_found(&self, w: &mut WriteTx, card: &Card, on: NaiveDate) -> Result<(), StoreError> {
        let Some(lost_on) = card.lost_on else {
            return Err(stale("card"));
        };
        let replacing: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM cards WHERE replaces = $1 AND status NOT IN ('cancelled')")
                .bind(card.id)
                .fetch_one(&mut *w.tx)
                .await?;
        if replacing > 0 {
            return Err(invalid(
                "card",
                "replacing",
                "已申请补卡，不能解挂；如需继续使用原卡，请先注销补卡申请",
                "a replacement has been applied for; cancel it before the lost card can be used again",
            ));
        }
        sqlx::query("INSERT INTO card_losses (card_id, lost_on, found_on, recorded_by) VALUES ($1, $2, $3, $4)")
            .bind(card.id)
            .bind(date_text(lost_on))
            .bind(date_text(on))
            .bind(w.actor().label.clone())
            .execute(&mut *w.tx)
            .await?;
        self.set_card_status(w, card, CardStatus::Active, "lost_on", None).await
    }

    /// Moves the card to `status` with its date `column` set to `on` (cleared with `None`).
    async fn set_card_status(
        &self,
        w: &mut WriteTx,
        card: &Card,
        status: CardStatus,
        column: &str,
        on: Option<NaiveDate>,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(&format!(
            "UPDATE cards SET status = $1, {column} = $2, version = version + 1 WHERE id = $3 AND version = $4"
        ))
        .bind(status.code())
        .bind(on.map(date_text))
        .bind(card.id)
        .bind(card.version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(stale("card"));
        }
        Ok(())
    }

    async fn card_in(&self, w: &mut WriteTx, id: i64) -> Result<Card, StoreError> {
        fetch_card(&mut w.tx, id).await
    }

    async fn cards_in(&self, w: &mut WriteTx, person_id: i64) -> Result<Vec<Card>, StoreError> {
        fetch_cards(&mut w.tx, person_id).await
    }

    pub async fn card(&self, id: i64) -> Result<Card, StoreError> {
        fetch_card(&mut self.read_conn().await?, id).await
    }

    /// A person's cards, newest first.
    pub async fn cards_of(&self, person_id: i64) -> Result<Vec<Card>, StoreError> {
        fetch_cards(&mut self.read_conn().await?, person_id).await
    }

    // -------------------------------------------------------------------------------
    // No-card certificates

    /// Issues a no-card certificate from `from` for [`NO_CARD_DAYS`], optionally for the
    /// admitting institution. Refused while the person has an active card.
    pub async fn issue_no_card_certificate(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        institution_id: Option<i64>,
        from: NaiveDate,
    ) -> Result<NoCardCertificate, StoreError> {
        fetch_person(&mut *w.tx, person_id).await?;
        let cards: Vec<CardFacts> = self.cards_in(w, person_id).await?.iter().map(Card::facts).collect();
        if card_state_on(&cards, from) == CardState::Active {
            return Err(invalid(
                "card",
                "active",
                "本人社会保障卡正常，可直接持卡就医，无需无卡证明",
                "the person's card is active; no certificate is needed",
            ));
        }
        let to = from + chrono::Duration::days(NO_CARD_DAYS - 1);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM no_card_certificates").fetch_one(&mut *w.tx).await?;
        let number = format!("WK{}{:06}", from.format("%Y"), n + 1);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO no_card_certificates (number, person_id, institution_id, valid_from, valid_to, issued_at, \
             issued_by) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&number)
        .bind(person_id)
        .bind(institution_id)
        .bind(date_text(from))
        .bind(date_text(to))
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| StoreError::on_unique(e, "number"))?;
        let row = sqlx::query(&format!("SELECT {CERT_COLS} FROM no_card_certificates WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *w.tx)
            .await?;
        let after = certificate_from_row(&row)?;
        w.record("no_card_certificate.issue", "no_card_certificate", &number, None::<&()>, Some(&after)).await?;
        Ok(after)
    }

    pub async fn no_card_certificates_of(&self, person_id: i64) -> Result<Vec<NoCardCertificate>, StoreError> {
        let rows =
            sqlx::query(&format!("SELECT {CERT_COLS} FROM no_card_certificates WHERE person_id = $1 ORDER BY id DESC"))
                .bind(person_id)
                .fetch_all(&mut self.read_conn().await?)
                .await?;
        rows.iter().map(certificate_from_row).collect()
    }
}
