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

#[tokio::test]
async fn a_known_key_is_taken_from_memory_and_still_refused_once_expired() {
    // Proves an API key's row is kept in memory after its first read: a write route's
    // authentication (KeyCheck::ByTheOperation) of a key this instance knows reads nothing (the
    // caller says the key was not read now, so the operation checks it), a read route's always
    // reads; and a remembered key is refused once its expiry has passed (api_key_expired).
    use ledger_app::Via;
    use ledger_app::people::authenticate::KeyCache;
    use ledger_app::people::keys::{CreateApiKey, CreateApiKeyBody};
    let directory = tempfile::tempdir().unwrap();
    let store = store(&directory).await;
    let keys = KeyCache::default();
    let app_at = |offset: Duration| App {
        keys: keys.clone(),
        ..at(&store, offset)
    };
    let now = app_at(Duration::zero());
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
    let user = authenticate(&now, &session.access_token, None, KeyCheck::Now)
        .await
        .unwrap();
    let expires_at = (start() + Duration::minutes(10)).to_rfc3339();
    let created = now
        .perform(
            &user,
            CreateApiKey(CreateApiKeyBody {
                name: "nightly export".to_owned(),
                role: None,
                expires_at: Some(expires_at),
            }),
        )
        .await
        .unwrap();
    let read_now = |caller: &Caller| match caller.via {
        Via::ApiKey { read_now, .. } => read_now,
        other => panic!("not a key: {other:?}"),
    };
    let check = ledger_app::people::authenticate::KeyCheck::ByTheOperation;
    let first = authenticate(&app_at(Duration::minutes(1)), &created.key, None, check)
        .await
        .unwrap();
    assert!(read_now(&first), "an unknown key is read");
    assert_eq!(keys.len(), 1);
    let known = authenticate(&app_at(Duration::minutes(2)), &created.key, None, check)
        .await
        .unwrap();
    assert!(!read_now(&known), "a known key is taken from memory");
    let read = authenticate(
        &app_at(Duration::minutes(2)),
        &created.key,
        None,
        KeyCheck::Now,
    )
    .await
    .unwrap();
    assert!(read_now(&read), "a read route reads the key");
    let expired = authenticate(&app_at(Duration::minutes(11)), &created.key, None, check)
        .await
        .unwrap_err();
    assert_eq!(expired.code, "api_key_expired");
}
