//! Text → [`Script`]: runs the pest grammar (`grammar/tcpconf.pest`) and turns its pairs into the
//! typed tree. Pest types stay inside this file and [`super::diag`].

use pest::Parser as _;
use pest::iterators::{Pair, Pairs};

use super::ast::*;
use super::diag::{Diagnostic, LineIndex};
use super::tokens::{MAX_NESTING, Prescan, parse_flags, prescan, seconds_to_micros};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/tcpconf.pest"]
pub(crate) struct Grammar;

/// Parses a whole script. A syntax error comes back as a [`Diagnostic`] pointing at the first token
/// the grammar could not accept, with a plain-English statement of what it expected there.
pub fn parse(source: &str) -> Result<Script, Diagnostic> {
    let index = LineIndex::new(source);
    let Prescan {
        text: blanked,
        too_deep_at,
    } = prescan(source);
    if let Some(at) = too_deep_at {
        return Err(Diagnostic::error(
            index.span(at, at + 1),
            format!("brackets are nested more than {MAX_NESTING} levels deep"),
        ));
    }
    let mut pairs = Grammar::parse(Rule::script, &blanked)
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

/// How many `|` operands one expression may have (see [`MAX_NESTING`] for why there is a limit).
const MAX_OR_OPERANDS: usize = 64;

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
            Rule::restart_stmt => Action::Restart,
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
            bad_csum: false,
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
                Rule::bad_csum => packet.bad_csum = true,
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
            Rule::opt_raw => {
                c.next()?; // `raw`
                TcpOptionKind::Raw {
                    bytes: self.ident(&c.next()?),
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
            if !matches!(
                part.as_rule(),
                Rule::arg_comma | Rule::args_end | Rule::result_eq
            ) {
                rest.push(part);
            }
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
        for (count, next) in operands.enumerate() {
            // `|` chains nest to the left; keep them as shallow as brackets must be.
            if count >= MAX_OR_OPERANDS {
                return Err(Diagnostic::error(
                    self.span(&next),
                    format!("more than {MAX_OR_OPERANDS} values joined with `|`"),
                ));
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses without blanking comments first, to show that blanking changes nothing.
    fn parse_unblanked(source: &str) -> Script {
        let index = LineIndex::new(source);
        let mut pairs = Grammar::parse(Rule::script, source).expect("parses");
        let script = pairs.next().expect("a script");
        Builder { index: &index }.script(script).expect("builds")
    }

    #[test]
    fn blanking_comments_keeps_meaning_and_offsets() {
        let sources = [
            "// c\n//! title: a `quote // not a comment\n0 `echo // kept` // gone\n",
            "/* a\n b */ 0 write(3, \"x // y\", 1) = 1 /* c */\n+0 %{ x = '//' }%\n",
            "0 close(3) = 0 // trailing \"unbalanced\n+0 close(4) = 0\n",
        ];
        for source in sources {
            let blanked = prescan(source).text;
            assert_eq!(blanked.len(), source.len());
            assert_eq!(blanked.matches('\n').count(), source.matches('\n').count());
            assert_eq!(
                parse(source).expect("parses"),
                parse_unblanked(source),
                "{source}"
            );
        }
        assert!(prescan("`echo // x`").text.contains("// x"));
        assert!(!prescan("0 close(3) = 0 // x").text.contains("// x"));
    }

    fn event(text: &str) -> Event {
        parse_event(text).unwrap_or_else(|d| panic!("{text}: {d}"))
    }

    fn tcp(text: &str) -> (Direction, TcpPacket) {
        match event(text).action {
            Action::Packet(p) => match p.kind {
                PacketKind::Tcp(t) => (p.direction.node, t),
                other => panic!("not TCP: {other:?}"),
            },
            other => panic!("not a packet: {other:?}"),
        }
    }

    fn options(text: &str) -> Vec<TcpOptionKind> {
        let (_, t) = tcp(text);
        t.options
            .map(|o| o.options().iter().map(|o| o.kind.clone()).collect())
            .unwrap_or_default()
    }

    fn syscall(text: &str) -> SyscallSpec {
        match event(text).action {
            Action::Syscall(s) => s,
            other => panic!("not a syscall: {other:?}"),
        }
    }

    #[test]
    fn script_layout() {
        let s = parse(
            "// comment\n/* block\n comment */\n//! title: t\n--tolerance_usecs=10000\n--strict_segments\n\
             `init\nmore`\n0 close(3) = 0\n`cleanup`\n",
        )
        .expect("parses");
        assert_eq!(s.metadata.len(), 1);
        assert_eq!(s.options.len(), 2);
        assert_eq!(
            s.option("tolerance_usecs")
                .and_then(|o| o.value.as_ref())
                .map(|v| v.node.as_str()),
            Some("10000")
        );
        assert_eq!(s.init_command.map(|c| c.text), Some("init\nmore".into()));
        assert_eq!(s.cleanup_command.map(|c| c.text), Some("cleanup".into()));
        assert_eq!(s.body.len(), 1);
    }

    #[test]
    fn quoted_option_value() {
        let s = parse("--define=\"A B\"\n0 close(3) = 0\n").expect("parses");
        assert_eq!(
            s.options[0].value.as_ref().map(|v| v.node.as_str()),
            Some("A B")
        );
    }

    #[test]
    fn times() {
        let at = |t: &str| event(&format!("{t} close(3) = 0")).time.spec;
        assert_eq!(
            at("0"),
            TimeSpec::At(Time {
                relative: false,
                micros: 0
            })
        );
        assert_eq!(
            at("+.01"),
            TimeSpec::At(Time {
                relative: true,
                micros: 10_000
            })
        );
        assert_eq!(
            at("1.5"),
            TimeSpec::At(Time {
                relative: false,
                micros: 1_500_000
            })
        );
        assert_eq!(
            at("+0...0.200"),
            TimeSpec::Blocking {
                start: Time {
                    relative: true,
                    micros: 0
                },
                end_micros: 200_000
            }
        );
        assert_eq!(
            at("+.002 ... 0.052"),
            TimeSpec::Blocking {
                start: Time {
                    relative: true,
                    micros: 2_000
                },
                end_micros: 52_000
            }
        );
        let out = |t: &str| event(&format!("{t} > . 1:1(0) ack 1")).time.spec;
        assert_eq!(out("*"), TimeSpec::Any);
        assert_eq!(
            out("+0~+.04"),
            TimeSpec::Range {
                lo: Time {
                    relative: true,
                    micros: 0
                },
                hi: Time {
                    relative: true,
                    micros: 40_000
                }
            }
        );
        assert_eq!(
            out("0.1~0.2"),
            TimeSpec::Range {
                lo: Time {
                    relative: false,
                    micros: 100_000
                },
                hi: Time {
                    relative: false,
                    micros: 200_000
                }
            }
        );
    }

    #[test]
    fn flags() {
        let f = |t: &str| tcp(&format!("0 < {t} 0:0(0) win 1")).1.flags.node;
        let syn_ack = f("S.");
        assert!(syn_ack.syn && syn_ack.ack && !syn_ack.fin);
        let all = f("SFRPUEWA.");
        assert!(
            all.syn && all.fin && all.rst && all.psh && all.urg && all.ece && all.cwr && all.ae
        );
        assert_eq!(f("-"), TcpFlags::default());
        assert_eq!(f("5").ace, Some(5));
        let spaced = f("F .");
        assert!(spaced.fin && spaced.ack);
        assert!(parse_flags("SS").is_err());
        assert!(parse_flags("E4").is_err());
        assert!(parse_flags("12").is_err());
    }

    #[test]
    fn tcp_fields() {
        let (dir, t) = tcp("0 > P. 1:1001(1000) ack 1 win 257 urg 3");
        assert_eq!(dir, Direction::Outbound);
        assert_eq!(
            t.seq.node,
            SeqSpec::Range {
                start: 1,
                end: 1001,
                len: 1000,
                absolute: false
            }
        );
        assert_eq!(t.ack.map(|a| a.node), Some(PatternKind::Exact(1)));
        assert_eq!(t.win.map(|w| w.node), Some(PatternKind::Exact(257)));
        assert_eq!(t.urg.map(|u| u.node), Some(3));
        let (_, t) = tcp("0 > . 1:1(0) ack * win *");
        assert_eq!(t.ack.map(|a| a.node), Some(PatternKind::Any));
        assert_eq!(t.win.map(|w| w.node), Some(PatternKind::Any));
        let (_, t) = tcp("0 > . 1:1(0) ack 1 win 1000..65535");
        assert_eq!(
            t.win.map(|w| w.node),
            Some(PatternKind::Range {
                lo: 1000,
                hi: 65535
            })
        );
        let (_, t) = tcp("0 > . 1:1(0) ack 1 win WIN");
        assert_eq!(
            t.win.map(|w| w.node),
            Some(PatternKind::Define("WIN".into()))
        );
    }

    #[test]
    fn nplab_sequence_forms() {
        let (_, t) = tcp("0 > R. 1:1(0)! ack 1 win 0");
        assert!(matches!(t.seq.node, SeqSpec::Range { absolute: true, .. }));
        let (_, t) = tcp("0 > S. ...(0) ack 1 win 65535");
        assert_eq!(t.seq.node, SeqSpec::Any { len: 0 });
        let (_, t) = tcp("0 < S 0:0(0) win 65535 <mss 1460>/udp(9811 > 1)");
        assert_eq!(
            t.udp_encap.map(|p| p.node),
            Some(PortPair { src: 9811, dst: 1 })
        );
        let (_, t) = tcp("0 < . 1:1(0) ack 1 win 100/udp(1 > 2)");
        assert!(t.udp_encap.is_some());
    }

    #[test]
    fn ports_and_psp() {
        let (_, t) = tcp("0 < 1000>2000 S 0:0(0) win 10");
        assert_eq!(
            t.ports.map(|p| p.node),
            Some(PortPair {
                src: 1000,
                dst: 2000
            })
        );
        let (_, t) = tcp("0 < encap psp spi 7 . 1:1(0) ack 1 win 50000");
        assert_eq!(t.psp_spi.map(|s| s.node), Some(7));
    }

    #[test]
    fn ip_info() {
        let p = |t: &str| match event(t).action {
            Action::Packet(p) => p.ip_info.into_iter().map(|f| f.node).collect::<Vec<_>>(),
            _ => panic!(),
        };
        assert_eq!(
            p("0 < [ect0] S 0:0(0) win 1"),
            vec![IpField::Ecn(Ecn::Ect0)]
        );
        assert_eq!(p("0 > (ect01) . 1:1(0)"), vec![IpField::Ecn(Ecn::Ect01)]);
        assert_eq!(
            p("0 > [ce, flowlabel 0x12] . 1:1(0)"),
            vec![IpField::Ecn(Ecn::Ce), IpField::FlowLabel(0x12)]
        );
        assert_eq!(p("0 < (tos 0x2) . 1:1(0) win 1"), vec![IpField::Tos(2)]);
        assert_eq!(p("0 < (ttl 1) . 1:1(0) win 1"), vec![IpField::Ttl(1)]);
        assert_eq!(p("0 < (hlim 2) . 1:1(0) win 1"), vec![IpField::HopLimit(2)]);
        assert_eq!(
            p("0 < (class 0xe0) . 1:1(0) win 1"),
            vec![IpField::TrafficClass(0xe0)]
        );
        assert_eq!(
            p("0 < (noecn) . 1:1(0) win 1"),
            vec![IpField::Ecn(Ecn::NotEct)]
        );
    }

    #[test]
    fn basic_options() {
        let o = options("0 < S 0:0(0) win 1 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7,eol>");
        assert_eq!(o.len(), 6);
        assert!(matches!(&o[0], TcpOptionKind::Mss(p) if p.node == PatternKind::Exact(1460)));
        assert_eq!(o[1], TcpOptionKind::SackPermitted);
        assert!(
            matches!(&o[2], TcpOptionKind::Timestamp { val, ecr, ecr_absolute: false }
            if val.node == PatternKind::Exact(100) && ecr.node == PatternKind::Exact(0))
        );
        assert_eq!(o[3], TcpOptionKind::Nop);
        assert!(matches!(&o[4], TcpOptionKind::WindowScale(_)));
        assert_eq!(o[5], TcpOptionKind::Eol);
    }

    #[test]
    fn sack_and_timestamps() {
        let o = options("0 < . 1:1(0) ack 1 win 1 <nop,nop,sack 1001:2001 3001:4001>");
        assert!(matches!(&o[2], TcpOptionKind::Sack(b) if b.len() == 2 && b[1].node.left == 3001));
        let o = options("0 > . 1:1(0) ack 1 <TS val * ecr *>");
        assert!(matches!(&o[0], TcpOptionKind::Timestamp { val, ecr, .. }
            if val.node == PatternKind::Any && ecr.node == PatternKind::Any));
        let o = options("0 > . 1:1(0) ack 1 <TS val ... ecr 5!>");
        assert!(
            matches!(&o[0], TcpOptionKind::Timestamp { val, ecr_absolute: true, .. }
            if val.node == PatternKind::Any)
        );
    }

    #[test]
    fn fast_open_md5_accecn_generic() {
        let o = options("0 > S 0:0(0) <FO,FO abcd1234,FOEXP,EXP-FO aa,exp-FO>");
        assert_eq!(o[0], TcpOptionKind::FastOpen { cookie: None });
        assert!(
            matches!(&o[1], TcpOptionKind::FastOpen { cookie: Some(c) } if c.node == "abcd1234")
        );
        assert_eq!(o[2], TcpOptionKind::FastOpenExp { cookie: None });
        assert!(matches!(
            &o[3],
            TcpOptionKind::FastOpenExp { cookie: Some(_) }
        ));
        assert_eq!(o[4], TcpOptionKind::FastOpenExp { cookie: None });
        let o = options("0 > S 0:0(0) <md5,md5 valid,md5 00112233445566778899aabbccddeeff>");
        assert_eq!(o[0], TcpOptionKind::Md5(Md5Signature::Zero));
        assert_eq!(o[1], TcpOptionKind::Md5(Md5Signature::Valid));
        assert!(matches!(&o[2], TcpOptionKind::Md5(Md5Signature::Hex(_))));
        let o = options("0 > S. 0:0(0) <ECN e0b 1 ceb 0 e1b 1,ECN e1b 3>");
        assert!(matches!(&o[0], TcpOptionKind::AccEcn(a)
            if a.order == AccEcnOrder::E0bFirst && a.e1b.as_ref().map(|v| v.node) == Some(1)));
        assert!(matches!(&o[1], TcpOptionKind::AccEcn(a)
            if a.order == AccEcnOrder::E1bFirst && a.ceb.is_none()));
        let o = options("0 > S 0:0(0) <gen-253 0102,exp-abcd,exp-f989 11,AccECN0 ee0b 1>");
        assert!(matches!(
            &o[0],
            TcpOptionKind::Generic {
                kind: 253,
                data: Some(_)
            }
        ));
        assert!(matches!(
            &o[1],
            TcpOptionKind::Experimental {
                magic: 0xabcd,
                data: None
            }
        ));
        assert!(matches!(
            &o[2],
            TcpOptionKind::Experimental { magic: 0xf989, .. }
        ));
        assert!(
            matches!(&o[3], TcpOptionKind::Unknown { name, args } if name.node == "AccECN0" && args.len() == 2)
        );
    }

    #[test]
    fn option_list_forms() {
        let (_, t) = tcp("0 > S. 0:0(0) ack 1 <...>");
        assert!(matches!(t.options, Some(OptionSpec::DontCare { .. })));
        let (_, t) = tcp("0 > S. 0:0(0) ack 1 win * <{mss *, sackOK}>");
        assert!(
            matches!(t.options, Some(OptionSpec::Unordered { ref options, others_allowed: false, .. }) if options.len() == 2)
        );
        let (_, t) = tcp("0 > S. 0:0(0) ack 1 <{mss 536..1460, ...}>");
        assert!(matches!(
            t.options,
            Some(OptionSpec::Unordered {
                others_allowed: true,
                ..
            })
        ));
        let (_, t) = tcp("0 > S. 0:0(0) ack 1 <{...}>");
        assert!(
            matches!(t.options, Some(OptionSpec::Unordered { ref options, others_allowed: true, .. }) if options.is_empty())
        );
    }

    #[test]
    fn udp_and_icmp() {
        match event("0 < udp (1000)").action {
            Action::Packet(p) => assert!(
                matches!(p.kind, PacketKind::Udp(UdpPacket { ref len, .. }) if len.node == 1000)
            ),
            _ => panic!(),
        }
        let icmp = |t: &str| match event(t).action {
            Action::Packet(p) => match p.kind {
                PacketKind::Icmp(i) => i,
                _ => panic!(),
            },
            _ => panic!(),
        };
        let i = icmp("0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]");
        assert_eq!(i.icmp_type.node, "unreachable");
        assert_eq!(i.code.map(|c| c.node), Some("frag_needed".into()));
        assert_eq!(i.mtu.map(|m| m.node), Some(1200));
        assert!(matches!(
            i.echoed.map(|e| e.node),
            Some(IcmpEchoed::Tcp {
                start: 1,
                end: 1461,
                len: 1460,
                udp_encap: None
            })
        ));
        let i = icmp("0 < icmp unreachable port_unreachable [0:0(0)/udp(1 > 2)]");
        assert!(matches!(
            i.echoed.map(|e| e.node),
            Some(IcmpEchoed::Tcp {
                udp_encap: Some(_),
                ..
            })
        ));
        let i = icmp("0 < icmp echo_reply id 5 [raw (8)]");
        assert_eq!(i.id.map(|v| v.node), Some(5));
        assert!(matches!(
            i.echoed.map(|e| e.node),
            Some(IcmpEchoed::Raw { len: 8 })
        ));
        let i = icmp("0 < icmp unreachable [udp (10)]");
        assert!(i.code.is_none());
    }

    #[test]
    fn syscall_results() {
        let s = syscall("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)");
        assert_eq!(s.name.node, "connect");
        assert_eq!(s.args.len(), 3);
        assert_eq!(s.result.kind, ExprKind::Int(-1));
        assert_eq!(s.errno.map(|e| e.node), Some("EINPROGRESS".into()));
        assert_eq!(
            s.note.map(|n| n.node),
            Some("Operation now in progress".into())
        );
        let s = syscall("0 fcntl(3, F_GETFL) = 0x2 (flags O_RDWR)");
        assert_eq!(s.result.kind, ExprKind::Hex(2));
        assert!(s.errno.is_none());
        assert_eq!(s.note.map(|n| n.node), Some("flags O_RDWR".into()));
        let s = syscall("0 getpid() = 1");
        assert!(s.args.is_empty());
    }

    #[test]
    fn expressions() {
        let s = syscall("0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0");
        assert!(matches!(&s.args[2].kind, ExprKind::Or(a, b)
            if a.kind == ExprKind::Symbol("O_RDWR".into()) && b.kind == ExprKind::Symbol("O_NONBLOCK".into())));
        let s = syscall("0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0");
        assert!(matches!(&s.args[3].kind, ExprKind::Struct(f) if f.len() == 2));
        let s = syscall("0 getsockopt(3, SOL_SOCKET, SO_RCVBUF, [65536], [4]) = 0");
        assert!(matches!(&s.args[3].kind, ExprKind::Array(a) if a.len() == 1));
        let s = syscall("0 write(4, \"abc\" \"def\"..., 6) = 6");
        assert_eq!(s.args[1].kind, ExprKind::StrPrefix("abcdef".into()));
        let s = syscall(
            "0 connect(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr(\"192.0.2.1\")}, 16) = 0",
        );
        let ExprKind::Struct(fields) = &s.args[1].kind else {
            panic!()
        };
        assert!(
            matches!(&fields[1].value.kind, ExprKind::Call { name, args } if name.node == "htons" && args.len() == 1)
        );
        let s = syscall(
            "0 sendmsg(4, {msg_name(...)=..., msg_iov(1)=[{..., 1000}], msg_flags=0}, 0) = 1000",
        );
        let ExprKind::Struct(fields) = &s.args[1].kind else {
            panic!()
        };
        assert_eq!(
            fields[1].name.as_ref().map(|n| n.node.as_str()),
            Some("msg_iov")
        );
        assert!(fields[1].count.is_some());
        let s = syscall("0 poll([{fd=3, events=POLLIN, revents=0}], 1, 0) = 0");
        assert!(matches!(&s.args[0].kind, ExprKind::Array(_)));
        let s = syscall("0 epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLOUT|EPOLLET, fd=4}) = 0");
        assert_eq!(s.args.len(), 4);
        let s = syscall("0 close(3) = SYM (a note)");
        assert_eq!(s.result.kind, ExprKind::Symbol("SYM".into()));
        assert!(s.note.is_some());
    }

    #[test]
    fn multi_line_syscall() {
        let s = syscall(
            "0 recvmsg(4, {msg_name(...)=...,\n   msg_iov(1)=[{..., 1000}],\n   msg_flags=0}, 0) = 1000",
        );
        assert_eq!(s.args.len(), 3);
    }

    #[test]
    fn shell_and_code() {
        assert!(
            matches!(event("+0 `sysctl -q net.ipv4.tcp_sack=0`").action, Action::Shell(c) if c.text.starts_with("sysctl"))
        );
        assert!(
            matches!(event("+0 %{ assert tcpi_snd_cwnd == 10 }%").action, Action::Code(c) if c.text.contains("tcpi_snd_cwnd"))
        );
    }

    #[test]
    fn ifdef_blocks() {
        let s = parse("0 close(3) = 0\n#ifdef FreeBSD\n+0 close(4) = 0\n+0 close(5) = 0\n#endif\n+0 close(6) = 0\n")
            .expect("parses");
        assert_eq!(s.body.len(), 3);
        assert!(
            matches!(&s.body[1], Item::Ifdef(b) if b.name.node == "FreeBSD" && b.events.len() == 2)
        );
        assert_eq!(s.all_events().count(), 4);
        let mut defines = std::collections::BTreeMap::new();
        assert_eq!(s.resolve_ifdefs(&defines).body.len(), 2);
        defines.insert("FreeBSD".to_string(), String::new());
        assert_eq!(s.resolve_ifdefs(&defines).body.len(), 4);
    }

    #[test]
    fn state_assertions_and_measurements() {
        let Action::Assert(a) = event("+0 assert state(4) == ESTABLISHED").action else {
            panic!()
        };
        assert_eq!(a.fd.as_ref().map(|f| f.node), Some(4));
        assert_eq!(a.op, CmpOp::Eq);
        assert_eq!(a.tcp_state(), Some(TcpState::Established));
        let Action::Assert(a) = event("+0 assert state != TIME_WAIT").action else {
            panic!()
        };
        assert!(a.fd.is_none());
        assert_eq!(a.op, CmpOp::Ne);
        let Action::Measure(m) =
            event("+0 measure time_wait until state != TIME_WAIT within 600").action
        else {
            panic!()
        };
        assert_eq!(m.name.node, "time_wait");
        assert_eq!(m.within_micros.node, 600_000_000);
        assert!(
            matches!(m.until, MeasureUntil::State(ref c) if c.tcp_state() == Some(TcpState::TimeWait))
        );
        let Action::Measure(m) = event("+0 measure syn_rto_1 until packet within 10").action else {
            panic!()
        };
        assert!(matches!(m.until, MeasureUntil::Packet { .. }));
    }

    #[test]
    fn spans_point_at_tokens() {
        let source = "0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3\n+0 > S 0:0(0) win 10\n";
        let s = parse(source).expect("parses");
        let Some(Item::Event(e)) = s.body.get(1) else {
            panic!()
        };
        assert_eq!((e.span.line, e.span.col), (2, 1));
        let Action::Packet(p) = &e.action else {
            panic!()
        };
        let PacketKind::Tcp(t) = &p.kind else {
            panic!()
        };
        assert_eq!(t.flags.span.text(source), "S");
        assert_eq!((t.flags.span.line, t.flags.span.col), (2, 6));
    }
}
