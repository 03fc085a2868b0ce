//! Token-level helpers of the parser: comment blanking, TCP flags, decimal seconds.

use super::ast::TcpFlags;

/// The source with every comment replaced by spaces (newlines kept), so that byte offsets, lines
/// and columns stay those of the original.
///
/// The scan mirrors the grammar's lexical structure: outside backtick commands, strings, `%{ }%`
/// blocks and `//!` lines, `//` and `/*` always start a comment, because the grammar's free-text
/// tokens (option values, notes, unknown option arguments) end where one starts (`lexical_break`
/// in `grammar/tcpconf.pest`), as packetdrill's lexer does.
///
/// This is an optimisation, not a change of language: the grammar also skips comments, but pest
/// skips them again each time it backtracks over the whitespace before an optional field, which
/// made licence headers the bulk of parsing time. Backtick commands, strings and `%{ }%` blocks
/// are left alone (a `//` inside them is not a comment); an unterminated block comment is left for
/// the grammar to report. Leaving a comment in place is always safe, since the grammar skips
/// comments too; only blanking something that is not a comment would change a script's meaning.
pub(crate) fn blank_comments(source: &str) -> std::borrow::Cow<'_, str> {
    let bytes = source.as_bytes();
    if !source.contains("//") && !source.contains("/*") {
        return std::borrow::Cow::Borrowed(source);
    }
    let mut out = bytes.to_vec();
    let mut i = 0;
    let skip_quoted = |mut j: usize, quote: u8| -> usize {
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b if b == quote => return j + 1,
                _ => j += 1,
            }
        }
        bytes.len()
    };
    while i < bytes.len() {
        match bytes[i] {
            b'`' => i = skip_quoted(i + 1, b'`'),
            b'"' => i = skip_quoted(i + 1, b'"'),
            b'%' if bytes.get(i + 1) == Some(&b'{') => {
                i = source
                    .get(i + 2..)
                    .and_then(|rest| rest.find("}%"))
                    .map_or(bytes.len(), |end| i + 2 + end + 2);
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                // A `//!` metadata line is kept, and its text (which ends at `\r` or `\n`, as in
                // the grammar) is not scanned for quotes; a comment ends at `\n`.
                let metadata = bytes.get(i + 2) == Some(&b'!');
                let rest = source.get(i..).unwrap_or("");
                let len = if metadata {
                    rest.find(['\r', '\n'])
                } else {
                    rest.find('\n')
                };
                let end = len.map_or(bytes.len(), |n| i + n);
                if !metadata {
                    out[i..end].fill(b' ');
                }
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                match source.get(i + 2..).and_then(|rest| rest.find("*/")) {
                    Some(n) => {
                        let end = i + 2 + n + 2;
                        for b in &mut out[i..end] {
                            if *b != b'\n' {
                                *b = b' ';
                            }
                        }
                        i = end;
                    }
                    None => break,
                }
            }
            _ => i += 1,
        }
    }
    // Only ASCII bytes of whole comments were replaced by ASCII spaces, and a comment's extent
    // ends at ASCII delimiters, so the result is still UTF-8; fall back to the original if not.
    match String::from_utf8(out) {
        Ok(blanked) => std::borrow::Cow::Owned(blanked),
        Err(_) => std::borrow::Cow::Borrowed(source),
    }
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

/// How deeply `(`, `[` and `{` may nest. Real scripts nest five levels at most (a `msghdr` holding
/// an array of `cmsg` structs); the limit keeps the recursive parts of the parser, the checker and
/// the printer far from the end of the stack on hostile input.
pub(crate) const MAX_NESTING: usize = 64;

/// The byte offset of the first bracket that opens more than [`MAX_NESTING`] levels deep, outside
/// backtick commands, strings and `%{ }%` blocks (whose brackets are text), if there is one.
pub(crate) fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'`' | b'"' => {
                let quote = b;
                i += 1;
                while let Some(&c) = bytes.get(i) {
                    i += if c == b'\\' { 2 } else { 1 };
                    if c == quote {
                        break;
                    }
                }
                continue;
            }
            b'%' if bytes.get(i + 1) == Some(&b'{') => {
                i = text
                    .get(i + 2..)
                    .and_then(|rest| rest.find("}%"))
                    .map_or(bytes.len(), |end| i + 2 + end + 2);
                continue;
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    None
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
