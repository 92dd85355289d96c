//! Direct settlement of a visit (2301–2305): fee lines uploaded by the hospital, discharge,
//! pre-settlement, settlement and its reversal. A settlement runs the engine under the
//! policy of the settlement day's insurance year, adds its delta to the person's running
//! totals for that year and debits the individual account — in the caller's one write
//! transaction, which holds the database's write lock from its start, so two settlements
//! for one person run one after the other. A reversal takes back exactly what the
//! settlement added, once.

use std::sync::Arc;

use rust_decimal::Decimal;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;
use yibao_core::adjudicate::{net_refunds, Claim, DateText, Engine, FeeLine, MedType, Outcome, YearToDate};
use yibao_core::catalog::Catalogs;
use yibao_core::cover::FilingType;
use yibao_core::policy::PolicySet;
use yibao_core::settlement::{BasicInfo, ListDiagnosis, SettlementList};
use yibao_core::{Fen, InsuranceYear, InvalidValue};

use crate::registry::{fetch_person, Institution};
use crate::visits::{refuse, visit_by_mdtrt, Visit, VisitStatus};
use crate::{Store, StoreError, WriteTx};

/// The policies and catalogs the engine runs under.
#[derive(Debug)]
pub struct Rules {
    pub policies: PolicySet,
    pub catalogs: Catalogs,
}

/// One uploaded fee line (2301 `feedetail`), as the hospital sent it.
#[derive(Debug, Clone)]
pub struct FeeUpload {
    pub line: FeeLine,
    /// For a refund (negative `cnt`): the line refunded.
    pub init_feedetl_sn: Option<String>,
    /// The hospital's own item code.
    pub medins_list_codg: String,
}

/// A stored fee line.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFee {
    pub feedetl_sn: String,
    pub init_feedetl_sn: Option<String>,
    pub med_list_codg: String,
    pub medins_list_codg: String,
    pub cnt: Decimal,
    pub pric: Decimal,
    pub det_item_fee_sumamt: Fen,
    pub fee_ocur_time: String,
}

/// What a settlement (2304) asks for.
#[derive(Debug, Clone)]
pub struct SettleRequest {
    /// 个人账户使用标志
    pub acct_used_flag: bool,
    /// The total the hospital computed; refused when it differs from the lines'.
    pub medfee_sumamt: Option<Fen>,
    /// The settlement's moment (China time), `YYYY-MM-DD HH:MM:SS`; its day selects the policy.
    pub setl_time: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SettlementStatus {
    Settled,
    Reversed,
}

/// A settlement made, with the engine's outcome and the settlement list.
#[derive(Debug, Clone, Serialize)]
pub struct Settlement {
    pub id: i64,
    pub setl_id: String,
    pub mdtrt_id: String,
    pub visit_id: i64,
    pub person_id: i64,
    pub institution_id: i64,
    pub year: i32,
    pub setl_time: String,
    pub status: SettlementStatus,
    pub list: SettlementList,
    /// The engine's outcome as stored (JSON): lines, trace, totals before and after.
    #[serde(skip)]
    pub outcome: String,
    pub ytd_delta: YearToDate,
    /// The individual account's balance after the settlement (or its reversal), if the
    /// person has an account.
    pub acct_balance: Option<Fen>,
}

/// 3201's totals for a period: settlements in force, by what the institution was paid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub setl_cnt: i64,
    pub medfee_sumamt: Fen,
    pub fund_pay_sumamt: Fen,
    pub acct_pay: Fen,
}

/// A person's individual account: its balance and every entry, oldest first.
#[derive(Debug, Clone, Serialize)]
pub struct IndividualAccount {
    pub person_id: i64,
    pub balance: Fen,
    pub entries: Vec<AccountEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountEntry {
    pub kind: String,
    pub amount: Fen,
    pub balance_after: Fen,
    pub setl_id: Option<String>,
    pub at: String,
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("json", e))
}

fn fee_from_row(r: &AnyRow) -> Result<StoredFee, StoreError> {
    let cnt: String = r.try_get(4)?;
    let pric: String = r.try_get(5)?;
    Ok(StoredFee {
        feedetl_sn: r.try_get(0)?,
        init_feedetl_sn: r.try_get(1)?,
        med_list_codg: r.try_get(2)?,
        medins_list_codg: r.try_get(3)?,
        cnt: cnt.parse().map_err(|e| corrupt("fee_lines.cnt", e))?,
        pric: pric.parse().map_err(|e| corrupt("fee_lines.pric", e))?,
        det_item_fee_sumamt: Fen::from_fen(r.try_get(6)?),
        fee_ocur_time: r.try_get(7)?,
    })
}

const FEE_COLS: &str =
    "feedetl_sn, init_feedetl_sn, med_list_codg, medins_list_codg, cnt, pric, det_item_fee_sumamt, fee_ocur_time";

const SETTLEMENT_COLS: &str =
    "s.id, s.setl_id, v.mdtrt_id, s.visit_id, s.person_id, s.institution_id, s.year, s.setl_time, s.status, \
     s.setl_list, s.outcome, s.ytd_delta";

fn settlement_from_row(r: &AnyRow) -> Result<Settlement, StoreError> {
    let status: String = r.try_get(8)?;
    let list: String = r.try_get(9)?;
    let delta: String = r.try_get(11)?;
    Ok(Settlement {
        id: r.try_get(0)?,
        setl_id: r.try_get(1)?,
        mdtrt_id: r.try_get::<Option<String>, _>(2)?.unwrap_or_default(),
        visit_id: r.try_get(3)?,
        person_id: r.try_get(4)?,
        institution_id: r.try_get(5)?,
        year: i32::try_from(r.try_get::<i64, _>(6)?).map_err(|e| corrupt("settlements.year", e))?,
        setl_time: r.try_get(7)?,
        status: match status.as_str() {
            "settled" => SettlementStatus::Settled,
            "reversed" => SettlementStatus::Reversed,
            other => return Err(corrupt("settlements.status", other)),
        },
        list: serde_json::from_str(&list).map_err(|e| corrupt("settlements.setl_list", e))?,
        outcome: r.try_get(10)?,
        ytd_delta: serde_json::from_str(&delta).map_err(|e| corrupt("settlements.ytd_delta", e))?,
        acct_balance: None,
    })
}

/// `cnt × pric` in fen, half up: what a line must total.
fn line_total(cnt: Decimal, pric: Decimal) -> Option<i64> {
    use rust_decimal::prelude::ToPrimitive;
    (cnt.checked_mul(pric)? * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(0, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

fn line_problem(sn: &str, code: &'static str, zh: String, en: String) -> InvalidValue {
    InvalidValue::new("feedetail", code, format!("费用明细 {sn}：{zh}"), format!("fee line {sn}: {en}"))
}

fn med_type_of(visit: &Visit) -> Result<MedType, StoreError> {
    MedType::parse(&visit.med_type).map_err(|e| corrupt("visits.med_type", e.message.en))
}

impl Store {
    /// The policies and catalogs in force, loaded once and loaded again only when an
    /// import has added a policy version or a catalog since (a cheap check, made at most
    /// once a second; an import through this store is seen at once).
    pub async fn rules(&self) -> Result<Arc<Rules>, StoreError> {
        if let Some(rules) = self.caches.fresh_rules() {
            return Ok(rules);
        }
        let stamp: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COALESCE(MAX(id), 0) FROM policies), (SELECT COALESCE(MAX(id), 0) FROM catalog_imports)",
        )
        .fetch_one(&self.pool)
        .await?;
        if let Some(rules) = self.caches.rules_at(stamp) {
            return Ok(rules);
        }
        let rules = Arc::new(Rules { policies: self.load_policies().await?, catalogs: self.load_catalogs().await? });
        self.caches.put_rules(stamp, &rules);
        Ok(rules)
    }

    /// The visit's active fee lines, in upload order.
    pub async fn fee_lines(&self, w: &mut WriteTx, visit_id: i64) -> Result<Vec<StoredFee>, StoreError> {
        active_fees(&mut w.tx, visit_id).await
    }

    /// 2301: stores fee lines for an open visit. Each line is checked — a new serial
    /// number, a total of `cnt × pric`, not before the admission — and a refund (negative
    /// `cnt`) must name a line of this visit and not take back more than it charged. All
    /// problems are reported at once; nothing is stored unless every line is accepted.
    pub async fn upload_fees(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
        lines: &[FeeUpload],
    ) -> Result<Visit, StoreError> {
        let visit = self.visit_of(w, institution_id, mdtrt_id).await?;
        let existing = self.fee_lines(w, visit.id).await?;
        self.store_fee_lines(w, &visit, &existing, lines).await?;
        Ok(Visit { version: visit.version + 1, ..visit })
    }

    /// 2301 on a snapshot taken before the write: stores the lines (refused as stale if the
    /// visit or its lines changed since) and answers with the visit pre-settled with them.
    pub async fn upload_fees_previewed(
        &self,
        w: &mut WriteTx,
        rules: &Rules,
        institution: &Institution,
        snapshot: VisitSnapshot,
        lines: &[FeeUpload],
        request: &SettleRequest,
    ) -> Result<Outcome, StoreError> {
        let VisitSnapshot { visit, mut inputs } = snapshot;
        let added = self.store_fee_lines(w, &visit, &inputs.fees, lines).await?;
        inputs.fees.extend(added);
        Ok(build_claim(rules, institution, &visit, request, inputs)?.outcome)
    }

    /// Checks and stores new lines for `visit` (as read, with its `existing` active lines);
    /// the visit's version moves, so a write that read the lines before is refused as stale.
    /// Returns the lines as stored.
    async fn store_fee_lines(
        &self,
        w: &mut WriteTx,
        visit: &Visit,
        existing: &[StoredFee],
        lines: &[FeeUpload],
    ) -> Result<Vec<StoredFee>, StoreError> {
        require_open(visit, "上传费用明细", "fee lines cannot be uploaded")?;
        if lines.is_empty() {
            return Err(refuse("feedetail", "没有费用明细", "no fee lines were sent"));
        }
        let mut problems = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        let admitted_on = visit.begntime.get(..10).unwrap_or("");
        for u in lines {
            let l = &u.line;
            let sn = &*l.feedetl_sn;
            if sn.trim().is_empty() {
                problems.push(line_problem(sn, "feedetl_sn", "缺少流水号".into(), "no serial number".into()));
                continue;
            }
            if existing.iter().any(|e| e.feedetl_sn == sn) || seen.contains(&sn) {
                problems.push(line_problem(
                    sn,
                    "feedetl_sn_duplicate",
                    "流水号已上传过（如需更正请先 2302 撤销）".into(),
                    "this serial number was already uploaded (undo it with 2302 first)".into(),
                ));
            }
            seen.push(sn);
            if l.cnt.is_zero() || l.pric.is_sign_negative() {
                problems.push(line_problem(
                    sn,
                    "cnt",
                    "数量不能为 0，单价不能为负".into(),
                    "cnt must not be 0 and pric not negative".into(),
                ));
                continue;
            }
            if line_total(l.cnt, l.pric) != Some(l.det_item_fee_sumamt.fen()) {
                problems.push(line_problem(
                    sn,
                    "det_item_fee_sumamt",
                    format!("金额 {} 不等于数量 {} × 单价 {}", l.det_item_fee_sumamt, l.cnt, l.pric),
                    format!("amount {} is not cnt {} × pric {}", l.det_item_fee_sumamt, l.cnt, l.pric),
                ));
            }
            let day = l.fee_ocur_time.0.to_string();
            if day.as_str() < admitted_on {
                problems.push(line_problem(
                    sn,
                    "fee_ocur_time",
                    format!("费用发生日期 {day} 早于入院日期 {admitted_on}"),
                    format!("fee date {day} is before the admission on {admitted_on}"),
                ));
            }
            if l.cnt.is_sign_negative() {
                let Some(init) = u.init_feedetl_sn.as_deref().filter(|s| !s.trim().is_empty()) else {
                    problems.push(line_problem(
                        sn,
                        "init_feedetl_sn",
                        "退费明细（数量为负）须填写原费用明细流水号 init_feedetl_sn".into(),
                        "a refund line (negative cnt) must name the line it refunds in init_feedetl_sn".into(),
                    ));
                    continue;
                };
                let charged: Vec<(Decimal, &str)> = existing
                    .iter()
                    .map(|e| (e.cnt, e.feedetl_sn.as_str()))
                    .chain(lines.iter().map(|o| (o.line.cnt, &*o.line.feedetl_sn)))
                    .filter(|(cnt, s)| *s == init && cnt.is_sign_positive())
                    .collect();
                let original =
                    existing.iter().find(|e| e.feedetl_sn == init).map(|e| e.med_list_codg.clone()).or_else(|| {
                        lines.iter().find(|o| &*o.line.feedetl_sn == init).map(|o| o.line.med_list_codg.to_string())
                    });
                let refunded: Decimal = existing
                    .iter()
                    .filter(|e| e.init_feedetl_sn.as_deref() == Some(init))
                    .map(|e| e.cnt)
                    .chain(
                        lines
                            .iter()
                            .filter(|o| o.init_feedetl_sn.as_deref() == Some(init) && o.line.cnt.is_sign_negative())
                            .map(|o| o.line.cnt),
                    )
                    .sum();
                let charged_cnt: Decimal = charged.iter().map(|(c, _)| *c).sum();
                if original.as_deref() != Some(&*l.med_list_codg) {
                    problems.push(line_problem(
                        sn,
                        "init_feedetl_sn",
                        format!("退费所指原明细 {init} 不存在或项目不同"),
                        format!("the refunded line {init} does not exist or is another item"),
                    ));
                } else if charged_cnt + refunded < Decimal::ZERO {
                    problems.push(line_problem(
                        sn,
                        "refund_exceeds",
                        format!("退费数量超过原明细 {init} 的数量 {charged_cnt}"),
                        format!("refunds exceed the {charged_cnt} charged on line {init}"),
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(StoreError::Problems(problems));
        }
        bump_visit(w, visit).await?;
        // One statement for a chunk of lines (a round trip per line is most of an upload's time).
        const COLS: usize = 11;
        for chunk in lines.chunks(400) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|r| {
                    let p: Vec<String> = (1..=COLS).map(|c| format!("${}", r * COLS + c)).collect();
                    format!("({}, 'active')", p.join(", "))
                })
                .collect();
            let sql = format!(
                "INSERT INTO fee_lines (visit_id, feedetl_sn, init_feedetl_sn, med_list_codg, medins_list_codg, cnt, \
                 pric, det_item_fee_sumamt, fee_ocur_time, uploaded_by, uploaded_at, status) VALUES {}",
                rows.join(", ")
            );
            let mut q = sqlx::query(&sql);
            for u in chunk {
                let l = &u.line;
                q = q
                    .bind(visit.id)
                    .bind(l.feedetl_sn.to_string())
                    .bind(u.init_feedetl_sn.clone().filter(|s| !s.trim().is_empty()))
                    .bind(l.med_list_codg.to_string())
                    .bind(u.medins_list_codg.clone())
                    .bind(l.cnt.to_string())
                    .bind(l.pric.to_string())
                    .bind(l.det_item_fee_sumamt.fen())
                    .bind(l.fee_ocur_time.0.to_string())
                    .bind(w.actor().label.clone())
                    .bind(w.at().to_string());
            }
            q.execute(&mut *w.tx).await.map_err(|e| StoreError::on_unique(e, "feedetl_sn"))?;
        }
        let sns: Vec<&str> = lines.iter().map(|u| &*u.line.feedetl_sn).collect();
        w.record::<(), _>("visit.upload_fees", "visit", &visit.id.to_string(), None, Some(&sns)).await?;
        Ok(lines
            .iter()
            .map(|u| StoredFee {
                feedetl_sn: u.line.feedetl_sn.to_string(),
                init_feedetl_sn: u.init_feedetl_sn.clone().filter(|s| !s.trim().is_empty()),
                med_list_codg: u.line.med_list_codg.to_string(),
                medins_list_codg: u.medins_list_codg.clone(),
                cnt: u.line.cnt,
                pric: u.line.pric,
                det_item_fee_sumamt: u.line.det_item_fee_sumamt,
                fee_ocur_time: u.line.fee_ocur_time.0.to_string(),
            })
            .collect())
    }

    /// 2302: undoes uploaded lines by serial number (all of them when `sns` is empty); a
    /// line's refunds go with it. Returns how many lines were undone.
    pub async fn undo_fees(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
        sns: &[String],
    ) -> Result<u64, StoreError> {
        let visit = self.visit_of(w, institution_id, mdtrt_id).await?;
        require_open(&visit, "撤销费用明细", "fee lines cannot be undone")?;
        let existing = self.fee_lines(w, visit.id).await?;
        let targets: Vec<&StoredFee> = if sns.is_empty() {
            existing.iter().collect()
        } else {
            let missing: Vec<&String> = sns.iter().filter(|s| !existing.iter().any(|e| &e.feedetl_sn == *s)).collect();
            if let Some(sn) = missing.first() {
                return Err(refuse(
                    "feedetl_sn",
                    format!("费用明细 {sn} 未上传或已撤销"),
                    format!("fee line {sn} was not uploaded or is already undone"),
                ));
            }
            existing
                .iter()
                .filter(|e| {
                    sns.contains(&e.feedetl_sn) || e.init_feedetl_sn.as_ref().is_some_and(|init| sns.contains(init))
                })
                .collect()
        };
        bump_visit(w, &visit).await?;
        let mut undone = 0;
        for fee in &targets {
            undone += sqlx::query(
                "UPDATE fee_lines SET status = 'undone' WHERE visit_id = $1 AND feedetl_sn = $2 AND status = 'active'",
            )
            .bind(visit.id)
            .bind(fee.feedetl_sn.clone())
            .execute(&mut *w.tx)
            .await?
            .rows_affected();
        }
        let undone_sns: Vec<&str> = targets.iter().map(|f| f.feedetl_sn.as_str()).collect();
        w.record::<(), _>("visit.undo_fees", "visit", &visit.id.to_string(), None, Some(&undone_sns)).await?;
        Ok(undone)
    }

    /// 2402: discharges an admitted inpatient visit at `endtime`, with the discharge
    /// diagnoses (they replace the admission's when given).
    pub async fn discharge_visit(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
        endtime: chrono::NaiveDateTime,
        dscg_way: &str,
        diagnoses: &[crate::Diagnosis],
    ) -> Result<Visit, StoreError> {
        let before = self.visit_of(w, institution_id, mdtrt_id).await?;
        if before.status != VisitStatus::Admitted {
            return Err(refuse(
                "not_admitted",
                format!("就诊 {mdtrt_id} 状态为{}，不能办理出院", before.status.label().zh),
                format!("visit {mdtrt_id} is {}; it cannot be discharged", before.status.label().en),
            ));
        }
        let end = endtime.format("%Y-%m-%d %H:%M:%S").to_string();
        if end < before.begntime {
            return Err(refuse(
                "endtime",
                format!("出院时间 {end} 早于入院时间 {}", before.begntime),
                format!("discharge {end} is before the admission {}", before.begntime),
            ));
        }
        let diagnoses = if diagnoses.is_empty() { before.diagnoses.clone() } else { diagnoses.to_vec() };
        let discharged = Visit {
            status: VisitStatus::Discharged,
            endtime: Some(end),
            dscg_way: Some(dscg_way.to_string()),
            diagnoses,
            ..before.clone()
        };
        let after = self.save_visit_state(w, &before, &discharged).await?;
        w.record("visit.discharge", "visit", &before.id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// 2405: undoes a discharge that has not been settled.
    pub async fn undo_discharge(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        mdtrt_id: &str,
    ) -> Result<Visit, StoreError> {
        let before = self.visit_of(w, institution_id, mdtrt_id).await?;
        if before.status != VisitStatus::Discharged {
            return Err(refuse(
                "not_discharged",
                format!("就诊 {mdtrt_id} 状态为{}，不能撤销出院", before.status.label().zh),
                format!("visit {mdtrt_id} is {}; its discharge cannot be undone", before.status.label().en),
            ));
        }
        let admitted = Visit { status: VisitStatus::Admitted, endtime: None, dscg_way: None, ..before.clone() };
        let after = self.save_visit_state(w, &before, &admitted).await?;
        w.record("visit.undo_discharge", "visit", &before.id.to_string(), Some(&before), Some(&after)).await?;
        Ok(after)
    }

    /// The visit as the engine's claim on the settlement day, with its running totals for
    /// the year and the account balance (for 2303 and 2304), read on `conn`.
    async fn visit_claim(
        &self,
        conn: &mut crate::write::Conn,
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
        let snapshot = self.visit_snapshot(rules, institution.id, mdtrt_id, request.setl_time.date()).await?;
        Ok(build_claim(rules, institution, &snapshot.visit, request, snapshot.inputs)?.outcome)
    }

    /// The institution's visit and what settling it on `day` reads, from one snapshot of
    /// committed data, outside any write.
    pub async fn visit_snapshot(
        &self,
        rules: &Rules,
        institution_id: i64,
        mdtrt_id: &str,
        day: chrono::NaiveDate,
    ) -> Result<VisitSnapshot, StoreError> {
        let mut tx = self.begin_read().await?;
        let visit = visit_by_mdtrt(&mut tx, institution_id, mdtrt_id).await?;
        let inputs = claim_inputs(&mut tx, rules, &visit, day).await?;
        Ok(VisitSnapshot { visit, inputs })
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
        let (visit, inputs) =
            match snapshot.filter(|s| s.visit.mdtrt_id == mdtrt_id && s.visit.institution_id == institution.id) {
                Some(s) => (s.visit, Some(s.inputs)),
                None => (self.visit_of(w, institution.id, mdtrt_id).await?, None),
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
        sqlx::query("UPDATE settlements SET setl_id = $1, setl_list = $2 WHERE id = $3")
            .bind(setl_id.clone())
            .bind(json(&list)?)
            .bind(id)
            .execute(&mut *w.tx)
            .await?;
        self.put_year_totals(w, p.person.id, p.year, &p.outcome.ytd_after, p.ytd_version).await?;
        let acct_balance = match p.account {
            Some((balance, version)) => {
                Some(self.post_account(w, p.person.id, version, balance, -t.acct_pay.fen(), "settlement", id).await?)
            }
            None => None,
        };
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

    /// The person's running totals for `year` and their version, as this transaction sees them.
    pub(crate) async fn year_totals_in(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        year: i32,
    ) -> Result<Option<(YearToDate, i64)>, StoreError> {
        let row = sqlx::query("SELECT totals, version FROM year_totals WHERE person_id = $1 AND year = $2")
            .bind(person_id)
            .bind(i64::from(year))
            .fetch_optional(&mut *w.tx)
            .await?;
        match row {
            Some(r) => {
                let text: String = r.try_get(0)?;
                Ok(Some((serde_json::from_str(&text).map_err(|e| corrupt("year_totals.totals", e))?, r.try_get(1)?)))
            }
            None => Ok(None),
        }
    }

    /// The individual account's balance and version, if the person has one.
    async fn account_in(&self, w: &mut WriteTx, person_id: i64) -> Result<Option<(Fen, i64)>, StoreError> {
        let row = sqlx::query("SELECT balance, version FROM individual_accounts WHERE person_id = $1")
            .bind(person_id)
            .fetch_optional(&mut *w.tx)
            .await?;
        match row {
            Some(r) => Ok(Some((Fen::from_fen(r.try_get(0)?), r.try_get(1)?))),
            None => Ok(None),
        }
    }

    pub(crate) async fn put_year_totals(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        year: i32,
        totals: &YearToDate,
        version: Option<i64>,
    ) -> Result<(), StoreError> {
        let text = json(totals)?;
        let changed = match version {
            Some(v) => sqlx::query(
                "UPDATE year_totals SET totals = $1, version = version + 1 \
                 WHERE person_id = $2 AND year = $3 AND version = $4",
            )
            .bind(text)
            .bind(person_id)
            .bind(i64::from(year))
            .bind(v)
            .execute(&mut *w.tx)
            .await?
            .rows_affected(),
            None => sqlx::query("INSERT INTO year_totals (person_id, year, totals, version) VALUES ($1, $2, $3, 1)")
                .bind(person_id)
                .bind(i64::from(year))
                .bind(text)
                .execute(&mut *w.tx)
                .await
                .map_err(|e| match StoreError::on_unique(e, "year_totals") {
                    StoreError::Duplicate { .. } => StoreError::Stale("year_totals"),
                    other => other,
                })?
                .rows_affected(),
        };
        if changed != 1 {
            return Err(StoreError::Stale("year_totals"));
        }
        Ok(())
    }

    /// Posts `amount` (credit positive) to the account read at `version` with `balance`.
    /// The balance can never go below zero (the database refuses it, too).
    #[allow(clippy::too_many_arguments)]
    async fn post_account(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        version: i64,
        balance: Fen,
        amount: i64,
        kind: &str,
        settlement_id: i64,
    ) -> Result<Fen, StoreError> {
        let after = balance.fen() + amount;
        if after < 0 {
            return Err(refuse(
                "acct_insufficient",
                format!("个人账户余额 {balance} 不足"),
                format!("the individual account's balance {balance} is not enough"),
            ));
        }
        if amount == 0 {
            return Ok(balance);
        }
        let changed = sqlx::query(
            "UPDATE individual_accounts SET balance = $1, version = version + 1 WHERE person_id = $2 AND version = $3",
        )
        .bind(after)
        .bind(person_id)
        .bind(version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
        if changed != 1 {
            return Err(StoreError::Stale("individual_account"));
        }
        sqlx::query(
            "INSERT INTO account_entries (person_id, kind, amount, balance_after, settlement_id, at, actor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(person_id)
        .bind(kind.to_string())
        .bind(amount)
        .bind(after)
        .bind(settlement_id)
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .execute(&mut *w.tx)
        .await
        .map_err(|e| match StoreError::on_unique(e, "account_entry") {
            StoreError::Duplicate { .. } => StoreError::Stale("individual_account"),
            other => other,
        })?;
        Ok(Fen::from_fen(after))
    }

    /// Opens a person's individual account with its balance carried over (contributions
    /// are credited by a later interface). Refused if the account exists.
    pub async fn open_individual_account(
        &self,
        w: &mut WriteTx,
        person_id: i64,
        opening_balance: Fen,
    ) -> Result<(), StoreError> {
        if opening_balance.is_negative() {
            return Err(refuse("balance", "期初余额不能为负", "the opening balance cannot be negative"));
        }
        sqlx::query("INSERT INTO individual_accounts (person_id, balance, version) VALUES ($1, $2, 1)")
            .bind(person_id)
            .bind(opening_balance.fen())
            .execute(&mut *w.tx)
            .await
            .map_err(|e| StoreError::on_unique(e, "individual_account"))?;
        sqlx::query(
            "INSERT INTO account_entries (person_id, kind, amount, balance_after, settlement_id, at, actor) \
             VALUES ($1, 'opening', $2, $2, NULL, $3, $4)",
        )
        .bind(person_id)
        .bind(opening_balance.fen())
        .bind(w.at().to_string())
        .bind(w.actor().label.clone())
        .execute(&mut *w.tx)
        .await?;
        w.record::<(), _>("account.open", "person", &person_id.to_string(), None, Some(&opening_balance)).await?;
        Ok(())
    }

    /// A person's individual account with its entries, if it was opened.
    pub async fn individual_account(&self, person_id: i64) -> Result<Option<IndividualAccount>, StoreError> {
        let Some(balance) =
            sqlx::query_scalar::<_, i64>("SELECT balance FROM individual_accounts WHERE person_id = $1")
                .bind(person_id)
                .fetch_optional(&self.pool)
                .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT e.kind, e.amount, e.balance_after, s.setl_id, e.at FROM account_entries e \
             LEFT JOIN settlements s ON s.id = e.settlement_id WHERE e.person_id = $1 ORDER BY e.id",
        )
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?;
        let entries = rows
            .iter()
            .map(|r| {
                Ok(AccountEntry {
                    kind: r.try_get(0)?,
                    amount: Fen::from_fen(r.try_get(1)?),
                    balance_after: Fen::from_fen(r.try_get(2)?),
                    setl_id: r.try_get(3)?,
                    at: r.try_get(4)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Some(IndividualAccount { person_id, balance: Fen::from_fen(balance), entries }))
    }

    /// A person's running totals for an insurance year (zero before any settlement).
    pub async fn year_totals(&self, person_id: i64, year: InsuranceYear) -> Result<YearToDate, StoreError> {
        let text: Option<String> =
            sqlx::query_scalar("SELECT totals FROM year_totals WHERE person_id = $1 AND year = $2")
                .bind(person_id)
                .bind(i64::from(year.value()))
                .fetch_optional(&self.pool)
                .await?;
        match text {
            Some(t) => serde_json::from_str(&t).map_err(|e| corrupt("year_totals.totals", e)),
            None => Ok(YearToDate::default()),
        }
    }

    async fn settlement_in(
        &self,
        w: &mut WriteTx,
        institution_id: i64,
        setl_id: &str,
    ) -> Result<Settlement, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.setl_id = $1 AND s.institution_id = $2"
        ))
        .bind(setl_id.to_string())
        .bind(institution_id)
        .fetch_optional(&mut *w.tx)
        .await?
        .ok_or(StoreError::NotFound("settlement"))?;
        settlement_from_row(&row)
    }

    /// A settlement by its ID; `institution_id` limits it to that institution's.
    pub async fn settlement(&self, setl_id: &str, institution_id: Option<i64>) -> Result<Settlement, StoreError> {
        let row = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.setl_id = $1 AND ($2 IS NULL OR s.institution_id = $2)"
        ))
        .bind(setl_id.to_string())
        .bind(institution_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("settlement"))?;
        settlement_from_row(&row)
    }

    /// A person's settlements, newest first.
    pub async fn person_settlements(&self, person_id: i64) -> Result<Vec<Settlement>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.person_id = $1 ORDER BY s.id DESC"
        ))
        .bind(person_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }

    /// An institution's settlements (in force and reversed), newest first.
    pub async fn institution_settlements(
        &self,
        institution_id: i64,
        limit: i64,
    ) -> Result<Vec<Settlement>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {SETTLEMENT_COLS} FROM settlements s JOIN visits v ON v.id = s.visit_id \
             WHERE s.institution_id = $1 ORDER BY s.id DESC LIMIT $2"
        ))
        .bind(institution_id)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement_from_row).collect()
    }

    /// 3201: the institution's settlements in force with a settlement day in `[from, to]`,
    /// optionally of one scheme.
    pub async fn reconciliation(
        &self,
        institution_id: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        insutype: Option<&str>,
    ) -> Result<Reconciliation, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(medfee_sumamt), 0) AS BIGINT), \
             CAST(COALESCE(SUM(fund_pay_sumamt), 0) AS BIGINT), CAST(COALESCE(SUM(acct_pay), 0) AS BIGINT) \
             FROM settlements WHERE institution_id = $1 AND status = 'settled' \
             AND setl_date >= $2 AND setl_date <= $3 AND ($4 IS NULL OR insutype = $4)",
        )
        .bind(institution_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(insutype.map(str::to_string))
        .fetch_one(&self.pool)
        .await?;
        Ok(Reconciliation {
            setl_cnt: row.try_get(0)?,
            medfee_sumamt: Fen::from_fen(row.try_get(1)?),
            fund_pay_sumamt: Fen::from_fen(row.try_get(2)?),
            acct_pay: Fen::from_fen(row.try_get(3)?),
        })
    }
}

impl Store {
    /// 3202: the institution's settlements in force with a settlement day in `[from, to]`,
    /// optionally of one scheme, one by one, in `setl_id` order.
    pub async fn reconciliation_details(
        &self,
        institution_id: i64,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        insutype: Option<&str>,
    ) -> Result<Vec<yibao_core::platform::SettlementFigures>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.setl_id, v.mdtrt_id, s.medfee_sumamt, s.fund_pay_sumamt, s.acct_pay \
             FROM settlements s JOIN visits v ON v.id = s.visit_id WHERE s.institution_id = $1 \
             AND s.status = 'settled' AND s.setl_date >= $2 AND s.setl_date <= $3 AND ($4 IS NULL OR s.insutype = $4) \
             ORDER BY s.setl_id",
        )
        .bind(institution_id)
        .bind(from.to_string())
        .bind(to.to_string())
        .bind(insutype.map(str::to_string))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(yibao_core::platform::SettlementFigures {
                    setl_id: r.try_get(0)?,
                    mdtrt_id: r.try_get::<Option<String>, _>(1)?.unwrap_or_default(),
                    medfee_sumamt: Fen::from_fen(r.try_get(2)?),
                    fund_pay_sumamt: Fen::from_fen(r.try_get(3)?),
                    acct_pay: Fen::from_fen(r.try_get(4)?),
                })
            })
            .collect()
    }
}

/// What 2303 and 2304 share: the person, the year, the engine's outcome, and the versions
/// of the running totals and the account that were read.
/// A visit's active fee lines, in upload order.
async fn active_fees(conn: &mut crate::write::Conn, visit_id: i64) -> Result<Vec<StoredFee>, StoreError> {
    let rows =
        sqlx::query(&format!("SELECT {FEE_COLS} FROM fee_lines WHERE visit_id = $1 AND status = 'active' ORDER BY id"))
            .bind(visit_id)
            .fetch_all(conn)
            .await?;
    rows.iter().map(fee_from_row).collect()
}

/// What a settlement depends on besides the visit, read in one round trip: the person's
/// earlier inpatient settlements this year, running totals for the year and individual
/// account (each with its version, for the update that follows).
#[derive(Clone)]
struct Running {
    admissions: i64,
    ytd: Option<(YearToDate, i64)>,
    account: Option<(Fen, i64)>,
}

/// The person's admissions in the year (another visit's), running totals and account, with
/// their versions: `$1` person, `$2` year, `$3` the visit being settled.
const RUNNING_STATE: &str = "SELECT (SELECT COUNT(*) FROM settlements WHERE person_id = $1 AND year = $2 \
     AND med_type = '21' AND status = 'settled' AND visit_id <> $3), \
     (SELECT totals FROM year_totals WHERE person_id = $1 AND year = $2), \
     (SELECT version FROM year_totals WHERE person_id = $1 AND year = $2), \
     (SELECT balance FROM individual_accounts WHERE person_id = $1), \
     (SELECT version FROM individual_accounts WHERE person_id = $1)";

async fn running_state(
    conn: &mut crate::write::Conn,
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
    Ok(Running { admissions: row.try_get(0)?, ytd, account })
}

/// Moves the visit's version because its fee lines change: a write that read the lines
/// before (a settlement from a snapshot) is then refused as stale. Refused as stale itself if
/// the visit moved since `visit` was read.
async fn bump_visit(w: &mut WriteTx, visit: &Visit) -> Result<(), StoreError> {
    let changed = sqlx::query("UPDATE visits SET version = version + 1 WHERE id = $1 AND version = $2")
        .bind(visit.id)
        .bind(visit.version)
        .execute(&mut *w.tx)
        .await?
        .rows_affected();
    if changed != 1 {
        return Err(StoreError::Stale("visit"));
    }
    Ok(())
}

/// Fee lines and settlement need a visit still open (admitted or discharged).
fn require_open(visit: &Visit, zh: &str, en: &str) -> Result<(), StoreError> {
    match visit.status {
        VisitStatus::Admitted | VisitStatus::Discharged => Ok(()),
        status => Err(refuse(
            "visit_closed",
            format!("就诊 {} 状态为{}，不能{zh}", visit.mdtrt_id, status.label().zh),
            format!("visit {} is {}: {en}", visit.mdtrt_id, status.label().en),
        )),
    }
}

/// A visit and what settling it reads, taken from committed data before the turn to write,
/// so the write spends its turn writing. The write checks that it is still current — the
/// visit's version (which fee line changes move too), the running totals' and the account's —
/// and is refused as stale otherwise; the caller then runs it again reading inside the write.
#[derive(Clone)]
pub struct VisitSnapshot {
    visit: Visit,
    inputs: ClaimInputs,
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
    person: crate::Person,
    year: i32,
    fees: Vec<StoredFee>,
    offsite_filing: Option<yibao_core::adjudicate::Filing>,
    running: Running,
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
    conn: &mut crate::write::Conn,
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
fn build_claim(
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
    let Running { admissions, ytd, account } = running;
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
        acct_used_flag: request.acct_used_flag && account.is_some(),
        catalog_source: None,
        acct_balance: account.map_or(Fen::ZERO, |(b, _)| b),
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
    Ok(Prepared { person, year, outcome, ytd_version, account })
}

struct Prepared {
    person: crate::Person,
    year: i32,
    outcome: Outcome,
    ytd_version: Option<i64>,
    account: Option<(Fen, i64)>,
}

/// The diagnosis codes, the main one first.
fn main_first(diagnoses: &[crate::Diagnosis]) -> Vec<String> {
    let main = diagnoses.iter().filter(|d| d.main);
    let rest = diagnoses.iter().filter(|d| !d.main);
    main.chain(rest).map(|d| d.diag_code.clone()).collect()
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
            .fetch_all(&db.store.pool)
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
