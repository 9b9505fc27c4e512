use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum Organizations {
    Table,
    Id,
    Name,
    ContractStatus,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    DisplayName,
    Role,
    OrganizationId,
    PasswordHash,
    Active,
    TotpSecret,
    Version,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum LoginThrottle {
    Table,
    Key,
    Failures,
    WindowStartedAt,
    LockedUntil,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    OccurredAt,
    ActorType,
    ActorId,
    Action,
    ObjectType,
    ObjectId,
    Ip,
    Outcome,
    RequestId,
    Detail,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    Scope,
    Key,
    RequestHash,
    Status,
    ContentType,
    Headers,
    Body,
    CreatedAt,
}

fn ts(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Settings::Table)
                .col(
                    ColumnDef::new(Settings::Key)
                        .string_len(100)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Settings::Value).text().not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Organizations::Table)
                .col(
                    ColumnDef::new(Organizations::Id)
                        .uuid()
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Organizations::Name)
                        .string_len(400)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Organizations::ContractStatus)
                        .string_len(20)
                        .not_null(),
                )
                .col(ColumnDef::new(Organizations::Version).integer().not_null())
                .col(ts(Organizations::CreatedAt))
                .col(ts(Organizations::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                .col(
                    ColumnDef::new(Users::Email)
                        .string_len(254)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Users::DisplayName)
                        .string_len(400)
                        .not_null(),
                )
                .col(ColumnDef::new(Users::Role).string_len(20).not_null())
                .col(ColumnDef::new(Users::OrganizationId).uuid().null())
                .col(ColumnDef::new(Users::PasswordHash).text().not_null())
                .col(ColumnDef::new(Users::Active).boolean().not_null())
                .col(ColumnDef::new(Users::TotpSecret).text().null())
                .col(ColumnDef::new(Users::Version).integer().not_null())
                .col(ts(Users::CreatedAt))
                .col(ts(Users::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Users::Table, Users::OrganizationId)
                        .to(Organizations::Table, Organizations::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_users_organization")
                .table(Users::Table)
                .col(Users::OrganizationId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .col(ColumnDef::new(Sessions::Id).uuid().not_null().primary_key())
                .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                .col(ts(Sessions::CreatedAt))
                .col(ts(Sessions::ExpiresAt))
                .col(
                    ColumnDef::new(Sessions::RevokedAt)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_sessions_user")
                .table(Sessions::Table)
                .col(Sessions::UserId)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(LoginThrottle::Table)
                .col(
                    ColumnDef::new(LoginThrottle::Key)
                        .string_len(300)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(LoginThrottle::Failures).integer().not_null())
                .col(ts(LoginThrottle::WindowStartedAt))
                .col(
                    ColumnDef::new(LoginThrottle::LockedUntil)
                        .timestamp_with_time_zone()
                        .null(),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(
                    ColumnDef::new(AuditEvents::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(ts(AuditEvents::OccurredAt))
                .col(
                    ColumnDef::new(AuditEvents::ActorType)
                        .string_len(20)
                        .not_null(),
                )
                .col(ColumnDef::new(AuditEvents::ActorId).string_len(64).null())
                .col(
                    ColumnDef::new(AuditEvents::Action)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AuditEvents::ObjectType)
                        .string_len(40)
                        .null(),
                )
                .col(ColumnDef::new(AuditEvents::ObjectId).string_len(64).null())
                .col(ColumnDef::new(AuditEvents::Ip).string_len(64).null())
                .col(
                    ColumnDef::new(AuditEvents::Outcome)
                        .string_len(20)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(AuditEvents::RequestId)
                        .string_len(128)
                        .null(),
                )
                .col(ColumnDef::new(AuditEvents::Detail).text().null())
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_audit_actor", AuditEvents::ActorId),
            ("idx_audit_object", AuditEvents::ObjectId),
            ("idx_audit_occurred", AuditEvents::OccurredAt),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(AuditEvents::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(IdempotencyKeys::Table)
                .col(
                    ColumnDef::new(IdempotencyKeys::Scope)
                        .string_len(100)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdempotencyKeys::Key)
                        .string_len(255)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(IdempotencyKeys::RequestHash)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(IdempotencyKeys::Status).integer().null())
                .col(
                    ColumnDef::new(IdempotencyKeys::ContentType)
                        .string_len(200)
                        .null(),
                )
                .col(ColumnDef::new(IdempotencyKeys::Headers).text().null())
                .col(ColumnDef::new(IdempotencyKeys::Body).blob().null())
                .col(ts(IdempotencyKeys::CreatedAt))
                .primary_key(
                    Index::create()
                        .col(IdempotencyKeys::Scope)
                        .col(IdempotencyKeys::Key),
                )
                .to_owned(),
        )
        .await?;

        if m.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            // The audit trail is append-only: refuse UPDATE and DELETE at the database,
            // so not even a bug in the application can rewrite history.
            m.get_connection()
                .execute_unprepared(
                    r#"
CREATE FUNCTION madoguchi_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only
  BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION madoguchi_audit_append_only();
"#,
                )
                .await?;
        } else {
            m.get_connection()
                .execute_unprepared(
                    r#"
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END;
"#,
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        // The audit trail must never be dropped by a migration rollback.
        Err(DbErr::Migration(
            "the foundation migration cannot be rolled back".into(),
        ))
    }
}
