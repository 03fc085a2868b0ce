//! Renders `conformance-report/index.html` in headless Chromium (Debian's `chromium` package) and
//! checks the screenshot is a real picture of the page. Without `/usr/bin/chromium` the trial is
//! reported as ignored with the reason, never as passed.
//!
//! The PNG is kept at `target/tmp/conformance-report.png` to look at.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use libtest_mimic::{Arguments, Completion, Failed, Trial};

const CHROMIUM: &str = "/usr/bin/chromium";
const WIDTH: u32 = 1400;
const HEIGHT: u32 = 1000;
/// A blank or error page of this size compresses to a few KiB; the matrix is far busier.
const MIN_PNG_BYTES: u64 = 40_000;
const TIMEOUT: Duration = Duration::from_secs(120);

fn screenshot(page: &Path, png: &Path, profile: &Path) -> Result<(), Failed> {
    let mut child = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {CHROMIUM}: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(status) if status.success() => return Ok(()),
            Some(status) => return Err(format!("{CHROMIUM} exited with {status}").into()),
            None if started.elapsed() > TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{CHROMIUM} took longer than {TIMEOUT:?}").into());
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// Width and height from the PNG's IHDR chunk, after checking the signature.
fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let signature = b"\x89PNG\r\n\x1a\n";
    if bytes.get(..8)? != signature || bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    Some((word(16)?, word(20)?))
}

fn check() -> Result<Completion, Failed> {
    if !Path::new(CHROMIUM).exists() {
        return Ok(Completion::ignored_with(format!(
            "skipped: {CHROMIUM} is not installed (apt-get install chromium)"
        )));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let page = root.join("conformance-report").join("index.html");
    if !page.exists() {
        return Err(format!("{} is missing; run `tcpconf matrix` first", page.display()).into());
    }
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let png = tmp.join("conformance-report.png");
    let profile = tmp.join(format!("chromium-profile-{}", std::process::id()));
    let _ = std::fs::remove_file(&png);
    let shot = screenshot(&page, &png, &profile);
    let _ = std::fs::remove_dir_all(&profile);
    shot?;
    let bytes = std::fs::read(&png).map_err(|e| format!("{}: {e}", png.display()))?;
    match png_size(&bytes) {
        Some((WIDTH, HEIGHT)) => {}
        Some((w, h)) => return Err(format!("screenshot is {w}×{h}, not {WIDTH}×{HEIGHT}").into()),
        None => return Err(format!("{} is not a PNG", png.display()).into()),
    }
    if (bytes.len() as u64) < MIN_PNG_BYTES {
        return Err(format!(
            "{} has only {} bytes: the page rendered (nearly) blank",
            png.display(),
            bytes.len()
        )
        .into());
    }
    Ok(Completion::Completed)
}

fn main() {
    let args = Arguments::from_args();
    let trials = vec![Trial::ignorable_test(
        "index_html_renders_in_chromium",
        check,
    )];
    libtest_mimic::run(&args, trials).exit();
}
