//! [`Script`] → text, in the language's canonical layout: metadata, options, init command, one
//! event per line, cleanup command. Parsing the output gives back an equal tree
//! (`parse(print(ast)) == ast`, spans aside); comments and original spacing are not kept.
//!
//! Where the language has two spellings for one thing, the printer uses one: Google's `FOEXP` for
//! nplab's `EXP-FO`, `*` for nplab's `TS val ...`, and flags in the order `SFRPUEWA`, ACE digit,
//! then `.`.

use std::fmt::{self, Write as _};

use super::ast::*;

/// The script as text.
pub fn print(script: &Script) -> String {
    script.to_string()
}

impl fmt::Display for Script {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for m in &self.metadata {
            writeln!(f, "//! {}: {}", m.key.node, m.value.node)?;
        }
        for o in &self.options {
            write!(f, "--{}", o.name.node)?;
            if let Some(v) = &o.value {
                // Whitespace and the starts of comments, commands and strings end a bare value
                // (`lexical_break` in the grammar); such a value came from a quoted string.
                let needs_quotes = v.node.is_empty()
                    || v.node.contains([' ', '\t', '\r', '\n', '\u{0c}', '`', '"'])
                    || ["//", "/*", "%{"].iter().any(|s| v.node.contains(s));
                if needs_quotes {
                    write!(f, "=\"{}\"", v.node)?;
                } else {
                    write!(f, "={}", v.node)?;
                }
            }
            writeln!(f)?;
        }
        if let Some(c) = &self.init_command {
            writeln!(f, "`{}`", c.text)?;
        }
        for item in &self.body {
            match item {
                Item::Event(e) => writeln!(f, "{e}")?,
                Item::Ifdef(block) => {
                    writeln!(f, "#ifdef {}", block.name.node)?;
                    for e in &block.events {
                        writeln!(f, "{e}")?;
                    }
                    writeln!(f, "#endif")?;
                }
            }
        }
        if let Some(c) = &self.cleanup_command {
            writeln!(f, "`{}`", c.text)?;
        }
        Ok(())
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.time.spec, self.action)
    }
}

/// Microseconds as seconds: `1`, `0.25`, `0.000001`.
fn write_seconds(f: &mut fmt::Formatter<'_>, micros: i64) -> fmt::Result {
    let whole = micros.unsigned_abs() / 1_000_000;
    let frac = micros.unsigned_abs() % 1_000_000;
    if frac == 0 {
        write!(f, "{whole}")
    } else {
        let frac = format!("{frac:06}");
        write!(f, "{whole}.{}", frac.trim_end_matches('0'))
    }
}

impl fmt::Display for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.relative {
            f.write_char('+')?;
        }
        write_seconds(f, self.micros)
    }
}

impl fmt::Display for TimeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeSpec::At(t) => write!(f, "{t}"),
            TimeSpec::Range { lo, hi } => write!(f, "{lo}~{hi}"),
            TimeSpec::Any => f.write_char('*'),
            TimeSpec::Blocking { start, end_micros } => {
                write!(f, "{start}...")?;
                write_seconds(f, *end_micros)
            }
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Packet(p) => write!(f, "{p}"),
            Action::Syscall(s) => write!(f, "{s}"),
            Action::Shell(c) => write!(f, "`{}`", c.text),
            Action::Code(c) => write!(f, "%{{{}}}%", c.text),
            Action::Assert(cond) => write!(f, "assert {cond}"),
            Action::Restart => f.write_str("restart"),
            Action::Measure(m) => {
                write!(f, "measure {} until ", m.name.node)?;
                match &m.until {
                    MeasureUntil::Packet { .. } => f.write_str("packet")?,
                    MeasureUntil::State(cond) => write!(f, "{cond}")?,
                }
                f.write_str(" within ")?;
                write_seconds(f, m.within_micros.node)
            }
        }
    }
}

impl fmt::Display for StateCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("state")?;
        if let Some(fd) = &self.fd {
            write!(f, "({})", fd.node)?;
        }
        let op = match self.op {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        };
        write!(f, " {op} {}", self.state.node)
    }
}

impl fmt::Display for PacketSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.direction.node {
            Direction::Inbound => "<",
            Direction::Outbound => ">",
        })?;
        if !self.ip_info.is_empty() {
            f.write_str(" (")?;
            for (i, field) in self.ip_info.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", field.node)?;
            }
            f.write_char(')')?;
        }
        match &self.kind {
            PacketKind::Tcp(tcp) => write!(f, " {tcp}"),
            PacketKind::Udp(udp) => {
                f.write_str(" udp")?;
                if let Some(p) = &udp.ports {
                    write!(f, " {}>{}", p.node.src, p.node.dst)?;
                }
                write!(f, " ({})", udp.len.node)
            }
            PacketKind::Icmp(icmp) => write!(f, " {icmp}"),
        }
    }
}

impl fmt::Display for IpField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IpField::Ecn(e) => f.write_str(match e {
                Ecn::NotEct => "noecn",
                Ecn::Ect0 => "ect0",
                Ecn::Ect1 => "ect1",
                Ecn::Ce => "ce",
                Ecn::Ect01 => "ect01",
            }),
            IpField::Tos(v) => write!(f, "tos {v:#x}"),
            IpField::TrafficClass(v) => write!(f, "class {v:#x}"),
            IpField::FlowLabel(v) => write!(f, "flowlabel {v:#x}"),
            IpField::Ttl(v) => write!(f, "ttl {v}"),
            IpField::HopLimit(v) => write!(f, "hlim {v}"),
        }
    }
}

impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::new();
        for (set, ch) in [
            (self.syn, 'S'),
            (self.fin, 'F'),
            (self.rst, 'R'),
            (self.psh, 'P'),
            (self.urg, 'U'),
            (self.ece, 'E'),
            (self.cwr, 'W'),
            (self.ae, 'A'),
        ] {
            if set {
                s.push(ch);
            }
        }
        if let Some(ace) = self.ace {
            let _ = write!(s, "{ace}");
        }
        if self.ack {
            s.push('.');
        }
        if s.is_empty() {
            s.push('-');
        }
        f.write_str(&s)
    }
}

impl fmt::Display for TcpPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(spi) = &self.psp_spi {
            write!(f, "encap psp spi {} ", spi.node)?;
        }
        if let Some(p) = &self.ports {
            write!(f, "{}>{} ", p.node.src, p.node.dst)?;
        }
        write!(f, "{} ", self.flags.node)?;
        match self.seq.node {
            SeqSpec::Range {
                start,
                end,
                len,
                absolute,
            } => {
                write!(f, "{start}:{end}({len})")?;
                if absolute {
                    f.write_char('!')?;
                }
            }
            SeqSpec::Any { len } => write!(f, "...({len})")?,
        }
        if let Some(ack) = &self.ack {
            write!(f, " ack {}", ack.node)?;
        }
        if let Some(win) = &self.win {
            write!(f, " win {}", win.node)?;
        }
        if let Some(urg) = &self.urg {
            write!(f, " urg {}", urg.node)?;
        }
        if let Some(options) = &self.options {
            write!(f, " {options}")?;
        }
        if let Some(p) = &self.udp_encap {
            write!(f, "/udp({} > {})", p.node.src, p.node.dst)?;
        }
        if self.bad_csum {
            f.write_str(" bad_csum")?;
        }
        Ok(())
    }
}

impl fmt::Display for PatternKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PatternKind::Exact(v) => write!(f, "{v}"),
            PatternKind::Any => f.write_char('*'),
            PatternKind::Range { lo, hi } => write!(f, "{lo}..{hi}"),
            PatternKind::Define(name) => f.write_str(name),
        }
    }
}

impl fmt::Display for OptionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, options: &[TcpOption]| -> fmt::Result {
            for (i, o) in options.iter().enumerate() {
                if i > 0 {
                    f.write_str(",")?;
                }
                write!(f, "{}", o.kind)?;
            }
            Ok(())
        };
        match self {
            OptionSpec::DontCare { .. } => f.write_str("<...>"),
            OptionSpec::Ordered { options, .. } => {
                f.write_char('<')?;
                list(f, options)?;
                f.write_char('>')
            }
            OptionSpec::Unordered {
                options,
                others_allowed,
                ..
            } => {
                f.write_str("<{")?;
                list(f, options)?;
                match (*others_allowed, options.is_empty()) {
                    (true, true) => f.write_str("...")?,
                    (true, false) => f.write_str(",...")?,
                    (false, _) => {}
                }
                f.write_str("}>")
            }
        }
    }
}

impl fmt::Display for TcpOptionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let blob = |f: &mut fmt::Formatter<'_>, b: &Option<Ident>| -> fmt::Result {
            match b {
                Some(b) => write!(f, " {}", b.node),
                None => Ok(()),
            }
        };
        match self {
            TcpOptionKind::Nop => f.write_str("nop"),
            TcpOptionKind::Eol => f.write_str("eol"),
            TcpOptionKind::Mss(v) => write!(f, "mss {}", v.node),
            TcpOptionKind::WindowScale(v) => write!(f, "wscale {}", v.node),
            TcpOptionKind::SackPermitted => f.write_str("sackOK"),
            TcpOptionKind::Sack(blocks) => {
                f.write_str("sack")?;
                for b in blocks {
                    write!(f, " {}:{}", b.node.left, b.node.right)?;
                }
                Ok(())
            }
            TcpOptionKind::Timestamp {
                val,
                ecr,
                ecr_absolute,
            } => {
                write!(f, "TS val {} ecr {}", val.node, ecr.node)?;
                if *ecr_absolute {
                    f.write_char('!')?;
                }
                Ok(())
            }
            TcpOptionKind::FastOpen { cookie } => {
                f.write_str("FO")?;
                blob(f, cookie)
            }
            TcpOptionKind::FastOpenExp { cookie } => {
                f.write_str("FOEXP")?;
                blob(f, cookie)
            }
            TcpOptionKind::Md5(sig) => match sig {
                Md5Signature::Zero => f.write_str("md5"),
                Md5Signature::Valid => f.write_str("md5 valid"),
                Md5Signature::Hex(h) => write!(f, "md5 {}", h.node),
            },
            TcpOptionKind::AccEcn(acc) => {
                f.write_str("ECN")?;
                let order = match acc.order {
                    AccEcnOrder::E0bFirst => {
                        [("e0b", &acc.e0b), ("ceb", &acc.ceb), ("e1b", &acc.e1b)]
                    }
                    AccEcnOrder::E1bFirst => {
                        [("e1b", &acc.e1b), ("ceb", &acc.ceb), ("e0b", &acc.e0b)]
                    }
                };
                for (name, value) in order {
                    if let Some(v) = value {
                        write!(f, " {name} {}", v.node)?;
                    }
                }
                Ok(())
            }
            TcpOptionKind::Generic { kind, data } => {
                write!(f, "gen-{kind}")?;
                blob(f, data)
            }
            TcpOptionKind::Experimental { magic, data } => {
                write!(f, "exp-{magic:x}")?;
                blob(f, data)
            }
            TcpOptionKind::Raw { bytes } => write!(f, "raw {}", bytes.node),
            TcpOptionKind::Unknown { name, args } => {
                f.write_str(&name.node)?;
                for a in args {
                    write!(f, " {a}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for IcmpPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "icmp {}", self.icmp_type.node)?;
        if let Some(code) = &self.code {
            write!(f, " {}", code.node)?;
        }
        if let Some(mtu) = &self.mtu {
            write!(f, " mtu {}", mtu.node)?;
        }
        if let Some(id) = &self.id {
            write!(f, " id {}", id.node)?;
        }
        if let Some(echoed) = &self.echoed {
            match echoed.node {
                IcmpEchoed::Tcp {
                    start,
                    end,
                    len,
                    udp_encap,
                } => {
                    write!(f, " [{start}:{end}({len})")?;
                    if let Some(p) = udp_encap {
                        write!(f, "/udp({} > {})", p.src, p.dst)?;
                    }
                    f.write_char(']')?;
                }
                IcmpEchoed::Udp { len } => write!(f, " [udp ({len})]")?,
                IcmpEchoed::Raw { len } => write!(f, " [raw ({len})]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for SyscallSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(", self.name.node)?;
        write_list(f, &self.args)?;
        write!(f, ") = {}", self.result)?;
        if let Some(errno) = &self.errno {
            write!(f, " {}", errno.node)?;
        }
        if let Some(note) = &self.note {
            write!(f, " ({})", note.node)?;
        }
        Ok(())
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Ellipsis => f.write_str("..."),
            ExprKind::Int(v) => write!(f, "{v}"),
            ExprKind::Hex(v) => write!(f, "{v:#x}"),
            ExprKind::Symbol(s) => f.write_str(s),
            ExprKind::Str(s) => write!(f, "\"{s}\""),
            ExprKind::StrPrefix(s) => write!(f, "\"{s}\"..."),
            ExprKind::Or(a, b) => write!(f, "{a}|{b}"),
            ExprKind::Array(items) => {
                f.write_char('[')?;
                write_list(f, items)?;
                f.write_char(']')
            }
            ExprKind::Struct(fields) => {
                f.write_char('{')?;
                for (i, field) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    if let Some(name) = &field.name {
                        f.write_str(&name.node)?;
                        if let Some(count) = &field.count {
                            write!(f, "({count})")?;
                        }
                        f.write_char('=')?;
                    }
                    write!(f, "{}", field.value)?;
                }
                f.write_char('}')
            }
            ExprKind::Call { name, args } => {
                write!(f, "{}(", name.node)?;
                write_list(f, args)?;
                f.write_char(')')
            }
        }
    }
}
