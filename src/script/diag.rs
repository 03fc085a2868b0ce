//! Diagnostics: an error or warning tied to a [`Span`], rendered as
//!
//! ```text
//! close.pkt:12:6: error: expected TCP flags such as `S.` or `F.`, found `Q`
//!    12 | +0 > Q 0:0(0) ack 1
//!       |      ^
//! ```
//!
//! Syntax errors come from pest as lists of grammar rules; [`from_pest`] turns those rule names
//! into the words a script author uses.

use std::fmt;

use pest::error::{ErrorVariant, InputLocation};

use super::ast::Span;
use super::parse::Rule;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The script may still run, but probably not as its author meant.
    Warning,
    /// The script cannot run.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One finding about a script, with the span it is about.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}:{}: {severity}: {message}", span.line, span.col)]
pub struct Diagnostic {
    pub severity: Severity,
    pub span: Span,
    pub message: String,
    /// A second line of advice (`help: …`), when there is something useful to add.
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            span,
            message: message.into(),
            help: None,
        }
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            span,
            message: message.into(),
            help: None,
        }
    }

    /// Adds a `help:` line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The diagnostic as text: `path:line:col: severity: message`, the source line and a caret
    /// line under the span (ANSI colour only if `color`).
    pub fn render(&self, path: &str, source: &str, color: bool) -> String {
        let (bold, red_or_yellow, blue, reset) = if color {
            let level = match self.severity {
                Severity::Error => "\x1b[1;31m",
                Severity::Warning => "\x1b[1;33m",
            };
            ("\x1b[1m", level, "\x1b[1;34m", "\x1b[0m")
        } else {
            ("", "", "", "")
        };
        let mut out = format!(
            "{bold}{path}:{}:{}:{reset} {red_or_yellow}{}{reset}{bold}: {}{reset}\n",
            self.span.line, self.span.col, self.severity, self.message
        );
        let line_start = source
            .get(..self.span.start.min(source.len()))
            .and_then(|before| before.rfind('\n').map(|i| i + 1))
            .unwrap_or(0);
        let line_end = source
            .get(line_start..)
            .and_then(|rest| rest.find('\n').map(|i| line_start + i))
            .unwrap_or(source.len());
        let line = source
            .get(line_start..line_end)
            .unwrap_or("")
            .trim_end_matches('\r');
        let lead_len = self.span.start.saturating_sub(line_start).min(line.len());
        let column = line.get(..lead_len).map_or(0, |s| s.chars().count()) + 1;
        let span_end = self.span.end.min(line_start + line.len());
        let width = source
            .get(self.span.start.min(span_end)..span_end)
            .map_or(0, |s| s.chars().count());
        out.push_str(&snippet(
            self.span.line as usize,
            line,
            column,
            width,
            color.then_some(red_or_yellow),
        ));
        let gutter = " ".repeat(self.span.line.to_string().len());
        if let Some(help) = &self.help {
            out.push_str(&format!(
                "{blue}{gutter} ={reset} {bold}help{reset}: {help}\n"
            ));
        }
        out
    }
}

/// The quoted source line and a caret line under `width` characters from `column` (1-based, in
/// characters), as diagnostics print them:
///
/// ```text
///    12 | +0 > Q 0:0(0) ack 1
///       |      ^
/// ```
///
/// `caret_color` is the ANSI colour of the caret (`None`: no colour). `tcpconf run` quotes the
/// lines its verdicts point at the same way.
pub fn snippet(
    number: usize,
    line: &str,
    column: usize,
    width: usize,
    caret_color: Option<&str>,
) -> String {
    let (blue, caret, reset) = match caret_color {
        Some(c) => ("\x1b[1;34m", c, "\x1b[0m"),
        None => ("", "", ""),
    };
    let number = number.to_string();
    let gutter = " ".repeat(number.len());
    // Copy tabs so the caret lines up however the terminal expands them.
    let lead: String = line
        .chars()
        .take(column.saturating_sub(1))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!(
        "{blue}{number} |{reset} {line}\n{blue}{gutter} |{reset} {lead}{caret}{}{reset}\n",
        "^".repeat(width.max(1))
    )
}

/// Byte offsets → line and column, in O(log n) per lookup.
#[derive(Debug, Clone)]
pub struct LineIndex<'s> {
    source: &'s str,
    /// Byte offset of the start of each line.
    starts: Vec<usize>,
}

impl<'s> LineIndex<'s> {
    /// Indexes the line starts of `source`.
    pub fn new(source: &'s str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            source
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { source, starts }
    }

    /// The span of bytes `start..end`, with the line and column of `start`.
    pub fn span(&self, start: usize, end: usize) -> Span {
        let line = self.starts.partition_point(|&s| s <= start).max(1);
        let line_start = self.starts.get(line - 1).copied().unwrap_or(0);
        let col = self
            .source
            .get(line_start..start)
            .map_or(start - line_start, |s| s.chars().count())
            + 1;
        Span {
            start,
            end,
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }
}

/// A pest syntax error → a diagnostic that says in words what was expected and what was found.
pub(crate) fn from_pest(
    error: &pest::error::Error<Rule>,
    source: &str,
    index: &LineIndex<'_>,
) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    };
    let (found_len, found_text) = found_token(source, pos);
    // At the end of a line or of the file, point just past the last token rather than at the
    // start of the next (possibly empty) line.
    let pos = if found_len == 0 {
        source
            .get(..pos)
            .map_or(pos, |before| before.trim_end().len())
    } else {
        pos
    };
    let span = index.span(pos, pos + found_len);
    let unclosed = match source.get(pos..).and_then(|rest| rest.chars().next()) {
        Some('`') => Some("this backtick command is never closed with a second `` ` ``"),
        Some('"') => Some("this string is never closed with a second `\"`"),
        Some('%') if source.get(pos..).is_some_and(|r| r.starts_with("%{")) => {
            Some("this `%{` block is never closed with `}%`")
        }
        _ => None,
    };
    if let Some(message) = unclosed {
        return Diagnostic::error(span, message);
    }
    let message = match &error.variant {
        ErrorVariant::CustomError { message } => message.clone(),
        ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = Vec::new();
            for rule in positives {
                if let Some(word) = describe(*rule)
                    && !words.contains(&word)
                {
                    words.push(word);
                }
            }
            // Where flags could start, the other things that could (IP fields, `udp`) only blur
            // the message.
            if let Some(flags) = words.iter().find(|w| w.starts_with("TCP flags")) {
                words = vec![*flags];
            }
            // Specific expectations first: "TCP flags" says more than "a number".
            words.sort_by_key(|w| std::cmp::Reverse(specificity(w)));
            words.truncate(4);
            if words.is_empty() {
                format!(
                    "expected an option line `--name=value`, a metadata line `//! key: value`, a backtick command or an event, found {found_text}"
                )
            } else {
                format!("expected {}, found {found_text}", join_or(&words))
            }
        }
    };
    Diagnostic::error(span, message)
}

/// The token at `pos`, for "found `…`": a word, a number, or one character; its length in bytes
/// and how to name it.
fn found_token(source: &str, pos: usize) -> (usize, String) {
    let rest = source.get(pos..).unwrap_or("");
    let word_len: usize = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if word_len > 0 {
        return (
            word_len,
            format!("`{}`", rest.get(..word_len).unwrap_or("")),
        );
    }
    match rest.chars().next() {
        None => (0, "end of file".to_string()),
        Some('\n' | '\r') => (0, "end of line".to_string()),
        Some(c) => (c.len_utf8(), format!("`{c}`")),
    }
}

fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Ranks phrases so that the most telling comes first in a message.
fn specificity(phrase: &str) -> u8 {
    if phrase.starts_with("a number") || phrase.starts_with("end of") {
        0
    } else if phrase.starts_with('`') {
        1
    } else {
        2
    }
}

/// What a grammar rule stands for, in a script author's words (`None`: not worth mentioning).
fn describe(rule: Rule) -> Option<&'static str> {
    use Rule as R;
    Some(match rule {
        R::EOI => "end of file",
        R::metadata => "a metadata line `//! key: value`",
        R::meta_key => "a metadata key such as `title`",
        R::option => "an option line such as `--tolerance_usecs=10000`",
        R::option_name => "an option name",
        R::option_value | R::bare_option_value => "an option value",
        R::init_command | R::cleanup_command | R::shell => "a backtick shell command",
        R::ifdef_block | R::ifdef_start => "`#ifdef NAME`",
        R::endif => "`#endif`",
        R::event => "an event (a time such as `+0` and an action)",
        R::time_spec | R::time | R::at_time | R::any_time | R::range_time | R::blocking_time => {
            "a time such as `0`, `+0.1`, `0.1~0.2` or `*`"
        }
        R::abs_time | R::seconds => "a time in seconds such as `0.2`",
        R::action => {
            "an action: a packet (`<` or `>`), a syscall, a backtick shell command or `%{ python }%`"
        }
        R::code => "`%{ python }%`",
        R::assert_stmt | R::kw_assert => "`assert`",
        R::measure_stmt | R::kw_measure => "`measure`",
        R::measure_name => "a measurement name such as `time_wait`",
        R::kw_until => "`until`",
        R::kw_within => "`within SECONDS`",
        R::until_packet | R::kw_packet => "`packet`",
        R::state_cond | R::kw_state => "`state`",
        R::state_fd => "a socket fd in parentheses such as `(4)`",
        R::cmp_op => "`==` or `!=`",
        R::state_name => "a TCP state such as `ESTABLISHED` or `TIME_WAIT`",
        R::packet | R::direction => "`<` (inbound) or `>` (outbound)",
        R::ip_info => "IP fields such as `[ect0]` or `(tos 0x2)`",
        R::ip_field | R::ecn => "an IP field: `ect0`, `ect1`, `ce`, `noecn`, `tos`, `ttl`, …",
        R::udp_packet | R::kw_udp => "`udp`",
        R::icmp_packet | R::kw_icmp => "`icmp`",
        R::icmp_type => "an ICMP type such as `unreachable`",
        R::icmp_code => "an ICMP code such as `port_unreachable`",
        R::icmp_mtu | R::kw_mtu => "`mtu N`",
        R::icmp_id | R::kw_id => "`id N`",
        R::icmp_echoed => "the quoted packet such as `[1:1(0)]`",
        R::tcp_packet | R::flags => "TCP flags such as `S.` or `F.`",
        R::psp_encap | R::kw_encap => "`encap psp spi N`",
        R::ports => "ports such as `8080>9090`",
        R::seq | R::seq_range | R::seq_any => "a sequence range such as `1:1(0)`",
        R::absolute_mark => "`!`",
        R::ack | R::kw_ack => "`ack`",
        R::win | R::kw_win => "`win`",
        R::urg | R::kw_urg => "`urg`",
        R::udp_encap => "`/udp(SPORT > DPORT)`",
        R::tcp_options => "TCP options such as `<mss 1460>`",
        R::options_ordered
        | R::options_unordered
        | R::tcp_option
        | R::opt_nop
        | R::opt_eol
        | R::opt_mss
        | R::opt_wscale
        | R::opt_sackok
        | R::opt_sack
        | R::opt_ts
        | R::opt_fo
        | R::opt_foexp
        | R::opt_md5
        | R::opt_accecn
        | R::opt_generic
        | R::opt_experimental
        | R::opt_unknown
        | R::unknown_name => "a TCP option such as `mss 1460`, `nop` or `sackOK`",
        R::options_dontcare | R::others | R::ts_ignored => "`...`",
        R::sack_block => "a SACK block such as `1001:2001`",
        R::kw_val => "`val`",
        R::kw_ecr => "`ecr`",
        R::ts_val => "a timestamp value",
        R::accecn_e0b | R::kw_e0b => "`e0b N`",
        R::accecn_ceb | R::kw_ceb => "`ceb N`",
        R::accecn_e1b | R::kw_e1b => "`e1b N`",
        R::hex_blob => "a hex string",
        R::pattern | R::value_range => "a number, `*` or a range such as `536..1460`",
        R::star => "`*`",
        R::define_ref => "a `-D` name",
        R::uint | R::dec | R::int | R::hex => "a number",
        R::syscall | R::syscall_name => "a syscall such as `close(3) = 0`",
        R::errno => "an errno name such as `EINPROGRESS`",
        R::note => "a note in parentheses",
        R::expr
        | R::ellipsis
        | R::strings
        | R::string
        | R::array
        | R::struct_expr
        | R::struct_field
        | R::call
        | R::symbol => "an expression (a number, a name, `...`, `\"string\"`, `[…]` or `{…}`)",
        R::field_name => "a field name",
        R::arg_comma => "`,`",
        R::args_end => "`)`",
        R::result_eq => "`= RESULT`",
        R::call_name => "a function such as `htons`",
        R::field_count => "`(N)`",
        R::ident => "a name",
        _ => return None,
    })
}
