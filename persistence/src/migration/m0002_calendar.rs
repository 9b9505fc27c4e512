use sea_orm_migration::async_trait;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CalendarOverrides {
    Table,
    Date,
    Kind,
    Intervals,
    Note,
    CreatedAt,
    CreatedBy,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CalendarOverrides::Table)
                .col(
                    ColumnDef::new(CalendarOverrides::Date)
                        .string_len(10)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(CalendarOverrides::Kind)
                        .string_len(10)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CalendarOverrides::Intervals)
                        .text()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CalendarOverrides::Note)
                        .string_len(800)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CalendarOverrides::CreatedAt)
                        .timestamp_with_time_zone()
                        .not_null(),
                )
                .col(ColumnDef::new(CalendarOverrides::CreatedBy).uuid().null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CalendarOverrides::Table).to_owned())
            .await
    }
}
