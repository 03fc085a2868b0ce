//! The external program as a child process: a line-oriented pipe to its stdin, a reader thread
//! turning its stdout into lines that can be awaited with a timeout, and the tail of its stderr
//! kept for error messages. A hung or dying program becomes a clear [`StackError`], never a
//! hang or a panic.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::stack::StackError;

/// Longest protocol line accepted from a program (a 64 KiB packet in hex is 128 KiB).
const MAX_LINE: usize = 4 << 20;
/// Lines read ahead of the requests that await them. The protocol has one answer per request, so
/// more are a misbehaving program; the bound keeps what it floods us with to a few lines' worth
/// (the reader thread waits, and the program's pipe fills, instead of our memory).
const LINES_AHEAD: usize = 4;
/// How many stderr lines are kept for error messages, and how long each may be.
const STDERR_LINES: usize = 20;
const STDERR_LINE_CHARS: usize = 500;

/// A line from the program's stdout, or why there is none.
type Line = Result<String, String>;

pub(super) struct Child {
    /// The command line, for messages.
    program: String,
    process: std::process::Child,
    stdin: Option<BufWriter<ChildStdin>>,
    lines: Receiver<Line>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// Why the last write failed, if it did: reported with the error reading the answer.
    write_error: Option<String>,
}

impl Child {
    pub(super) fn spawn(program: &str, argv: &[&str]) -> Result<Self, StackError> {
        let (cmd, args) = argv
            .split_first()
            .ok_or_else(|| StackError::Adapter("exec: no command given (use exec:CMD)".into()))?;
        let mut process = Command::new(cmd)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| StackError::Environment(format!("exec: cannot start {program:?}: {e}")))?;
        let missing = || StackError::Adapter(format!("exec: {program}: no pipe to the child"));
        let stdin = process.stdin.take().ok_or_else(missing)?;
        let stdout = process.stdout.take().ok_or_else(missing)?;
        let stderr = process.stderr.take().ok_or_else(missing)?;

        let (tx, lines) = mpsc::sync_channel(LINES_AHEAD);
        thread::spawn(move || read_lines(stdout, tx));
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr_tail);
        thread::spawn(move || keep_tail(stderr, tail));

        Ok(Self {
            program: program.to_string(),
            process,
            stdin: Some(BufWriter::new(stdin)),
            lines,
            stderr_tail,
            write_error: None,
        })
    }

    pub(super) fn program(&self) -> &str {
        &self.program
    }

    /// Writes one line to the program. A failed write is not reported here but with the
    /// answer that then cannot come: a program that already printed something and exited is
    /// better described by what it printed and its exit status than by EPIPE.
    pub(super) fn send(&mut self, line: &str) {
        let written = match self.stdin.as_mut() {
            Some(stdin) => stdin
                .write_all(line.as_bytes())
                .and_then(|()| stdin.write_all(b"\n"))
                .and_then(|()| stdin.flush()),
            None => Ok(()),
        };
        if let Err(e) = written {
            self.write_error = Some(e.to_string());
            self.stdin = None;
        }
    }

    /// The program's next line, waiting at most `timeout`.
    pub(super) fn recv(&mut self, timeout: Duration) -> Result<String, StackError> {
        match self.lines.recv_timeout(timeout) {
            Ok(Ok(line)) => Ok(line),
            Ok(Err(why)) => Err(self.broken(&why)),
            Err(RecvTimeoutError::Timeout) => Err(StackError::Adapter(format!(
                "exec: {} did not answer within {timeout:?} (hung?){}",
                self.program,
                self.stderr_note()
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(self.broken("it closed its stdout")),
        }
    }

    /// Closes stdin, gives the program `grace` to exit, then kills it.
    pub(super) fn finish(&mut self, grace: Duration) {
        self.stdin = None;
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            match self.process.try_wait() {
                Ok(Some(_)) | Err(_) => return,
                Ok(None) => thread::sleep(Duration::from_millis(5)),
            }
        }
        let _ = self.process.kill();
        let _ = self.process.wait();
    }

    /// An error saying the program broke, with its exit status and last stderr lines.
    fn broken(&mut self, what: &str) -> StackError {
        // Give a dying program a moment so its exit status and last words can be reported.
        let deadline = Instant::now() + Duration::from_millis(200);
        let mut status = None;
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.process.try_wait() {
                status = Some(s);
                break;
            }
            thread::sleep(Duration::from_millis(5));
        }
        let status = status.map_or_else(|| "still running".to_string(), |s| s.to_string());
        let write = self
            .write_error
            .as_ref()
            .map_or_else(String::new, |e| format!("; writing to it failed: {e}"));
        StackError::Adapter(format!(
            "exec: {}: {what} ({status}){write}{}",
            self.program,
            self.stderr_note()
        ))
    }

    fn stderr_note(&self) -> String {
        let tail = match self.stderr_tail.lock() {
            Ok(tail) => tail.iter().cloned().collect::<Vec<_>>().join("\n  "),
            Err(_) => String::new(),
        };
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its stderr ends with:\n  {tail}")
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if matches!(self.process.try_wait(), Ok(None)) {
            let _ = self.process.kill();
        }
        let _ = self.process.wait();
    }
}

fn read_lines(stdout: impl Read, tx: mpsc::SyncSender<Line>) {
    let mut reader = BufReader::new(stdout);
    loop {
        let mut buf = Vec::new();
        let limit = u64::try_from(MAX_LINE).unwrap_or(u64::MAX) + 1;
        let line = match reader.by_ref().take(limit).read_until(b'\n', &mut buf) {
            Ok(0) => return,
            Ok(_) if buf.last() != Some(&b'\n') && buf.len() > MAX_LINE => {
                Err(format!("it sent a line longer than {MAX_LINE} bytes"))
            }
            Ok(_) => String::from_utf8(buf)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|_| "it sent a line that is not UTF-8".to_string()),
            Err(e) => Err(format!("cannot read its stdout: {e}")),
        };
        let fatal = line.is_err();
        if tx.send(line).is_err() || fatal {
            return;
        }
    }
}

/// Keeps the last [`STDERR_LINES`] lines of the program's stderr, each cut to
/// [`STDERR_LINE_CHARS`] characters, reading in fixed-size chunks: a program that writes hundreds
/// of MiB without a newline costs one chunk and one cut line (kept as soon as it is cut, ending in
/// `…`), not the whole line.
fn keep_tail(mut stderr: impl Read, tail: Arc<Mutex<VecDeque<String>>>) {
    // At most 4 bytes per character, so a cut line still has its characters.
    let limit = STDERR_LINE_CHARS * 4;
    let mut chunk = vec![0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    // The current line was cut and kept already; the rest of it is skipped.
    let mut cut = false;
    let keep = |line: &[u8], more: bool| {
        let mut text: String = String::from_utf8_lossy(line)
            .chars()
            .take(STDERR_LINE_CHARS)
            .collect();
        if more {
            text.push('…');
        }
        let Ok(mut tail) = tail.lock() else {
            return false;
        };
        if tail.len() == STDERR_LINES {
            tail.pop_front();
        }
        tail.push_back(text);
        true
    };
    loop {
        let n = match stderr.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut pieces = chunk.get(..n).unwrap_or_default().split(|&b| b == b'\n');
        let mut piece = pieces.next();
        while let Some(bytes) = piece {
            let next = pieces.next();
            if !cut {
                let room = limit.saturating_sub(line.len()).min(bytes.len());
                line.extend_from_slice(bytes.get(..room).unwrap_or_default());
                if room < bytes.len() {
                    cut = true;
                    if !keep(&line, true) {
                        return;
                    }
                }
            }
            // Every piece but the last ended at a newline.
            if next.is_some() {
                if !cut && !keep(&line, false) {
                    return;
                }
                line.clear();
                cut = false;
            }
            piece = next;
        }
    }
    if !line.is_empty() && !cut {
        keep(&line, false);
    }
}
