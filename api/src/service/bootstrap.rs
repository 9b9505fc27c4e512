//! First-start set-up shared by every instance: the token secret and the first admin.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use madoguchi_domain::{Action, DisplayName, Email, Password, Role};
use madoguchi_persistence::{
    audit::{NewAuditEvent, Outcome},
    begin, commit, settings, users, Db, StoreError,
};
use rand::{distributions::Alphanumeric, rngs::OsRng, Rng, RngCore};

use crate::{app::state::AppState, http::problem::ApiError, security::passwords::hash_password};

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error("{0}")]
    Invalid(String),
    #[error("database: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Api(String),
}

impl From<ApiError> for BootstrapError {
    fn from(e: ApiError) -> Self {
        BootstrapError::Api(e.to_string())
    }
}

/// The JWT signing secret: the configured one, or one generated once and kept in
/// the database so that every instance signs and verifies with the same key.
pub async fn jwt_secret(db: &Db, configured: Option<&str>) -> Result<Vec<u8>, BootstrapError> {
    if let Some(s) = configured {
        if s.len() < 32 {
            return Err(BootstrapError::Invalid(
                "MADOGUCHI_JWT_SECRET must be at least 32 bytes".into(),
            ));
        }
        return Ok(s.as_bytes().to_vec());
    }
    let mut bytes = [0u8; 48];
    OsRng.fill_bytes(&mut bytes);
    let candidate = URL_SAFE_NO_PAD.encode(bytes);
    let stored = settings::get_or_init(db, "jwt_secret", &candidate).await?;
    Ok(stored.into_bytes())
}

/// The key that seals TOTP secrets: the configured one, or one generated once
/// and kept in the database (like the token secret) so every instance opens
/// what another sealed. Configuring it keeps the key out of a database dump.
pub async fn totp_key(db: &Db, configured: Option<[u8; 32]>) -> Result<[u8; 32], BootstrapError> {
    if let Some(k) = configured {
        return Ok(k);
    }
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let candidate = base64::engine::general_purpose::STANDARD.encode(bytes);
    let stored = settings::get_or_init(db, "totp_key", &candidate).await?;
    base64::engine::general_purpose::STANDARD
        .decode(stored)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or_else(|| BootstrapError::Invalid("the stored TOTP key is not 32 bytes".into()))
}

/// A strong random password for the first admin (24 alphanumerics ≈ 142 bits).
pub fn generate_password() -> String {
    OsRng
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect()
}

/// The configured admin password (checked like any password), or a generated
/// one; the flag says it was generated and must be shown once.
fn chosen_password(configured: Option<&str>) -> Result<(Password, bool), BootstrapError> {
    match configured {
        Some(p) => Password::parse(p).map(|p| (p, false)).map_err(|e| {
            BootstrapError::Invalid(format!("MADOGUCHI_ADMIN_PASSWORD: {}", e.message))
        }),
        None => Password::parse(&generate_password())
            .map(|p| (p, true))
            .map_err(|e| BootstrapError::Invalid(e.to_string())),
    }
}

/// What happened to the first admin at start-up.
pub enum AdminBootstrap {
    /// An admin already existed; nothing was done.
    Existing,
    /// Created with the configured password.
    Created { email: String },
    /// Created with a generated password, to be shown once.
    Generated { email: String, password: String },
}

/// Create the first admin unless an admin exists. Call it once the server can
/// serve (the port is bound), so that a generated password is printed by a
/// start that goes on running, never by one that then fails.
pub async fn ensure_admin(
    state: &AppState,
    email: &str,
    password: Option<&str>,
) -> Result<AdminBootstrap, BootstrapError> {
    let db = &state.db;
    if users::count_with_role(db, Role::Admin).await? > 0 {
        return Ok(AdminBootstrap::Existing);
    }
    let email = Email::parse(email)
        .map_err(|e| BootstrapError::Invalid(format!("MADOGUCHI_ADMIN_EMAIL: {}", e.message)))?;
    let (password, generated) = chosen_password(password)?;
    let name = DisplayName::parse("管理者").map_err(|e| BootstrapError::Invalid(e.to_string()))?;
    let hash = hash_password(password.expose().to_owned()).await?;
    let tx = begin(db).await?;
    let created = users::insert(
        &tx,
        users::NewUser {
            email: &email,
            display_name: &name,
            role: Role::Admin,
            organization_id: None,
            password_hash: hash,
        },
        state.now(),
    )
    .await;
    let user = match created {
        Ok(u) => u,
        // Another instance won the race; its admin is the admin.
        Err(StoreError::Conflict) => return Ok(AdminBootstrap::Existing),
        Err(e) => return Err(e.into()),
    };
    madoguchi_persistence::audit::append(
        &tx,
        NewAuditEvent {
            occurred_at: state.now(),
            actor_type: "system",
            actor_id: None,
            action: Action::UserCreate.as_str().into(),
            object_type: Some("user"),
            object_id: Some(user.id.to_string()),
            ip: None,
            outcome: Outcome::Success,
            request_id: None,
            detail: Some(serde_json::json!({"reason": "first admin at start-up"})),
        },
    )
    .await?;
    commit(tx).await?;
    let email = email.into_inner();
    Ok(if generated {
        AdminBootstrap::Generated {
            email,
            password: password.expose().to_owned(),
        }
    } else {
        AdminBootstrap::Created { email }
    })
}

/// What `madoguchi reset-admin-password` did.
pub struct AdminReset {
    pub email: String,
    /// The new password when it was generated (to be shown once), else `None`.
    pub generated: Option<String>,
    /// Sessions of the account that were revoked.
    pub revoked_sessions: u64,
}

/// An operator's way back in: give the admin account `email` a new password
/// (the given one, or a generated one), reactivate it, revoke its sessions, and
/// audit it as done by the system from the command line. Refuses an email that
/// is not an admin's, so it cannot be used to take over another account.
pub async fn reset_admin_password(
    state: &AppState,
    email: &str,
    password: Option<&str>,
) -> Result<AdminReset, BootstrapError> {
    let email = Email::parse(email)
        .map_err(|e| BootstrapError::Invalid(format!("--email: {}", e.message)))?;
    let (password, generated) = chosen_password(password)?;
    let hash = hash_password(password.expose().to_owned()).await?;
    let tx = begin(&state.db).await?;
    let found = users::credentials_by_email(&tx, &email).await?;
    let Some(found) = found.filter(|c| c.user.role == Role::Admin) else {
        return Err(BootstrapError::Invalid(format!(
            "no admin account has the email {}",
            email.as_str()
        )));
    };
    let at = state.now();
    let user = users::update(
        &tx,
        found.user.id,
        found.user.version,
        users::UserChanges {
            password_hash: Some(hash),
            active: Some(true),
            ..Default::default()
        },
        at,
    )
    .await?;
    let revoked = madoguchi_persistence::sessions::revoke_all_for_user(&tx, user.id, at).await?;
    madoguchi_persistence::audit::append(
        &tx,
        NewAuditEvent {
            occurred_at: at,
            actor_type: "system",
            actor_id: None,
            action: Action::UserPasswordReset.as_str().into(),
            object_type: Some("user"),
            object_id: Some(user.id.to_string()),
            ip: None,
            outcome: Outcome::Success,
            request_id: None,
            detail: Some(serde_json::json!({
                "reason": "madoguchi reset-admin-password (command line)",
                "sessions_revoked": revoked,
            })),
        },
    )
    .await?;
    commit(tx).await?;
    Ok(AdminReset {
        email: email.into_inner(),
        generated: generated.then(|| password.expose().to_owned()),
        revoked_sessions: revoked,
    })
}
