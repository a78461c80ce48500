//! `disk-full`: the provider's data dir fills up while a phone sends. The
//! data dir is a small tmpfs when this process may mount one (root in a
//! sandbox, CI); otherwise every file the provider writes is capped with
//! `ulimit -f`. While full, sends are refused with a clear error and not
//! acknowledged, an enrolment is refused, and the provider keeps running;
//! once there is room again (the tmpfs grows; or a restart without the
//! cap) the unsent messages go through, everything acknowledged arrives
//! exactly once, and every database passes SQLite's integrity check.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::phones::{drain, enrol_all};
use super::serve_proc::ServeProcess;
use super::{Broken, Ledger, Outcome, Rng, Size, check};

const NUMBERS: [&str; 3] = ["+15550300001", "+15550300002", "+15550300003"];
/// Text bytes per message: big, so that the disk fills quickly.
const PADDING: usize = 8 * 1024;

/// A tmpfs mounted on the data dir; unmounted when dropped.
#[derive(Debug)]
struct Tmpfs(PathBuf);

impl Tmpfs {
    /// Mounts `size` (e.g. `4m`) on `path`, or None where not permitted.
    fn mount(path: &Path, size: &str) -> Option<Tmpfs> {
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(path)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(path.to_owned()))
    }

    fn grow(&self, size: &str) -> Result<(), Broken> {
        let status = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&self.0)
            .status()?;
        check(status.success(), "remounting the tmpfs larger")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

pub(crate) async fn run(_rng: &mut Rng, size: Size, dir: &Path) -> Result<Outcome, Broken> {
    let data = dir.join("provider");
    std::fs::create_dir_all(&data)?;
    let tmpfs = Tmpfs::mount(&data, "3m");
    let cap = if tmpfs.is_some() { None } else { Some(1536) };
    let mut serve = ServeProcess::start(&data, "full.example", cap).await?;
    let ledger = Ledger::default();
    let mut phones = enrol_all(dir, &NUMBERS, &serve.url(), &serve.ca_pem()?, 3).await?;
    let recipients: Vec<String> = NUMBERS[1..].iter().map(|s| (*s).to_owned()).collect();
    let group = phones[0].create_group(&recipients).await?;
    for p in &mut phones[1..] {
        p.sync(&ledger, 2).await?;
    }
    let mut operations = 0u64;
    let mut notes = vec![match &tmpfs {
        Some(_) => "data dir on a 3 MiB tmpfs".to_owned(),
        None => "not allowed to mount: every provider file capped at 1.5 MiB".to_owned(),
    }];

    // Fill: the recipients do not sync, so every copy stays stored.
    let mut refusals = 0;
    let most = size.pick(4000, 4000);
    let mut n = 0;
    while refusals < 3 && n < most {
        n += 1;
        operations += 1;
        let sent = phones[0]
            .send_padded(&group, &format!("full-{n}"), PADDING, &recipients, &ledger)
            .await?;
        if !sent {
            refusals += 1;
        }
    }
    let refusal = phones[0].last_refusal.clone().unwrap_or_default();
    check(
        refusals == 3,
        format!("the disk never filled ({n} messages sent)"),
    )?;
    // A full tmpfs is ENOSPC, which SQLite reports as SQLITE_FULL: 507. A
    // capped file is EFBIG, which it reports as a write I/O error: 500.
    let expected = if tmpfs.is_some() {
        "507 storage-full"
    } else {
        "500 storage-failure"
    };
    check(
        refusal == expected,
        format!("a full disk answered {refusal:?}, not {expected}"),
    )?;
    notes.push(format!(
        "full after {} messages: sends refused with {refusal}",
        n - 3
    ));
    serve.ready().await?;
    notes.push("provider still up while full".into());

    // An enrolment while full is refused, changing nothing.
    operations += 1;
    let late_dir = dir.join("phone-late");
    let late = crate::device::init(
        &late_dir,
        "+15550300009",
        "ios",
        &serve.url(),
        serve.ca_pem()?,
    )
    .await;
    let mut late = late?;
    let enrolled = crate::device::convo::enroll(
        &mut late,
        "chaos",
        3,
        false,
        &mut crate::device::Report::default(),
    )
    .await;
    if let Err(e) = &enrolled {
        notes.push(format!("enrolment while full refused: {e}"));
    } else {
        notes.push("enrolment while full succeeded (it fitted)".into());
    }

    // Room again.
    match &tmpfs {
        Some(t) => t.grow("64m")?,
        None => {
            serve.lift_file_limit();
            serve.restart().await?;
        }
    }
    operations += 1;
    check(
        phones[0].flush(&ledger).await?,
        "unsent messages after room was made",
    )?;
    drain(&mut phones, &ledger, 60).await?;
    operations += 1;
    if enrolled.is_err() {
        crate::device::convo::enroll(
            &mut late,
            "chaos",
            3,
            false,
            &mut crate::device::Report::default(),
        )
        .await
        .map_err(|e| Broken(format!("enrolment after room was made: {e}")))?;
        notes.push("enrolment after room was made succeeded".into());
    }
    serve.stop().await;
    let checked = integrity(serve.data())?;
    notes.push(format!("{checked} databases pass PRAGMA integrity_check"));
    drop(serve);
    drop(tmpfs);
    Ok(Outcome {
        operations,
        tally: ledger.tally(),
        notes,
    })
}

/// Runs SQLite's integrity check on every database under `dir`.
fn integrity(dir: &Path) -> Result<usize, Broken> {
    let mut checked = 0;
    for path in databases(dir) {
        let conn = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )?;
        let verdict: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
        check(
            verdict == "ok",
            format!("{}: integrity_check says {verdict}", path.display()),
        )?;
        checked += 1;
    }
    Ok(checked)
}

fn databases(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                out.extend(databases(&path));
            } else if path.extension().is_some_and(|e| e == "sqlite3") {
                out.push(path);
            }
        }
    }
    out
}
