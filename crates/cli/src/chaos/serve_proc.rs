//! A `crosslock serve` child process that a scenario can kill with SIGKILL
//! and start again on the same data dir and ports.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::Broken;

/// A free loopback port (the OS picks; another process could take it
/// before the child binds it, which the readiness wait reports).
pub(crate) fn free_port() -> Result<u16, Broken> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The provider process.
#[derive(Debug)]
pub(crate) struct ServeProcess {
    child: Option<Child>,
    data: PathBuf,
    port: u16,
    admin: u16,
    config: PathBuf,
    log: PathBuf,
    /// `ulimit -f` for the child, in KiB: every file it writes is capped.
    file_limit_kib: Option<u64>,
    http: reqwest::Client,
}

impl ServeProcess {
    /// Starts a provider named `name` on `data` and waits until it serves.
    pub(crate) async fn start(
        data: &Path,
        name: &str,
        file_limit_kib: Option<u64>,
    ) -> Result<ServeProcess, Broken> {
        let parent = data.parent().unwrap_or(data);
        let config = parent.join(format!("{name}.toml"));
        // Epochs every second so that the transparency log keeps publishing
        // while the scenario kills it.
        std::fs::write(
            &config,
            format!("[provider]\nname = \"{name}\"\n\n[transparency]\nepoch_interval_secs = 1\n"),
        )?;
        let mut p = ServeProcess {
            child: None,
            data: data.to_owned(),
            port: free_port()?,
            admin: free_port()?,
            config,
            log: parent.join(format!("{name}.log")),
            file_limit_kib,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()?,
        };
        p.spawn()?;
        p.ready().await?;
        Ok(p)
    }

    fn spawn(&mut self) -> Result<(), Broken> {
        let exe = std::env::current_exe()?;
        let mut command = match self.file_limit_kib {
            None => Command::new(&exe),
            Some(kib) => {
                // A shell caps the file size and ignores SIGXFSZ, so that a
                // write past the cap fails with EFBIG instead of killing the
                // process; exec keeps both for the provider.
                let mut c = Command::new("sh");
                c.arg("-c")
                    .arg("trap '' XFSZ; ulimit -f \"$CHAOS_FILE_LIMIT\" && exec \"$@\"")
                    .arg("sh")
                    .arg(&exe)
                    .env("CHAOS_FILE_LIMIT", kib.to_string());
                c
            }
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--admin-listen")
            .arg(format!("127.0.0.1:{}", self.admin))
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        self.child = Some(command.spawn()?);
        Ok(())
    }

    /// Waits (at most 60 s) until `/healthz` answers.
    // Times out by the wall clock (human-scale waits), not protocol time.
    #[allow(clippy::disallowed_methods)]
    pub(crate) async fn ready(&mut self) -> Result<(), Broken> {
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                return Err(Broken(format!(
                    "the provider exited ({status}); see {}",
                    self.log.display()
                )));
            }
            let url = format!("http://127.0.0.1:{}/healthz", self.admin);
            if let Ok(r) = self.http.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > until {
                return Err(Broken(format!(
                    "the provider did not become ready in 60 s; see {}",
                    self.log.display()
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no shutdown code runs, nothing is flushed.
    pub(crate) fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, and waits for the graceful exit (at most 20 s, then
    /// SIGKILL).
    // Times out by the wall clock (human-scale waits), not protocol time.
    #[allow(clippy::disallowed_methods)]
    pub(crate) async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let until = Instant::now() + Duration::from_secs(20);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the provider again on the same data dir and ports.
    pub(crate) async fn restart(&mut self) -> Result<(), Broken> {
        self.kill9();
        self.spawn()?;
        self.ready().await
    }

    /// Removes the file-size cap for the next start.
    pub(crate) fn lift_file_limit(&mut self) {
        self.file_limit_kib = None;
    }

    /// The device-facing URL.
    pub(crate) fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The development TLS root devices trust.
    pub(crate) fn ca_pem(&self) -> Result<String, Broken> {
        Ok(std::fs::read_to_string(
            self.data.join("tls").join("tls-ca.pem"),
        )?)
    }

    /// The data dir.
    pub(crate) fn data(&self) -> &Path {
        &self.data
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}
