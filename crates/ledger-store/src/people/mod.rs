//! People and keys: users, their invitations and sessions, API keys, and the append-only record of
//! security events. None of these touch the journal, so they are written by short transactions of
//! their own, not by the journal writer; each operation that changes more than one row is one
//! database transaction (a failed request leaves nothing half-done).
//!
//! Secrets never reach this module: tokens and keys arrive as their SHA-256, passwords as argon2id
//! PHC strings. Times are compared in Rust after the read, never as text in SQL (SQLite keeps them
//! as text).

use chrono::{DateTime, Utc};
use ledger_core::OrganisationId;
use uuid::Uuid;

use crate::backend::{BeginWrite, on_pool};
use crate::error::StoreError;
use crate::seek::{Seek, seek_sql};
use crate::store::Store;

/// A user as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UserRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub role: String,
    /// argon2id PHC string; `None` until the invitation is accepted.
    pub password_hash: Option<String>,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// An invitation as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct InvitationRow {
    pub user_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// A session as stored, with its user and the kind of the user's organisation (one read per
/// request).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub access_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A session and its user, as one read answers them.
#[derive(sqlx::FromRow)]
struct SessionWithUser {
    id: Uuid,
    user_id: Uuid,
    access_expires_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    organisation_id: Uuid,
    email: String,
    role: String,
    password_hash: Option<String>,
    created_by: String,
    user_created_at: DateTime<Utc>,
    password_changed_at: Option<DateTime<Utc>>,
    disabled_at: Option<DateTime<Utc>>,
}

impl SessionWithUser {
    fn split(self) -> (SessionRow, UserRow) {
        (
            SessionRow {
                id: self.id,
                user_id: self.user_id,
                access_expires_at: self.access_expires_at,
                expires_at: self.expires_at,
                created_at: self.created_at,
                revoked_at: self.revoked_at,
            },
            UserRow {
                id: self.user_id,
                organisation_id: self.organisation_id,
                email: self.email,
                role: self.role,
                password_hash: self.password_hash,
                created_by: self.created_by,
                created_at: self.user_created_at,
                password_changed_at: self.password_changed_at,
                disabled_at: self.disabled_at,
            },
        )
    }
}

/// A new session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    pub id: Uuid,
    pub user_id: Uuid,
    pub access_hash: [u8; 32],
    pub access_expires_at: DateTime<Utc>,
    pub refresh_hash: [u8; 32],
    pub expires_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// What became of an invitation's use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationUse {
    /// The password is set; the user's sessions (none yet, or older ones) are revoked.
    Accepted(Box<UserRow>),
    Unknown,
    Used,
    Expired,
}

/// What became of a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    Rotated(Box<(SessionRow, UserRow)>),
    /// No live session holds this refresh token (unknown, rotated away, revoked or ended).
    Refused,
}

macro_rules! user_columns {
    () => {
        "id, organisation_id, email, role, password_hash, created_by, created_at, password_changed_at, disabled_at"
    };
}
macro_rules! session_columns {
    () => {
        "id, user_id, access_expires_at, expires_at, created_at, revoked_at"
    };
}

macro_rules! insert_event {
    ($executor:expr, $event:expr) => {
        sqlx::query(
            "INSERT INTO security_events (id, at, kind, organisation_id, user_id, subject, client, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind($event.id)
        .bind($event.at)
        .bind(&$event.kind)
        .bind($event.organisation_id)
        .bind($event.user_id)
        .bind(&$event.subject)
        .bind(&$event.client)
        .bind(&$event.detail)
        .execute($executor)
        .await?
    };
}

/// Revokes every live session of a user, in the transaction given.
macro_rules! revoke_sessions {
    ($executor:expr, $user_id:expr, $now:expr) => {
        sqlx::query("UPDATE sessions SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL")
            .bind($user_id)
            .bind($now)
            .execute($executor)
            .await?
    };
}

/// Sets a user's password and revokes every session it had, in the transaction given.
macro_rules! set_password {
    ($transaction:expr, $user_id:expr, $hash:expr, $now:expr) => {
        sqlx::query("UPDATE users SET password_hash = $2, password_changed_at = $3 WHERE id = $1")
            .bind($user_id)
            .bind($hash)
            .bind($now)
            .execute($transaction)
            .await?;
        revoke_sessions!($transaction, $user_id, $now);
    };
}

mod events;
mod keys;

pub use events::{SecurityEventFilter, SecurityEventRow};
pub use keys::{ApiKeyRow, KeyCreation};

impl Store {
    /// Runs `update` (an UPDATE of the row `$1` that sets `$2` only while it is unset) and, when
    /// it changed the row, records `event`, in one transaction. False when nothing changed.
    async fn change_once(
        &self,
        update: &'static str,
        id: Uuid,
        now: DateTime<Utc>,
        event: &SecurityEventRow,
    ) -> Result<bool, StoreError> {
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            let changed = sqlx::query(update)
                .bind(id)
                .bind(now)
                .execute(&mut *transaction)
                .await?
                .rows_affected();
            if changed != 1 {
                return Ok(false);
            }
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
            Ok(true)
        })
    }

    /// Records a security event on its own.
    pub async fn record_security_event(&self, event: &SecurityEventRow) -> Result<(), StoreError> {
        on_pool!(self.backend(), pool => {
            insert_event!(pool, event);
        });
        Ok(())
    }

    /// Creates a user with its invitation, and records the event, in one transaction. A taken
    /// email is `StoreError::UniqueViolation`.
    pub async fn create_user(
        &self,
        user: &UserRow,
        invitation_hash: [u8; 32],
        invitation_expires_at: DateTime<Utc>,
        event: &SecurityEventRow,
    ) -> Result<(), StoreError> {
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO users (id, organisation_id, email, role, password_hash, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, NULL, $5, $6)",
            )
            .bind(user.id)
            .bind(user.organisation_id)
            .bind(&user.email)
            .bind(&user.role)
            .bind(&user.created_by)
            .bind(user.created_at)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "INSERT INTO invitations (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(invitation_hash.as_slice())
            .bind(user.id)
            .bind(user.created_at)
            .bind(invitation_expires_at)
            .execute(&mut *transaction)
            .await?;
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
        });
        Ok(())
    }

    /// A user by id.
    pub async fn user(&self, id: Uuid) -> Result<Option<UserRow>, StoreError> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, UserRow>(sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// A user by (lower-cased) email.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = concat!("SELECT ", user_columns!(), " FROM users WHERE email = $1");
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, UserRow>(sql).bind(email).fetch_optional(pool).await?
        }))
    }

    /// Users, oldest first, optionally of one organisation, after `after` (paging by id).
    pub async fn users(
        &self,
        organisation: Option<OrganisationId>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<UserRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE ($1 IS NULL OR organisation_id = $1) AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, UserRow>(sql)
                .bind(organisation.map(|id| id.as_uuid()))
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Uses an invitation: if it is known, unused and not expired at `now`, sets the password,
    /// marks the invitation used, revokes the user's sessions and records `event`, in one
    /// transaction. A refused use records nothing here (the caller records its event).
    pub async fn accept_invitation(
        &self,
        token_hash: [u8; 32],
        password_hash: &str,
        now: DateTime<Utc>,
        event: &SecurityEventRow,
    ) -> Result<InvitationUse, StoreError> {
        let user_sql = concat!("SELECT ", user_columns!(), " FROM users WHERE id = $1");
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            let invitation: Option<InvitationRow> = sqlx::query_as(
                "SELECT user_id, created_at, expires_at, used_at FROM invitations WHERE token_hash = $1",
            )
            .bind(token_hash.as_slice())
            .fetch_optional(&mut *transaction)
            .await?;
            let Some(invitation) = invitation else {
                return Ok(InvitationUse::Unknown);
            };
            if invitation.used_at.is_some() {
                return Ok(InvitationUse::Used);
            }
            if invitation.expires_at <= now {
                return Ok(InvitationUse::Expired);
            }
            // Only an unused invitation is marked: of two concurrent uses, one changes the row.
            let marked = sqlx::query(
                "UPDATE invitations SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL",
            )
            .bind(token_hash.as_slice())
            .bind(now)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if marked != 1 {
                return Ok(InvitationUse::Used);
            }
            set_password!(&mut *transaction, invitation.user_id, password_hash, now);
            let user: UserRow = sqlx::query_as(user_sql)
                .bind(invitation.user_id)
                .fetch_one(&mut *transaction)
                .await?;
            let mut event = event.clone();
            event.user_id = Some(user.id);
            event.organisation_id = Some(user.organisation_id);
            event.subject.clone_from(&user.email);
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
            Ok(InvitationUse::Accepted(Box::new(user)))
        })
    }

    /// Sets a user's password, revokes every session of the user and records `event`, in one
    /// transaction.
    pub async fn change_password(
        &self,
        user_id: Uuid,
        password_hash: &str,
        now: DateTime<Utc>,
        event: &SecurityEventRow,
    ) -> Result<(), StoreError> {
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            set_password!(&mut *transaction, user_id, password_hash, now);
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
        });
        Ok(())
    }

    /// Disables a user (if not already), revokes its sessions and API keys, and records `event`,
    /// in one transaction. False when the user was already disabled.
    pub async fn disable_user(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
        event: &SecurityEventRow,
    ) -> Result<bool, StoreError> {
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            let changed = sqlx::query(
                "UPDATE users SET disabled_at = $2 WHERE id = $1 AND disabled_at IS NULL",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut *transaction)
            .await?
            .rows_affected();
            if changed != 1 {
                return Ok(false);
            }
            revoke_sessions!(&mut *transaction, user_id, now);
            sqlx::query("UPDATE api_keys SET revoked_at = $2 WHERE created_by = $1 AND revoked_at IS NULL")
                .bind(user_id)
                .bind(now)
                .execute(&mut *transaction)
                .await?;
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
            Ok(true)
        })
    }

    /// Opens a session and records `event`, in one transaction.
    pub async fn create_session(
        &self,
        session: &NewSession,
        event: &SecurityEventRow,
    ) -> Result<(), StoreError> {
        on_pool!(self.backend(), pool => {
            let mut transaction = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO sessions (id, user_id, access_hash, access_expires_at, refresh_hash, expires_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(session.id)
            .bind(session.user_id)
            .bind(session.access_hash.as_slice())
            .bind(session.access_expires_at)
            .bind(session.refresh_hash.as_slice())
            .bind(session.expires_at)
            .bind(session.created_at)
            .execute(&mut *transaction)
            .await?;
            insert_event!(&mut *transaction, event);
            transaction.commit().await?;
        });
        Ok(())
    }

    /// The session whose current access token hashes to `access_hash`, with its user, in one
    /// read (it is on the path of every request made with an access token).
    pub async fn session_by_access(
        &self,
        access_hash: [u8; 32],
    ) -> Result<Option<(SessionRow, UserRow)>, StoreError> {
        let sql = "SELECT s.id, s.user_id, s.access_expires_at, s.expires_at, s.created_at, s.revoked_at, \
                   u.organisation_id, u.email, u.role, u.password_hash, u.created_by, \
                   u.created_at AS user_created_at, u.password_changed_at, u.disabled_at \
                   FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.access_hash = $1";
        let row: Option<SessionWithUser> = on_pool!(self.backend(), pool => {
            sqlx::query_as(sql).bind(access_hash.as_slice()).fetch_optional(pool).await?
        });
        Ok(row.map(SessionWithUser::split))
    }

    /// A session by id.
    pub async fn session(&self, id: Uuid) -> Result<Option<SessionRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, SessionRow>(sql).bind(id).fetch_optional(pool).await?
        }))
    }

    /// A user's sessions, newest first (at most `limit`).
    pub async fn sessions_of(
        &self,
        user_id: Uuid,
        limit: u32,
    ) -> Result<Vec<SessionRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE user_id = $1 ORDER BY id DESC LIMIT $2"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, SessionRow>(sql)
                .bind(user_id)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// Rotates a live session's tokens: the refresh token hashing to `refresh_hash` is replaced,
    /// and so is the access token. Of two concurrent refreshes with one token, one wins.
    pub async fn refresh_session(
        &self,
        refresh_hash: [u8; 32],
        access_hash: [u8; 32],
        access_expires_at: DateTime<Utc>,
        new_refresh_hash: [u8; 32],
        now: DateTime<Utc>,
    ) -> Result<Refresh, StoreError> {
        let sql = concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE refresh_hash = $1"
        );
        let session: Option<SessionRow> = on_pool!(self.backend(), pool => {
            sqlx::query_as(sql).bind(refresh_hash.as_slice()).fetch_optional(pool).await?
        });
        let Some(mut session) = session else {
            return Ok(Refresh::Refused);
        };
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Ok(Refresh::Refused);
        }
        let Some(user) = self.user(session.user_id).await? else {
            return Ok(Refresh::Refused);
        };
        if user.disabled_at.is_some() {
            return Ok(Refresh::Refused);
        }
        let access_expires_at = access_expires_at.min(session.expires_at);
        let changed = on_pool!(self.backend(), pool => {
            sqlx::query(
                "UPDATE sessions SET access_hash = $2, access_expires_at = $3, refresh_hash = $4 \
                 WHERE refresh_hash = $1 AND revoked_at IS NULL",
            )
            .bind(refresh_hash.as_slice())
            .bind(access_hash.as_slice())
            .bind(access_expires_at)
            .bind(new_refresh_hash.as_slice())
            .execute(pool)
            .await?
            .rows_affected()
        });
        if changed != 1 {
            return Ok(Refresh::Refused);
        }
        session.access_expires_at = access_expires_at;
        Ok(Refresh::Rotated(Box::new((session, user))))
    }

    /// Revokes one session (if live) and records `event`, in one transaction. False when it was
    /// not live.
    pub async fn revoke_session(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        event: &SecurityEventRow,
    ) -> Result<bool, StoreError> {
        self.change_once(
            "UPDATE sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            id,
            now,
            event,
        )
        .await
    }

    /// A page of the security events matching `filter`, in id (time) order from `seek`.
    pub async fn security_events(
        &self,
        filter: &SecurityEventFilter,
        seek: Seek,
        limit: u32,
    ) -> Result<Vec<SecurityEventRow>, StoreError> {
        const QUERIES: [&str; 2] = seek_sql!(
            "id",
            "$4",
            "$5",
            "SELECT id, at, kind, organisation_id, user_id, subject, client, detail FROM security_events \
             WHERE ($1 IS NULL OR kind = $1) AND ($2 IS NULL OR user_id = $2) \
             AND ($3 IS NULL OR organisation_id = $3)"
        );
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_as::<_, SecurityEventRow>(seek.pick(&QUERIES))
                .bind(&filter.kind)
                .bind(filter.user_id)
                .bind(filter.organisation_id)
                .bind(seek.id())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }

    /// The times of the latest failed sign-ins for `subject` (an email as typed, lower-cased),
    /// newest first, at most `limit`: what the per-account throttle counts, on every instance.
    pub async fn recent_sign_in_failures(
        &self,
        subject: &str,
        limit: u32,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let sql = "SELECT at FROM security_events WHERE kind = 'sign_in_failed' AND subject = $1 \
                   ORDER BY id DESC LIMIT $2";
        Ok(on_pool!(self.backend(), pool => {
            sqlx::query_scalar::<_, DateTime<Utc>>(sql)
                .bind(subject)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?
        }))
    }
}
