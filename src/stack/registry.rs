//! Stacks by name, as `--stack NAME` selects them.
//!
//! Each adapter adds one arm to [`by_name`] and its name to [`STACKS`]; nothing else in tcpconf
//! needs to know which adapters exist.

use super::{Stack, StackError};

/// How the user asked for a stack to be built (`--stack NAME` plus its modifiers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackOptions {
    /// `--profile`: the behaviour profile for stacks that have several (`rfc9293`, `rfc793`).
    pub profile: Option<String>,
    /// `--via`: how to reach an in-process stack (`tun` attaches it to a TUN device in a private
    /// namespace and runs it in real time).
    pub via: Option<String>,
}

/// The stacks [`by_name`] can build, with one line each for `tcpconf run --help` and errors.
pub const STACKS: &[(&str, &str)] = &[
    (
        "smoltcp",
        "smoltcp 0.14 from crates.io, in process, virtual time",
    ),
    (
        "exec:CMD",
        "any program speaking docs/external-stack.md on its stdin/stdout",
    ),
];

/// A fresh instance of the stack called `name` (each script run gets its own).
pub fn by_name(name: &str, opts: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    if let Some(command) = name.strip_prefix("exec:") {
        no_options(name, opts)?;
        return Ok(Box::new(super::exec::ExecStack::spawn(command)?));
    }
    match name {
        // One arm per adapter, e.g.:
        //   "reference" => Ok(Box::new(super::reference::ReferenceStack::from_options(opts)?)),
        "smoltcp" => {
            no_options(name, opts)?;
            Ok(Box::new(super::smoltcp::SmoltcpStack::new()))
        }
        other => Err(StackError::Environment(unknown(other))),
    }
}

/// Refuses `--profile` / `--via` for a stack whose behaviour and attachment are fixed.
fn no_options(name: &str, opts: &StackOptions) -> Result<(), StackError> {
    if let Some(profile) = &opts.profile {
        return Err(StackError::Environment(format!(
            "stack `{name}` has a single fixed profile; --profile {profile} does not apply"
        )));
    }
    if let Some(via) = &opts.via {
        return Err(StackError::Environment(format!(
            "stack `{name}` cannot be attached --via {via}"
        )));
    }
    Ok(())
}

fn unknown(name: &str) -> String {
    if STACKS.is_empty() {
        format!("unknown stack `{name}`: this build of tcpconf has no stack adapters")
    } else {
        let known: Vec<String> = STACKS
            .iter()
            .map(|(n, what)| format!("{n} ({what})"))
            .collect();
        format!("unknown stack `{name}`; known stacks: {}", known.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_names_list_the_known_ones() {
        let err = by_name("no-such-stack", &StackOptions::default())
            .err()
            .map(|e| e.to_string());
        let msg = err.unwrap_or_default();
        assert!(msg.contains("unknown stack `no-such-stack`"), "{msg}");
        for (name, _) in STACKS {
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn smoltcp_and_exec_are_registered() {
        let smoltcp = by_name("smoltcp", &StackOptions::default()).map(|s| s.info().name);
        assert_eq!(smoltcp.ok().as_deref(), Some("smoltcp"));
        let with_profile = StackOptions {
            profile: Some("rfc793".into()),
            via: None,
        };
        assert!(matches!(
            by_name("smoltcp", &with_profile),
            Err(StackError::Environment(_))
        ));
        assert!(matches!(
            by_name("exec:", &StackOptions::default()),
            Err(StackError::Adapter(_))
        ));
        assert!(matches!(
            by_name("exec:/nonexistent/tcpconf-stack", &StackOptions::default()),
            Err(StackError::Environment(_))
        ));
    }
}
