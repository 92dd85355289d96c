//! A sporadic claim as handed in (the JSON API and the portal's form share it): every field
//! a string, parsed with every error reported at once.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use yibao_core::adjudicate::MedType;
use yibao_core::filing::Channel;
use yibao_core::registry::HospitalGrade;
use yibao_core::sporadic::{ClaimCase, Submitter};
use yibao_core::{region, Fen, InvalidValue, ResidentId};
use yibao_store::{ClaimInput, InvoiceInput, ItemisedLine, SubmittedBy};

use super::{optional, parse_date, take};
use crate::service::claims::WindowSubmitter;

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct InvoiceForm {
    pub invoice_no: String,
    /// `YYYY-MM-DD`: its insurance year selects the policy.
    pub invoice_date: String,
    /// In yuan, e.g. `1234.50`.
    pub amount: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct LineForm {
    /// The national catalog code (医保目录编码).
    pub med_list_codg: String,
    pub item_name: String,
    pub cnt: String,
    pub pric: String,
    /// cnt × pric, in yuan.
    pub amount: String,
    pub fee_ocur_time: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ClaimForm {
    pub person_id: i64,
    /// One of the cases (`GET /api/v1/claim-rules/{region}` lists them with their checklists).
    pub case: String,
    /// `11` general outpatient, `14` outpatient special/chronic illness, `21` inpatient.
    pub med_type: String,
    pub institution_code: String,
    pub institution_name: String,
    /// The six-digit code of where the care was given.
    pub treatment_region: String,
    /// `ungraded`, `1`, `2`, `3`.
    pub hosp_lv: String,
    /// The hospital's inpatient or outpatient number, if known.
    pub visit_no: String,
    pub care_start: String,
    pub care_end: String,
    /// Diagnosis codes, the main one first.
    pub diagnoses: Vec<String>,
    pub invoices: Vec<InvoiceForm>,
    pub lines: Vec<LineForm>,
    /// At the window: `insured` (default), `delegate` or `employer`.
    pub submitter: String,
    pub delegate_id: String,
    pub delegate_name: String,
    /// At the window: the accepted excuse for a late claim.
    pub late_excuse: String,
    /// Ask for the treatment region's catalogs (off-site care, where the insured region's
    /// policy allows it); by default the insured region's are used.
    pub treatment_catalog: bool,
}

fn decimal(field: &'static str, s: &str) -> Result<Decimal, InvalidValue> {
    s.trim().parse().map_err(|_| {
        InvalidValue::new(field, "format", format!("“{s}”不是有效的数字"), format!("\"{s}\" is not a number"))
    })
}

fn required(field: &'static str, s: &str) -> Result<String, InvalidValue> {
    let s = s.trim();
    if s.is_empty() {
        Err(InvalidValue::new(field, "required", "此项必填", "this field is required"))
    } else {
        Ok(s.to_string())
    }
}

impl ClaimForm {
    pub fn parse(&self) -> Result<(ClaimInput, WindowSubmitter), Vec<InvalidValue>> {
        let mut e = Vec::new();
        let case = take(&mut e, "case", ClaimCase::parse(self.case.trim()));
        let med = take(&mut e, "med_type", MedType::parse(&self.med_type));
        let code = take(&mut e, "institution_code", required("institution_code", &self.institution_code));
        let name = take(&mut e, "institution_name", required("institution_name", &self.institution_name));
        let region = take(&mut e, "treatment_region", region::resolve("treatment_region", &self.treatment_region));
        let grade = take(&mut e, "hosp_lv", HospitalGrade::parse(self.hosp_lv.trim()));
        let start = take(&mut e, "care_start", parse_date(&self.care_start));
        let end = take(&mut e, "care_end", parse_date(&self.care_end));
        let mut invoices = Vec::new();
        for inv in &self.invoices {
            let date = take(&mut e, "invoices", parse_date(&inv.invoice_date));
            let amount = take(&mut e, "invoices", inv.amount.trim().parse::<Fen>());
            if let (Some(invoice_date), Some(amount)) = (date, amount) {
                invoices.push(InvoiceInput { invoice_no: inv.invoice_no.trim().to_string(), invoice_date, amount });
            }
        }
        let mut lines = Vec::new();
        for l in &self.lines {
            let cnt = take(&mut e, "lines", decimal("cnt", &l.cnt));
            let pric = take(&mut e, "lines", decimal("pric", &l.pric));
            let amount = take(&mut e, "lines", l.amount.trim().parse::<Fen>());
            let day = take(&mut e, "lines", parse_date(&l.fee_ocur_time));
            if let (Some(cnt), Some(pric), Some(amount), Some(fee_ocur_time)) = (cnt, pric, amount, day) {
                lines.push(ItemisedLine {
                    med_list_codg: l.med_list_codg.trim().to_string(),
                    item_name: l.item_name.trim().to_string(),
                    cnt,
                    pric,
                    amount,
                    fee_ocur_time,
                });
            }
        }
        let submitter = optional(&mut e, "submitter", &self.submitter, Submitter::parse);
        let delegate_id = optional(&mut e, "delegate_id", &self.delegate_id, |s| s.parse::<ResidentId>());
        if submitter == Some(Submitter::Delegate) && delegate_id.is_none() && e.iter().all(|x| x.field != "delegate_id")
        {
            e.push(InvalidValue::new(
                "delegate_id",
                "required",
                "请填写受托人身份证号",
                "give the delegate's ID number",
            ));
        }
        let (Some(case), Some(med_type), Some(code), Some(name), Some(region), Some(grade), Some(start), Some(end)) =
            (case, med, code, name, region, grade, start, end)
        else {
            return Err(e);
        };
        if !e.is_empty() {
            return Err(e);
        }
        let input = ClaimInput {
            person_id: self.person_id,
            case,
            by: SubmittedBy::Insured,
            channel: Channel::Online,
            med_type,
            institution_code: code,
            institution_name: name,
            treatment_region: region,
            hosp_lv: grade,
            visit_no: Some(self.visit_no.trim().to_string()).filter(|s| !s.is_empty()),
            care_start: start,
            care_end: end,
            diagnoses: self.diagnoses.iter().map(|d| d.trim().to_string()).filter(|d| !d.is_empty()).collect(),
            invoices,
            lines,
            late_excuse: None,
            treatment_catalog: self.treatment_catalog,
        };
        let window = WindowSubmitter {
            submitter,
            delegate_id,
            delegate_name: self.delegate_name.trim().to_string(),
            late_excuse: Some(self.late_excuse.trim().to_string()).filter(|s| !s.is_empty()),
        };
        Ok((input, window))
    }
}
