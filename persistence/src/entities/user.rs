use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub organization_id: Option<Uuid>,
    pub password_hash: String,
    pub active: bool,
    /// The confirmed TOTP secret (RFC 6238), sealed; null until enrolled.
    pub totp_secret: Option<String>,
    /// A TOTP secret handed out for enrolment and not yet confirmed, sealed.
    pub totp_pending_secret: Option<String>,
    /// The last TOTP time step accepted: a code is good once.
    pub totp_last_step: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
