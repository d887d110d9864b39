//! A throwaway PostgreSQL server for dynamic-secret tests: its own data
//! directory and port, run as the `postgres` user (PostgreSQL refuses root),
//! password authentication over TCP so Vault's credentials are really checked.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Password of the superuser Vault connects as.
pub(crate) const ADMIN_PASSWORD: &str = "vault-admin-pw";

/// A running PostgreSQL; stopped on drop.
pub(crate) struct Postgres {
    /// TCP port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
}

fn as_postgres(program: &str) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--", program]);
    command
}

fn run(command: &mut Command, what: &str) {
    let output = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl Postgres {
    /// Initialises and starts a server (PostgreSQL's initdb, pg_ctl and psql
    /// must be on PATH; the machine's `postgres` user runs it).
    pub(crate) fn start() -> Postgres {
        let dir = tempfile::Builder::new()
            .prefix("vcsi-pg")
            .tempdir()
            .unwrap();
        run(
            Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path()),
            "chown the data dir",
        );
        let data = dir.path().join("data");
        run(
            as_postgres("initdb").arg("-D").arg(&data).args([
                "-U",
                "postgres",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ]),
            "initdb",
        );
        let port = super::bao::free_port();
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -k {}",
            dir.path().display()
        );
        run(
            as_postgres("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-o", &options, "-w", "-l"])
                .arg(dir.path().join("log"))
                .arg("start"),
            "pg_ctl start",
        );
        let server = Postgres { port, dir };
        server.psql_local(&format!("ALTER USER postgres PASSWORD '{ADMIN_PASSWORD}'"));
        server
    }

    /// Runs SQL as the superuser over the local socket.
    pub(crate) fn psql_local(&self, sql: &str) {
        run(
            as_postgres("psql").args(["-h"]).arg(self.dir.path()).args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ]),
            "psql",
        );
    }

    /// Whether `user`/`password` can log in over TCP and run a query.
    pub(crate) fn can_login(&self, user: &str, password: &str) -> bool {
        Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                user,
                "-d",
                "postgres",
            ])
            .args(["-tAc", "select 1"])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "5")
            .stdin(Stdio::null())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    /// The URL template Vault's database plugin connects with.
    pub(crate) fn vault_connection_url(&self) -> String {
        format!(
            "postgresql://{{{{username}}}}:{{{{password}}}}@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres("pg_ctl")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}
