//! What `tcpconf check` says about typical mistakes (insta snapshots of the rendered output), and
//! that no input makes the parser or checker panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use proptest::prelude::*;
use tcpconf::script::check_source;

/// Renders every diagnostic for `source` as `tcpconf check` prints it (without colour).
fn render(source: &str) -> String {
    check_source(source)
        .iter()
        .map(|d| d.render("mistake.pkt", source, false))
        .collect()
}

const PROLOGUE: &str =
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 bind(3, ..., ...) = 0\n+0 listen(3, 1) = 0\n";

fn with_prologue(line: &str) -> String {
    format!("{PROLOGUE}{line}\n")
}

macro_rules! mistake {
    ($name:ident, $source:expr) => {
        #[test]
        fn $name() {
            let source: String = $source.into();
            insta::assert_snapshot!(render(&source));
        }
    };
}

mistake!(bad_flags, with_prologue("+0 < Q 0:0(0) win 65535"));
mistake!(missing_seq, with_prologue("+0 < S win 65535"));
mistake!(
    inconsistent_seq,
    with_prologue("+0 < P. 1:100(100) ack 1 win 65535")
);
mistake!(
    missing_window_value,
    with_prologue("+0 < S 0:0(0) win <mss 1460>")
);
mistake!(
    wildcard_window_inbound,
    with_prologue("+0 < S 0:0(0) win *")
);
mistake!(
    unordered_options_inbound,
    with_prologue("+0 < S 0:0(0) win 100 <{mss 1460}>")
);
mistake!(star_time_inbound, with_prologue("* < S 0:0(0) win 100"));
mistake!(
    first_event_not_at_zero,
    "1 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n"
);
mistake!(
    time_goes_backwards,
    "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n2 close(3) = 0\n1 close(4) = 0\n"
);
mistake!(
    options_too_long,
    with_prologue("+0 < S 0:0(0) win 100 <mss 1460,sackOK,TS val 1 ecr 0,sack 1:2 3:4 5:6>")
);
mistake!(
    unknown_tcp_option,
    with_prologue("+0 < S 0:0(0) win 100 <mss 1460,bogus 3>")
);
mistake!(unknown_syscall, with_prologue("+0 frobnicate(3) = 0"));
mistake!(
    unknown_errno,
    with_prologue("+0 accept(3, ..., ...) = -1 EWHATEVER (nope)")
);
mistake!(
    unknown_symbol_is_a_warning,
    with_prologue("+0 setsockopt(3, SOL_SOCKET, SO_FROB, [1], 4) = 0")
);
mistake!(
    unknown_option_line,
    "--tolerence_usecs=1000\n0 close(3) = 0\n"
);
mistake!(
    bad_metadata,
    "//! area: handshakes\n//! rfc: RFC nine\n//! colour: blue\n0 close(3) = 0\n"
);
mistake!(metadata_after_events, "0 close(3) = 0\n//! title: late\n");
mistake!(unknown_state, with_prologue("+0 assert state == ESTABLISH"));
mistake!(missing_result, with_prologue("+0 close(3)"));
mistake!(
    unclosed_paren,
    with_prologue("+0 setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4 = 0")
);
mistake!(
    window_out_of_range,
    with_prologue("+0 < S 0:0(0) win 70000")
);
mistake!(
    blocking_time_on_packet,
    with_prologue("+0...0.1 < S 0:0(0) win 100")
);
mistake!(
    empty_range,
    with_prologue("+0 > S. 0:0(0) ack 1 win 2000..1000")
);
mistake!(
    measure_without_limit,
    with_prologue("+0 measure tw until state != TIME_WAIT")
);
mistake!(stray_text_at_start, "s//\n0 close(3) = 0\n");
mistake!(inbound_without_window, with_prologue("+0 < . 1:1(0) ack 1"));
mistake!(unterminated_shell, "0 `sysctl -q x\n+0 close(3) = 0\n");

mistake!(
    nested_too_deep,
    format!("0 f({}{}) = 0\n", "[".repeat(70), "]".repeat(70))
);

/// Nesting up to the limit works on a test thread's small stack; beyond it is an error, not a
/// stack overflow.
#[test]
fn deep_nesting_is_bounded() {
    let ok = format!("0 write({}{}) = 0\n", "{x=[".repeat(31), "]}".repeat(31));
    assert!(check_source(&ok).is_empty(), "{:?}", check_source(&ok));
    let too_deep = format!("0 f({}{}) = 0\n", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(check_source(&too_deep).len(), 1);
    let long_or = format!("0 f({}) = 0\n", vec!["SO_ERROR"; 100_000].join("|"));
    assert_eq!(check_source(&long_or).len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,200}") {
        let _ = check_source(&source);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = check_source(&String::from_utf8_lossy(&bytes));
    }

    /// Mutations of a valid script: near-misses are the inputs real users produce.
    #[test]
    fn mutated_scripts_never_panic(cut in 0usize..400, insert in "[ -~\\n]{0,6}") {
        let base = "--tolerance_usecs=10000\n//! title: x\n0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n\
                    +0 < S 0:0(0) win 65535 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>\n\
                    +0 > S. 0:0(0) ack 1 win * <{mss *, ...}>\n+0...0.1 accept(3, ..., ...) = 4\n\
                    +0 assert state(4) == ESTABLISHED\n+0 measure m until packet within 1\n";
        let at = cut.min(base.len());
        let at = (0..=at).rev().find(|i| base.is_char_boundary(*i)).unwrap_or(0);
        let source = format!("{}{}{}", &base[..at], insert, &base[at..]);
        let _ = check_source(&source);
    }
}
