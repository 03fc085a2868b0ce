//! Token-level helpers of the parser: comment blanking, TCP flags, decimal seconds.

use std::borrow::Cow;

use super::ast::TcpFlags;

/// How deeply `(`, `[` and `{` may nest. Real scripts nest five levels at most (a `msghdr` holding
/// an array of `cmsg` structs); the limit keeps the recursive parts of the parser, the checker and
/// the printer far from the end of the stack on hostile input.
pub(crate) const MAX_NESTING: usize = 64;

/// What the lexical pre-scan found.
pub(crate) struct Prescan<'s> {
    /// The source with every comment replaced by spaces (newlines kept), so that byte offsets,
    /// lines and columns stay those of the original.
    pub text: Cow<'s, str>,
    /// The byte offset of the first bracket that opens more than [`MAX_NESTING`] levels deep.
    pub too_deep_at: Option<usize>,
}

/// One pass over the source before pest sees it: blanks comments and measures bracket nesting.
///
/// The scan mirrors the grammar's lexical structure: outside backtick commands, strings, `%{ }%`
/// blocks and `//!` lines, `//` and `/*` always start a comment, because the grammar's free-text
/// tokens (option values, notes, unknown option arguments) end where one starts (`lexical_break`
/// in `grammar/tcpconf.pest`), as packetdrill's lexer does. Brackets inside those texts are text
/// and are not counted.
///
/// Blanking is an optimisation, not a change of language: the grammar also skips comments, but
/// pest skips them again each time it backtracks over the whitespace before an optional field,
/// which made licence headers the bulk of parsing time. An unterminated block comment is left for
/// the grammar to report. Leaving a comment in place is always safe, since the grammar skips
/// comments too; only blanking something that is not a comment would change a script's meaning.
pub(crate) fn prescan(source: &str) -> Prescan<'_> {
    let bytes = source.as_bytes();
    let mut out: Option<Vec<u8>> = None;
    let mut blank = |from: usize, to: usize| {
        let out = out.get_or_insert_with(|| bytes.to_vec());
        if let Some(range) = out.get_mut(from..to) {
            for b in range.iter_mut().filter(|b| **b != b'\n') {
                *b = b' ';
            }
        }
    };
    let skip_quoted = |mut j: usize, quote: u8| -> usize {
        while let Some(&b) = bytes.get(j) {
            match b {
                b'\\' => j += 2,
                b if b == quote => return j + 1,
                _ => j += 1,
            }
        }
        bytes.len()
    };
    let find_from = |from: usize, pat: &str| source.get(from..).and_then(|rest| rest.find(pat));
    let mut depth = 0usize;
    let mut too_deep_at = None;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let next = bytes.get(i + 1).copied();
        match (b, next) {
            (b'`' | b'"', _) => i = skip_quoted(i + 1, b),
            (b'%', Some(b'{')) => {
                i = find_from(i + 2, "}%").map_or(bytes.len(), |n| i + 2 + n + 2);
            }
            (b'/', Some(b'/')) => {
                // A `//!` metadata line is kept, and its text (which ends at `\r` or `\n`, as in
                // the grammar) is not scanned; a comment ends at `\n`.
                let metadata = bytes.get(i + 2) == Some(&b'!');
                let rest = source.get(i..).unwrap_or("");
                let len = if metadata {
                    rest.find(['\r', '\n'])
                } else {
                    rest.find('\n')
                };
                let end = len.map_or(bytes.len(), |n| i + n);
                if !metadata {
                    blank(i, end);
                }
                i = end;
            }
            (b'/', Some(b'*')) => match find_from(i + 2, "*/") {
                Some(n) => {
                    let end = i + 2 + n + 2;
                    blank(i, end);
                    i = end;
                }
                None => break,
            },
            (b'(' | b'[' | b'{', _) => {
                depth += 1;
                if depth > MAX_NESTING && too_deep_at.is_none() {
                    too_deep_at = Some(i);
                }
                i += 1;
            }
            (b')' | b']' | b'}', _) => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    // Only whole comments, which start and end at ASCII delimiters, were replaced by ASCII spaces,
    // so the result is still UTF-8; fall back to the original if it somehow is not.
    let text = match out.map(String::from_utf8) {
        Some(Ok(blanked)) => Cow::Owned(blanked),
        _ => Cow::Borrowed(source),
    };
    Prescan { text, too_deep_at }
}

/// `S.`, `F.`, `P.`, `SEWA`, `4`, `-` → flags. Errors are messages for the flags token.
pub(crate) fn parse_flags(text: &str) -> std::result::Result<TcpFlags, String> {
    let mut flags = TcpFlags::default();
    if text == "-" {
        return Ok(flags);
    }
    for ch in text.chars().filter(|c| !c.is_whitespace()) {
        let slot = match ch {
            'S' => &mut flags.syn,
            'F' => &mut flags.fin,
            'R' => &mut flags.rst,
            'P' => &mut flags.psh,
            '.' => &mut flags.ack,
            'U' => &mut flags.urg,
            'E' => &mut flags.ece,
            'W' => &mut flags.cwr,
            'A' => &mut flags.ae,
            '0'..='7' => {
                if flags.ace.is_some() {
                    return Err("only one AccECN ACE digit may be given".to_string());
                }
                flags.ace = ch.to_digit(8).and_then(|d| u8::try_from(d).ok());
                continue;
            }
            other => return Err(format!("`{other}` is not a TCP flag")),
        };
        if *slot {
            return Err(format!("TCP flag `{ch}` is given twice"));
        }
        *slot = true;
    }
    if flags.ace.is_some() && (flags.ece || flags.cwr || flags.ae) {
        return Err(
            "an AccECN ACE digit already sets the AE, CWR and ECE bits; drop `A`, `W` and `E`"
                .to_string(),
        );
    }
    Ok(flags)
}

/// Decimal seconds → microseconds without floating point, rounding past the sixth decimal.
pub(crate) fn seconds_to_micros(text: &str) -> Option<i64> {
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (text, ""),
    };
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros: i64 = 0;
    let mut digits = frac.chars();
    for _ in 0..6 {
        let d = digits.next().and_then(|c| c.to_digit(10)).unwrap_or(0);
        micros = micros * 10 + i64::from(d);
    }
    if digits
        .next()
        .and_then(|c| c.to_digit(10))
        .is_some_and(|d| d >= 5)
    {
        micros += 1;
    }
    whole.checked_mul(1_000_000)?.checked_add(micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds_to_micros("0.000001"), Some(1));
        assert_eq!(seconds_to_micros(".1"), Some(100_000));
        assert_eq!(seconds_to_micros("2"), Some(2_000_000));
        assert_eq!(seconds_to_micros("0.0000015"), Some(2));
        assert_eq!(seconds_to_micros("99999999999999999999"), None);
    }

    #[test]
    fn nesting_limit() {
        let too_deep = |s: &str| prescan(s).too_deep_at;
        let deep = format!(
            "0 f({}{}) = 0",
            "[".repeat(MAX_NESTING),
            "]".repeat(MAX_NESTING)
        );
        assert_eq!(too_deep(&deep), Some(3 + MAX_NESTING));
        let fine = format!("0 f({}{}) = 0", "[".repeat(10), "]".repeat(10));
        assert_eq!(too_deep(&fine), None);
        let quoted = format!("0 `{}`", "(".repeat(200));
        assert_eq!(too_deep(&quoted), None);
        let commented = format!("// {}\n//! t: `\n0 `x`", "(".repeat(200));
        assert_eq!(too_deep(&commented), None);
    }

    #[test]
    fn flag_letters() {
        let f = parse_flags("SEWA.").expect("valid");
        assert!(f.syn && f.ece && f.cwr && f.ae && f.ack && !f.fin);
        assert_eq!(parse_flags("-"), Ok(TcpFlags::default()));
        assert_eq!(parse_flags("3").map(|f| f.ace), Ok(Some(3)));
        assert!(parse_flags("Q").is_err());
    }
}
