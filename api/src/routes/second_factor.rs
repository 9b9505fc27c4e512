//! The staff second factor (TOTP): one's own enrolment under `/v1/me/totp`,
//! an admin's reset, and the setting that requires it of all staff.

use poem::web::Data;
use poem_openapi::{param::Path, payload::Json, ApiResponse, OpenApi};
use uuid::Uuid;

use super::ApiTags;
use crate::{
    app::state::AppState,
    http::problem::ApiError,
    security::auth::BearerAuth,
    service::second_factor as svc,
    types::{
        RecoveryCodes, SecondFactorReset, SecuritySettings, TotpCode, TotpEnrolment, TotpStatus,
    },
};

pub struct SecondFactorApi;

#[derive(ApiResponse)]
enum Removed {
    /// The second factor is removed; sign-in takes the password alone.
    #[oai(status = 204)]
    Done,
}

#[OpenApi(prefix_path = "/v1")]
impl SecondFactorApi {
    /// My second factor
    ///
    /// Any signed-in person: whether a second factor is enrolled, how many
    /// recovery codes are left, and whether one is required of them.
    #[oai(
        path = "/me/totp",
        method = "get",
        operation_id = "getMyTotp",
        tag = "ApiTags::Auth"
    )]
    async fn status(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<TotpStatus>, ApiError> {
        let s = svc::status(&state, &auth.0).await?;
        Ok(Json(TotpStatus {
            enrolled: s.enrolled,
            recovery_codes_left: s.recovery_codes_left,
            required: s.required,
        }))
    }

    /// Start enrolling a second factor
    ///
    /// Agents and admins. A new TOTP secret (RFC 6238: SHA-1, 6 digits, 30
    /// seconds) as an `otpauth://` URI and its QR code; it works once a code
    /// from it is confirmed (`POST /v1/me/totp/confirm`). Starting again
    /// replaces an unconfirmed secret; with a factor already enrolled, 409.
    #[oai(
        path = "/me/totp",
        method = "post",
        operation_id = "startTotpEnrolment",
        tag = "ApiTags::Auth"
    )]
    async fn start(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<TotpEnrolment>, ApiError> {
        let e = svc::start(&state, &auth.0).await?;
        Ok(Json(TotpEnrolment {
            secret: e.secret,
            otpauth_uri: e.otpauth_uri,
            qr_svg: e.qr_svg,
        }))
    }

    /// Confirm the second factor
    ///
    /// Agents and admins, after `POST /v1/me/totp`: a current code from the
    /// app. The factor is live from now on, and ten one-time recovery codes
    /// are answered, shown only this once. A wrong code is a 422 naming `code`
    /// and counts against the account like a wrong password (429 with
    /// `Retry-After` after too many).
    #[oai(
        path = "/me/totp/confirm",
        method = "post",
        operation_id = "confirmTotp",
        tag = "ApiTags::Auth"
    )]
    async fn confirm(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<TotpCode>,
    ) -> Result<Json<RecoveryCodes>, ApiError> {
        let codes = svc::confirm(&state, &auth.0, &body.0.code.0).await?;
        Ok(Json(RecoveryCodes {
            recovery_codes: codes,
        }))
    }

    /// Remove my second factor
    ///
    /// Any signed-in person with one, proven with a current code or a
    /// recovery code (a token alone cannot take it away). A wrong code is a
    /// 422 naming `code`, throttled like a password. While staff must use a
    /// second factor, the session may then only enrol a new one.
    #[oai(
        path = "/me/totp",
        method = "delete",
        operation_id = "removeTotp",
        tag = "ApiTags::Auth"
    )]
    async fn remove(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<TotpCode>,
    ) -> Result<Removed, ApiError> {
        svc::remove(&state, &auth.0, &body.0.code.0).await?;
        Ok(Removed::Done)
    }

    /// Reset a user's second factor
    ///
    /// Admin (audited), for a lost or replaced phone: the factor and its
    /// recovery codes are removed and every session of the person ends; they
    /// sign in with the password and enrol again. 404 when they have none.
    #[oai(
        path = "/users/:id/totp",
        method = "delete",
        operation_id = "resetUserTotp",
        tag = "ApiTags::Users"
    )]
    async fn reset(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        id: Path<Uuid>,
    ) -> Result<Json<SecondFactorReset>, ApiError> {
        let ended = svc::reset(&state, &auth.0, id.0).await?;
        Ok(Json(SecondFactorReset {
            sessions_revoked: ended,
        }))
    }

    /// Security settings
    ///
    /// Admin.
    #[oai(
        path = "/security-settings",
        method = "get",
        operation_id = "getSecuritySettings",
        tag = "ApiTags::Users"
    )]
    async fn settings(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
    ) -> Result<Json<SecuritySettings>, ApiError> {
        Ok(Json(SecuritySettings {
            staff_totp_required: svc::settings(&state, &auth.0).await?,
        }))
    }

    /// Change the security settings
    ///
    /// Admin, audited. With `staff_totp_required`, every agent and admin
    /// without a second factor may only enrol one until they have (their
    /// requests elsewhere are 403 `second-factor-enrolment-required`),
    /// on every instance at once.
    #[oai(
        path = "/security-settings",
        method = "put",
        operation_id = "putSecuritySettings",
        tag = "ApiTags::Users"
    )]
    async fn put_settings(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        body: Json<SecuritySettings>,
    ) -> Result<Json<SecuritySettings>, ApiError> {
        let on = svc::set_staff_required(&state, &auth.0, body.0.staff_totp_required).await?;
        Ok(Json(SecuritySettings {
            staff_totp_required: on,
        }))
    }
}
