//! 2303–2305: pre-settlement, settlement and reversal, and what a settlement reads: the
//! visit and its fee lines, the person's running state for the year, the engine's claim.

use super::*;
use crate::supervision::day_of;
use yibao_core::history::{HistoryInput, HistoryKind, HistorySource};
use yibao_core::Text;

/// A visit and what settling it reads, taken from committed data before the turn to write,
/// so the write spends its turn writing. The write checks that it is still current — the
/// visit's version (which fee line changes move too), the running totals' and the account's —
/// and is refused as stale otherwise; the caller then runs it again reading inside the write.
#[derive(Clone)]
pub struct VisitSnapshot {
    pub(super) visit: Visit,
    pub(super) inputs: ClaimInputs,
    /// The person's other visits the supervision rules look at (read for a settlement).
    pub(super) history: Option<Vec<yibao_core::supervise::Visit>>,
}

impl VisitSnapshot {
    pub fn mdtrt_id(&self) -> &str {
        &self.visit.mdtrt_id
    }
}

/// What the engine's claim for a visit needs besides the visit: the person, the visit's
/// active fee lines, its off-site filing's group, and the running state for the year of the
/// settlement day's policy.
#[derive(Clone)]
pub(crate) struct ClaimInputs {
    pub(super) person: crate::Person,
    pub(super) year: i32,
    pub(super) fees: Vec<StoredFee>,
    pub(super) offsite_filing: Option<yibao_core::adjudicate::Filing>,
    pub(super) running: Running,
}

impl Store {
    /// The visit as the engine's claim on the settlement day, with its running totals for
    /// the year and the account balance (for 2303 and 2304), read on `conn`.
    async fn visit_claim(
        &self,
        conn: &mut crate::db::Conn,
        rules: &Rules,
        institution: &Institution,
        visit: &Visit,
        request: &SettleRequest,
    ) -> Result<Prepared, StoreError> {
        let inputs = claim_inputs(conn, rules, visit, request.setl_time.date()).await?;
        build_claim(rules, institution, visit, request, inputs)
    }

    /// 2303: what settling the visit now would give, changing nothing.
    pub async fn pre_settle(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        institution: &Institution,
        mdtrt_id: &str,
        request: &SettleRequest,
    ) -> Result<Outcome, StoreError> {
        let visit = self.visit_of(w, institution.id, mdtrt_id).await?;
        Ok(self.visit_claim(&mut w.tx, rules, institution, &visit, request).await?.outcome)
    }

    /// 2303 outside any write: what settling the visit would give on the data committed
    /// now (one consistent snapshot), taking no write turn.
    pub async fn pre_settle_read(
        &self,
        rules: &Rules,
        institution: &Institution,
        mdtrt_id: &str,
        request: &SettleRequest,
    ) -> Result<Outcome, StoreError> {
        let snapshot = self.visit_snapshot(rules, institution.id, mdtrt_id, request.setl_time.date(), false).await?;
        Ok(build_claim(rules, institution, &snapshot.visit, request, snapshot.inputs)?.outcome)
    }

    /// The institution's visit and what settling it on `day` reads, from one snapshot of
    /// committed data, outside any write; `to_settle`: with the history the supervision rules
    /// look at (2304 reads it; 2301 and 2303 do not need it).
    pub async fn visit_snapshot(
        &self,
        rules: &Rules,
        institution_id: i64,
        mdtrt_id: &str,
        day: chrono::NaiveDate,
        to_settle: bool,
    ) -> Result<VisitSnapshot, StoreError> {
        let mut tx = self.begin_read().await?;
        let visit = visit_by_mdtrt(&mut tx, institution_id, mdtrt_id).await?;
        let inputs = claim_inputs(&mut tx, rules, &visit, day).await?;
        let history = match to_settle {
            true => {
                let (person, admitted) = (&inputs.person, day_of(&visit.begntime)?);
                Some(self.history_before(&mut tx, person.insured_region, person.id, mdtrt_id, admitted).await?)
            }
            false => None,
        };
        Ok(VisitSnapshot { visit, inputs, history })
    }

    /// 2304: settles the visit: the engine's outcome is stored with its settlement list,
    /// the running totals for the year take its delta and the individual account its
    /// debit, and the visit is settled — all in `w`. With a [`VisitSnapshot`] of this visit
    /// the reads are not repeated; a snapshot no longer current makes this refused as stale.
    pub async fn settle_visit(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        institution: &Institution,
        mdtrt_id: &str,
        request: &SettleRequest,
        snapshot: Option<VisitSnapshot>,
    ) -> Result<Settlement, StoreError> {
        let (visit, inputs, history) =
            match snapshot.filter(|s| s.visit.mdtrt_id == mdtrt_id && s.visit.institution_id == institution.id) {
                Some(s) => (s.visit, Some(s.inputs), s.history),
                None => (self.visit_of(w, institution.id, mdtrt_id).await?, None, None),
            };
        if visit.status == VisitStatus::Settled {
            let setl_id: String =
                sqlx::query_scalar("SELECT setl_id FROM settlements WHERE visit_id = $1 AND status = 'settled'")
                    .bind(visit.id)
                    .fetch_one(&mut *w.tx)
                    .await?;
            return Err(refuse(
                "already_settled",
                format!("就诊 {mdtrt_id} 已结算（结算 ID {setl_id}），不能重复结算"),
                format!("visit {mdtrt_id} is already settled (setl_id {setl_id})"),
            ));
        }
        if visit.med_type == "21" && visit.status == VisitStatus::Admitted {
            return Err(refuse(
                "not_discharged",
                format!("就诊 {mdtrt_id} 尚未办理出院（2402），不能结算"),
                format!("visit {mdtrt_id} is not discharged yet (2402); it cannot be settled"),
            ));
        }
        let inputs = match inputs {
            Some(inputs) => inputs,
            None => claim_inputs(&mut w.tx, rules, &visit, request.setl_time.date()).await?,
        };
        // An on-site audit that found the stay was not real stops it.
        self.check_audits(w, None, Some(visit.id)).await?;
        // The rule base of the person's pooling region looks at the visit: a blocking
        // violation refuses it, anything else is kept with the settlement for the auditor.
        let insured_region = inputs.person.insured_region;
        let mut supervised =
            settlement_visit(&visit, &inputs.person, institution, &inputs.fees, request.setl_time.date())?;
        let regions = [institution.region, insured_region];
        crate::supervision::mark_catalog_limits(&mut supervised, &rules.catalogs, &regions);
        let found = self.supervise(w, insured_region, &supervised, history).await?;
        if let Some(refusal) = found.as_ref().and_then(crate::supervision::Found::blocking) {
            return Err(refusal);
        }
        let p = build_claim(rules, institution, &visit, request, inputs)?;
        let t = p.outcome.totals;
        let setl_time = request.setl_time.format("%Y-%m-%d %H:%M:%S").to_string();
        let outcome = json(&p.outcome)?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO settlements (visit_id, person_id, institution_id, insutype, med_type, year, setl_date, \
             setl_time, medfee_sumamt, fund_pay_sumamt, acct_pay, psn_cash_pay, outcome, ytd_delta, setl_list, \
             status, settled_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, '{}', \
             'settled', $15) RETURNING id",
        )
        .bind(visit.id)
        .bind(p.person.id)
        .bind(institution.id)
        .bind(p.person.scheme.code())
        .bind(visit.med_type.clone())
        .bind(i64::from(p.year))
        .bind(request.setl_time.date().to_string())
        .bind(setl_time.clone())
        .bind(t.medfee_sumamt.fen())
        .bind(t.fund_pay_sumamt.fen())
        .bind(t.acct_pay.fen())
        .bind(t.psn_cash_pay.fen())
        .bind(outcome.clone())
        .bind(json(&p.outcome.ytd_delta)?)
        .bind(w.actor().label.clone())
        .fetch_one(&mut *w.tx)
        .await
        .map_err(|e| match StoreError::on_unique(e, "settlement") {
            StoreError::Duplicate { .. } => StoreError::Stale("visit"),
            other => other,
        })?;
        let setl_id = format!("{}{:012}", p.person.insured_region, id);
        let basic = BasicInfo {
            setl_id: setl_id.clone(),
            mdtrt_id: visit.mdtrt_id.clone(),
            psn_no: p.person.id.to_string(),
            psn_name: p.person.name.to_string(),
            certno_masked: p.person.resident_id.masked(),
            insutype: p.person.scheme.code().to_string(),
            psn_type: p.person.category.label().zh.to_string(),
            insuplc_admdvs: p.person.insured_region.to_string(),
            fixmedins_code: institution.code.clone(),
            fixmedins_name: institution.name.clone(),
            hosp_lv: institution.grade.label().zh.to_string(),
            med_type: med_type_of(&visit)?.label().zh,
            ipt_otp_no: visit.ipt_otp_no.clone(),
            begntime: visit.begntime.clone(),
            endtime: visit.endtime.clone().unwrap_or_default(),
            setl_time: setl_time.clone(),
            policy: format!(
                "{} {} {} v{} {}",
                p.outcome.policy.region,
                p.outcome.policy.scheme.code(),
                p.outcome.policy.year,
                p.outcome.policy.version,
                p.outcome.policy.name
            ),
            filing: p.outcome.filing.map(|f| f.label().zh),
        };
        let diagnoses = visit
            .diagnoses
            .iter()
            .map(|d| ListDiagnosis { diag_code: d.diag_code.clone(), diag_name: d.diag_name.clone(), main: d.main })
            .collect();
        let list = SettlementList::new(basic, diagnoses, p.person.scheme, &p.outcome);
        let booked = crate::books::settlement_entry(&list)?;
        sqlx::query("UPDATE settlements SET setl_id = $1, setl_list = $2, fund = $3 WHERE id = $4")
            .bind(setl_id.clone())
            .bind(json(&list)?)
            .bind(yibao_core::books::Fund::of(p.person.insured_region, p.person.scheme).to_string())
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        crate::books::post(w, &booked).await?;
        if let Some(found) = found {
            self.keep_hits(w, crate::supervision::Subject::Settlement(id), insured_region, found).await?;
        }
        // The diagnoses and surgeries go into the person's medical history file.
        let mut diagnoses: Vec<HistoryInput> = visit
            .diagnoses
            .iter()
            .filter(|d| !d.diag_code.trim().is_empty())
            .map(|d| HistoryInput {
                kind: HistoryKind::Diagnosis,
                code: d.diag_code.clone(),
                name: d.diag_name.clone(),
                noted_on: request.setl_time.date(),
            })
            .collect();
        diagnoses.extend(yibao_core::inspection::surgeries(&p.outcome).into_iter().map(|(code, name)| HistoryInput {
            kind: HistoryKind::Surgery,
            code,
            name,
            noted_on: request.setl_time.date(),
        }));
        self.note_history(w, p.person.id, &diagnoses, HistorySource::Settlement, &setl_id).await?;
        // A stay under a pre-evaluated filing: the re-check visit it asks for.
        let admitted = day_of(&visit.begntime)?;
        if let Some(pre) = crate::audits::pre_evaluation_on(&mut w.tx, p.person.id, admitted).await? {
            let today = request.setl_time.date();
            let discharged = visit.endtime.as_deref().map(day_of).transpose()?.unwrap_or(today);
            self.plan_recheck(w, &pre, crate::audits::Stay::Visit(visit.id), discharged, today).await?;
        }
        self.put_year_totals(w, p.person.id, p.year, &p.outcome.ytd_after, p.ytd_version).await?;
        let acct_balance = match p.account {
            Some((balance, version)) => {
                Some(self.post_account(w, p.person.id, version, balance, -t.acct_pay.fen(), "settlement", id).await?)
            }
            None => None,
        };
        if let (true, Some((holder, read))) = (t.acct_mulaid_pay.is_positive(), p.family) {
            // Computed from the balance as read (before the turn to write, with a snapshot):
            // changed since, the settlement is stale and is computed again, as for the
            // person's own account.
            let now: Option<i64> = sqlx::query_scalar("SELECT balance FROM individual_accounts WHERE person_id = $1")
                .bind(holder)
                .fetch_optional(&mut *w.tx)
                .await?;
            if now != Some(read.fen()) {
                return Err(StoreError::Stale("individual_account"));
            }
            let note = Text::new(
                format!("门诊共济：{} 在 {} 结算 {setl_id}", p.person.name, institution.name),
                format!("family mutual aid: {}'s settlement {setl_id} at {}", p.person.name, institution.name),
            );
            let amount = -t.acct_mulaid_pay.fen();
            self.post_entry(w, holder, amount, "settlement", &setl_id, Some(p.person.id), &note).await?;
        }
        self.save_visit_state(w, &visit, &Visit { status: VisitStatus::Settled, ..visit.clone() }).await?;
        let settlement = Settlement {
            id,
            setl_id,
            mdtrt_id: visit.mdtrt_id.clone(),
            visit_id: visit.id,
            person_id: p.person.id,
            institution_id: institution.id,
            year: p.year,
            setl_time,
            status: SettlementStatus::Settled,
            list,
            outcome,
            ytd_delta: p.outcome.ytd_delta.clone(),
            acct_balance,
        };
        w.record::<(), _>("settlement.settle", "settlement", &id.to_string(), None, Some(&settlement.list)).await?;
        Ok(settlement)
    }

    /// Checks a settled settlement again against the rule base in force (a re-check of a
    /// period): its open hits are replaced by what is found now, decided ones kept.
    pub(crate) async fn resupervise_settlement(&self, w: &mut WriteTx, settlement_id: i64) -> Result<(), StoreError> {
        let (institution_id, person_id, visit_id, setl_date): (i64, i64, i64, String) =
            sqlx::query_as("SELECT institution_id, person_id, visit_id, setl_date FROM settlements WHERE id = $1")
                .bind(settlement_id)
                .fetch_one(&mut *w.tx)
                .await?;
        let visit = self.visit_in(w, visit_id).await?;
        let institution = self.institution(institution_id).await?;
        let person = crate::registry::fetch_person(&mut *w.tx, person_id).await?;
        let fees = active_fees(&mut w.tx, visit.id).await?;
        let mut supervised = settlement_visit(&visit, &person, &institution, &fees, day_of(&setl_date)?)?;
        let regions = [institution.region, person.insured_region];
        crate::supervision::mark_catalog_limits(&mut supervised, &self.rules().await?.catalogs, &regions);
        if let Some(found) = self.supervise(w, person.insured_region, &supervised, None).await? {
            self.keep_hits(w, crate::supervision::Subject::Settlement(settlement_id), person.insured_region, found)
                .await?;
        }
        Ok(())
    }

    /// 2305: reverses a settlement once: its delta leaves the running totals, its account
    /// debit is credited back, and the visit may be settled again.
    pub async fn reverse_settlement(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        setl_id: &str,
        mdtrt_id: &str,
    ) -> Result<Settlement, StoreError> {
        let before = self.settlement_in(w, institution_id, setl_id).await?;
        if !mdtrt_id.is_empty() && before.mdtrt_id != mdtrt_id {
            return Err(refuse(
                "mdtrt_id",
                format!("结算 {setl_id} 不属于就诊 {mdtrt_id}"),
                format!("settlement {setl_id} is not of visit {mdtrt_id}"),
            ));
        }
        if before.status == SettlementStatus::Reversed {
            return Err(refuse(
                "already_reversed",
                format!("结算 {setl_id} 已冲销过，不能重复冲销"),
                format!("settlement {setl_id} was already reversed"),
            ));
        }
        let changed = sqlx::query(
            "UPDATE settlements SET status = 'reversed', reversed_at = $1, reversed_by = $2 \
             WHERE id = $3 AND status = 'settled'",
        )
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .bind(before.id)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Stale("settlement"));
        }
        // What the rules found and nobody decided goes with it (a settlement made again is
        // checked again); decided findings stay on record.
        sqlx::query("DELETE FROM supervision_hits WHERE settlement_id = $1 AND state = 'open'")
            .bind(before.id)
            .execute(&mut *w.tx)
            .await?;
        let undone = crate::books::settlement_entry(&before.list)?.reversed("settlement_reversal");
        crate::books::post(w, &undone).await?;
        let (totals, version) =
            self.year_totals_in(w, before.person_id, before.year).await?.ok_or(StoreError::NotFound("year_totals"))?;
        self.put_year_totals(w, before.person_id, before.year, &totals.minus(&before.ytd_delta), Some(version)).await?;
        let acct_balance = match self.account_in(w, before.person_id).await? {
            Some((balance, version)) => {
                let debited: Option<i64> = sqlx::query_scalar(
                    "SELECT amount FROM account_entries WHERE settlement_id = $1 AND kind = 'settlement'",
                )
                .bind(before.id)
                .fetch_optional(&mut *w.tx)
                .await?;
                match debited {
                    Some(amount) => Some(
                        self.post_account(w, before.person_id, version, balance, -amount, "reversal", before.id)
                            .await?,
                    ),
                    None => Some(balance),
                }
            }
            None => None,
        };
        // 门诊共济: what a family member's account paid goes back to it.
        let family: Option<(i64, i64)> = sqlx::query_as(
            "SELECT person_id, amount FROM account_entries WHERE kind = 'settlement' AND reference = $1 \
             AND drawn_by = $2",
        )
        .bind(setl_id.to_string())
        .bind(before.person_id)
        .fetch_optional(&mut *w.tx)
        .await?;
        if let Some((holder, amount)) = family {
            let note = Text::new(
                format!("门诊共济：结算 {setl_id} 冲销退回"),
                format!("family mutual aid: settlement {setl_id} reversed"),
            );
            self.post_entry(w, holder, -amount, "reversal", setl_id, Some(before.person_id), &note).await?;
        }
        let visit = self.visit_of(w, institution_id, &before.mdtrt_id).await?;
        let back = if visit.med_type == "21" || visit.endtime.is_some() {
            VisitStatus::Discharged
        } else {
            VisitStatus::Admitted
        };
        self.save_visit_state(w, &visit, &Visit { status: back, ..visit.clone() }).await?;
        let after = Settlement { status: SettlementStatus::Reversed, acct_balance, ..before.clone() };
        w.record(
            "settlement.reverse",
            "settlement",
            &before.id.to_string(),
            Some(&before.ytd_delta),
            Some(&after.status),
        )
        .await?;
        Ok(after)
    }
}

/// What a settlement depends on besides the visit, read in one round trip: the person's
/// earlier inpatient settlements this year, running totals for the year and individual
/// account (each with its version, for the update that follows).
#[derive(Clone)]
pub(super) struct Running {
    admissions: i64,
    ytd: Option<(YearToDate, i64)>,
    account: Option<(Fen, i64)>,
    /// 门诊共济: the first family member who authorised the person, and their balance.
    family: Option<(i64, Fen)>,
}

/// The person's admissions in the year (another visit's), running totals and account, with
/// their versions: `$1` person, `$2` year, `$3` the visit being settled.
const RUNNING_STATE: &str = "SELECT (SELECT COUNT(*) FROM settlements WHERE person_id = $1 AND year = $2 \
     AND med_type = '21' AND status = 'settled' AND visit_id <> $3), \
     (SELECT totals FROM year_totals WHERE person_id = $1 AND year = $2), \
     (SELECT version FROM year_totals WHERE person_id = $1 AND year = $2), \
     (SELECT balance FROM individual_accounts WHERE person_id = $1), \
     (SELECT version FROM individual_accounts WHERE person_id = $1), \
     (SELECT holder_id FROM family_authorisations WHERE member_id = $1 AND revoked_at IS NULL ORDER BY id LIMIT 1), \
     (SELECT balance FROM individual_accounts WHERE person_id = (SELECT holder_id FROM family_authorisations \
      WHERE member_id = $1 AND revoked_at IS NULL ORDER BY id LIMIT 1))";

async fn running_state(
    conn: &mut crate::db::Conn,
    person_id: i64,
    year: i32,
    visit_id: i64,
) -> Result<Running, StoreError> {
    let row = sqlx::query(RUNNING_STATE).bind(person_id).bind(i64::from(year)).bind(visit_id).fetch_one(conn).await?;
    let ytd = match (row.try_get::<Option<String>, _>(1)?, row.try_get::<Option<i64>, _>(2)?) {
        (Some(text), Some(version)) => {
            Some((serde_json::from_str(&text).map_err(|e| corrupt("year_totals.totals", e))?, version))
        }
        _ => None,
    };
    let account = match (row.try_get::<Option<i64>, _>(3)?, row.try_get::<Option<i64>, _>(4)?) {
        (Some(balance), Some(version)) => Some((Fen::from_fen(balance), version)),
        _ => None,
    };
    let family = match (row.try_get::<Option<i64>, _>(5)?, row.try_get::<Option<i64>, _>(6)?) {
        (Some(holder), Some(balance)) => Some((holder, Fen::from_fen(balance))),
        _ => None,
    };
    Ok(Running { admissions: row.try_get(0)?, ytd, account, family })
}

/// The policy that applies to the person on `day`, or the refusal that none does.
fn policy_year(rules: &Rules, person: &crate::Person, day: chrono::NaiveDate) -> Result<i32, StoreError> {
    let policy = rules.policies.select(person.insured_region, person.scheme, day).ok_or_else(|| {
        refuse(
            "no_policy",
            format!("参保地 {} 险种 {} 没有 {day} 适用的政策", person.insured_region, person.scheme.code()),
            format!("no policy of region {} scheme {} applies on {day}", person.insured_region, person.scheme.code()),
        )
    })?;
    Ok(policy.year.value())
}

async fn claim_inputs(
    conn: &mut crate::db::Conn,
    rules: &Rules,
    visit: &Visit,
    day: chrono::NaiveDate,
) -> Result<ClaimInputs, StoreError> {
    let person = fetch_person(&mut *conn, visit.person_id).await?;
    let year = policy_year(rules, &person, day)?;
    let fees = active_fees(&mut *conn, visit.id).await?;
    let offsite_filing = match visit.filing_id {
        Some(id) => {
            let kind: String =
                sqlx::query_scalar("SELECT kind FROM filings WHERE id = $1").bind(id).fetch_one(&mut *conn).await?;
            Some(FilingType::parse(&kind).map_err(|e| corrupt("filings.kind", e))?.group())
        }
        None => None,
    };
    let running = running_state(conn, person.id, year, visit.id).await?;
    Ok(ClaimInputs { person, year, fees, offsite_filing, running })
}

/// The engine's claim from what was read, run under the rules: refund lines are netted into
/// the lines they refund (a fully refunded line drops out), and a `medfee_sumamt` the
/// hospital sent must equal the lines' total.
pub(super) fn build_claim(
    rules: &Rules,
    institution: &Institution,
    visit: &Visit,
    request: &SettleRequest,
    inputs: ClaimInputs,
) -> Result<Prepared, StoreError> {
    let ClaimInputs { person, year, fees, offsite_filing, running } = inputs;
    let med_type = med_type_of(visit)?;
    require_open(visit, "结算", "it cannot be settled")?;
    let day = request.setl_time.date();
    let uploaded = fees
        .iter()
        .map(|fee| {
            let day = fee.fee_ocur_time.parse().map_err(|e| corrupt("fee_lines.fee_ocur_time", e))?;
            let line = FeeLine {
                feedetl_sn: fee.feedetl_sn.as_str().into(),
                med_list_codg: fee.med_list_codg.as_str().into(),
                cnt: fee.cnt,
                pric: fee.pric,
                det_item_fee_sumamt: fee.det_item_fee_sumamt,
                fee_ocur_time: DateText(day),
                reviewer_excluded: false,
                rescue_admitted: false,
            };
            Ok((line, fee.init_feedetl_sn.as_deref()))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let feedetail = net_refunds(&uploaded);
    let medfee: i64 = feedetail.iter().map(|l| l.det_item_fee_sumamt.fen()).sum();
    if let Some(sent) = request.medfee_sumamt {
        if sent.fen() != medfee {
            return Err(refuse(
                "medfee_sumamt",
                format!("医疗费总额 {sent} 与已上传明细合计 {} 不符", Fen::from_fen(medfee)),
                format!("medfee_sumamt {sent} differs from the uploaded lines' total {}", Fen::from_fen(medfee)),
            ));
        }
    }
    let Running { admissions, ytd, account, family } = running;
    let (ytd, ytd_version) = match ytd {
        Some((totals, version)) => (totals, Some(version)),
        None => (YearToDate::default(), None),
    };
    let claim = Claim {
        mdtrt_id: visit.mdtrt_id.clone(),
        insutype: person.scheme,
        psn_type: person.category,
        med_type,
        insuplc_admdvs: person.insured_region,
        mdtrtarea_admvs: institution.region,
        hosp_lv: institution.grade,
        admission_no: u32::try_from(admissions + 1).unwrap_or(u32::MAX),
        offsite_filing,
        receipt_date: DateText(day),
        dise_codg: main_first(&visit.diagnoses),
        opsp_dise_code: None,
        acct_used_flag: request.acct_used_flag && (account.is_some() || family.is_some()),
        catalog_source: None,
        acct_balance: account.map_or(Fen::ZERO, |(b, _)| b),
        family_balance: family.map_or(Fen::ZERO, |(_, b)| b),
        feedetail,
    };
    let outcome = Engine::default().run(&claim, &rules.policies, &rules.catalogs, &ytd).map_err(|e| {
        StoreError::Invalid(InvalidValue::new(
            "claim",
            "not_adjudicable",
            format!("{}：{}", e.field, e.message.zh),
            format!("{}: {}", e.field, e.message.en),
        ))
    })?;
    Ok(Prepared { person, year, outcome, ytd_version, account, family })
}

pub(super) struct Prepared {
    pub(super) person: crate::Person,
    pub(super) year: i32,
    pub(super) outcome: Outcome,
    pub(super) ytd_version: Option<i64>,
    pub(super) account: Option<(Fen, i64)>,
    /// 门诊共济: whose account pays `acct_mulaid_pay`, and its balance as read.
    pub(super) family: Option<(i64, Fen)>,
}

/// The diagnosis codes, the main one first.
fn main_first(diagnoses: &[crate::Diagnosis]) -> Vec<String> {
    let main = diagnoses.iter().filter(|d| d.main);
    let rest = diagnoses.iter().filter(|d| !d.main);
    main.chain(rest).map(|d| d.diag_code.clone()).collect()
}

/// A direct settlement's visit as the rules see it, named by its `mdtrt_id`, with its active
/// fee lines (by `feedetl_sn`), settled on `day`.
fn settlement_visit(
    visit: &Visit,
    person: &crate::Person,
    institution: &Institution,
    fees: &[StoredFee],
    day: chrono::NaiveDate,
) -> Result<yibao_core::supervise::Visit, StoreError> {
    let admitted = day_of(&visit.begntime)?;
    let discharged = visit.endtime.as_deref().map(day_of).transpose()?.unwrap_or(day);
    let lines = fees
        .iter()
        .map(|f| {
            Ok(yibao_core::supervise::VisitLine {
                sn: f.feedetl_sn.clone(),
                item: f.med_list_codg.clone(),
                day: day_of(&f.fee_ocur_time)?,
                quantity: f.cnt,
                limits: None,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    let main = visit.diagnoses.iter().find(|d| d.main).or(visit.diagnoses.first());
    Ok(yibao_core::supervise::Visit {
        id: visit.mdtrt_id.clone(),
        person_id: person.id,
        sex: person.sex,
        birth_date: person.birth_date,
        institution: institution.code.clone(),
        inpatient: visit.med_type == "21",
        admitted,
        discharged: discharged.max(admitted),
        main_diagnosis: main.map(|d| d.diag_code.clone()).unwrap_or_default(),
        lines,
        invoices: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::RUNNING_STATE;
    use crate::testing::TestDb;
    use sqlx::Row;

    /// Every upload, pre-settlement and settlement reads the running state: it must find the
    /// person's settlements through an index, not scan every settlement stored (SQLite's
    /// plan; PostgreSQL's planner chooses by table size, and the index is the same).
    #[tokio::test]
    async fn the_running_state_searches_the_persons_settlements() {
        let db = TestDb::sqlite().await;
        let plan: Vec<String> = sqlx::query(&format!("EXPLAIN QUERY PLAN {RUNNING_STATE}"))
            .bind(1_i64)
            .bind(2026_i64)
            .bind(1_i64)
            .fetch_all(&db.store.db.pool)
            .await
            .unwrap()
            .iter()
            .map(|r| r.try_get::<String, _>("detail").unwrap())
            .collect();
        assert!(plan.iter().all(|step| !step.starts_with("SCAN settlements")), "{plan:#?}");
        assert!(plan.iter().any(|step| step.contains("settlements_person_year")), "{plan:#?}");
        db.cleanup().await;
    }
}
