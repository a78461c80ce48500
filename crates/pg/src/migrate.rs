//! Versioned migrations, embedded in the binary and run on start.
//!
//! Each store keeps its tables in its own PostgreSQL schema (`kds`, later
//! `ds`, `acs`, `kt`), with its own migrations table (`<schema>._migrations`),
//! so stores sharing one database number their migrations independently.
//! sqlx's migrator applies what is missing, each migration in its own
//! transaction, under an advisory lock: several instances starting at
//! once apply each migration once. A migration already applied whose text
//! changed since is refused (its checksum), so a database never silently
//! runs a schema other than the one the code was written for.

use std::borrow::Cow;

use sqlx::migrate::{MigrationType, Migrator};
use sqlx::postgres::PgConnection;

use crate::error::Error;

/// One migration: applied once, in version order, never edited afterwards
/// (add a new one instead).
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Its version: 1, 2, ... in the order they apply.
    pub version: i64,
    /// What it does (recorded in the migrations table).
    pub description: &'static str,
    /// The SQL (several statements allowed), with unqualified names: it
    /// runs with the search path set to the store's schema.
    pub sql: &'static str,
}

/// A store's PostgreSQL schema and its migrations.
#[derive(Debug, Clone, Copy)]
pub struct Schema {
    /// The schema's name: lower-case letters, digits and `_`.
    pub name: &'static str,
    /// Every migration, oldest first.
    pub migrations: &'static [Migration],
}

impl Schema {
    /// Checks the name is one that needs no quoting.
    pub(crate) fn check_name(&self) -> Result<(), Error> {
        let name = self.name;
        let ok = !name.is_empty()
            && name.len() <= 63
            && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if ok {
            Ok(())
        } else {
            Err(Error::SchemaName(name.to_owned()))
        }
    }

    fn migrator(&self) -> Migrator {
        let migrations = self
            .migrations
            .iter()
            .map(|m| {
                sqlx::migrate::Migration::new(
                    m.version,
                    Cow::Borrowed(m.description),
                    MigrationType::Simple,
                    sqlx::SqlSafeStr::into_sql_str(m.sql),
                    false,
                )
            })
            .collect();
        let mut migrator = Migrator::with_migrations(migrations);
        migrator.create_schema(self.name);
        migrator.dangerous_set_table_name(format!("{}._migrations", self.name));
        migrator
    }

    /// Applies the missing migrations on `conn` (a connection of its own:
    /// if this fails, the caller closes it, and the advisory lock the
    /// migrator holds goes with it).
    pub(crate) async fn migrate(&self, conn: &mut PgConnection) -> Result<(), Error> {
        self.migrator()
            .run_direct(None, conn, false)
            .await
            .map_err(|source| Error::Migrate {
                schema: self.name,
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_that_need_quoting_are_refused() {
        for bad in ["", "KDS", "1kds", "kds-1", "kds; drop", &"a".repeat(64)] {
            let leaked: &'static str = Box::leak(bad.to_owned().into_boxed_str());
            let schema = Schema {
                name: leaked,
                migrations: &[],
            };
            assert!(schema.check_name().is_err(), "{bad:?} accepted");
        }
        for good in ["kds", "ds_2", "_x"] {
            let schema = Schema {
                name: good,
                migrations: &[],
            };
            assert!(schema.check_name().is_ok(), "{good:?} refused");
        }
    }
}
