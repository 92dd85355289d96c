//! The staff's claim list: the claims of persons insured in the caller's regions, filtered by
//! state, case, region, institution, the days they were received and their amount, sorted
//! oldest first, newest first or by amount, a page at a time past any number of rows (keyset:
//! the page's last row is the cursor), with the count in each state for the same filters.

use yibao_core::calendar::china_day_start;

use super::*;

/// How the list is sorted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClaimSort {
    /// Received first, first: a work queue.
    #[default]
    Oldest,
    Newest,
    /// The largest medical expenses first.
    Amount,
}

impl ClaimSort {
    pub const ALL: [ClaimSort; 3] = [ClaimSort::Oldest, ClaimSort::Newest, ClaimSort::Amount];

    pub fn code(self) -> &'static str {
        match self {
            ClaimSort::Oldest => "oldest",
            ClaimSort::Newest => "newest",
            ClaimSort::Amount => "amount",
        }
    }

    pub fn parse(s: &str) -> ClaimSort {
        ClaimSort::ALL.into_iter().find(|k| k.code() == s.trim()).unwrap_or_default()
    }
}

/// What the list shows; every part but the scope is optional.
#[derive(Debug, Clone, Default)]
pub struct ClaimFilter {
    /// The caller's regions: persons insured there.
    pub scope: Scope,
    /// Any of these states (all when empty).
    pub states: Vec<ClaimState>,
    pub case: Option<ClaimCase>,
    /// Persons insured in this region (and the scope).
    pub region: Option<AdminCode>,
    /// Treated at this institution (its national code).
    pub institution: Option<String>,
    /// Received on these days (China time), both included.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// Medical expenses at least and at most.
    pub min: Option<Fen>,
    pub max: Option<Fen>,
    /// Under review by this reviewer (their audit label).
    pub reviewer: Option<String>,
    pub sort: ClaimSort,
    /// The cursor of the page before (its last row), as [`Page::next`] gave it.
    pub after: Option<String>,
}

impl ClaimFilter {
    /// The `WHERE` conditions of every filter but the states and the cursor.
    fn conditions(&self, sql: &mut Sql) {
        sql.scope_filter("p.insured_region", &self.scope);
        if let Some(region) = self.region {
            sql.scope_filter("p.insured_region", &Scope::new(vec![region]));
        }
        if let Some(case) = self.case {
            let a = sql.arg(Arg::S(case.code().to_string()));
            sql.text.push_str(&format!(" AND c.case_code = {a}"));
        }
        if let Some(code) = self.institution.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            let a = sql.arg(Arg::S(code.to_string()));
            sql.text.push_str(&format!(" AND c.institution_code = {a}"));
        }
        if let Some(from) = self.from {
            let a = sql.arg(Arg::S(china_day_start(from)));
            sql.text.push_str(&format!(" AND c.submitted_at >= {a}"));
        }
        if let Some(to) = self.to.and_then(|d| d.succ_opt()) {
            let a = sql.arg(Arg::S(china_day_start(to)));
            sql.text.push_str(&format!(" AND c.submitted_at < {a}"));
        }
        if let Some(reviewer) = &self.reviewer {
            let a = sql.arg(Arg::S(reviewer.clone()));
            sql.text.push_str(&format!(" AND c.reviewer = {a}"));
        }
        for (op, bound) in [(">=", self.min), ("<=", self.max)] {
            if let Some(fen) = bound {
                let a = sql.arg(Arg::I(fen.fen()));
                sql.text.push_str(&format!(" AND c.medfee_sumamt {op} {a}"));
            }
        }
    }
}

impl Store {
    /// A page of the claims `f` finds, at most `limit` (1–200), and the cursor of the next.
    pub async fn list_claims(&self, f: &ClaimFilter, limit: i64) -> Result<Page<ClaimSummary>, StoreError> {
        let limit = limit.clamp(1, 200);
        let mut sql = Sql::new(&format!("SELECT {CLAIM_COLS} FROM {CLAIM_FROM} WHERE 1 = 1"));
        f.conditions(&mut sql);
        if !f.states.is_empty() {
            let args: Vec<String> = f.states.iter().map(|st| sql.arg(Arg::S(st.code().to_string()))).collect();
            sql.text.push_str(&format!(" AND c.state IN ({})", args.join(", ")));
        }
        let bad_cursor = || invalid_cursor();
        match (f.sort, f.after.as_deref()) {
            (_, None) => {}
            (ClaimSort::Oldest | ClaimSort::Newest, Some(after)) => {
                let id: i64 = after.parse().map_err(|_| bad_cursor())?;
                let a = sql.arg(Arg::I(id));
                let op = if f.sort == ClaimSort::Oldest { ">" } else { "<" };
                sql.text.push_str(&format!(" AND c.id {op} {a}"));
            }
            (ClaimSort::Amount, Some(after)) => {
                let (amount, id) = after.split_once(':').ok_or_else(bad_cursor)?;
                let amount: i64 = amount.parse().map_err(|_| bad_cursor())?;
                let id: i64 = id.parse().map_err(|_| bad_cursor())?;
                let (a1, a2, i) = (sql.arg(Arg::I(amount)), sql.arg(Arg::I(amount)), sql.arg(Arg::I(id)));
                sql.text.push_str(&format!(" AND (c.medfee_sumamt < {a1} OR (c.medfee_sumamt = {a2} AND c.id < {i}))"));
            }
        }
        let order = match f.sort {
            ClaimSort::Oldest => "c.id",
            ClaimSort::Newest => "c.id DESC",
            ClaimSort::Amount => "c.medfee_sumamt DESC, c.id DESC",
        };
        let l = sql.arg(Arg::I(limit + 1));
        sql.text.push_str(&format!(" ORDER BY {order} LIMIT {l}"));
        let mut items: Vec<ClaimSummary> =
            sql.fetch_all(&self.db).await?.iter().map(summary_from_row).collect::<Result<_, _>>()?;
        let more = items.len() as i64 > limit;
        items.truncate(limit as usize);
        let next = match (more, items.last()) {
            (true, Some(last)) => Some(match f.sort {
                ClaimSort::Amount => format!("{}:{}", last.medfee_sumamt.fen(), last.id),
                _ => last.id.to_string(),
            }),
            _ => None,
        };
        Ok(Page { items, next })
    }

    /// How many claims `f` finds in each state, its own states aside (the tabs' counts).
    pub async fn count_claims_by_state(&self, f: &ClaimFilter) -> Result<Vec<(ClaimState, i64)>, StoreError> {
        let mut sql = Sql::new(&format!("SELECT c.state, COUNT(*) FROM {CLAIM_FROM} WHERE 1 = 1"));
        f.conditions(&mut sql);
        sql.text.push_str(" GROUP BY c.state");
        let rows = sql.fetch_all(&self.db).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let state: String = r.try_get(0)?;
            out.push((parse("claims.state", ClaimState::parse(&state))?, r.try_get(1)?));
        }
        Ok(out)
    }
}

fn invalid_cursor() -> StoreError {
    InvalidValue::new(
        "after",
        "format",
        "翻页参数无效，请从第一页重新查看",
        "the page cursor is not valid: start again from the first page",
    )
    .into()
}
