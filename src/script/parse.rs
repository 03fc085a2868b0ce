//! Text → [`Script`]: runs the pest grammar (`grammar/tcpconf.pest`) and turns its pairs into the
//! typed tree. Pest types stay inside this file and [`super::diag`].

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};

use super::ast::*;
use super::diag::{Diagnostic, LineIndex};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/tcpconf.pest"]
pub(crate) struct Grammar;

/// Parses a whole script. A syntax error comes back as a [`Diagnostic`] pointing at the first token
/// the grammar could not accept, with a plain-English statement of what it expected there.
pub fn parse(source: &str) -> Result<Script, Diagnostic> {
    let index = LineIndex::new(source);
    let mut pairs = Grammar::parse(Rule::script, source)
        .map_err(|error| super::diag::from_pest(&error, source, &index))?;
    let script = pairs
        .next()
        .ok_or_else(|| Diagnostic::error(index.span(0, 0), "empty parse"))?;
    Builder { index: &index }.script(script)
}

/// Parses one event line on its own (time and action), e.g. for a REPL or for tests.
pub fn parse_event(source: &str) -> Result<Event, Diagnostic> {
    let script = parse(source)?;
    let index = LineIndex::new(source);
    let mut events = script.body.into_iter();
    match (events.next(), events.next()) {
        (Some(Item::Event(event)), None) => Ok(event),
        _ => Err(Diagnostic::error(
            index.span(0, source.len()),
            "expected exactly one event",
        )),
    }
}

type Result<T, E = Diagnostic> = std::result::Result<T, E>;

struct Builder<'i> {
    index: &'i LineIndex<'i>,
}

/// The children of a pair, with the parent's span for "missing part" errors (which the grammar
/// rules out; they exist so that a grammar/builder mismatch is an error, not a panic).
struct Children<'a> {
    inner: Pairs<'a, Rule>,
    parent: Span,
}

impl<'a> Children<'a> {
    fn next(&mut self) -> Result<Pair<'a, Rule>> {
        self.inner
            .next()
            .ok_or_else(|| Diagnostic::error(self.parent, "internal error: incomplete syntax tree"))
    }

    fn next_if(&mut self, rule: Rule) -> Option<Pair<'a, Rule>> {
        if self.inner.peek().is_some_and(|p| p.as_rule() == rule) {
            self.inner.next()
        } else {
            None
        }
    }
}

impl<'i> Builder<'i> {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let s = pair.as_span();
        self.index.span(s.start(), s.end())
    }

    fn children<'a>(&self, pair: &Pair<'a, Rule>) -> Children<'a> {
        Children {
            inner: pair.clone().into_inner(),
            parent: self.span(pair),
        }
    }

    fn unexpected(&self, pair: &Pair<'_, Rule>) -> Diagnostic {
        Diagnostic::error(
            self.span(pair),
            format!("internal error: unexpected {:?}", pair.as_rule()),
        )
    }

    fn ident(&self, pair: &Pair<'_, Rule>) -> Ident {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }

    /// An ident nested one level down (rules like `syscall_name = { ident }`).
    fn inner_ident(&self, pair: &Pair<'_, Rule>) -> Result<Ident> {
        let inner = self.children(pair).next()?;
        Ok(self.ident(&inner))
    }

    fn script(&self, pair: Pair<'_, Rule>) -> Result<Script> {
        let mut script = Script::default();
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::metadata => script.metadata.push(self.metadata(item)?),
                Rule::option => script.options.push(self.option(item)?),
                Rule::init_command => {
                    script.init_command = Some(self.shell(self.children(&item).next()?));
                }
                Rule::cleanup_command => {
                    script.cleanup_command = Some(self.shell(self.children(&item).next()?));
                }
                Rule::ifdef_block => script.body.push(Item::Ifdef(self.ifdef(item)?)),
                Rule::event => script.body.push(Item::Event(self.event(item)?)),
                Rule::EOI => {}
                _ => return Err(self.unexpected(&item)),
            }
        }
        Ok(script)
    }

    fn metadata(&self, pair: Pair<'_, Rule>) -> Result<Metadata> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let key = self.ident(&c.next()?);
        let value = c.next()?;
        let trimmed = value.as_str().trim_end();
        let start = value.as_span().start();
        Ok(Metadata {
            key,
            value: Spanned::new(
                trimmed.to_string(),
                self.index.span(start, start + trimmed.len()),
            ),
            span,
        })
    }

    fn option(&self, pair: Pair<'_, Rule>) -> Result<ScriptOption> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let name = self.ident(&c.next()?);
        let value = match c.inner.next() {
            None => None,
            Some(value) => {
                let inner = self.children(&value).next()?;
                let text = match inner.as_rule() {
                    Rule::string => self.children(&inner).next()?.as_str().to_string(),
                    _ => inner.as_str().to_string(),
                };
                Some(Spanned::new(text, self.span(&value)))
            }
        };
        Ok(ScriptOption { name, value, span })
    }

    fn shell(&self, pair: Pair<'_, Rule>) -> Command {
        let span = self.span(&pair);
        let text = pair
            .into_inner()
            .next()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default();
        Command { text, span }
    }

    fn code(&self, pair: Pair<'_, Rule>) -> Code {
        let span = self.span(&pair);
        let text = pair
            .into_inner()
            .next()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default();
        Code { text, span }
    }

    fn ifdef(&self, pair: Pair<'_, Rule>) -> Result<IfdefBlock> {
        let span = self.span(&pair);
        let mut name = None;
        let mut events = Vec::new();
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::ifdef_start => name = Some(self.inner_ident(&item)?),
                Rule::event => events.push(self.event(item)?),
                Rule::endif => {}
                _ => return Err(self.unexpected(&item)),
            }
        }
        let name = name.ok_or_else(|| Diagnostic::error(span, "`#ifdef` needs a name"))?;
        Ok(IfdefBlock { name, events, span })
    }

    fn event(&self, pair: Pair<'_, Rule>) -> Result<Event> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let time = self.time_spec(c.next()?)?;
        let action = c.next()?;
        let action = self.action(self.children(&action).next()?)?;
        Ok(Event { time, action, span })
    }

    fn time_spec(&self, pair: Pair<'_, Rule>) -> Result<EventTime> {
        let span = self.span(&pair);
        let inner = self.children(&pair).next()?;
        let spec = match inner.as_rule() {
            Rule::any_time => TimeSpec::Any,
            Rule::at_time => TimeSpec::At(self.time(self.children(&inner).next()?)?),
            Rule::range_time => {
                let mut c = self.children(&inner);
                let lo = self.time(c.next()?)?;
                let hi = self.time(c.next()?)?;
                TimeSpec::Range { lo, hi }
            }
            Rule::blocking_time => {
                let mut c = self.children(&inner);
                let start = self.time(c.next()?)?;
                let end = c.next()?;
                let end_micros = self.seconds(&self.children(&end).next()?)?;
                TimeSpec::Blocking { start, end_micros }
            }
            _ => return Err(self.unexpected(&inner)),
        };
        Ok(EventTime { spec, span })
    }

    fn time(&self, pair: Pair<'_, Rule>) -> Result<Time> {
        let mut c = self.children(&pair);
        let relative = c.next_if(Rule::plus).is_some();
        let micros = self.seconds(&c.next()?)?;
        Ok(Time { relative, micros })
    }

    /// Seconds as written (`1`, `0.25`, `.01`) → microseconds, exactly (digits past the sixth
    /// decimal are rounded to the nearest microsecond, as packetdrill's `atof`-based reading does).
    fn seconds(&self, pair: &Pair<'_, Rule>) -> Result<i64> {
        seconds_to_micros(pair.as_str())
            .ok_or_else(|| Diagnostic::error(self.span(pair), "time is too large"))
    }

    fn action(&self, pair: Pair<'_, Rule>) -> Result<Action> {
        Ok(match pair.as_rule() {
            Rule::packet => Action::Packet(Box::new(self.packet(pair)?)),
            Rule::syscall => Action::Syscall(self.syscall(pair)?),
            Rule::shell => Action::Shell(self.shell(pair)),
            Rule::code => Action::Code(self.code(pair)),
            Rule::assert_stmt => {
                let mut c = self.children(&pair);
                c.next()?;
                Action::Assert(self.state_cond(c.next()?)?)
            }
            Rule::measure_stmt => Action::Measure(self.measure(pair)?),
            _ => return Err(self.unexpected(&pair)),
        })
    }

    fn state_cond(&self, pair: Pair<'_, Rule>) -> Result<StateCondition> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        c.next()?; // `state`
        let fd = match c.next_if(Rule::state_fd) {
            Some(fd) => {
                let dec = self.children(&fd).next()?;
                let value = self.unsigned(&dec)?;
                let value = i64::try_from(value)
                    .map_err(|_| Diagnostic::error(self.span(&dec), "fd is too large"))?;
                Some(Spanned::new(value, self.span(&dec)))
            }
            None => None,
        };
        let op = match c.next()?.as_str() {
            "==" => CmpOp::Eq,
            _ => CmpOp::Ne,
        };
        let state = self.inner_ident(&c.next()?)?;
        Ok(StateCondition {
            fd,
            op,
            state,
            span,
        })
    }

    fn measure(&self, pair: Pair<'_, Rule>) -> Result<Measure> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        c.next()?; // `measure`
        let name = self.inner_ident(&c.next()?)?;
        c.next()?; // `until`
        let cond = c.next()?;
        let until = match cond.as_rule() {
            Rule::until_packet => MeasureUntil::Packet {
                span: self.span(&cond),
            },
            _ => MeasureUntil::State(self.state_cond(cond)?),
        };
        c.next()?; // `within`
        let secs = c.next()?;
        let within_micros = Spanned::new(self.seconds(&secs)?, self.span(&secs));
        Ok(Measure {
            name,
            until,
            within_micros,
            span,
        })
    }

    // ---- packets ------------------------------------------------------------------------------

    fn packet(&self, pair: Pair<'_, Rule>) -> Result<PacketSpec> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let dir = c.next()?;
        let direction = Spanned::new(
            if dir.as_str() == "<" {
                Direction::Inbound
            } else {
                Direction::Outbound
            },
            self.span(&dir),
        );
        let mut ip_info = Vec::new();
        if let Some(info) = c.next_if(Rule::ip_info) {
            for field in info.into_inner() {
                ip_info.push(self.ip_field(field)?);
            }
        }
        let body = c.next()?;
        let kind = match body.as_rule() {
            Rule::tcp_packet => PacketKind::Tcp(self.tcp_packet(body)?),
            Rule::udp_packet => {
                let mut c = self.children(&body);
                c.next()?; // `udp`
                let ports = match c.next_if(Rule::ports) {
                    Some(p) => Some(self.ports(p)?),
                    None => None,
                };
                let len = self.spanned_unsigned(&c.next()?)?;
                PacketKind::Udp(UdpPacket { ports, len })
            }
            Rule::icmp_packet => PacketKind::Icmp(self.icmp_packet(body)?),
            _ => return Err(self.unexpected(&body)),
        };
        Ok(PacketSpec {
            direction,
            ip_info,
            kind,
            span,
        })
    }

    fn ip_field(&self, pair: Pair<'_, Rule>) -> Result<Spanned<IpField>> {
        let span = self.span(&pair);
        let inner = self.children(&pair).next()?;
        let field = if inner.as_rule() == Rule::ecn {
            IpField::Ecn(match inner.as_str() {
                "ect0" => Ecn::Ect0,
                "ect1" => Ecn::Ect1,
                "ect01" => Ecn::Ect01,
                "ce" => Ecn::Ce,
                _ => Ecn::NotEct,
            })
        } else {
            let mut c = self.children(&inner);
            c.next()?; // keyword
            let value = self.unsigned(&c.next()?)?;
            match inner.as_rule() {
                Rule::tos_field => IpField::Tos(value),
                Rule::class_field => IpField::TrafficClass(value),
                Rule::flowlabel_field => IpField::FlowLabel(value),
                Rule::ttl_field => IpField::Ttl(value),
                Rule::hlim_field => IpField::HopLimit(value),
                _ => return Err(self.unexpected(&inner)),
            }
        };
        Ok(Spanned::new(field, span))
    }

    fn ports(&self, pair: Pair<'_, Rule>) -> Result<Spanned<PortPair>> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let src = self.unsigned(&c.next()?)?;
        let dst = self.unsigned(&c.next()?)?;
        Ok(Spanned::new(PortPair { src, dst }, span))
    }

    fn udp_encap(&self, pair: Pair<'_, Rule>) -> Result<Spanned<PortPair>> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        c.next()?; // `udp`
        let src = self.unsigned(&c.next()?)?;
        let dst = self.unsigned(&c.next()?)?;
        Ok(Spanned::new(PortPair { src, dst }, span))
    }

    fn tcp_packet(&self, pair: Pair<'_, Rule>) -> Result<TcpPacket> {
        let mut c = self.children(&pair);
        let psp_spi = match c.next_if(Rule::psp_encap) {
            Some(psp) => {
                let mut p = self.children(&psp);
                p.next()?;
                p.next()?;
                p.next()?;
                Some(self.spanned_unsigned(&p.next()?)?)
            }
            None => None,
        };
        let ports = match c.next_if(Rule::ports) {
            Some(p) => Some(self.ports(p)?),
            None => None,
        };
        let flags = c.next()?;
        let flags = Spanned::new(self.flags(&flags)?, self.span(&flags));
        let seq = self.seq(c.next()?)?;
        let mut packet = TcpPacket {
            psp_spi,
            ports,
            flags,
            seq,
            ack: None,
            win: None,
            urg: None,
            options: None,
            udp_encap: None,
        };
        for part in c.inner {
            match part.as_rule() {
                Rule::ack => {
                    let span = self.span(&part);
                    let value = self.children(&part).nth_value()?;
                    let kind = match value.as_rule() {
                        Rule::star => PatternKind::Any,
                        Rule::define_ref => PatternKind::Define(value.as_str().to_string()),
                        _ => PatternKind::Exact(self.unsigned(&value)?),
                    };
                    packet.ack = Some(Spanned::new(kind, span));
                }
                Rule::win => {
                    let span = self.span(&part);
                    let mut w = self.children(&part);
                    w.next()?;
                    let mut pattern = self.pattern(w.next()?)?;
                    pattern.span = span;
                    packet.win = Some(pattern);
                }
                Rule::urg => {
                    let mut u = self.children(&part);
                    u.next()?;
                    packet.urg = Some(self.spanned_unsigned(&u.next()?)?);
                }
                Rule::tcp_options => packet.options = Some(self.options(part)?),
                Rule::udp_encap => packet.udp_encap = Some(self.udp_encap(part)?),
                _ => return Err(self.unexpected(&part)),
            }
        }
        Ok(packet)
    }

    fn flags(&self, pair: &Pair<'_, Rule>) -> Result<TcpFlags> {
        parse_flags(pair.as_str()).map_err(|message| Diagnostic::error(self.span(pair), message))
    }

    fn seq(&self, pair: Pair<'_, Rule>) -> Result<Spanned<SeqSpec>> {
        let span = self.span(&pair);
        let inner = self.children(&pair).next()?;
        let mut c = self.children(&inner);
        let spec = match inner.as_rule() {
            Rule::seq_any => SeqSpec::Any {
                len: self.unsigned(&c.next()?)?,
            },
            _ => {
                let start = self.unsigned(&c.next()?)?;
                let end = self.unsigned(&c.next()?)?;
                let len = self.unsigned(&c.next()?)?;
                let absolute = c.next_if(Rule::absolute_mark).is_some();
                SeqSpec::Range {
                    start,
                    end,
                    len,
                    absolute,
                }
            }
        };
        Ok(Spanned::new(spec, span))
    }

    fn pattern(&self, pair: Pair<'_, Rule>) -> Result<Pattern> {
        let span = self.span(&pair);
        let inner = self.children(&pair).next()?;
        let kind = match inner.as_rule() {
            Rule::star => PatternKind::Any,
            Rule::define_ref => PatternKind::Define(inner.as_str().to_string()),
            Rule::value_range => {
                let mut c = self.children(&inner);
                let lo = self.unsigned(&c.next()?)?;
                let hi = self.unsigned(&c.next()?)?;
                PatternKind::Range { lo, hi }
            }
            _ => PatternKind::Exact(self.unsigned(&inner)?),
        };
        Ok(Spanned::new(kind, span))
    }

    fn options(&self, pair: Pair<'_, Rule>) -> Result<OptionSpec> {
        let span = self.span(&pair);
        let inner = self.children(&pair).next()?;
        Ok(match inner.as_rule() {
            Rule::options_dontcare => OptionSpec::DontCare { span },
            Rule::options_ordered => OptionSpec::Ordered {
                options: inner
                    .into_inner()
                    .map(|o| self.tcp_option(o))
                    .collect::<Result<_>>()?,
                span,
            },
            _ => {
                let mut options = Vec::new();
                let mut others_allowed = false;
                for item in inner.into_inner() {
                    match item.as_rule() {
                        Rule::others => others_allowed = true,
                        _ => options.push(self.tcp_option(item)?),
                    }
                }
                OptionSpec::Unordered {
                    options,
                    others_allowed,
                    span,
                }
            }
        })
    }

    fn tcp_option(&self, pair: Pair<'_, Rule>) -> Result<TcpOption> {
        let span = self.span(&pair);
        let inner = self.children(&pair).next()?;
        let mut c = self.children(&inner);
        let kind = match inner.as_rule() {
            Rule::opt_nop => TcpOptionKind::Nop,
            Rule::opt_eol => TcpOptionKind::Eol,
            Rule::opt_sackok => TcpOptionKind::SackPermitted,
            Rule::opt_mss => {
                c.next()?;
                TcpOptionKind::Mss(self.pattern(c.next()?)?)
            }
            Rule::opt_wscale => {
                c.next()?;
                TcpOptionKind::WindowScale(self.pattern(c.next()?)?)
            }
            Rule::opt_sack => {
                c.next()?;
                let mut blocks = Vec::new();
                for block in c.inner {
                    let span = self.span(&block);
                    let mut b = self.children(&block);
                    let left = self.unsigned(&b.next()?)?;
                    let right = self.unsigned(&b.next()?)?;
                    blocks.push(Spanned::new(SackBlock { left, right }, span));
                }
                TcpOptionKind::Sack(blocks)
            }
            Rule::opt_ts => {
                c.next()?; // TS
                c.next()?; // val
                let val = c.next()?;
                let val_inner = self.children(&val).next()?;
                let val = match val_inner.as_rule() {
                    Rule::ts_ignored => Spanned::new(PatternKind::Any, self.span(&val)),
                    _ => self.pattern(val_inner)?,
                };
                c.next()?; // ecr
                let ecr = self.pattern(c.next()?)?;
                let ecr_absolute = c.next_if(Rule::absolute_mark).is_some();
                TcpOptionKind::Timestamp {
                    val,
                    ecr,
                    ecr_absolute,
                }
            }
            Rule::opt_fo => {
                c.next()?;
                TcpOptionKind::FastOpen {
                    cookie: c.inner.next().map(|b| self.ident(&b)),
                }
            }
            Rule::opt_foexp => {
                c.next()?;
                TcpOptionKind::FastOpenExp {
                    cookie: c.inner.next().map(|b| self.ident(&b)),
                }
            }
            Rule::opt_md5 => {
                c.next()?;
                TcpOptionKind::Md5(match c.inner.next() {
                    None => Md5Signature::Zero,
                    Some(sig) if sig.as_rule() == Rule::md5_valid => Md5Signature::Valid,
                    Some(sig) => Md5Signature::Hex(self.ident(&sig)),
                })
            }
            Rule::opt_accecn => {
                c.next()?;
                let mut acc = AccEcnOption {
                    order: AccEcnOrder::E0bFirst,
                    e0b: None,
                    ceb: None,
                    e1b: None,
                };
                for (i, field) in c.inner.enumerate() {
                    let rule = field.as_rule();
                    let mut f = self.children(&field);
                    f.next()?;
                    let value = Some(self.spanned_unsigned(&f.next()?)?);
                    match rule {
                        Rule::accecn_e0b => acc.e0b = value,
                        Rule::accecn_ceb => acc.ceb = value,
                        _ => {
                            if i == 0 {
                                acc.order = AccEcnOrder::E1bFirst;
                            }
                            acc.e1b = value;
                        }
                    }
                }
                TcpOptionKind::AccEcn(acc)
            }
            Rule::opt_generic => {
                let kind_pair = c.next()?;
                let kind = kind_pair
                    .as_str()
                    .strip_prefix("gen-")
                    .and_then(|k| k.parse::<u64>().ok())
                    .ok_or_else(|| {
                        Diagnostic::error(self.span(&kind_pair), "option kind is too large")
                    })?;
                TcpOptionKind::Generic {
                    kind,
                    data: c.inner.next().map(|b| self.ident(&b)),
                }
            }
            Rule::opt_experimental => {
                let magic_pair = c.next()?;
                let magic = magic_pair
                    .as_str()
                    .strip_prefix("exp-")
                    .and_then(|m| u64::from_str_radix(m, 16).ok())
                    .ok_or_else(|| {
                        Diagnostic::error(self.span(&magic_pair), "option magic is too large")
                    })?;
                TcpOptionKind::Experimental {
                    magic,
                    data: c.inner.next().map(|b| self.ident(&b)),
                }
            }
            Rule::opt_unknown => {
                let name = self.ident(&c.next()?);
                TcpOptionKind::Unknown {
                    name,
                    args: c.inner.map(|a| a.as_str().to_string()).collect(),
                }
            }
            _ => return Err(self.unexpected(&inner)),
        };
        Ok(TcpOption { kind, span })
    }

    fn icmp_packet(&self, pair: Pair<'_, Rule>) -> Result<IcmpPacket> {
        let mut c = self.children(&pair);
        c.next()?; // `icmp`
        let icmp_type = self.inner_ident(&c.next()?)?;
        let mut packet = IcmpPacket {
            icmp_type,
            code: None,
            mtu: None,
            echoed: None,
            id: None,
        };
        for part in c.inner {
            match part.as_rule() {
                Rule::icmp_code => packet.code = Some(self.inner_ident(&part)?),
                Rule::icmp_mtu => packet.mtu = Some(self.keyword_value(&part)?),
                Rule::icmp_id => packet.id = Some(self.keyword_value(&part)?),
                Rule::icmp_echoed => {
                    let span = self.span(&part);
                    let inner = self.children(&part).next()?;
                    let mut e = self.children(&inner);
                    let echoed = match inner.as_rule() {
                        Rule::echoed_udp => {
                            e.next()?;
                            IcmpEchoed::Udp {
                                len: self.unsigned(&e.next()?)?,
                            }
                        }
                        Rule::echoed_raw => {
                            e.next()?;
                            IcmpEchoed::Raw {
                                len: self.unsigned(&e.next()?)?,
                            }
                        }
                        _ => {
                            let start = self.unsigned(&e.next()?)?;
                            let end = self.unsigned(&e.next()?)?;
                            let len = self.unsigned(&e.next()?)?;
                            let udp_encap = match e.inner.next() {
                                Some(u) => Some(self.udp_encap(u)?.node),
                                None => None,
                            };
                            IcmpEchoed::Tcp {
                                start,
                                end,
                                len,
                                udp_encap,
                            }
                        }
                    };
                    packet.echoed = Some(Spanned::new(echoed, span));
                }
                _ => return Err(self.unexpected(&part)),
            }
        }
        Ok(packet)
    }

    /// `keyword N` → N with its span.
    fn keyword_value(&self, pair: &Pair<'_, Rule>) -> Result<Spanned<u64>> {
        let mut c = self.children(pair);
        c.next()?;
        self.spanned_unsigned(&c.next()?)
    }

    // ---- syscalls -----------------------------------------------------------------------------

    fn syscall(&self, pair: Pair<'_, Rule>) -> Result<SyscallSpec> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let name = self.inner_ident(&c.next()?)?;
        let mut args = Vec::new();
        let mut rest = Vec::new();
        for part in c.inner {
            rest.push(part);
        }
        // All `expr` pairs but the last are arguments; the last is the result.
        let mut errno = None;
        let mut note = None;
        while let Some(last) = rest.last() {
            match last.as_rule() {
                Rule::note => {
                    let text = self.children(last).next()?;
                    note = Some(Spanned::new(
                        text.as_str().trim().to_string(),
                        self.span(&text),
                    ));
                }
                Rule::errno => errno = Some(self.inner_ident(last)?),
                _ => break,
            }
            rest.pop();
        }
        let result = rest
            .pop()
            .ok_or_else(|| Diagnostic::error(span, "expected `= result` after the arguments"))?;
        let result = self.expr(result)?;
        for arg in rest {
            args.push(self.expr(arg)?);
        }
        Ok(SyscallSpec {
            name,
            args,
            result,
            errno,
            note,
            span,
        })
    }

    fn expr(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let mut operands = pair.into_inner();
        let first = operands.next().ok_or_else(|| {
            Diagnostic::error(Span::default(), "internal error: empty expression")
        })?;
        let mut expr = self.operand(first)?;
        for next in operands {
            let rhs = self.operand(next)?;
            let span = self.index.span(expr.span.start, rhs.span.end);
            expr = Expr {
                kind: ExprKind::Or(Box::new(expr), Box::new(rhs)),
                span,
            };
        }
        Ok(expr)
    }

    fn operand(&self, pair: Pair<'_, Rule>) -> Result<Expr> {
        let span = self.span(&pair);
        let kind =
            match pair.as_rule() {
                Rule::ellipsis => ExprKind::Ellipsis,
                Rule::int => ExprKind::Int(
                    pair.as_str()
                        .parse::<i64>()
                        .map_err(|_| Diagnostic::error(span, "integer does not fit in 64 bits"))?,
                ),
                Rule::hex => {
                    let digits = pair.as_str().get(2..).unwrap_or("");
                    ExprKind::Hex(u64::from_str_radix(digits, 16).map_err(|_| {
                        Diagnostic::error(span, "hex integer does not fit in 64 bits")
                    })?)
                }
                Rule::symbol => ExprKind::Symbol(pair.as_str().to_string()),
                Rule::strings => {
                    let mut text = String::new();
                    let mut more = false;
                    for part in pair.into_inner() {
                        match part.as_rule() {
                            Rule::string => {
                                if let Some(t) = part.into_inner().next() {
                                    text.push_str(t.as_str());
                                }
                            }
                            _ => more = true,
                        }
                    }
                    if more {
                        ExprKind::StrPrefix(text)
                    } else {
                        ExprKind::Str(text)
                    }
                }
                Rule::array => ExprKind::Array(
                    pair.into_inner()
                        .map(|e| self.expr(e))
                        .collect::<Result<_>>()?,
                ),
                Rule::struct_expr => ExprKind::Struct(
                    pair.into_inner()
                        .map(|f| self.struct_field(f))
                        .collect::<Result<_>>()?,
                ),
                Rule::call => {
                    let mut c = self.children(&pair);
                    let name = self.ident(&c.next()?);
                    let args = c.inner.map(|e| self.expr(e)).collect::<Result<_>>()?;
                    ExprKind::Call { name, args }
                }
                _ => return Err(self.unexpected(&pair)),
            };
        Ok(Expr { kind, span })
    }

    fn struct_field(&self, pair: Pair<'_, Rule>) -> Result<StructField> {
        let span = self.span(&pair);
        let mut c = self.children(&pair);
        let first = c.next()?;
        if first.as_rule() != Rule::field_name {
            return Ok(StructField {
                name: None,
                count: None,
                value: self.expr(first)?,
                span,
            });
        }
        let name = Some(self.inner_ident(&first)?);
        let count = match c.next_if(Rule::field_count) {
            Some(count) => Some(Box::new(self.expr(self.children(&count).next()?)?)),
            None => None,
        };
        let value = self.expr(c.next()?)?;
        Ok(StructField {
            name,
            count,
            value,
            span,
        })
    }

    // ---- numbers ------------------------------------------------------------------------------

    /// A `dec`, `hex` or `uint` pair as an unsigned number.
    fn unsigned(&self, pair: &Pair<'_, Rule>) -> Result<u64> {
        let text = pair.as_str();
        let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse::<u64>(),
        };
        parsed.map_err(|_| Diagnostic::error(self.span(pair), "number does not fit in 64 bits"))
    }

    fn spanned_unsigned(&self, pair: &Pair<'_, Rule>) -> Result<Spanned<u64>> {
        Ok(Spanned::new(self.unsigned(pair)?, self.span(pair)))
    }
}

impl<'a> Children<'a> {
    /// The value after a keyword (`ack 5` → `5`).
    fn nth_value(mut self) -> Result<Pair<'a, Rule>> {
        self.next()?;
        self.next()
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
