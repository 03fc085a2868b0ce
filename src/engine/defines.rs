//! `-D NAME=value` in packet fields: packetdrill substitutes defines before parsing, so `mss MSS`
//! means the number `MSS` stands for. The parser keeps the name ([`PatternKind::Define`]); the
//! engine replaces it with the value before the run.

use std::collections::BTreeMap;

use crate::script::ast::{
    Action, Item, OptionSpec, PacketKind, Pattern, PatternKind, Script, TcpOptionKind,
};

use super::stop::{Stop, location};

fn resolve(p: &mut Pattern, defines: &BTreeMap<String, String>) -> Result<(), Stop> {
    if let PatternKind::Define(name) = &p.node {
        let value = defines.get(name).ok_or_else(|| {
            Stop::error(
                Some(location(p.span)),
                format!("`{name}` is not defined (use -D {name}=VALUE)"),
            )
        })?;
        let v = value.trim();
        let n = match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        }
        .ok_or_else(|| {
            Stop::error(
                Some(location(p.span)),
                format!("-D {name}={value} is not a number"),
            )
        })?;
        p.node = PatternKind::Exact(n);
    }
    Ok(())
}

/// Replaces every define in a packet field of `script` by its value.
pub fn substitute(script: &mut Script, defines: &BTreeMap<String, String>) -> Result<(), Stop> {
    for item in &mut script.body {
        let events = match item {
            Item::Event(e) => std::slice::from_mut(e),
            Item::Ifdef(block) => block.events.as_mut_slice(),
        };
        for ev in events {
            let Action::Packet(p) = &mut ev.action else {
                continue;
            };
            let PacketKind::Tcp(tcp) = &mut p.kind else {
                continue;
            };
            for pat in tcp.ack.iter_mut().chain(tcp.win.iter_mut()) {
                resolve(pat, defines)?;
            }
            let options = match &mut tcp.options {
                Some(
                    OptionSpec::Ordered { options, .. } | OptionSpec::Unordered { options, .. },
                ) => options,
                _ => continue,
            };
            for o in options {
                match &mut o.kind {
                    TcpOptionKind::Mss(p) | TcpOptionKind::WindowScale(p) => resolve(p, defines)?,
                    TcpOptionKind::Timestamp { val, ecr, .. } => {
                        resolve(val, defines)?;
                        resolve(ecr, defines)?;
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}
