//! yibao's web layer: the portal (askama pages) and the JSON API (axum), over the store.
//! Handlers are thin: they parse into domain types, call one `service` function, and map
//! the result.

pub mod api;
pub mod context;
pub mod error;
pub mod forms;
pub mod gateway;
pub mod guard;
pub mod held;
pub mod i18n;
pub mod notify;
pub mod pages;
pub mod service;
pub mod throttle;
pub mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use utoipa_swagger_ui::SwaggerUi;
use yibao_store::Store;

pub struct AppState {
    pub store: Store,
    /// Where uploaded documents' bytes live.
    pub blobs: Arc<dyn yibao_store::BlobStore>,
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// A fixed business date (tests pin it); `None`: today in China (UTC+8).
    pub today: Option<chrono::NaiveDate>,
    /// The process's log-in attempts, for throttling.
    pub logins: throttle::Logins,
    /// Files chosen in a refused form, held for their session.
    pub held: held::HeldUploads,
    /// Institutions' cover lookups this minute, for their limit.
    pub lookups: throttle::Lookups,
    /// The payment gateway online contributions are paid through; none configured, paying
    /// online answers that it is not available. (The simulated gateway is the demo's: a server
    /// without the demo has none until a real one is configured.)
    pub gateway: Option<Arc<dyn gateway::PaymentGateway>>,
}

pub type SharedState = Arc<AppState>;

/// The largest catalog file accepted (a 100,000-row catalog is about 15 MB as CSV).
pub const UPLOAD_LIMIT: usize = 64 * 1024 * 1024;

/// The largest message to the platform interface: a 2301 of 20,000 fee lines (a long stay's
/// whole list, about 400 bytes a line) is about 8 MB.
pub const PLATFORM_LIMIT: usize = 32 * 1024 * 1024;

/// The largest request carrying one document (the file and the form around it).
pub const DOCUMENT_REQUEST_LIMIT: usize = yibao_core::document::MAX_DOCUMENT_BYTES + 256 * 1024;

async fn stylesheet() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../static/app.css"))
}

async fn script() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], include_str!("../static/app.js"))
}

/// Apache ECharts, vendored from npm (`static/vendor/echarts/README.md`): the same bytes for
/// the life of the binary, so browsers may keep them.
async fn echarts() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        include_str!("../static/vendor/echarts/echarts.common.min.js"),
    )
}

pub fn router(state: AppState) -> Router {
    let state = Arc::new(state);
    let api = Router::new()
        .route("/login", post(api::login))
        .route("/logout", post(api::logout))
        .route("/me/notices", get(api::my_notices))
        .route("/me/password", post(api::change_password))
        .route("/me", get(api::me))
        .route("/persons", get(api::list_persons).post(api::create_person))
        .route("/persons/{id}", get(api::get_person).put(api::update_person))
        .route("/persons/{id}/history", get(api::person_history))
        .route("/persons/{id}/medical-history", get(api::audit::medical_history).post(api::audit::add_history))
        .route("/persons/{id}/bank-account/confirm", post(api::confirm_person_account))
        .route("/employers/{id}/bank-account/confirm", post(api::confirm_employer_account))
        .route("/employers", get(api::list_employers).post(api::create_employer))
        .route("/employers/{id}", get(api::get_employer).put(api::update_employer))
        .route("/institutions", get(api::list_institutions).post(api::create_institution))
        .route("/institutions/{id}", get(api::get_institution).put(api::update_institution))
        .route("/institution/self", get(api::institution_self))
        .route("/audit", get(api::audit_log))
        .route("/audit/{seq}", get(api::audit_entry))
        .route("/search", get(api::search))
        .route("/accounts", get(api::list_accounts).post(api::create_account))
        .route("/accounts/{id}/approve", post(api::approve_account))
        .route("/accounts/{id}/disable", post(api::logins::disable))
        .route("/accounts/{id}/enable", post(api::logins::enable))
        .route("/accounts/{id}/unlock", post(api::logins::unlock))
        .route("/accounts/{id}/password", post(api::logins::reset_password))
        .route("/accounts/{id}/change", post(api::logins::propose_change))
        .route("/accounts/{id}/change/approve", post(api::logins::approve_change))
        .route("/accounts/{id}/change/reject", post(api::logins::reject_change))
        .route("/policies", get(api::rules::list_policies).post(api::rules::import_policy))
        .route("/policies/{id}", get(api::rules::get_policy))
        .route(
            "/catalogs",
            get(api::rules::list_catalog_imports)
                .post(api::rules::import_catalog)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/catalogs/{id}", get(api::rules::get_catalog_import))
        .route("/catalog-entries", get(api::rules::search_catalog))
        .route(
            "/diagnoses",
            get(api::rules::search_diagnoses)
                .post(api::rules::import_diagnoses)
                .layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/adjudicate/preview", post(api::rules::adjudicate_preview))
        .route("/calendar", get(api::rules::get_calendar).post(api::rules::import_calendar))
        .route("/filings", get(api::cover::filing_queue))
        .route("/filings/{id}", get(api::cover::get_filing))
        .route("/filings/{id}/decision", post(api::cover::decide_filing))
        .route("/filings/{id}/revoke", post(api::cover::revoke_filing))
        .route(
            "/filings/{id}/pre-evaluation",
            get(api::audit::get_pre_evaluation)
                .post(api::audit::require_pre_evaluation)
                .put(api::audit::record_pre_evaluation),
        )
        .route("/claims/{id}/comparison", get(api::audit::claim_comparison))
        .route("/settlements/{setl_id}/comparison", get(api::audit::settlement_comparison))
        .route("/audit-tasks", get(api::audit::audit_tasks).post(api::audit::create_audit_task))
        .route("/audit-tasks/{id}", get(api::audit::audit_task))
        .route(
            "/audit-tasks/{id}/photos",
            post(api::audit::add_audit_photo).layer(DefaultBodyLimit::max(DOCUMENT_REQUEST_LIMIT)),
        )
        .route("/audit-tasks/{id}/conclusion", post(api::audit::conclude_audit_task))
        .route("/audit-tasks/{id}/take", post(api::audit::take_audit_task))
        .route("/persons/{id}/filings", get(api::cover::person_filings).post(api::cover::apply_filing))
        .route("/persons/{id}/cards", get(api::cover::person_cards).post(api::cover::apply_card))
        .route("/persons/{id}/no-card-certificates", post(api::cover::issue_no_card_certificate))
        .route(
            "/persons/{id}/documents",
            post(api::cover::upload_document).layer(DefaultBodyLimit::max(DOCUMENT_REQUEST_LIMIT)),
        )
        .route("/documents/{id}", get(api::cover::get_document))
        .route("/settlements/{setl_id}", get(api::settlement::get_settlement))
        .route("/persons/{id}/settlements", get(api::settlement::person_settlements))
        .route("/documents/{id}/content", get(api::cover::document_content))
        .route("/cards/{id}/events", post(api::cover::card_event))
        .route("/cover", get(api::cover::get_cover))
        .route("/referrals", post(api::cover::issue_referral))
        .route("/referrals/{number}", get(api::cover::get_referral))
        .route("/referrals/{number}/seal", post(api::cover::seal_referral))
        .route("/claim-rules/{region}", get(api::claims::get_claim_rules).post(api::claims::import_claim_rules))
        .route("/claim-checklist", get(api::claims::checklist))
        .route("/rule-bases/{region}", get(api::supervision::get_rule_base).post(api::supervision::import_rule_base))
        .route("/rule-bases/{region}/versions", get(api::supervision::rule_base_versions))
        .route("/contribution-rules", post(api::contributions::import_rules))
        .route("/contribution-rules/{region}/{year}", get(api::contributions::get_rules))
        .route("/employers/{id}/declarations", post(api::contributions::declare))
        .route("/employers/{id}/declarations/{month}/file", post(api::contributions::declare_file))
        .route("/persons/{id}/withdrawals", get(api::withdrawals::of_person).post(api::withdrawals::request))
        .route("/withdrawals", get(api::withdrawals::waiting))
        .route("/withdrawals/{id}", get(api::withdrawals::one))
        .route("/withdrawals/{id}/decision", post(api::withdrawals::decide))
        .route("/withdrawals/{id}/payment", get(api::withdrawals::payment))
        .route("/withdrawals/{id}/payment/account", axum::routing::put(api::withdrawals::give_account))
        .route("/withdrawals/{id}/payment/account/confirm", post(api::withdrawals::confirm_account))
        .route("/clearings", get(api::clearing::list).post(api::clearing::apply))
        .route("/clearings/preview", get(api::clearing::preview))
        .route("/clearings/{id}", get(api::clearing::one))
        .route("/clearings/{id}/cancel", post(api::clearing::cancel))
        .route("/clearings/{id}/objections", post(api::clearing::object))
        .route("/clearings/{id}/objections/{objection}/decision", post(api::clearing::decide_objection))
        .route("/clearings/{id}/review", post(api::clearing::review))
        .route("/clearings/{id}/approval", post(api::clearing::approve))
        .route("/assessments", get(api::clearing::assessments).post(api::clearing::assess))
        .route("/institution/account", get(api::clearing::account).put(api::clearing::set_account))
        .route("/books", get(api::books::check))
        .route("/books/months", get(api::books::months))
        .route("/books/months.xlsx", get(api::books::months_xlsx))
        .route("/books/close", post(api::books::close))
        .route("/employers/{id}/bills", get(api::contributions::bills))
        .route("/contribution-bills/{id}", get(api::contributions::bill))
        .route("/contribution-bills/{id}/payment", post(api::contributions::record_payment))
        .route("/contribution-payments", post(api::contributions::import_payments))
        .route("/persons/{id}/contributions", get(api::contributions::paid_months))
        .route("/pay/notify/{gateway}", post(api::contributions::payment_notice))
        .route("/claims/{id}/hits", get(api::supervision::claim_hits))
        .route("/hits", get(api::supervision::open_hits))
        .route("/hits/{id}", get(api::supervision::get_hit))
        .route("/reports/rescue-admissions", get(api::supervision::rescue_admissions))
        .route("/institution-findings", get(api::supervision::institution_findings))
        .route("/institution-findings/{id}/decision", post(api::supervision::decide_institution_finding))
        .route("/hits/{id}/decision", post(api::supervision::decide_hit))
        .route("/hits/{id}/take", post(api::supervision::take_hit))
        .route("/settlements/{setl_id}/hits", get(api::supervision::settlement_hits))
        .route("/claims", get(api::claims::claim_queue).post(api::claims::submit_claim))
        .route("/claims/{id}", get(api::claims::get_claim))
        .route(
            "/claims/{id}/documents",
            post(api::claims::attach_document).layer(DefaultBodyLimit::max(DOCUMENT_REQUEST_LIMIT)),
        )
        .route("/claims/{id}/steps", post(api::claims::claim_step))
        .route("/claims/{id}/assign", post(api::claims::assign_claim))
        .route("/claims/workload", get(api::claims::workload))
        .route("/persons/{id}/claims", get(api::claims::person_claims))
        .route("/my/delegations", get(api::claims::my_delegations).post(api::claims::grant_delegation))
        .route("/my/delegations/{id}/revoke", post(api::claims::revoke_delegation))
        .route("/my/account", get(api::accounts::my_account))
        .route("/my/family", post(api::accounts::authorise_family))
        .route("/my/family/{id}/revoke", post(api::accounts::revoke_family))
        .route("/claims/{id}/payment", get(api::payments::claim_payment))
        .route("/claims/{id}/payment/account", axum::routing::put(api::payments::give_account))
        .route("/claims/{id}/payment/account/confirm", post(api::payments::confirm_account))
        .route("/payments/orders", get(api::payments::list_orders))
        .route("/payments/batches", post(api::payments::build_batch))
        .route("/payments/batches/{id}", get(api::payments::get_batch))
        .route("/payments/batches/{id}/approve", post(api::payments::approve_batch))
        .route("/payments/batches/{id}/cancel", post(api::payments::cancel_batch))
        .route("/payments/batches/{id}/export", post(api::payments::export_batch))
        .route("/payments/results", post(api::payments::import_results).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .fallback(|| async { error::AppError::not_found("endpoint") });
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login_submit))
        .route("/pay", get(pages::pay_start).post(pages::pay_lookup))
        .route("/pay/orders", post(pages::pay_order))
        .route("/pay/orders/{order}", get(pages::pay_receipt))
        .route("/sim-pay/{order}", get(pages::sim_page).post(pages::sim_pay))
        .route("/logout", post(pages::logout))
        .route("/password", get(pages::password_form).post(pages::password_submit))
        .route("/lang/{code}", get(pages::lang_switch))
        .route("/persons", get(pages::persons_page).post(pages::person_save_new))
        .route("/persons/new", get(pages::person_new_form))
        .route("/persons/{id}", get(pages::person_page).post(pages::person_save_edit))
        .route("/persons/{id}/withdrawals", get(pages::person_withdrawals).post(pages::person_withdrawal_request))
        .route("/withdrawals", get(pages::withdrawals_page))
        .route("/withdrawals/{id}", get(pages::withdrawal_page))
        .route("/withdrawals/{id}/decision", post(pages::withdrawal_decide))
        .route("/withdrawals/{id}/account", post(pages::withdrawal_account))
        .route("/clearings", get(pages::clearings_page).post(pages::clearing_apply))
        .route("/clearings/account", post(pages::clearing_account))
        .route("/clearings/assessments", post(pages::clearing_assess))
        .route("/clearings/{id}", get(pages::clearing_page).post(pages::clearing_action))
        .route("/books", get(pages::books_page))
        .route("/books/close", post(pages::books_close))
        .route("/persons/{id}/edit", get(pages::person_edit_form))
        .route("/persons/{id}/bank-account/confirm", post(pages::person_account_confirm))
        .route("/persons/{id}/medical-history", get(pages::medical_history_page).post(pages::medical_history_add))
        .route("/employers", get(pages::employers_page).post(pages::employer_save_new))
        .route("/employers/new", get(pages::employer_new_form))
        .route("/employers/{id}", post(pages::employer_save_edit))
        .route("/employers/{id}/edit", get(pages::employer_edit_form))
        .route("/institutions", get(pages::institutions_page).post(pages::institution_save_new))
        .route("/institutions/new", get(pages::institution_new_form))
        .route("/institutions/{id}", post(pages::institution_save_edit))
        .route("/institutions/{id}/edit", get(pages::institution_edit_form))
        .route("/policies", get(pages::policies_page).post(pages::policy_import))
        .route("/policies/{id}", get(pages::policy_page))
        .route(
            "/catalogs",
            get(pages::catalogs_page).post(pages::catalog_upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/catalogs/{id}", get(pages::catalog_import_page))
        .route("/calendar", get(pages::calendar_page).post(pages::calendar_import))
        .route("/audit", get(pages::audit_page))
        .route("/search", get(pages::search_page))
        .route("/audit.csv", get(pages::audit_csv))
        .route("/audit/{seq}", get(pages::audit_entry_page))
        .route("/accounts", get(pages::accounts_page).post(pages::account_save_new))
        .route("/accounts/new", get(pages::account_new_form))
        .route("/accounts/{id}/approve", post(pages::account_approve))
        .route("/accounts/{id}", get(pages::account_page))
        .route("/accounts/{id}/disable", post(pages::account_disable))
        .route("/accounts/{id}/enable", post(pages::account_enable))
        .route("/accounts/{id}/unlock", post(pages::account_unlock))
        .route("/accounts/{id}/password", post(pages::account_reset))
        .route("/accounts/{id}/change", post(pages::account_change))
        .route("/accounts/{id}/change/{decision}", post(pages::account_change_decide))
        .route("/me", get(pages::me_page))
        .route("/my/cover", get(pages::my_cover_page))
        .route("/my/settlements", get(pages::my_settlements))
        .route("/persons/{id}/settlements", get(pages::person_settlements_page))
        .route("/settlements/{setl_id}", get(pages::settlement_page))
        .route("/my/filings", post(pages::my_filing_apply).layer(DefaultBodyLimit::max(DOCUMENT_REQUEST_LIMIT)))
        .route("/my/filings/{id}/revoke", post(pages::my_filing_revoke))
        .route("/my/messages", get(pages::my_messages))
        .route("/my/cards/{id}/report", post(pages::my_card_report))
        .route(
            "/filings",
            get(pages::filings_page).post(pages::filing_window).layer(DefaultBodyLimit::max(DOCUMENT_REQUEST_LIMIT)),
        )
        .route("/documents/{id}", get(pages::document_download))
        .route("/filings/{id}", get(pages::filing_page))
        .route("/filings/{id}/receipt", get(pages::filing_receipt))
        .route("/filings/{id}/decision", post(pages::filing_decide))
        .route("/filings/{id}/pre-evaluation", post(pages::pre_evaluation_require))
        .route("/filings/{id}/pre-evaluation/record", post(pages::pre_evaluation_record))
        .route("/audit-tasks", get(pages::audit_tasks_page).post(pages::audit_task_create))
        .route("/audit-tasks/{id}", get(pages::audit_task_page))
        .route(
            "/audit-tasks/{id}/photos",
            post(pages::audit_photo_add).layer(DefaultBodyLimit::max(DOCUMENT_REQUEST_LIMIT)),
        )
        .route("/audit-tasks/{id}/conclusion", post(pages::audit_task_conclude))
        .route("/audit-tasks/{id}/take", post(pages::audit_task_take))
        .route("/cover", get(pages::cover_lookup))
        .route("/persons/{id}/cover", get(pages::person_cover_page))
        .route("/check", get(pages::institution_cover))
        .route("/referrals", get(pages::referrals_page).post(pages::referral_issue))
        .route("/institution/settlements", get(pages::institution_settlements))
        .route("/institution/interface", get(pages::institution_interface).post(pages::institution_interface_action))
        .route("/referrals/{number}/seal", post(pages::referral_seal))
        .route("/referrals/{number}/print", get(pages::referral_certificate))
        .route("/persons/{id}/cards", post(pages::card_apply))
        .route("/persons/{id}/no-card-certificates", post(pages::no_card_issue))
        .route("/cards/{id}/events", post(pages::card_event_submit))
        .route(
            "/claims",
            get(pages::claim_queue_page).post(pages::claim_submit).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)),
        )
        .route("/claims/guide", get(pages::claim_guide))
        .route("/claims/new", get(pages::claim_new_form))
        .route("/institutions/suggest", get(pages::institution_suggest))
        .route("/regions/suggest", get(pages::region_suggest))
        .route("/diagnoses/suggest", get(pages::diagnosis_suggest))
        .route("/catalog/suggest", get(pages::item_suggest))
        .route("/catalogs/diagnoses", post(pages::diagnoses_upload).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/claims/{id}", get(pages::claim_page))
        .route("/claims/{id}/receipt", get(pages::claim_receipt))
        .route("/hits", get(pages::hits_page))
        .route("/hits/{id}", get(pages::hit_page))
        .route("/hits/{id}/decision", post(pages::hit_decision))
        .route("/hits/{id}/take", post(pages::hit_take))
        .route("/institution-findings/{id}/decision", post(pages::finding_decision))
        .route("/claims/{id}/steps", post(pages::claim_step_submit))
        .route("/claims/{id}/assign", post(pages::claim_assign))
        .route(
            "/claims/{id}/documents",
            post(pages::claim_document_add).layer(DefaultBodyLimit::max(DOCUMENT_REQUEST_LIMIT)),
        )
        .route("/claims/{id}/statement.csv", get(pages::claim_statement_csv))
        .route("/claims/{id}/payment-account", post(pages::claim_payment_account))
        .route("/claims/{id}/payment-account/confirm", post(pages::claim_payment_account_confirm))
        .route("/my/claims", get(pages::my_claims))
        .route("/unit/claims", get(pages::unit_claims))
        .route("/unit/contributions", get(pages::unit_contributions).post(pages::unit_declare))
        .route("/employers/{id}/contributions", get(pages::employer_contributions).post(pages::employer_declare))
        .route("/unit/contributions/file", post(pages::unit_declare_file))
        .route("/employers/{id}/contributions/file", post(pages::employer_declare_file))
        .route("/my/contributions", get(pages::my_contributions))
        .route("/my/account", get(pages::my_account))
        .route("/my/family", post(pages::my_family_authorise))
        .route("/my/family/{id}/revoke", post(pages::my_family_revoke))
        .route("/contributions", get(pages::finance_contributions))
        .route("/contributions/receipts", post(pages::finance_receipts).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/payments", get(pages::payments_page))
        .route("/payments/batches", post(pages::batch_build))
        .route("/payments/batches/{id}", get(pages::batch_page))
        .route("/payments/batches/{id}/approve", post(pages::batch_approve))
        .route("/payments/batches/{id}/cancel", post(pages::batch_cancel))
        .route("/payments/batches/{id}/export", post(pages::batch_export))
        .route("/payments/batches/{id}/results", post(pages::batch_results).layer(DefaultBodyLimit::max(UPLOAD_LIMIT)))
        .route("/my/delegations", post(pages::my_delegation_grant))
        .route("/my/delegations/{id}/revoke", post(pages::my_delegation_revoke))
        .route("/static/app.css", get(stylesheet))
        .route("/static/app.js", get(script))
        .route("/static/echarts.min.js", get(echarts))
        .route(
            "/fsi/api/rsfComIfsService/callService",
            post(api::platform::call_service).layer(DefaultBodyLimit::max(PLATFORM_LIMIT)),
        )
        .route("/healthz", get(context::healthz))
        .route("/readyz", get(context::readyz))
        .nest("/api/v1", api)
        .merge(SwaggerUi::new("/api/docs").url("/api/v1/openapi.json", api::openapi()))
        .fallback(|| async { error::AppError::not_found("page") })
        .layer(axum::middleware::from_fn(guard::check_text))
        .layer(axum::middleware::from_fn(context::request_context))
        .layer(axum::middleware::from_fn_with_state(Arc::clone(&state), context::security_headers))
        .with_state(state)
}

/// Binds and serves until Ctrl-C or SIGTERM, then stops accepting, lets the requests in
/// flight finish and closes the store (what waits for a commit is written). Prints nothing
/// itself; returns the bound address via `on_bound` so the caller can announce it.
pub async fn serve(state: AppState, listen: SocketAddr, on_bound: impl FnOnce(SocketAddr)) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    on_bound(listener.local_addr()?);
    let store = state.store.clone();
    let served = serve_on(listener, state, stop_signal()).await;
    store.close().await;
    served
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM (what a service manager sends).
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(error) => {
                tracing::warn!(%error, "SIGTERM cannot be handled; stopping on Ctrl-C only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping: no new connections; finishing the requests in flight");
}

/// Serves on a bound listener until `shutdown` completes (the load generator runs the
/// server this way, next to its simulated hospitals).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
