//! Test support: a fresh, empty database per test on the PostgreSQL
//! server the test run started, so tests run in parallel and never see
//! each other's rows.
//!
//! The server comes from `CROSSLOCK_TEST_POSTGRES` (a URL of a role that
//! may create databases; `scripts/postgres start` prints one and
//! `scripts/test` sets it). Without it, [`server`] answers `None` and the
//! caller skips, saying so on stderr, unless `CROSSLOCK_REQUIRE_POSTGRES=1`
//! (as `scripts/test` and so CI set): then it panics, so a run that should
//! have tested PostgreSQL cannot pass without doing it.

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::database::{Database, Options};
use crate::error::Error;

/// The variable holding the test server's URL.
pub const URL_VAR: &str = "CROSSLOCK_TEST_POSTGRES";
/// The variable that makes a missing test server a failure.
pub const REQUIRE_VAR: &str = "CROSSLOCK_REQUIRE_POSTGRES";

/// The test server: where the fresh databases are made.
#[derive(Debug)]
pub struct TestServer {
    url: String,
    admin: Database,
}

/// The test server of this run, connected once per process. `None` (after
/// saying on stderr that `test` is skipped) when [`URL_VAR`] is not set;
/// panics when it is not set but [`REQUIRE_VAR`] is `1`, or when the
/// server cannot be reached.
pub fn server(test: &str) -> Option<&'static TestServer> {
    static SERVER: OnceLock<Option<TestServer>> = OnceLock::new();
    let server = SERVER.get_or_init(|| {
        let url = std::env::var(URL_VAR).ok().filter(|u| !u.is_empty())?;
        let admin = Database::connect(
            &url,
            &Options {
                max_connections: 4,
                threads: 1,
                ..Options::default()
            },
        )
        .unwrap_or_else(|e| panic!("{URL_VAR} is set but the server cannot be used: {e}"));
        Some(TestServer { url, admin })
    });
    if server.is_none() {
        if std::env::var(REQUIRE_VAR).is_ok_and(|v| v == "1") {
            panic!(
                "{test}: {REQUIRE_VAR}=1 but {URL_VAR} is not set: start a server with \
                 `env=$(scripts/postgres start) && eval \"$env\"` (scripts/test does)"
            );
        }
        // Straight to stderr, past the test harness's capture: a plain
        // `cargo test` shows what it did not test.
        let _ = writeln!(
            std::io::stderr(),
            "{test}: skipped, {URL_VAR} is not set (scripts/test starts a PostgreSQL server; \
             or `env=$(scripts/postgres start) && eval \"$env\"`)"
        );
    }
    server.as_ref()
}

impl TestServer {
    /// A new, empty database, dropped (with whatever is connected to it)
    /// when the returned value is.
    pub fn database(&'static self) -> Result<TestDatabase, Error> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        // Unique among the processes running now; a leftover of a crashed
        // earlier process with the same id is dropped first.
        let name = format!(
            "crosslock_t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let url = with_database(&self.url, &name)?;
        let create = name.clone();
        self.admin.run(|pool| async move {
            let drop = format!("DROP DATABASE IF EXISTS {create} WITH (FORCE)");
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&pool)
                .await?;
            let create = format!("CREATE DATABASE {create}");
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&pool)
                .await?;
            Ok::<_, Error>(())
        })?;
        Ok(TestDatabase {
            name,
            url,
            server: self,
        })
    }
}

/// A database made for one test.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    server: &'static TestServer,
}

impl TestDatabase {
    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = self.server.admin.run(|pool| async move {
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&pool)
                .await?;
            Ok::<_, Error>(())
        });
        if let Err(e) = dropped {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// `url` with its database (the URL's path) replaced by `database`.
fn with_database(url: &str, database: &str) -> Result<String, Error> {
    let bad = || Error::Url("expected postgres://[user[:password]@]host[:port]/database".into());
    let scheme_end = url.find("://").ok_or_else(bad)? + 3;
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let after_path = rest[authority_end..]
        .find('?')
        .map_or("", |q| &rest[authority_end + q..]);
    Ok(format!(
        "{}{}/{database}{after_path}",
        &url[..scheme_end],
        &rest[..authority_end]
    ))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_test_database_url_keeps_everything_but_the_database() {
        let cases = [
            (
                "postgres://u:p@127.0.0.1:5432/crosslock",
                "postgres://u:p@127.0.0.1:5432/t1",
            ),
            (
                "postgres://u@h/db?sslmode=disable",
                "postgres://u@h/t1?sslmode=disable",
            ),
            ("postgresql://h:1", "postgresql://h:1/t1"),
            ("postgres://h?host=/tmp", "postgres://h/t1?host=/tmp"),
        ];
        for (url, expected) in cases {
            assert_eq!(
                with_database(url, "t1").ok().as_deref(),
                Some(expected),
                "{url}"
            );
        }
        assert!(with_database("127.0.0.1:5432/db", "t1").is_err());
    }
}
