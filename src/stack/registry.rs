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
    ("reference", "the bundled TCP, in process, virtual time"),
    (
        "linux",
        "the host kernel in a private network namespace, real time",
    ),
];

/// A fresh instance of the stack called `name` (each script run gets its own).
pub fn by_name(name: &str, opts: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    match name {
        "reference" => {
            if let Some(via) = &opts.via {
                return Err(StackError::Unsupported(format!(
                    "--via {via} is not supported by the reference stack yet"
                )));
            }
            let profile = match opts.profile.as_deref() {
                None | Some("rfc9293") => crate::tcp::Profile::rfc9293(),
                Some("rfc793") => crate::tcp::Profile::rfc793(),
                Some(other) => {
                    return Err(StackError::Environment(format!(
                        "unknown profile `{other}` for the reference stack (rfc9293, rfc793)"
                    )));
                }
            };
            Ok(Box::new(super::reference::ReferenceStack::new(profile)))
        }
        "linux" => {
            if opts.profile.is_some() || opts.via.is_some() {
                return Err(StackError::Environment(
                    "the linux stack takes neither --profile nor --via (set sysctls with --allow-shell)".into(),
                ));
            }
            Ok(Box::new(super::linux::LinuxStack::new()))
        }
        other => Err(StackError::Environment(unknown(other))),
    }
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
}
