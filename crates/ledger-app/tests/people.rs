//! People and keys against time, without HTTP: an invitation expires, an access token expires and
//! is refreshed, a session ends; the clock is injected, so these run in no time.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use ledger_app::clock::{FixedClock, V7Ids};
use ledger_app::people::Origin;
use ledger_app::people::authenticate::{KeyCheck, authenticate};
use ledger_app::people::sessions::{RefreshBody, SignInBody, refresh, sign_in};
use ledger_app::people::users::{
    AcceptInvitationBody, InviteUser, InviteUserBody, accept_invitation,
};
use ledger_app::{App, Caller, Role, Sources};
use ledger_core::OrganisationId;
use ledger_store::{Store, StoreOptions};

const PASSWORD: &str = "une phrase de passe solide";

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-30T09:00:00Z")
        .map(|instant| instant.with_timezone(&Utc))
        .unwrap_or_default()
}

/// The application on `store` with its clock at `start() + offset`.
fn at(store: &Store, offset: Duration) -> App {
    App::new(
        store.clone(),
        Sources::new(Arc::new(FixedClock(start() + offset)), Arc::new(V7Ids)),
        Default::default(),
    )
}

async fn store(directory: &tempfile::TempDir) -> Store {
    let url = format!("sqlite:{}", directory.path().join("ledger.db").display());
    let store = Store::connect(&url, StoreOptions::default()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

async fn invite(app: &App, email: &str) -> String {
    let network = OrganisationId::from_uuid(uuid::Uuid::from_u128(1));
    let admin = Caller::with_token("admin".to_owned(), network, Role::Admin);
    app.perform(
        &admin,
        InviteUser(InviteUserBody {
            email: email.to_owned(),
            organisation: "network".to_owned(),
            role: "auditor".to_owned(),
        }),
    )
    .await
    .unwrap()
    .invitation_token
}

#[tokio::test]
async fn an_invitation_expires_after_seven_days() {
    // Proves an invitation is refused once its week is over (invitation_expired), and accepted
    // within it.
    let directory = tempfile::tempdir().unwrap();
    let store = store(&directory).await;
    let late = invite(&at(&store, Duration::zero()), "late@ens.org").await;
    let error = accept_invitation(
        &at(&store, Duration::days(7) + Duration::seconds(1)),
        AcceptInvitationBody {
            invitation_token: late,
            password: PASSWORD.to_owned(),
        },
        &Origin::default(),
    )
    .await
    .unwrap_err();
    assert_eq!(error.code, "invitation_expired");
    let timely = invite(&at(&store, Duration::zero()), "timely@ens.org").await;
    accept_invitation(
        &at(&store, Duration::days(6)),
        AcceptInvitationBody {
            invitation_token: timely,
            password: PASSWORD.to_owned(),
        },
        &Origin::default(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn access_tokens_expire_and_refresh_until_the_session_ends() {
    // Proves an access token is accepted for 15 minutes only, a refresh gives a working one, and
    // after 12 hours the session is over: neither its tokens nor its refresh are accepted.
    let directory = tempfile::tempdir().unwrap();
    let store = store(&directory).await;
    let now = at(&store, Duration::zero());
    let invitation = invite(&now, "auditor@ens.org").await;
    accept_invitation(
        &now,
        AcceptInvitationBody {
            invitation_token: invitation,
            password: PASSWORD.to_owned(),
        },
        &Origin::default(),
    )
    .await
    .unwrap();
    let session = sign_in(
        &now,
        SignInBody {
            email: "auditor@ens.org".to_owned(),
            password: PASSWORD.to_owned(),
        },
        &Origin::default(),
    )
    .await
    .unwrap();
    let caller = authenticate(
        &at(&store, Duration::minutes(14)),
        &session.access_token,
        None,
        KeyCheck::Now,
    )
    .await
    .unwrap();
    assert_eq!(
        (caller.role, caller.subject.as_str()),
        (Role::Auditor, "auditor@ens.org")
    );
    let expired = authenticate(
        &at(&store, Duration::minutes(16)),
        &session.access_token,
        None,
        KeyCheck::Now,
    )
    .await
    .unwrap_err();
    assert_eq!(expired.code, "access_token_expired");
    let later = at(&store, Duration::minutes(16));
    let renewed = refresh(
        &later,
        RefreshBody {
            refresh_token: session.refresh_token,
        },
    )
    .await
    .unwrap();
    authenticate(&later, &renewed.access_token, None, KeyCheck::Now)
        .await
        .unwrap();
    let over = at(&store, Duration::hours(12) + Duration::seconds(1));
    let ended = authenticate(&over, &renewed.access_token, None, KeyCheck::Now)
        .await
        .unwrap_err();
    assert_eq!(ended.code, "session_expired");
    let refused = refresh(
        &over,
        RefreshBody {
            refresh_token: renewed.refresh_token,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, "refresh_refused");
}
