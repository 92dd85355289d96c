//! The claim form: who claims, the case, invoices, the itemised list (typed in or uploaded)
//! and a file input for each paper the checklist names.

use super::*;

// ---------------------------------------------------------------------------------------
// The claim form

/// One row of documents to hand in: a checklist item (any of its kinds), or an extra one.
pub struct DocumentRow {
    pub label: String,
    pub required: bool,
    pub why: String,
    pub kinds: Vec<Choice>,
    /// A file chosen in a refused try and held: (digest, file name), and the kind it was
    /// chosen as.
    pub held: Option<(String, String)>,
    pub chosen: String,
}

#[derive(Template)]
#[template(path = "claim_form.html")]
struct ClaimFormPage {
    ctx: Ctx,
    /// At the window: the clerk names the person by ID number and says who hands it in.
    window: bool,
    /// An employer unit: names its employee by ID number.
    unit: bool,
    person_name: String,
    v: BTreeMap<String, String>,
    cases: Vec<Choice>,
    med_types: Vec<Choice>,
    grades: Vec<Choice>,
    submitters: Vec<Choice>,
    invoices: Vec<InvoiceForm>,
    lines: Vec<LineForm>,
    documents: Vec<DocumentRow>,
    /// The itemised list file held from a refused try: (digest, file name).
    lines_held: Option<(String, String)>,
    deadline: String,
    errors: Vec<String>,
    /// The same errors by field, shown again beside each.
    by_field: super::super::shared::FieldErrors,
}

impl ClaimFormPage {
    /// A field's value as typed.
    fn val(&self, key: &str) -> &str {
        self.v.get(key).map_or("", String::as_str)
    }

    /// What is wrong with a field, to show beside it ("" when nothing is).
    fn err(&self, field: &str) -> String {
        self.by_field.beside(field)
    }
}

#[derive(Deserialize, Default)]
pub struct NewAsk {
    #[serde(default)]
    case: String,
    /// A principal's person id (a delegate claiming for them).
    #[serde(default)]
    person: String,
}

/// Who the form is for: the caller, a principal they are the delegate of, or (window) the
/// person named later by ID number.
async fn form_person(state: &SharedState, caller: &Caller, person: &str) -> Result<(Option<i64>, String), AppError> {
    if caller.can(Permission::HandleClaims) || caller.can(Permission::FileForEmployees) {
        return Ok((None, String::new()));
    }
    let me = my_person_id(caller)?;
    let id = person.trim().parse::<i64>().unwrap_or(me);
    // The claims list checks the caller's standing (own or delegate); anyone else: 404.
    svc::claims_of(&state.store, caller, id).await?;
    Ok((Some(id), state.store.person(id).await?.name.to_string()))
}

async fn show_claim_form(
    state: &SharedState,
    caller: &Caller,
    v: BTreeMap<String, String>,
    errors: Vec<String>,
    by_field: super::super::shared::FieldErrors,
) -> Result<Response, AppError> {
    let lang = caller.lang;
    let window = caller.can(Permission::HandleClaims);
    let unit = caller.can(Permission::FileForEmployees);
    let (person_id, person_name) = form_person(state, caller, v.get("person_id").map_or("", String::as_str)).await?;
    let mut v = v;
    if let Some(id) = person_id {
        v.insert("person_id".into(), id.to_string());
    }
    let region = match person_id {
        Some(id) => Some(state.store.person(id).await?.insured_region),
        None => home_region(state, caller).await?,
    };
    let case = v.get("case").and_then(|c| ClaimCase::parse(c).ok());
    let mut documents = Vec::new();
    let mut deadline = String::new();
    if let (Some(region), Some(case)) = (region, case) {
        let (rules, _) = svc::claim_rules(&state.store, caller, region).await?;
        let submitter = if unit {
            Submitter::Employer
        } else if person_id.is_some_and(|id| Some(id) != caller.session().and_then(|s| s.account.person_id)) {
            Submitter::Delegate
        } else {
            v.get("submitter").and_then(|s| Submitter::parse(s).ok()).unwrap_or(Submitter::Insured)
        };
        deadline = rules.case(case).deadline.describe().get(lang).to_string();
        for item in rules.checklist(case, submitter) {
            documents.push(DocumentRow {
                label: item.label().get(lang).to_string(),
                required: item.required,
                why: item.why.get(lang).to_string(),
                kinds: choices(&item.any_of, DocumentKind::code, DocumentKind::label, lang),
                held: None,
                chosen: String::new(),
            });
        }
    }
    for _ in 0..EXTRA_DOCUMENTS {
        documents.push(DocumentRow {
            label: i18n::t(lang, "claim.other_document").to_string(),
            required: false,
            why: String::new(),
            kinds: choices(DocumentKind::ALL, DocumentKind::code, DocumentKind::label, lang),
            held: None,
            chosen: String::new(),
        });
    }
    // Each held paper goes to the first row that takes its kind (the rows change with the
    // case): its own row when the form is shown again as it was.
    let mut held_papers: Vec<(usize, String, (String, String))> = v
        .keys()
        .filter_map(|k| k.strip_prefix("held_doc_file_").and_then(|n| n.parse::<usize>().ok()))
        .filter_map(|n| {
            let kind = v.get(&format!("doc_kind_{n}")).cloned().unwrap_or_default();
            held_in(&v, &format!("doc_file_{n}")).map(|h| (n, kind, h))
        })
        .collect();
    held_papers.sort_by_key(|(n, ..)| *n);
    for (_, kind, held) in held_papers {
        if let Some(row) = documents.iter_mut().find(|d| d.held.is_none() && d.kinds.iter().any(|k| k.code == kind)) {
            row.held = Some(held);
            row.chosen = kind;
        }
    }
    let lines_held = held_in(&v, "lines_file");
    let field = |k: String| v.get(&k).cloned().unwrap_or_default();
    let invoices = (1..=INVOICE_ROWS)
        .map(|i| InvoiceForm {
            invoice_no: field(format!("invoice_no_{i}")),
            invoice_date: field(format!("invoice_date_{i}")),
            amount: field(format!("invoice_amount_{i}")),
        })
        .collect();
    let lines = (1..=LINE_ROWS)
        .map(|i| LineForm {
            med_list_codg: field(format!("line_code_{i}")),
            item_name: field(format!("line_name_{i}")),
            cnt: field(format!("line_cnt_{i}")),
            pric: field(format!("line_pric_{i}")),
            amount: field(format!("line_amount_{i}")),
            fee_ocur_time: field(format!("line_date_{i}")),
        })
        .collect();
    let page = ClaimFormPage {
        ctx: Ctx::for_caller(
            caller,
            if window {
                "/claims"
            } else if unit {
                "/unit/claims"
            } else {
                "/my/claims"
            },
        ),
        window,
        unit,
        person_name,
        cases: choices(ClaimCase::ALL, ClaimCase::code, ClaimCase::label, lang),
        med_types: [MedType::Inpatient, MedType::GeneralOutpatient, MedType::SpecialOutpatient]
            .iter()
            .map(|m| Choice { code: m.code().to_string(), label: format!("{} {}", m.code(), m.label().get(lang)) })
            .collect(),
        grades: choices(HospitalGrade::ALL, HospitalGrade::code, HospitalGrade::label, lang),
        submitters: choices(Submitter::ALL, Submitter::code, Submitter::label, lang),
        invoices,
        lines,
        documents,
        lines_held,
        deadline,
        v,
        errors: errors.clone(),
        by_field,
    };
    render_form(&page, !errors.is_empty())
}

/// `GET /claims/new?case=&person=`: the claim form, with the case's checklist as upload rows.
pub async fn claim_new_form(
    State(state): State<SharedState>,
    caller: Caller,
    Query(ask): Query<NewAsk>,
) -> Result<Response, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let mut v = BTreeMap::new();
    v.insert("case".to_string(), ask.case.trim().to_string());
    v.insert("person_id".to_string(), ask.person.trim().to_string());
    v.insert("med_type".to_string(), "21".to_string());
    show_claim_form(&state, &caller, v, Vec::new(), Default::default()).await
}

/// cnt × pric to the fen, as the lines are checked (half away from zero).
fn line_amount(cnt: &str, pric: &str) -> Option<String> {
    let (cnt, pric) = (cnt.trim().parse::<Decimal>().ok()?, pric.trim().parse::<Decimal>().ok()?);
    Some((cnt * pric).round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero).to_string())
}

/// The claim as the form typed it, in the shape the API takes; the lines from the file when
/// one was chosen.
fn claim_form(v: &BTreeMap<String, String>, lines_file: Option<&Upload>) -> Result<ClaimForm, Vec<InvalidValue>> {
    let field = |k: &str| v.get(k).map_or("", |s| s.trim()).to_string();
    let invoices = (1..=INVOICE_ROWS)
        .map(|i| InvoiceForm {
            invoice_no: field(&format!("invoice_no_{i}")),
            invoice_date: field(&format!("invoice_date_{i}")),
            amount: field(&format!("invoice_amount_{i}")),
        })
        .filter(|r| !(r.invoice_no.is_empty() && r.invoice_date.is_empty() && r.amount.is_empty()))
        .collect();
    let typed: Vec<LineForm> = (1..=LINE_ROWS)
        .map(|i| {
            let (cnt, pric) = (field(&format!("line_cnt_{i}")), field(&format!("line_pric_{i}")));
            let amount = field(&format!("line_amount_{i}"));
            LineForm {
                med_list_codg: field(&format!("line_code_{i}")),
                item_name: field(&format!("line_name_{i}")),
                amount: if amount.is_empty() { line_amount(&cnt, &pric).unwrap_or_default() } else { amount },
                cnt,
                pric,
                fee_ocur_time: field(&format!("line_date_{i}")),
            }
        })
        .filter(|l| !(l.med_list_codg.is_empty() && l.cnt.is_empty() && l.pric.is_empty()))
        .collect();
    let lines = match lines_file {
        Some(_) if !typed.is_empty() => {
            return Err(vec![InvalidValue::new(
                "lines_file",
                "both",
                "费用明细请逐行填写或上传文件，二选一",
                "enter the expense lines or upload them as a file, not both",
            )])
        }
        Some(file) => itemised::read(&file.bytes)?
            .into_iter()
            .map(|l| LineForm {
                med_list_codg: l.med_list_codg,
                item_name: l.item_name,
                cnt: l.cnt.to_string(),
                pric: l.pric.to_string(),
                amount: l.amount.to_string(),
                fee_ocur_time: l.fee_ocur_time.to_string(),
            })
            .collect(),
        None => typed,
    };
    Ok(ClaimForm {
        person_id: field("person_id").parse().unwrap_or(0),
        case: field("case"),
        med_type: field("med_type"),
        institution_code: field("institution_code"),
        institution_name: field("institution_name"),
        treatment_region: field("treatment_region"),
        hosp_lv: field("hosp_lv"),
        visit_no: field("visit_no"),
        care_start: field("care_start"),
        care_end: field("care_end"),
        diagnoses: field("diagnoses")
            .split([',', '，', ';', '；', ' '])
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect(),
        invoices,
        lines,
        submitter: field("submitter"),
        delegate_id: field("delegate_id"),
        delegate_name: field("delegate_name"),
        late_excuse: field("late_excuse"),
        treatment_catalog: matches!(field("treatment_catalog").as_str(), "1" | "on" | "true"),
    })
}

/// The documents chosen in the form: `doc_file_N` with its kind in `doc_kind_N`.
fn chosen_documents(
    v: &BTreeMap<String, String>,
    files: Vec<(String, Upload)>,
) -> Result<Vec<(DocumentKind, Upload)>, Vec<InvalidValue>> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for (name, file) in files {
        let Some(n) = name.strip_prefix("doc_file_") else { continue };
        match DocumentKind::parse(v.get(&format!("doc_kind_{n}")).map_or("", String::as_str)) {
            // A file that cannot be taken is said with the paper it was chosen for.
            Ok(kind) => match yibao_core::document::check_file(&file.bytes) {
                Ok(_) => docs.push((kind, file)),
                Err(e) => {
                    let paper = kind.label();
                    errors.push(InvalidValue::new(
                        "documents",
                        e.code,
                        format!("「{}」{}：{}", paper.zh, file.file_name, e.message.zh),
                        format!("{} ({}): {}", paper.en, file.file_name, e.message.en),
                    ))
                }
            },
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(docs)
    } else {
        Err(errors)
    }
}

/// `POST /claims`: hands the claim in with its documents (multipart).
pub async fn claim_submit(
    State(state): State<SharedState>,
    caller: Caller,
    FormWithFiles { form: v, mut files }: FormWithFiles<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    caller.check_csrf(v.get("csrf").map_or("", String::as_str))?;
    let mut v = v;
    let holding = hold_files(&state, &caller, &v, &mut files)?;
    // The case changed: the form again for it, with everything typed and chosen kept.
    if v.get("refresh").is_some_and(|r| r == "1") {
        for (field, digest, name) in holding {
            v.insert(format!("held_{field}"), digest);
            v.insert(format!("held_name_{field}"), name);
        }
        return show_claim_form(&state, &caller, v, Vec::new(), Default::default()).await;
    }
    let lines_file = files.iter().position(|(n, _)| n == "lines_file").map(|i| files.swap_remove(i).1);
    let result = async {
        let mut form = claim_form(&v, lines_file.as_ref()).map_err(AppError::validation)?;
        if caller.can(Permission::HandleClaims) || caller.can(Permission::FileForEmployees) {
            let rid = v.get("resident_id").map_or("", |s| s.trim()).parse().map_err(|mut e: InvalidValue| {
                e.field = "resident_id";
                AppError::validation(vec![e])
            })?;
            let person = state.store.person_by_resident_id(&rid).await?.ok_or_else(|| AppError::not_found("person"))?;
            form.person_id = person.id;
        } else if form.person_id == 0 {
            form.person_id = my_person_id(&caller)?;
        }
        let unknown = matches!(v.get("unknown_institution").map(String::as_str), Some("1" | "on"));
        // Every error of the form at once: the hospital, the diagnoses, the fields, the files.
        let mut errors = match resolve_institution(&state.store, &mut form, unknown).await {
            Ok(()) => Vec::new(),
            Err(e) if e.status == axum::http::StatusCode::UNPROCESSABLE_ENTITY => e.field_errors,
            Err(e) => return Err(e),
        };
        // A hospital not found leaves its code, region and grade empty: not said again.
        let hospital = ["institution_code", "institution_name", "treatment_region", "hosp_lv"];
        let unresolved = !errors.is_empty();
        errors.extend(resolve_diagnoses(&state.store, &mut form).await?);
        match (form.parse(), chosen_documents(&v, files)) {
            (Ok((input, window)), Ok(documents)) if errors.is_empty() => {
                svc::submit_claim(&state.store, &state.blobs, &caller, input, window, documents).await
            }
            (parsed, documents) => {
                let more = parsed.err().into_iter().flatten().chain(documents.err().into_iter().flatten());
                errors.extend(more.filter(|e| !(unresolved && hospital.contains(&e.field))));
                Err(AppError::validation(errors))
            }
        }
    }
    .await;
    // A person named by ID number (a unit's employee, at the window) who is not found — or
    // not the unit's — is said beside the number, on the form, the same either way.
    let named = v.get("resident_id").map(|r| r.trim().to_string()).filter(|r| !r.is_empty());
    let result = match (result, named) {
        (Err(e), Some(rid)) if e.code == "not_found" => Err(AppError::validation(vec![InvalidValue::new(
            "resident_id",
            "unknown_person",
            format!(
                "没有找到身份证号为 {rid} 的{}，请核对",
                if caller.can(Permission::FileForEmployees) { "本单位在保职工" } else { "参保人" }
            ),
            format!(
                "no {} has the ID number {rid}: check it",
                if caller.can(Permission::FileForEmployees) {
                    "insured employee of the unit"
                } else {
                    "insured person"
                }
            ),
        )])),
        (other, _) => other,
    };
    match result {
        Ok(c) => Ok(Redirect::to(&format!("/claims/{}?done=submitted", c.id)).into_response()),
        Err(e) => {
            // What was chosen is held: the form shows it, and sending it again sends it.
            for (field, digest, name) in holding {
                v.insert(format!("held_{field}"), digest);
                v.insert(format!("held_name_{field}"), name);
            }
            super::super::shared::or_show_fields(e, caller.lang, |m, fields| {
                show_claim_form(&state, &caller, v, m, fields)
            })
            .await
        }
    }
}

/// What the form names as the hospital, checked against the registry: a name picked from the
/// suggestions (or typed in full) brings its code, region and grade; a code brings the rest;
/// a hospital yibao does not know is refused unless the person says so (`unknown_institution`:
/// a hospital not designated, which only emergency care may use) and gives its code, region and
/// grade themselves.
async fn resolve_institution(store: &yibao_store::Store, form: &mut ClaimForm, unknown: bool) -> Result<(), AppError> {
    let (code, name) = (form.institution_code.trim().to_string(), form.institution_name.trim().to_string());
    let known = if !code.is_empty() {
        store.institution_by_code(&code).await.ok()
    } else if !name.is_empty() {
        let found = store.search_institutions(&name, 50).await?;
        let exact: Vec<_> = found.into_iter().filter(|i| i.name == name).collect();
        match exact.len() {
            1 => exact.into_iter().next(),
            0 => None,
            _ => {
                return Err(AppError::validation(vec![InvalidValue::new(
                    "institution_name",
                    "ambiguous",
                    format!("有多家名为“{name}”的医院，请填写医疗机构编码"),
                    format!("more than one hospital is called \"{name}\": give its code"),
                )]))
            }
        }
    } else {
        return Ok(());
    };
    match known {
        Some(i) => {
            form.institution_code = i.code.clone();
            form.institution_name = i.name.clone();
            form.treatment_region = i.region.to_string();
            form.hosp_lv = i.grade.code().to_string();
            Ok(())
        }
        None if unknown => Ok(()),
        None => {
            let (zh, en) = if code.is_empty() {
                (
                    format!("医保没有登记名为“{name}”的医院：请从输入时的提示中选择；若确是未在医保登记的医院（仅急诊抢救可报销），请勾选“医院未在医保登记”，并填写医院编码、所在地区和等级"),
                    format!("yibao knows no hospital called \"{name}\": pick one from the suggestions as you type; if it really is a hospital not registered with the insurance (only emergency care there is reimbursed), tick \"not registered\" and give its code, region and grade"),
                )
            } else {
                (
                    format!("医保没有登记编码为 {code} 的医院：请核对编码；若确是未在医保登记的医院（仅急诊抢救可报销），请勾选“医院未在医保登记”，并填写所在地区和等级"),
                    format!("yibao knows no hospital with the code {code}: check it; if it really is a hospital not registered with the insurance (only emergency care there is reimbursed), tick \"not registered\" and give its region and grade"),
                )
            };
            let field = if code.is_empty() { "institution_name" } else { "institution_code" };
            Err(AppError::validation(vec![InvalidValue::new(field, "unknown_institution", zh, en)]))
        }
    }
}

/// One answer of a form's suggestions as one types (`static/app.js` fills a datalist): what
/// the input takes, the code, and a line about it.
#[derive(serde::Serialize)]
pub struct Suggestion {
    name: String,
    code: String,
    about: String,
}

#[derive(Deserialize)]
pub struct SuggestAsk {
    #[serde(default)]
    q: String,
}

/// `GET /institutions/suggest?q=`: hospitals whose name contains what was typed (or whose
/// code begins with it), for the claim form's suggestions: name, code, and a line saying
/// grade, region and whether it is designated. The registry is public; any logged-in caller.
pub async fn institution_suggest(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<SuggestAsk>,
) -> Result<axum::Json<Vec<Suggestion>>, AppError> {
    let lang = caller.lang;
    let found = state.store.search_institutions(&q.q, 20).await?;
    Ok(axum::Json(
        found
            .iter()
            .map(|i| {
                let designated =
                    if i.designated_on(caller.today) { "claimform.designated" } else { "claimform.not_designated" };
                let about = format!(
                    "{} · {} · {}",
                    i.grade.label().get(lang),
                    yibao_core::region::name_of(i.region),
                    i18n::t(lang, designated)
                );
                Suggestion { name: i.name.clone(), code: i.code.clone(), about }
            })
            .collect(),
    ))
}

/// `GET /regions/suggest?q=`: divisions in use today whose name contains what was typed (or
/// whose code begins with it), for every form that asks for a region: the full name (which the
/// form resolves when sent), the code, and its level. Public data; any logged-in caller.
pub async fn region_suggest(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<SuggestAsk>,
) -> axum::Json<Vec<Suggestion>> {
    let found = yibao_core::region::search_near(&q.q, 20, caller_place(&state, &caller).await);
    axum::Json(
        found
            .iter()
            .map(|d| {
                let level = match d.code.level() {
                    yibao_core::AdminLevel::Province => "region.province",
                    yibao_core::AdminLevel::Prefecture => "region.prefecture",
                    yibao_core::AdminLevel::County => "region.county",
                };
                Suggestion {
                    name: d.full_name.clone(),
                    code: d.code.to_string(),
                    about: i18n::t(caller.lang, level).into(),
                }
            })
            .collect(),
    )
}

/// `GET /diagnoses/suggest?q=`: diagnoses by part of the name, the start of the code, or the
/// name's pinyin initials, for the claim form: 「I10 原发性高血压」 as the form takes it back.
pub async fn diagnosis_suggest(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<SuggestAsk>,
) -> Result<axum::Json<Vec<Suggestion>>, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let found = state.store.search_diagnoses(&q.q, 20).await?;
    let about = i18n::t(caller.lang, "claimform.diagnosis");
    Ok(axum::Json(
        found
            .iter()
            .map(|d| Suggestion { name: format!("{} {}", d.code, d.name), code: d.code.clone(), about: about.into() })
            .collect(),
    ))
}

/// `GET /catalog/suggest?q=`: items of the catalog serving where the caller is (a person's
/// insured region), in force today, by any part of the name, the start of the code or the
/// name's pinyin initials: the code (what the line takes), with name, kind and category.
pub async fn item_suggest(
    State(state): State<SharedState>,
    caller: Caller,
    Query(q): Query<SuggestAsk>,
) -> Result<axum::Json<Vec<Suggestion>>, AppError> {
    if caller.session().is_none() {
        return Err(AppError::forbidden());
    }
    let Some(region) = caller_place(&state, &caller).await else { return Ok(axum::Json(Vec::new())) };
    let rules = state.store.rules().await?;
    let Some((_, catalog)) = rules.catalogs.for_region(region) else { return Ok(axum::Json(Vec::new())) };
    let lang = caller.lang;
    Ok(axum::Json(
        catalog
            .find(&q.q, caller.today, 20)
            .iter()
            .map(|e| {
                let about = format!("{} · {} · {}", e.name, e.kind.label(lang), e.category.label(lang));
                Suggestion { name: e.code.clone(), code: e.code.clone(), about }
            })
            .collect(),
    ))
}

/// The form's diagnoses as codes: each item an ICD-10 code, or a name from the diagnosis list
/// (「高血压」, or the 「I10 原发性高血压」 a suggestion fills in), each once. What names no
/// listed diagnosis, or several, is said with the choices.
async fn resolve_diagnoses(store: &yibao_store::Store, form: &mut ClaimForm) -> Result<Vec<InvalidValue>, AppError> {
    let (mut codes, mut errors) = (Vec::<String>::new(), Vec::new());
    for typed in std::mem::take(&mut form.diagnoses) {
        let code = match yibao_core::diagnosis::parse_code(&typed) {
            Ok(code) => code,
            Err(format) => {
                let found = store.search_diagnoses(&typed, 6).await?;
                match found.iter().find(|d| d.name == typed).or(if found.len() == 1 { found.first() } else { None }) {
                    Some(d) => d.code.clone(),
                    None if found.is_empty() => {
                        errors.push(format);
                        continue;
                    }
                    None => {
                        let choices = |lang| {
                            found
                                .iter()
                                .map(|d| super::super::shared::aside(lang, &d.name, &d.code))
                                .collect::<Vec<_>>()
                        };
                        errors.push(InvalidValue::new(
                            "diagnoses",
                            "ambiguous",
                            format!("“{typed}”可指多个诊断：{}，请选择其一", choices(Lang::Zh).join("、")),
                            format!(
                                "\"{typed}\" could be several diagnoses: {}; pick one",
                                choices(Lang::En).join("; ")
                            ),
                        ));
                        continue;
                    }
                }
            }
        };
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    form.diagnoses = codes;
    Ok(errors)
}

/// Where the caller is: the institution's region, a person's insured region, or the first of a
/// staff member's regions (suggestions from there come first).
async fn caller_place(state: &SharedState, caller: &Caller) -> Option<yibao_core::AdminCode> {
    if let Some(i) = caller.institution() {
        return Some(i.region);
    }
    let account = &caller.session()?.account;
    match account.person_id {
        Some(id) => state.store.person(id).await.ok().map(|p| p.insured_region),
        None => account.scope.regions().first().copied(),
    }
}

/// The file a refused try held for `field` (`held_{field}`, `held_name_{field}`).
fn held_in(v: &BTreeMap<String, String>, field: &str) -> Option<(String, String)> {
    let digest = v.get(&format!("held_{field}")).filter(|d| !d.is_empty())?;
    let name = v.get(&format!("held_name_{field}")).cloned().unwrap_or_default();
    Some((digest.clone(), name))
}

/// The files of this try: each field chosen now, or else held from a refused try of this
/// session (`held_{field}` names its digest; another session's digest is ignored). Each is
/// stored and held, in case this try is refused too: (field, digest, file name).
fn hold_files(
    state: &SharedState,
    caller: &Caller,
    v: &BTreeMap<String, String>,
    files: &mut Vec<(String, Upload)>,
) -> Result<Vec<(String, String, String)>, AppError> {
    let session = caller.csrf_token().to_string();
    if session.is_empty() {
        // Only a logged-in session holds files.
        return Ok(Vec::new());
    }
    for (key, digest) in v.iter() {
        let Some(field) = key.strip_prefix("held_").filter(|f| !f.starts_with("name_")) else { continue };
        if files.iter().any(|(n, _)| n == field) {
            continue;
        }
        let wanted = v.get(&format!("held_name_{field}")).map_or("", String::as_str);
        let Some(file_name) = state.held.file_name(&session, digest, wanted) else { continue };
        if let Ok(bytes) = state.blobs.get(digest) {
            files.push((field.to_string(), Upload { file_name, bytes }));
        }
    }
    let mut holding = Vec::new();
    for (field, up) in files.iter() {
        let digest = crate::held::digest(&up.bytes);
        state.blobs.put(&digest, &up.bytes).map_err(yibao_store::StoreError::Blob)?;
        state.held.hold(&session, &digest, &up.file_name);
        holding.push((field.clone(), digest, up.file_name.clone()));
    }
    Ok(holding)
}
