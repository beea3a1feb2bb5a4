//! Failed authentications counted per client address: an address that failed too often is
//! answered 429 (with `Retry-After`) until its window ends, whatever credential it presents.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::problem::ApiError;

/// How many failed authentications one client address may make per window by default: enough
/// for a person mistyping or a client with an expired token retrying, far too few to guess.
pub const DEFAULT_MAX_FAILED_AUTHENTICATIONS: u32 = 20;

/// The window over which failed authentications are counted.
pub const FAILED_AUTHENTICATION_WINDOW: Duration = Duration::from_secs(60);

/// The most client addresses whose failures are remembered; past it, expired entries are dropped
/// and, if that is not enough, the count starts over (memory stays bounded under a spread attack).
const MAX_THROTTLED_ADDRESSES: usize = 100_000;

/// Counts failed authentications per client address over a fixed window; an address that
/// reached the limit is answered 429 (with `Retry-After`) until its window ends, whatever token
/// it presents.
#[derive(Debug, Clone)]
pub struct AuthenticationThrottle {
    max_failures: u32,
    window: Duration,
    /// Per address: when its window started and how many failures it holds.
    failures: Arc<Mutex<HashMap<IpAddr, (Instant, u32)>>>,
}

impl AuthenticationThrottle {
    pub fn new(max_failures: u32, window: Duration) -> AuthenticationThrottle {
        AuthenticationThrottle {
            max_failures,
            window,
            failures: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// 429 when `client` has used up its failures in the current window.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), ApiError> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        match failures.get(&client) {
            Some((started, count))
                if *count >= self.max_failures && now.duration_since(*started) < self.window =>
            {
                let remaining = self.window.saturating_sub(now.duration_since(*started));
                // Rounded up: retrying a moment early would only be refused again.
                let retry_after_seconds =
                    remaining.as_secs() + u64::from(remaining.subsec_nanos() > 0);
                Err(ApiError::too_many_requests(
                    "too many failed authentications from this address; retry later",
                    retry_after_seconds.max(1),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed authentication of `client`.
    pub fn record_failure(&self, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() >= MAX_THROTTLED_ADDRESSES && !failures.contains_key(&client) {
            let window = self.window;
            failures.retain(|_, (started, _)| now.duration_since(*started) < window);
            if failures.len() >= MAX_THROTTLED_ADDRESSES {
                failures.clear();
            }
        }
        let entry = failures.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }
}

/// The portal's sign-in counts and obeys the same failures per address as the API's.
impl ledger_web::SignInThrottle for AuthenticationThrottle {
    fn check(&self, client: IpAddr) -> Result<(), u64> {
        AuthenticationThrottle::check(self, client, Instant::now())
            .map_err(|_| self.window.as_secs().max(1))
    }

    fn record_failure(&self, client: IpAddr) {
        AuthenticationThrottle::record_failure(self, client, Instant::now());
    }
}
