//! The printer and the parser agree: `parse(print(ast)) == ast` for generated trees, and printing
//! a parsed corpus script gives text that parses to the same tree.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failed check panics

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use tcpconf::script::ast::*;
use tcpconf::script::{parse, print};

fn sp<T>(node: T) -> Spanned<T> {
    Spanned::new(node, Span::default())
}

fn upper_name() -> impl Strategy<Value = String> {
    "[A-Z][A-Z0-9_]{0,6}"
}

fn lower_name() -> impl Strategy<Value = String> {
    "m_[a-z0-9_]{0,6}"
}

fn time() -> impl Strategy<Value = Time> {
    (any::<bool>(), 0i64..20_000_000).prop_map(|(relative, micros)| Time { relative, micros })
}

fn time_spec() -> impl Strategy<Value = TimeSpec> {
    prop_oneof![
        time().prop_map(TimeSpec::At),
        (time(), time()).prop_map(|(lo, hi)| TimeSpec::Range { lo, hi }),
        Just(TimeSpec::Any),
        (time(), 0i64..20_000_000)
            .prop_map(|(start, end_micros)| TimeSpec::Blocking { start, end_micros }),
    ]
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        (0u64..100_000).prop_map(PatternKind::Exact),
        Just(PatternKind::Any),
        (0u64..1000, 0u64..100_000).prop_map(|(lo, hi)| PatternKind::Range { lo, hi }),
        upper_name().prop_map(PatternKind::Define),
    ]
    .prop_map(sp)
}

fn hex_blob() -> impl Strategy<Value = Option<Ident>> {
    option::of("[0-9a-f]{2,10}".prop_map(sp))
}

fn tcp_option() -> impl Strategy<Value = TcpOption> {
    let n = || (0u64..100_000).prop_map(sp);
    prop_oneof![
        Just(TcpOptionKind::Nop),
        Just(TcpOptionKind::Eol),
        pattern().prop_map(TcpOptionKind::Mss),
        pattern().prop_map(TcpOptionKind::WindowScale),
        Just(TcpOptionKind::SackPermitted),
        vec((0u64..1 << 32, 0u64..1 << 32), 1..4).prop_map(|b| TcpOptionKind::Sack(
            b.into_iter()
                .map(|(left, right)| sp(SackBlock { left, right }))
                .collect()
        )),
        (pattern(), pattern(), any::<bool>()).prop_map(|(val, ecr, ecr_absolute)| {
            TcpOptionKind::Timestamp {
                val,
                ecr,
                ecr_absolute,
            }
        }),
        hex_blob().prop_map(|cookie| TcpOptionKind::FastOpen { cookie }),
        hex_blob().prop_map(|cookie| TcpOptionKind::FastOpenExp { cookie }),
        prop_oneof![
            Just(Md5Signature::Zero),
            Just(Md5Signature::Valid),
            "[0-9a-f]{32}".prop_map(|h| Md5Signature::Hex(sp(h))),
        ]
        .prop_map(TcpOptionKind::Md5),
        (any::<bool>(), n(), option::of((n(), option::of(n())))).prop_map(|(e0, first, rest)| {
            let (ceb, last) = match rest {
                Some((ceb, last)) => (Some(ceb), last),
                None => (None, None),
            };
            TcpOptionKind::AccEcn(if e0 {
                AccEcnOption {
                    order: AccEcnOrder::E0bFirst,
                    e0b: Some(first),
                    ceb,
                    e1b: last,
                }
            } else {
                AccEcnOption {
                    order: AccEcnOrder::E1bFirst,
                    e1b: Some(first),
                    ceb,
                    e0b: last,
                }
            })
        }),
        (0u64..256, hex_blob()).prop_map(|(kind, data)| TcpOptionKind::Generic { kind, data }),
        (0u64..0x10000, hex_blob())
            .prop_map(|(magic, data)| TcpOptionKind::Experimental { magic, data }),
        "[0-9a-f]{2,10}".prop_map(|b| TcpOptionKind::Raw { bytes: sp(b) }),
        ("zz[a-z0-9]{0,5}", vec("[a-z0-9:]{1,5}", 0..3)).prop_map(|(name, args)| {
            TcpOptionKind::Unknown {
                name: sp(name),
                args,
            }
        }),
    ]
    .prop_map(|kind| TcpOption {
        kind,
        span: Span::default(),
    })
}

fn option_spec() -> impl Strategy<Value = OptionSpec> {
    let span = Span::default();
    prop_oneof![
        Just(OptionSpec::DontCare { span }),
        vec(tcp_option(), 1..5).prop_map(move |options| OptionSpec::Ordered { options, span }),
        (vec(tcp_option(), 0..4), any::<bool>()).prop_map(move |(options, others)| {
            OptionSpec::Unordered {
                others_allowed: others || options.is_empty(),
                options,
                span,
            }
        }),
    ]
}

fn flags() -> impl Strategy<Value = TcpFlags> {
    (any::<[bool; 9]>(), option::of(0u8..8)).prop_map(|(b, ace)| TcpFlags {
        syn: b[0],
        fin: b[1],
        rst: b[2],
        psh: b[3],
        ack: b[4],
        urg: b[5],
        ece: b[6] && ace.is_none(),
        cwr: b[7] && ace.is_none(),
        ae: b[8] && ace.is_none(),
        ace,
    })
}

fn ports() -> impl Strategy<Value = Option<Spanned<PortPair>>> {
    option::of((0u64..70000, 0u64..70000).prop_map(|(src, dst)| sp(PortPair { src, dst })))
}

fn tcp_packet() -> impl Strategy<Value = TcpPacket> {
    let seq = prop_oneof![
        (0u64..1 << 32, 0u64..1 << 32, 0u64..70000, any::<bool>()).prop_map(
            |(start, end, len, absolute)| SeqSpec::Range {
                start,
                end,
                len,
                absolute
            }
        ),
        (0u64..70000).prop_map(|len| SeqSpec::Any { len }),
    ];
    let ack = prop_oneof![
        (0u64..1 << 32).prop_map(PatternKind::Exact),
        Just(PatternKind::Any),
        upper_name().prop_map(PatternKind::Define),
    ]
    .prop_map(sp);
    (
        option::of((0u64..1000).prop_map(sp)),
        ports(),
        flags(),
        seq,
        option::of(ack),
        option::of(pattern()),
        option::of((0u64..70000).prop_map(sp)),
        option::of(option_spec()),
        ports(),
        any::<bool>(),
    )
        .prop_map(
            |(psp_spi, ports, flags, seq, ack, win, urg, options, udp_encap, bad_csum)| TcpPacket {
                psp_spi,
                ports,
                flags: sp(flags),
                seq: sp(seq),
                ack,
                win,
                urg,
                options,
                udp_encap,
                bad_csum,
            },
        )
}

fn packet() -> impl Strategy<Value = PacketSpec> {
    let ip_field = prop_oneof![
        prop_oneof![
            Just(Ecn::NotEct),
            Just(Ecn::Ect0),
            Just(Ecn::Ect1),
            Just(Ecn::Ce),
            Just(Ecn::Ect01)
        ]
        .prop_map(IpField::Ecn),
        (0u64..300).prop_map(IpField::Tos),
        (0u64..300).prop_map(IpField::TrafficClass),
        (0u64..0x100000).prop_map(IpField::FlowLabel),
        (0u64..300).prop_map(IpField::Ttl),
        (0u64..300).prop_map(IpField::HopLimit),
    ]
    .prop_map(sp);
    let icmp_name = || {
        prop_oneof![
            Just("unreachable"),
            Just("port_unreachable"),
            Just("type_3"),
            Just("CODE")
        ]
        .prop_map(|s| sp(s.to_string()))
    };
    let echoed = prop_oneof![
        (0u64..1000, 0u64..1000, 0u64..1000, ports()).prop_map(|(start, end, len, u)| {
            IcmpEchoed::Tcp {
                start,
                end,
                len,
                udp_encap: u.map(|p| p.node),
            }
        }),
        (0u64..1000).prop_map(|len| IcmpEchoed::Udp { len }),
        (0u64..1000).prop_map(|len| IcmpEchoed::Raw { len }),
    ];
    let kind = prop_oneof![
        3 => tcp_packet().prop_map(PacketKind::Tcp),
        1 => (ports(), 0u64..70000).prop_map(|(ports, len)| PacketKind::Udp(UdpPacket {
            ports,
            len: sp(len)
        })),
        1 => (
            icmp_name(),
            option::of(icmp_name()),
            option::of((0u64..70000).prop_map(sp)),
            option::of((0u64..70000).prop_map(sp)),
            option::of(echoed.prop_map(sp)),
        )
            .prop_map(|(icmp_type, code, mtu, id, echoed)| PacketKind::Icmp(IcmpPacket {
                icmp_type,
                code,
                mtu,
                id,
                echoed
            })),
    ];
    (any::<bool>(), vec(ip_field, 0..3), kind).prop_map(|(inbound, ip_info, kind)| PacketSpec {
        direction: sp(if inbound {
            Direction::Inbound
        } else {
            Direction::Outbound
        }),
        ip_info,
        kind,
        span: Span::default(),
    })
}

fn expr() -> impl Strategy<Value = Expr> {
    let e = |kind| Expr {
        kind,
        span: Span::default(),
    };
    let leaf = prop_oneof![
        Just(ExprKind::Ellipsis),
        any::<i64>().prop_map(ExprKind::Int),
        any::<u64>().prop_map(ExprKind::Hex),
        upper_name().prop_map(ExprKind::Symbol),
        "[a-z0-9 ]{0,8}".prop_map(ExprKind::Str),
        "[a-z0-9 ]{0,8}".prop_map(ExprKind::StrPrefix),
    ]
    .prop_map(e);
    leaf.prop_recursive(3, 24, 4, move |inner| {
        let field = (
            option::of(lower_name().prop_map(sp)),
            option::of(inner.clone()),
            inner.clone(),
        )
            .prop_map(|(name, count, value)| StructField {
                count: count.filter(|_| name.is_some()).map(Box::new),
                name,
                value,
                span: Span::default(),
            });
        prop_oneof![
            // `|` is left-associative and has no parentheses: keep right operands plain.
            (inner.clone(), upper_name()).prop_map(move |(a, b)| e(ExprKind::Or(
                Box::new(a),
                Box::new(e(ExprKind::Symbol(b)))
            ))),
            vec(inner.clone(), 0..3).prop_map(move |items| e(ExprKind::Array(items))),
            vec(field, 0..3).prop_map(move |fields| e(ExprKind::Struct(fields))),
            (lower_name(), vec(inner, 0..3)).prop_map(move |(name, args)| e(ExprKind::Call {
                name: sp(name),
                args
            })),
        ]
    })
}

fn syscall() -> impl Strategy<Value = SyscallSpec> {
    (
        lower_name(),
        vec(expr(), 0..4),
        expr(),
        option::of("E[A-Z]{1,8}".prop_map(sp)),
        option::of(
            ("[A-Za-z][A-Za-z ]{0,12}[a-z]", option::of("[a-z]{1,5}"))
                .prop_map(|(text, nested)| match nested {
                    Some(n) => format!("{text} ({n})"),
                    None => text,
                })
                .prop_map(sp),
        ),
    )
        .prop_map(|(name, args, result, errno, note)| SyscallSpec {
            name: sp(name),
            args,
            result,
            errno,
            note,
            span: Span::default(),
        })
}

fn state_cond() -> impl Strategy<Value = StateCondition> {
    (
        option::of((0i64..100).prop_map(sp)),
        any::<bool>(),
        upper_name(),
    )
        .prop_map(|(fd, eq, state)| StateCondition {
            fd,
            op: if eq { CmpOp::Eq } else { CmpOp::Ne },
            state: sp(state),
            span: Span::default(),
        })
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        4 => packet().prop_map(|p| Action::Packet(Box::new(p))),
        3 => syscall().prop_map(Action::Syscall),
        1 => "[a-z ./=-]{0,20}".prop_map(|text| Action::Shell(Command { text, span: Span::default() })),
        1 => "[a-z =\n]{0,20}".prop_map(|text| Action::Code(Code { text, span: Span::default() })),
        1 => state_cond().prop_map(Action::Assert),
        1 => Just(Action::Restart),
        1 => (
            lower_name(),
            option::of(state_cond()),
            0i64..1_000_000_000
        )
            .prop_map(|(name, cond, within)| Action::Measure(Measure {
                name: sp(name),
                until: match cond {
                    Some(c) => MeasureUntil::State(c),
                    None => MeasureUntil::Packet { span: Span::default() },
                },
                within_micros: sp(within),
                span: Span::default(),
            })),
    ]
}

fn event() -> impl Strategy<Value = Event> {
    (time_spec(), action()).prop_map(|(spec, action)| Event {
        time: EventTime {
            spec,
            span: Span::default(),
        },
        action,
        span: Span::default(),
    })
}

fn script() -> impl Strategy<Value = Script> {
    let metadata = ("[a-z][a-z_-]{0,7}", "([!-~][ -~]{0,15}[!-~])?").prop_map(|(k, v)| Metadata {
        key: sp(k),
        value: sp(v),
        span: Span::default(),
    });
    let script_option = (
        "[a-z_]{1,12}",
        option::of("[A-Za-z0-9.:_=/`%{*-]{1,10}|[a-z]{1,4} [a-z]{1,4}"),
    )
        .prop_map(|(name, value)| ScriptOption {
            name: sp(name),
            value: value.map(sp),
            span: Span::default(),
        });
    let command = || {
        option::of("[a-z ./=\n-]{0,20}".prop_map(|text| Command {
            text,
            span: Span::default(),
        }))
    };
    let item = prop_oneof![
        4 => event().prop_map(Item::Event),
        1 => (upper_name(), vec(event(), 0..3)).prop_map(|(name, events)| Item::Ifdef(IfdefBlock {
            name: sp(name),
            events,
            span: Span::default()
        })),
    ];
    (
        vec(metadata, 0..3),
        vec(script_option, 0..3),
        command(),
        vec(item, 1..6),
        command(),
    )
        .prop_map(
            |(metadata, options, init_command, body, cleanup_command)| Script {
                metadata,
                options,
                init_command,
                body,
                cleanup_command,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn print_then_parse_gives_the_same_tree(script in script()) {
        let text = print(&script);
        let parsed = parse(&text).map_err(|d| {
            TestCaseError::fail(format!("{d}\n--- printed ---\n{text}"))
        })?;
        prop_assert_eq!(parsed, script, "printed:\n{}", text);
    }
}

/// Every script of the corpora named in `TCPCONF_CORPUS` (colon-separated directories) prints to
/// text that parses back to the same tree. Skipped when the variable is unset.
#[test]
fn corpus_scripts_round_trip() {
    let Ok(dirs) = std::env::var("TCPCONF_CORPUS") else {
        eprintln!("TCPCONF_CORPUS not set; skipping the corpus round trip");
        return;
    };
    let paths: Vec<_> = dirs.split(':').map(std::path::PathBuf::from).collect();
    let files = tcpconf::script::corpus::collect_scripts(&paths).expect("corpus readable");
    let mut checked = 0;
    for path in files {
        let source = String::from_utf8_lossy(&std::fs::read(&path).expect("readable")).into_owned();
        let Ok(script) = parse(&source) else { continue };
        let text = print(&script);
        let reparsed = parse(&text).unwrap_or_else(|d| {
            panic!(
                "{}: printed text does not parse: {d}\n{text}",
                path.display()
            )
        });
        assert_eq!(reparsed, script, "{}", path.display());
        checked += 1;
    }
    eprintln!("{checked} corpus scripts round-tripped");
}

/// Inputs the fuzzer found printing back wrongly: quotes, form feeds (grammar whitespace) and
/// comment starts in and around option values; brackets in a command after a metadata line
/// holding a backtick.
#[test]
fn awkward_option_values_round_trip() {
    // (source, whether it is a valid script)
    for (source, valid) in [
        ("--cc=\",[x\"yy\n0 close(3) = 0\n", false),
        ("--cc=\"a b\"\n0 close(3) = 0\n", true),
        ("--cc=\"a\u{0c}b\"\n0 close(3) = 0\n", true),
        ("--cc=\"\"\n0 close(3) = 0\n", true),
        ("//! k: x\r--c=a*//*/b\n0 close(3) = 0\n", true),
        ("--x=a`b\n//! c: `\n0 `//x`\n", true),
        ("--cc=\"//\u{a0}x\"\n0 close(3) = 0\n", true),
        ("--cc=\"a`b/*c%{\"\n0 close(3) = 0\n", true),
        (
            "* `{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{`//! m: `x\n",
            true,
        ),
    ] {
        match parse(source) {
            Ok(script) => {
                assert!(valid, "{source:?} should not parse");
                let text = print(&script);
                let reparsed = parse(&text).unwrap_or_else(|d| panic!("{text:?}: {d}"));
                assert_eq!(reparsed, script, "{text:?}");
            }
            Err(d) => assert!(!valid, "{source:?}: {d}"),
        }
    }
}
