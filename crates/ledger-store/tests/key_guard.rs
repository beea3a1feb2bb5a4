//! The writer's API-key guard, on SQLite and PostgreSQL alike: a write that carries the key it was
//! made with commits only while that key is live (not revoked, not expired, its creator not
//! disabled), read inside the write's own transaction, on every instance sharing the database;
//! and a key asked for under a request's idempotency key is stored once.

// Test code: a panic is a failed test, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Duration, Utc};
use ledger_core::Timestamp;
use ledger_core::organisation::{Organisation, OrganisationKind, Slug};
use ledger_core::{Currency, OrganisationId};
use ledger_store::people::{ApiKeyRow, KeyCreation, SecurityEventRow, UserRow};
use ledger_store::records::Record;
use ledger_store::{IdempotencyEntry, KeyGuard, Store, StoreOptions, WriteOutcome, WriteRequest};
use ledger_testkit::on_both_engines;
use ledger_testkit::store::{Fixture, open, transfer};
use uuid::Uuid;

on_both_engines!(
    a_write_with_a_key_that_is_not_live_writes_nothing_and_spares_the_others,
    a_key_revoked_through_one_instance_refuses_the_next_write_of_another,
    a_key_asked_for_twice_under_one_request_is_stored_once,
);

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn event(kind: &str) -> SecurityEventRow {
    SecurityEventRow {
        id: Uuid::now_v7(),
        at: at(),
        kind: kind.to_owned(),
        organisation_id: None,
        user_id: None,
        subject: "test".to_owned(),
        client: None,
        detail: "{}".to_owned(),
    }
}

/// Registers an organisation; returns its id.
async fn organisation(store: &Store) -> Uuid {
    let union = Organisation {
        id: OrganisationId::from_uuid(Uuid::now_v7()),
        slug: Slug::parse("union").unwrap(),
        name: "A union".into(),
        kind: OrganisationKind::Contributor,
        country: "FR".into(),
        currency: Currency::eur(),
        covered_members: Some(10),
        registry_identifier: None,
    };
    let registered = store
        .write(WriteRequest {
            records: vec![Record::Organisation(union.clone())],
            ..WriteRequest::default()
        })
        .await
        .unwrap();
    assert!(matches!(registered, WriteOutcome::Committed(_)));
    union.id.as_uuid()
}

/// Creates a user of `organisation`; returns its id.
async fn user(store: &Store, organisation: Uuid, email: &str) -> Uuid {
    let row = UserRow {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        email: email.to_owned(),
        role: "contributor".to_owned(),
        password_hash: None,
        created_by: "test".to_owned(),
        created_at: at(),
        password_changed_at: None,
        disabled_at: None,
    };
    // Each invitation's hash is unique: the user's email bytes make it so.
    let mut invitation = [0; 32];
    for (byte, from) in invitation.iter_mut().zip(email.bytes()) {
        *byte = from;
    }
    store
        .create_user(
            &row,
            invitation,
            at() + Duration::days(1),
            &event("invitation_created"),
        )
        .await
        .unwrap();
    row.id
}

/// Creates a key of `user`, expiring at `expires_at`; returns its id.
async fn key(
    store: &Store,
    organisation: Uuid,
    user: Uuid,
    prefix: &str,
    expires_at: Option<DateTime<Utc>>,
) -> Uuid {
    let row = ApiKeyRow {
        id: Uuid::now_v7(),
        organisation_id: organisation,
        created_by: user,
        name: prefix.to_owned(),
        role: "contributor".to_owned(),
        prefix: prefix.to_owned(),
        secret_hash: vec![2; 32],
        created_at: at(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    store
        .create_api_key(&row, &event("api_key_created"))
        .await
        .unwrap();
    row.id
}

/// A transfer of `minor` made with `key_id`.
fn keyed(
    debit: &ledger_core::Account,
    credit: &ledger_core::Account,
    minor: i64,
    key_id: Uuid,
) -> WriteRequest {
    WriteRequest {
        key: Some(KeyGuard { key_id, at: at() }),
        ..WriteRequest::transaction(transfer(debit, credit, minor))
    }
}

async fn a_write_with_a_key_that_is_not_live_writes_nothing_and_spares_the_others(
    fixture: Fixture,
) {
    // Proves a request whose key is revoked, expired, unknown or whose creator is disabled is
    // refused (KeyRefused) and writes nothing, while the requests around it (a live key's, a
    // still-unexpired key's, one without a key) commit, alone or in one group; and that the
    // writer reads the key each time (a key revoked after a write refuses the next one).
    let store = &fixture.store;
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    let union = organisation(store).await;
    let treasurer = user(store, union, "t@union.example").await;
    let leaver = user(store, union, "l@union.example").await;
    let live = key(store, union, treasurer, "slk_live0001", None).await;
    let later = key(
        store,
        union,
        treasurer,
        "slk_late0001",
        Some(at() + Duration::seconds(1)),
    )
    .await;
    let expired = key(store, union, treasurer, "slk_expd0001", Some(at())).await;
    let revoked = key(store, union, treasurer, "slk_revk0001", None).await;
    let of_leaver = key(store, union, leaver, "slk_leav0001", None).await;
    assert!(
        store
            .revoke_api_key(revoked, at(), &event("api_key_revoked"))
            .await
            .unwrap()
    );
    // Disabling a user revokes its keys; the guard also reads the creator itself.
    assert!(
        store
            .disable_user(leaver, at(), &event("user_disabled"))
            .await
            .unwrap()
    );
    // One write first, so that PostgreSQL's writer knows its head and tries the one-statement
    // write first (the key is then checked in that statement).
    let first = store.write(keyed(&cash, &pool, 1, live)).await.unwrap();
    assert!(matches!(first, WriteOutcome::Committed(_)), "{first:?}");
    let (a, b, c, d, e, f, g) = tokio::join!(
        store.write(keyed(&cash, &pool, 10, live)),
        store.write(keyed(&cash, &pool, 100, expired)),
        store.write(keyed(&cash, &pool, 1_000, revoked)),
        store.write(keyed(&cash, &pool, 10_000, of_leaver)),
        store.write(keyed(&cash, &pool, 100_000, Uuid::now_v7())),
        store.write(keyed(&cash, &pool, 1_000_000, later)),
        store.append(transfer(&cash, &pool, 10_000_000)),
    );
    for committed in [a.unwrap(), f.unwrap()] {
        assert!(
            matches!(committed, WriteOutcome::Committed(_)),
            "{committed:?}"
        );
    }
    for refused in [b.unwrap(), c.unwrap(), d.unwrap(), e.unwrap()] {
        assert_eq!(refused, WriteOutcome::KeyRefused);
    }
    g.unwrap();
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 11_000_011);
    assert_eq!(store.chain_head().await.unwrap().0, 4);
    // Alone, after the writer committed (PostgreSQL: the one-statement path refuses, the careful
    // path names the request).
    assert_eq!(
        store.write(keyed(&cash, &pool, 5, revoked)).await.unwrap(),
        WriteOutcome::KeyRefused
    );
    assert!(
        store
            .revoke_api_key(live, at(), &event("api_key_revoked"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.write(keyed(&cash, &pool, 5, live)).await.unwrap(),
        WriteOutcome::KeyRefused
    );
    assert_eq!(store.chain_head().await.unwrap().0, 4);
    assert!(store.verify().await.unwrap().is_valid());
}

async fn a_key_revoked_through_one_instance_refuses_the_next_write_of_another(fixture: Fixture) {
    // Proves the guard reads the shared database, not an instance's memory: a second store writes
    // with a key, the first revokes it, and the second's next write with it is refused.
    let store = &fixture.store;
    let second = Store::connect(&fixture.url, StoreOptions::default())
        .await
        .unwrap();
    let cash = open(store, "cash", "EUR").await;
    let pool = open(store, "pool", "EUR").await;
    let union = organisation(store).await;
    let treasurer = user(store, union, "t@union.example").await;
    let shared = key(store, union, treasurer, "slk_shar0001", None).await;
    let before = second.write(keyed(&cash, &pool, 1, shared)).await.unwrap();
    assert!(matches!(before, WriteOutcome::Committed(_)), "{before:?}");
    assert!(
        store
            .revoke_api_key(shared, at(), &event("api_key_revoked"))
            .await
            .unwrap()
    );
    assert_eq!(
        second.write(keyed(&cash, &pool, 2, shared)).await.unwrap(),
        WriteOutcome::KeyRefused
    );
    assert_eq!(store.balance(cash.id, None).await.unwrap(), 1);
}

async fn a_key_asked_for_twice_under_one_request_is_stored_once(fixture: Fixture) {
    // Proves create_api_key_once stores the key with its request's idempotency record, and that
    // the same request again stores nothing (no second key) and returns the first answer.
    let store = &fixture.store;
    let union = organisation(store).await;
    let treasurer = user(store, union, "t@union.example").await;
    let row = |prefix: &str| ApiKeyRow {
        id: Uuid::now_v7(),
        organisation_id: union,
        created_by: treasurer,
        name: "accounting".to_owned(),
        role: "contributor".to_owned(),
        prefix: prefix.to_owned(),
        secret_hash: vec![3; 32],
        created_at: at(),
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
    };
    let request = IdempotencyEntry {
        scope: union.to_string(),
        key: "form-1".to_owned(),
        fingerprint: [7; 32],
        response_status: 201,
        response_body: r#"{"id":"first"}"#.to_owned(),
        created_at: Timestamp::from_datetime(at()),
    };
    let first = row("slk_first001");
    let created = store
        .create_api_key_once(&first, &event("api_key_created"), &request)
        .await
        .unwrap();
    assert!(matches!(created, KeyCreation::Created), "{created:?}");
    let second = row("slk_second01");
    let again = IdempotencyEntry {
        response_body: r#"{"id":"second"}"#.to_owned(),
        ..request.clone()
    };
    match store
        .create_api_key_once(&second, &event("api_key_created"), &again)
        .await
        .unwrap()
    {
        KeyCreation::Replayed(stored) => {
            assert_eq!(stored.response_body, r#"{"id":"first"}"#);
            assert_eq!(stored.fingerprint, [7; 32]);
        }
        other => panic!("a second key under one request: {other:?}"),
    }
    assert!(store.api_key(first.id).await.unwrap().is_some());
    assert!(store.api_key(second.id).await.unwrap().is_none());
    let organisation = Some(OrganisationId::from_uuid(union));
    let keys = store
        .api_keys(organisation, ledger_store::Seek::After(None), 10)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
}
