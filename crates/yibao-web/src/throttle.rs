//! Log-in throttling: growing delays per account and address, per address, and per account,
//! instead of a lock that anyone could set off to keep a person out.
//!
//! An attempt is counted *before* its password is checked, under one lock, so that thirty
//! attempts sent at once are not all checked: once a key's count reaches its threshold, the
//! next attempt must wait `2^(n - threshold)` seconds (at most five minutes), and attempts in
//! that time are refused without a check. A success clears its account-and-address count.
//! Refused and wrong answers are alike (the same words, the same time), so neither says
//! whether the account exists or is being throttled. Another person's failures from another
//! address delay an account only after [`ACCOUNT_THRESHOLD`] of them, and never from an
//! address the account logged in from successfully in the last [`KNOWN_FOR`]: failures spread
//! over many addresses cannot keep a person out of their own account at their own desk.
//! IPv6 addresses count by their /64 network (one host holds a whole /64).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures of one account from one address before delays begin.
pub const PAIR_THRESHOLD: u32 = 3;
/// Failures from one address (any accounts) before delays begin.
pub const ADDRESS_THRESHOLD: u32 = 10;
/// Failures of one account (any addresses) before delays begin.
pub const ACCOUNT_THRESHOLD: u32 = 30;
/// The longest delay.
pub const MAX_DELAY: Duration = Duration::from_secs(300);
/// Counts older than this (since the last attempt) are forgotten.
const FORGET_AFTER: Duration = Duration::from_secs(3600);
/// How long an address an account logged in from stays exempt from the account's delay.
pub const KNOWN_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, IpAddr),
    Address(IpAddr),
    Account(String),
    /// The account logged in from this address (its `last` is the time).
    Known(String, IpAddr),
}

/// The address as counted: an IPv6 address by its /64 network, an IPv4-mapped one as IPv4.
fn counted(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
        v4 => v4,
    }
}

#[derive(Debug, Clone, Copy)]
struct Count {
    attempts: u32,
    not_before: Instant,
    last: Instant,
}

/// The counts of the process's log-in attempts.
#[derive(Debug, Default)]
pub struct Logins {
    counts: Mutex<HashMap<Key, Count>>,
}

/// An attempt that may go on to the password check; report its outcome with
/// [`Logins::succeeded`] or drop it (a failure).
#[derive(Debug)]
pub struct Attempt {
    username: String,
    address: IpAddr,
}

impl Logins {
    /// Counts an attempt for `username` from `address` at `now`: `Some` if it may be checked,
    /// `None` if one of its keys must wait.
    pub fn begin(&self, username: &str, address: IpAddr, now: Instant) -> Option<Attempt> {
        let username = username.trim().to_lowercase();
        let address = counted(address);
        let keys = [
            (Key::Pair(username.clone(), address), PAIR_THRESHOLD),
            (Key::Address(address), ADDRESS_THRESHOLD),
            (Key::Account(username.clone()), ACCOUNT_THRESHOLD),
        ];
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.len() > 100_000 {
            counts.retain(|k, c| {
                now.duration_since(c.last) < if matches!(k, Key::Known(..)) { KNOWN_FOR } else { FORGET_AFTER }
            });
        }
        let fresh = |c: &Count| now.duration_since(c.last) < FORGET_AFTER;
        let known =
            counts.get(&Key::Known(username.clone(), address)).is_some_and(|c| now.duration_since(c.last) < KNOWN_FOR);
        let waits = |k: &Key| !(known && matches!(k, Key::Account(_)));
        if keys.iter().any(|(k, _)| waits(k) && counts.get(k).is_some_and(|c| fresh(c) && now < c.not_before)) {
            return None;
        }
        for (key, threshold) in keys {
            let count = counts.entry(key).or_insert(Count { attempts: 0, not_before: now, last: now });
            if !fresh(count) {
                count.attempts = 0;
            }
            count.attempts += 1;
            count.last = now;
            count.not_before = now + delay(count.attempts, threshold);
        }
        Some(Attempt { username, address })
    }

    /// The attempt's password was right: its account-and-address count is cleared, and the
    /// attempt no longer counts against the address or the account.
    pub fn succeeded(&self, attempt: Attempt, now: Instant) {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.remove(&Key::Pair(attempt.username.clone(), attempt.address));
        counts.insert(
            Key::Known(attempt.username.clone(), attempt.address),
            Count { attempts: 0, not_before: now, last: now },
        );
        for (key, threshold) in
            [(Key::Address(attempt.address), ADDRESS_THRESHOLD), (Key::Account(attempt.username), ACCOUNT_THRESHOLD)]
        {
            if let Some(c) = counts.get_mut(&key) {
                c.attempts = c.attempts.saturating_sub(1);
                c.not_before = c.last + delay(c.attempts, threshold);
                if c.not_before < now && c.attempts == 0 {
                    counts.remove(&key);
                }
            }
        }
    }
}

impl Logins {
    /// Whether `username`'s next attempt must wait now, from some address or across them.
    pub fn held(&self, username: &str, now: Instant) -> bool {
        let username = username.trim().to_lowercase();
        let counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.iter().any(|(k, c)| {
            let theirs = match k {
                Key::Pair(u, _) | Key::Account(u) => *u == username,
                Key::Address(_) | Key::Known(..) => false,
            };
            theirs && now.duration_since(c.last) < FORGET_AFTER && now < c.not_before
        })
    }

    /// Forgets `username`'s failures (an administrator unlocked the account): its own count
    /// and its count from each address. An address's count over all accounts stays: an
    /// address guessing at many accounts stays slowed.
    pub fn forget(&self, username: &str) {
        let username = username.trim().to_lowercase();
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        counts.retain(|k, _| !matches!(k, Key::Pair(u, _) | Key::Account(u) if *u == username));
    }
}

/// How many cover lookups one institution may make in a minute (a busy hospital's desks
/// check a few patients a minute; walking the registry needs thousands).
pub const LOOKUPS_PER_MINUTE: u32 = 120;

/// Counts of lookups per institution in the current minute.
#[derive(Debug, Default)]
pub struct Lookups {
    counts: Mutex<HashMap<String, (Instant, u32)>>,
}

impl Lookups {
    /// Counts a lookup by `who` at `now`; `Err(wait)` once the minute's allowance is spent.
    pub fn count(&self, who: &str, now: Instant) -> Result<(), Duration> {
        let mut counts = self.counts.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if counts.len() > 100_000 {
            counts.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        }
        let (start, n) = counts.entry(who.to_string()).or_insert((now, 0));
        if now.duration_since(*start) >= Duration::from_secs(60) {
            (*start, *n) = (now, 0);
        }
        if *n >= LOOKUPS_PER_MINUTE {
            return Err(Duration::from_secs(60).saturating_sub(now.duration_since(*start)));
        }
        *n += 1;
        Ok(())
    }
}

/// The wait after the `attempts`th attempt of a key with `threshold`.
fn delay(attempts: u32, threshold: u32) -> Duration {
    if attempts < threshold {
        return Duration::ZERO;
    }
    let doublings = (attempts - threshold).min(16);
    Duration::from_secs(1u64 << doublings).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn attempts_at_once_are_checked_only_up_to_the_threshold() {
        let logins = Logins::default();
        let now = Instant::now();
        let checked = (0..30).filter_map(|_| logins.begin("finance2", ip("10.0.0.9"), now)).count();
        assert_eq!(checked, PAIR_THRESHOLD as usize);
        // The delay grows: 1 s after the third, then 2 s, 4 s, …
        assert!(logins.begin("finance2", ip("10.0.0.9"), now + Duration::from_millis(999)).is_none());
        assert!(logins.begin("finance2", ip("10.0.0.9"), now + Duration::from_secs(1)).is_some());
        assert!(logins.begin("finance2", ip("10.0.0.9"), now + Duration::from_millis(2_999)).is_none());
        assert!(logins.begin("finance2", ip("10.0.0.9"), now + Duration::from_secs(3)).is_some());
    }

    #[test]
    fn an_administrator_unlocks_an_account_but_not_the_address() {
        let logins = Logins::default();
        let now = Instant::now();
        for n in 0..ADDRESS_THRESHOLD {
            // Three at finance2 hold it from this address; the rest, at other accounts,
            // hold the address.
            let who = if n < PAIR_THRESHOLD { "Finance2".to_string() } else { format!("user{n}") };
            assert!(logins.begin(&who, ip("10.0.0.9"), now).is_some());
        }
        assert!(logins.held("finance2", now), "held after the failures");
        assert!(!logins.held("clerk", now), "another account is not");
        logins.forget("FINANCE2");
        assert!(!logins.held("finance2", now), "unlocked");
        // The address that made ten failures still waits, whichever account it tries.
        assert!(logins.begin("finance2", ip("10.0.0.9"), now).is_none());
        assert!(logins.begin("finance2", ip("10.0.0.10"), now).is_some(), "from elsewhere at once");
    }

    #[test]
    fn an_attacker_elsewhere_does_not_keep_the_person_out() {
        let logins = Logins::default();
        let now = Instant::now();
        // The attacker tries every second for ten minutes; most tries are refused unchecked.
        let mut counted = Vec::new();
        for second in 0..600 {
            let at = now + Duration::from_secs(second);
            if logins.begin("finance2", ip("10.0.0.9"), at).is_some() {
                counted.push(at);
            }
        }
        assert!(counted.len() < 15, "{} of 600 tries were checked", counted.len());
        let later = *counted.last().unwrap() + Duration::from_millis(500);
        assert!(logins.begin("finance2", ip("10.0.0.9"), later).is_none(), "the attacker waits");
        let mine = logins.begin("finance2", ip("10.0.0.1"), later).expect("the person's own address is not delayed");
        logins.succeeded(mine, later);
    }

    #[test]
    fn failures_from_many_addresses_do_not_keep_the_person_out_at_their_own_desk() {
        let logins = Logins::default();
        let now = Instant::now();
        let desk = logins.begin("finance2", ip("10.0.0.1"), now).unwrap();
        logins.succeeded(desk, now);
        // A botnet: a thousand addresses, two failures each (below their own thresholds).
        let later = now + Duration::from_secs(3600 * 5);
        for i in 0..1000u32 {
            let address = IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            let _ = logins.begin("finance2", address, later);
            let _ = logins.begin("finance2", address, later);
        }
        assert!(logins.begin("finance2", ip("10.0.0.77"), later).is_none(), "a new address waits");
        assert!(logins.begin("finance2", ip("10.0.0.1"), later).is_some(), "the person's desk does not");
    }

    #[test]
    fn an_ipv6_host_counts_as_its_64_network() {
        let logins = Logins::default();
        let now = Instant::now();
        let checked =
            (0..30u16).filter_map(|i| logins.begin("finance2", ip(&format!("2001:db8:1:2::{i:x}")), now)).count();
        assert_eq!(checked, PAIR_THRESHOLD as usize, "one /64 is one address");
        assert!(logins.begin("finance2", ip("2001:db8:1:3::1"), now).is_some(), "another /64 is another");
        assert!(logins.begin("x", ip("::ffff:10.0.0.9"), now).is_some());
        assert_eq!(counted(ip("::ffff:10.0.0.9")), ip("10.0.0.9"));
    }

    #[test]
    fn one_address_trying_many_accounts_is_delayed() {
        let logins = Logins::default();
        let now = Instant::now();
        let checked = (0..50).filter_map(|i| logins.begin(&format!("user{i}"), ip("10.0.0.9"), now)).count();
        assert_eq!(checked, ADDRESS_THRESHOLD as usize);
    }

    #[test]
    fn a_success_clears_the_count() {
        let logins = Logins::default();
        let now = Instant::now();
        let _ = logins.begin("clerk", ip("10.0.0.1"), now);
        let _ = logins.begin("clerk", ip("10.0.0.1"), now);
        let ok = logins.begin("clerk", ip("10.0.0.1"), now).unwrap();
        logins.succeeded(ok, now);
        assert!(logins.begin("clerk", ip("10.0.0.1"), now).is_some(), "no delay after a success");
    }

    #[test]
    fn lookups_are_limited_per_institution_and_minute() {
        let lookups = Lookups::default();
        let now = Instant::now();
        for _ in 0..LOOKUPS_PER_MINUTE {
            assert!(lookups.count("H1", now).is_ok());
        }
        assert!(lookups.count("H1", now + Duration::from_secs(30)).is_err());
        assert!(lookups.count("H2", now).is_ok(), "another institution has its own allowance");
        assert!(lookups.count("H1", now + Duration::from_secs(60)).is_ok(), "a new minute");
    }

    #[test]
    fn delays_grow_to_five_minutes() {
        assert_eq!(delay(2, 3), Duration::ZERO);
        assert_eq!(delay(3, 3), Duration::from_secs(1));
        assert_eq!(delay(5, 3), Duration::from_secs(4));
        assert_eq!(delay(40, 3), MAX_DELAY);
    }
}
