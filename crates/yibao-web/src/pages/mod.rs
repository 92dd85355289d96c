//! The web portal: server-rendered askama pages, Chinese by default.

mod accounts;
mod admin;
mod audit;
mod audit_log;
mod auth;
mod books;
mod claims;
mod clearing;
mod contributions;
mod cover;
mod find;
pub(crate) mod inspection;
mod institution;
mod logins;
mod messages;
mod papers;
mod pay;
mod payments;
mod registry;
mod rules;
mod settlement;
mod shared;
pub(crate) mod supervision;
mod withdrawals;

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use yibao_core::{Lang, Permission, Role};

pub use accounts::{my_account, my_family_authorise, my_family_revoke};
pub use admin::{
    account_approve, account_new_form, account_save_new, accounts_page, employer_edit_form, employer_new_form,
    employer_save_edit, employer_save_new, employers_page, institution_edit_form, institution_new_form,
    institution_save_edit, institution_save_new, institutions_page,
};
pub use audit::{medical_history_add, medical_history_page};
pub use audit_log::{audit_csv, audit_entry_page, audit_page};
pub use auth::{home, lang_switch, login_form, login_submit, logout, password_form, password_submit};
pub use books::{books_close, books_page};
pub use claims::{
    claim_assign, claim_document_add, claim_guide, claim_new_form, claim_page, claim_payment_account,
    claim_payment_account_confirm, claim_queue_page, claim_statement_csv, claim_step_submit, claim_submit,
    diagnosis_suggest, institution_suggest, item_suggest, my_claims, my_delegation_grant, my_delegation_revoke,
    region_suggest, unit_claims, QueueAsk,
};
pub use clearing::{clearing_account, clearing_action, clearing_apply, clearing_assess, clearing_page, clearings_page};
pub use contributions::{
    employer_contributions, employer_declare, employer_declare_file, finance_contributions, finance_receipts,
    my_contributions, unit_contributions, unit_declare, unit_declare_file,
};
pub use cover::{
    card_apply, card_event_submit, cover_lookup, document_download, filing_decide, filing_window, filings_page,
    my_card_report, my_cover_page, my_filing_apply, my_filing_revoke, no_card_issue, person_cover_page,
};
pub use find::search_page;
pub use inspection::{
    audit_photo_add, audit_task_conclude, audit_task_create, audit_task_page, audit_task_take, audit_tasks_page,
    filing_page, pre_evaluation_record, pre_evaluation_require,
};
pub use institution::{
    institution_cover, institution_interface, institution_interface_action, institution_settlements, referral_issue,
    referral_seal, referrals_page,
};
pub use logins::{
    account_change, account_change_decide, account_disable, account_enable, account_page, account_reset, account_unlock,
};
pub use messages::my_messages;
pub use papers::{claim_receipt, filing_receipt, referral_certificate};
pub use pay::{pay_lookup, pay_order, pay_receipt, pay_start, sim_page, sim_pay};
pub use payments::{batch_approve, batch_build, batch_cancel, batch_export, batch_page, batch_results, payments_page};
pub use registry::{
    me_page, person_account_confirm, person_edit_form, person_new_form, person_page, person_save_edit, person_save_new,
    persons_page,
};
pub use rules::{
    calendar_import, calendar_page, catalog_import_page, catalog_upload, catalogs_page, diagnoses_upload,
    policies_page, policy_import, policy_page,
};
pub use settlement::{my_settlements, person_settlements_page, settlement_page};
pub use supervision::{finding_decision, hit_decision, hit_page, hit_take, hits_page};
pub use withdrawals::{
    person_withdrawal_request, person_withdrawals, withdrawal_account, withdrawal_decide, withdrawal_page,
    withdrawals_page,
};

use crate::context::Caller;
use crate::error::AppError;
use crate::i18n;

/// `?done=` after a redirect: which notice the page shows (`done.*` in the UI texts).
#[derive(serde::Deserialize, Default)]
pub struct DoneAsk {
    #[serde(default)]
    pub(crate) done: String,
}

pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub active: bool,
}

pub struct UserBar {
    pub display_name: String,
    pub role_label: String,
}

/// What every page needs: language, user, CSRF token, navigation.
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<UserBar>,
    pub csrf: String,
    pub path: String,
    /// Where the language switch returns to: this page (its path and query, encoded for the
    /// `next` parameter), or its section after a form was sent.
    pub here: String,
    /// Unread messages, shown beside 「消息」.
    pub unread: i64,
    pub nav: Vec<NavItem>,
    /// Staff have the search box in the header.
    pub search: bool,
}

impl Ctx {
    pub fn t(&self, key: &str) -> &'static str {
        i18n::t(self.lang, key)
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    /// Punctuation around what the pages say beside a name — 「名称（编码）」 in Chinese,
    /// "name (code)" in English — and between items and after a label.
    pub fn lp(&self) -> &'static str {
        if self.lang == Lang::Zh {
            "（"
        } else {
            " ("
        }
    }

    pub fn rp(&self) -> &'static str {
        if self.lang == Lang::Zh {
            "）"
        } else {
            ")"
        }
    }

    pub fn sep(&self) -> &'static str {
        if self.lang == Lang::Zh {
            "，"
        } else {
            ", "
        }
    }

    pub fn colon(&self) -> &'static str {
        if self.lang == Lang::Zh {
            "："
        } else {
            ": "
        }
    }

    /// A region as people read it: 「甘肃省金昌市金川区」 for `620302` (the code itself when the
    /// list of divisions does not have it).
    pub fn region(&self, code: impl std::fmt::Display) -> String {
        yibao_core::region::name_of_text(&code.to_string())
    }

    pub fn other_lang(&self) -> &'static str {
        match self.lang {
            Lang::Zh => "en",
            Lang::En => "zh",
        }
    }

    pub fn anonymous(lang: Lang, path: &str) -> Ctx {
        let here = encode_next(path);
        Ctx {
            lang,
            user: None,
            csrf: String::new(),
            path: path.to_string(),
            here,
            unread: 0,
            nav: Vec::new(),
            search: false,
        }
    }

    pub fn for_caller(caller: &Caller, path: &str) -> Ctx {
        let lang = caller.lang;
        let role = caller.role();
        let mut nav = vec![("/", "nav.home", true)];
        nav.push(("/persons", "nav.persons", role.can(Permission::ViewPersons)));
        nav.push(("/employers", "nav.employers", role.can(Permission::ViewEmployers)));
        nav.push(("/institutions", "nav.institutions", role.can(Permission::ViewInstitutions)));
        nav.push(("/me", "nav.me", role.can(Permission::ViewOwnRecord)));
        nav.push(("/my/cover", "nav.my_cover", role.can(Permission::ViewOwnRecord)));
        nav.push(("/my/settlements", "nav.my_settlements", role.can(Permission::ViewOwnRecord)));
        nav.push(("/my/claims", "nav.my_claims", role.can(Permission::ViewOwnRecord)));
        nav.push(("/my/contributions", "nav.my_contributions", role.can(Permission::ViewOwnRecord)));
        nav.push(("/my/account", "nav.my_account", role.can(Permission::ViewOwnRecord)));
        nav.push(("/my/messages", "nav.my_messages", role.can(Permission::ViewOwnRecord)));
        nav.push(("/unit/claims", "nav.unit_claims", role.can(Permission::FileForEmployees)));
        nav.push(("/unit/contributions", "nav.unit_contributions", role == Role::Employer));
        nav.push(("/claims", "nav.claims", role.can(Permission::ViewClaims)));
        nav.push(("/hits", "nav.hits", role.can(Permission::DecideHits)));
        nav.push(("/audit-tasks", "nav.audit_tasks", role.can(Permission::Audit)));
        nav.push(("/payments", "nav.payments", role.can(Permission::ViewPayments)));
        nav.push(("/contributions", "nav.contributions", role.can(Permission::ViewPayments)));
        nav.push(("/withdrawals", "nav.withdrawals", role.can(Permission::ViewPayments)));
        let clears =
            role.can(Permission::ApplyForClearing) || role.can(Permission::ViewPayments) || role.can(Permission::Audit);
        nav.push(("/clearings", "nav.clearings", clears));
        let books = role.can(Permission::ViewPayments) || role.can(Permission::Audit);
        nav.push(("/books", "nav.books", books));
        nav.push(("/filings", "nav.filings", role.can(Permission::ManageFilings)));
        nav.push(("/check", "nav.check_cover", role == Role::Institution));
        nav.push(("/referrals", "nav.referrals", role.can(Permission::IssueReferrals)));
        nav.push(("/institution/settlements", "nav.inst_settlements", role == Role::Institution));
        nav.push(("/institution/interface", "nav.inst_interface", role == Role::Institution));
        nav.push(("/policies", "nav.policies", role.can(Permission::ViewPolicies)));
        nav.push(("/catalogs", "nav.catalogs", role.can(Permission::ViewPolicies)));
        nav.push(("/calendar", "nav.calendar", role.can(Permission::ViewPolicies)));
        nav.push(("/audit", "nav.audit", role.can(Permission::ViewAuditLog)));
        nav.push(("/accounts", "nav.accounts", role.can(Permission::ManageAccounts)));
        nav.push(("/api/docs/", "nav.api", role.is_staff()));
        let nav = nav
            .into_iter()
            .filter(|(_, _, shown)| *shown)
            .map(|(href, key, _)| NavItem {
                href,
                label: i18n::t(lang, key),
                active: if href == "/" { path == "/" } else { path.starts_with(href) },
            })
            .collect();
        let user = caller.session().map(|s| UserBar {
            display_name: s.account.display_name.clone(),
            role_label: s.account.role.label_in(lang),
        });
        let here = encode_next(if caller.here.is_empty() { path } else { &caller.here });
        let (csrf, unread) = (caller.csrf_token().to_string(), caller.unread);
        Ctx { lang, user, csrf, path: path.to_string(), here, unread, nav, search: role.is_staff() }
    }
}

pub fn render<T: Template>(t: &T) -> Result<Html<String>, AppError> {
    t.render().map(Html).map_err(|e| {
        tracing::error!(error = %e, "template rendering failed");
        AppError::internal()
    })
}

/// Renders a form page: 200, or 422 when it shows errors the person can correct.
pub(crate) fn render_form<T: Template>(page: &T, has_errors: bool) -> Result<Response, AppError> {
    let status = if has_errors { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    Ok((status, render(page)?).into_response())
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    ctx: Ctx,
    message: &'a str,
    fields: Vec<String>,
    request_id: &'a str,
}

/// A bilingual error page for the portal (used by the `request_context` middleware).
pub fn error_page(err: &AppError, lang: Lang, request_id: &str) -> String {
    let page = ErrorPage {
        ctx: Ctx::anonymous(lang, "/"),
        message: err.message.get(lang),
        fields: field_messages(&err.field_errors, lang),
        request_id,
    };
    page.render().unwrap_or_else(|_| err.message.get(lang).to_string())
}

/// "身份证号码：校验位不正确…" — each field error with its label.
pub fn field_messages(errors: &[yibao_core::InvalidValue], lang: Lang) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            let key = format!("field.{}", e.field);
            let label = i18n::lookup(lang, &key);
            match label {
                Some(l) => format!("{l}{}{}", if lang == Lang::Zh { "：" } else { ": " }, e.message(lang)),
                None => e.message(lang).to_string(),
            }
        })
        .collect()
}

/// Re-shows a form with its errors (422), or passes other errors on.
pub(crate) fn form_error(
    e: AppError,
    lang: Lang,
    show: impl FnOnce(Vec<String>, shared::FieldErrors) -> Result<Response, AppError>,
) -> Result<Response, AppError> {
    match form_messages(&e, lang) {
        Some(messages) => {
            let mut res = show(messages, shared::FieldErrors::of(&e, lang))?;
            *res.status_mut() = e.status;
            Ok(res)
        }
        None => Err(e),
    }
}

/// The messages to show beside a form for an error the person can correct (422, 409), or
/// `None` for any other error.
pub(crate) fn form_messages(e: &AppError, lang: Lang) -> Option<Vec<String>> {
    if e.status != StatusCode::UNPROCESSABLE_ENTITY && e.status != StatusCode::CONFLICT {
        return None;
    }
    let mut messages = field_messages(&e.field_errors, lang);
    if messages.is_empty() {
        messages.push(e.message.get(lang).to_string());
    }
    Some(messages)
}

/// A local address as the `next` parameter carries it: everything but unreserved characters
/// and `/` percent-encoded.
fn encode_next(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
