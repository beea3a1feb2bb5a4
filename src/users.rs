//! `solidarity-ledger user add`: invite a user from the server itself, through the same command
//! the API runs (`ledger_app::people::users::InviteUser`). This is how the first admin gets in.

use std::process::ExitCode;

use anyhow::Context;
use ledger_app::people::users::{InviteUser, InviteUserBody};
use ledger_app::{App, Caller, Role, Sources};
use ledger_store::Store;

/// The organisation every installation has (created by the migrations), on whose behalf the
/// server's own shell acts.
const NETWORK_SLUG: &str = "network";

/// Invites `email` into `organisation` with `role`; prints the single-use invitation token on
/// stdout (the rest on stderr, so scripts can capture the token).
pub async fn add(
    store: Store,
    organisation: &str,
    role: &str,
    email: &str,
) -> anyhow::Result<ExitCode> {
    store.migrate().await.context("applying migrations")?;
    let network = store
        .organisation_by_slug(NETWORK_SLUG)
        .await?
        .context("the network organisation is missing: is this a solidarity-ledger database?")?;
    let app = App::new(store, Sources::default(), Default::default());
    let shell = Caller::with_token("cli (user add)".to_owned(), network.id, Role::Admin);
    let invitation = app
        .perform(
            &shell,
            InviteUser(InviteUserBody {
                email: email.to_owned(),
                organisation: organisation.to_owned(),
                role: role.to_owned(),
            }),
        )
        .await
        .map_err(|error| {
            let fields: Vec<String> = error
                .errors
                .iter()
                .map(|field| format!("{}: {}", field.field, field.message))
                .collect();
            if fields.is_empty() {
                anyhow::anyhow!("{}", error.detail)
            } else {
                anyhow::anyhow!("{}", fields.join("; "))
            }
        })?;
    eprintln!(
        "invited {} ({}) into {organisation}; the invitation expires at {}. Set the password with\n  \
         curl -X POST <service>/v1/invitations/acceptance -H 'Content-Type: application/json' \\\n    \
         -d '{{\"invitation_token\":\"<the token below>\",\"password\":\"<12 characters or more>\"}}'",
        invitation.user.email,
        invitation.user.role.as_str(),
        invitation.expires_at,
    );
    println!("{}", invitation.invitation_token);
    Ok(ExitCode::SUCCESS)
}
