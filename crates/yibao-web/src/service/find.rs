//! The staff's search box: what a typed text names, of the kinds the caller may read, in
//! the caller's regions; an ID number is masked unless the caller may see persons whole.

use yibao_core::{Permission, ResidentId};
use yibao_store::{Found, FoundKind, Store};

use super::staff_scope;
use crate::context::Caller;
use crate::error::AppError;

/// At most this many of each kind.
pub const EACH: i64 = 10;

pub async fn find(store: &Store, caller: &Caller, text: &str) -> Result<Vec<Found>, AppError> {
    if !caller.role().is_staff() {
        return Err(AppError::forbidden());
    }
    let may = |p: Permission| caller.can(p);
    let kinds: Vec<FoundKind> = [
        (FoundKind::Person, may(Permission::ViewPersons)),
        (FoundKind::Claim, may(Permission::ViewClaims)),
        (FoundKind::Settlement, may(Permission::ViewPersonDetail)),
        (FoundKind::Batch, may(Permission::ViewPayments)),
        (FoundKind::Clearing, may(Permission::ViewPayments) || may(Permission::Audit)),
        (FoundKind::Institution, may(Permission::ViewInstitutions)),
    ]
    .into_iter()
    .filter_map(|(k, allowed)| allowed.then_some(k))
    .collect();
    let mut found = store.find(text, &staff_scope(caller), &kinds, EACH).await?;
    if !may(Permission::ViewPersonDetail) {
        for f in found.iter_mut().filter(|f| f.kind == FoundKind::Person) {
            f.key = f.key.parse::<ResidentId>().map(|r| r.masked()).unwrap_or_default();
        }
    }
    Ok(found)
}
