//! The service's own secrets on disk (the JWT secret, the checkpoint signing key, both 0600) and
//! the `token` command that signs with the first.

use super::*;

/// The file holding the generated HS256 secret.
pub(super) fn secret_file(data_dir: &Path) -> PathBuf {
    data_dir.join("jwt-secret")
}

/// The HS256 secret: configured, or read from the data directory, or (when `create`) generated.
pub(super) fn hs256_secret(
    auth: &AuthArgs,
    data_dir: &Path,
    create: bool,
) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = &auth.jwt_secret {
        return Ok(secret.as_bytes().to_vec());
    }
    let path = secret_file(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(secret) => Ok(secret.trim().as_bytes().to_vec()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && create => {
            std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
            let secret = hex_encode(&rand::random::<[u8; 32]>());
            write_private_file(&path, &secret)?;
            tracing::info!(path = %path.display(), "created a random JWT secret; `solidarity-ledger token` signs with it");
            Ok(secret.into_bytes())
        }
        Err(error) => Err(error).with_context(|| {
            format!(
                "reading the JWT secret from {} (start `serve` once to create it, or set SOLIDARITY_JWT_SECRET)",
                path.display()
            )
        }),
    }
}

/// The key checkpoints are signed with: the file given, or <data-dir>/checkpoint-key, generated
/// (from the operating system's random source) when that default file is missing.
pub(super) fn checkpoint_signing_key(
    key_file: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<ledger_core::checkpoint::SigningKey> {
    let (path, create) = match key_file {
        Some(path) => (path.to_path_buf(), false),
        None => (data_dir.join("checkpoint-key"), true),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && create => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let secret: [u8; 32] = rand::random();
            let key = ledger_core::checkpoint::SigningKey::from_bytes(&secret);
            write_private_file(
                &path,
                &format!("{}\n", ledger_core::checkpoint::signing_key_hex(&key)),
            )?;
            tracing::info!(
                path = %path.display(),
                key_id = %ledger_core::checkpoint::key_id(&key.verifying_key()),
                "created a random checkpoint signing key; publish its public key (GET /v1/checkpoints/public-key)"
            );
            return Ok(key);
        }
        Err(error) => {
            return Err(error)
                .with_context(|| format!("reading the checkpoint key from {}", path.display()));
        }
    };
    ledger_core::checkpoint::parse_signing_key_hex(&text)
        .with_context(|| format!("reading the checkpoint key from {}", path.display()))
}

pub(super) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Writes a file only its owner can read (mode 0600 on Unix).
pub(super) fn write_private_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

pub(super) fn token_verifier(auth: &AuthArgs, data_dir: &Path) -> anyhow::Result<TokenVerifier> {
    let issuer = auth.jwt_issuer.as_deref();
    let audience = auth.jwt_audience.as_deref();
    match &auth.jwt_public_key_file {
        Some(path) => {
            let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Ok(TokenVerifier::public_key(
                &auth.jwt_algorithm,
                &pem,
                issuer,
                audience,
            )?)
        }
        None => Ok(TokenVerifier::hs256(
            &hs256_secret(auth, data_dir, true)?,
            issuer,
            audience,
        )?),
    }
    .map(|verifier| verifier.with_max_lifetime(auth.max_token_lifetime))
}

pub(super) fn parse_lifetime(text: &str) -> Result<Duration, String> {
    parse_ttl(text).ok_or_else(|| format!("`{text}` is not a lifetime like 30m, 1h or 7d"))
}

/// Parses `30m`, `1h`, `7d`, `90s`.
pub(super) fn parse_ttl(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.len().checked_sub(1)?);
    let number: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "m" => number.checked_mul(60)?,
        "h" => number.checked_mul(3600)?,
        "d" => number.checked_mul(86_400)?,
        _ => return None,
    };
    (seconds > 0).then(|| Duration::from_secs(seconds))
}

pub(super) async fn token(arguments: TokenArgs) -> anyhow::Result<ExitCode> {
    if arguments.auth.jwt_public_key_file.is_some() {
        anyhow::bail!(
            "tokens are issued by the external identity provider when a public key is configured"
        );
    }
    let role = Role::parse(&arguments.role).with_context(|| {
        format!(
            "unknown role `{}` (contributor, beneficiary, auditor, admin)",
            arguments.role
        )
    })?;
    let ttl = parse_ttl(&arguments.ttl)
        .with_context(|| format!("`{}` is not a lifetime like 30m, 1h or 7d", arguments.ttl))?;
    if ttl > arguments.auth.max_token_lifetime {
        anyhow::bail!(
            "--ttl {} is longer than the {} s the service accepts (--max-token-lifetime)",
            arguments.ttl,
            arguments.auth.max_token_lifetime.as_secs()
        );
    }
    let organisation = match arguments.org.parse::<uuid::Uuid>() {
        Ok(id) => id,
        Err(_) => {
            let store = open(&arguments.database).await?;
            store.migrate().await.context("applying migrations")?;
            store
                .organisation_by_slug(&arguments.org)
                .await?
                .with_context(|| format!("no organisation with slug `{}`", arguments.org))?
                .id
                .as_uuid()
        }
    };
    let secret = hs256_secret(&arguments.auth, &arguments.database.data_dir, false)?;
    if secret.len() < ledger_api::auth::MINIMUM_SECRET_BYTES {
        anyhow::bail!(
            "the JWT secret must have at least {} bytes",
            ledger_api::auth::MINIMUM_SECRET_BYTES
        );
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let claims = Claims {
        sub: arguments.subject,
        org: organisation.to_string(),
        role,
        exp: now + ttl.as_secs(),
        iat: Some(now),
        iss: arguments.auth.jwt_issuer,
        aud: arguments.auth.jwt_audience,
    };
    println!("{}", mint_hs256(&secret, &claims)?);
    Ok(ExitCode::SUCCESS)
}
