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
    /// The profile the script's `//! profile:` line names: stacks that have several run it unless
    /// `--profile` says otherwise; stacks with one behaviour ignore it.
    pub script_profile: Option<String>,
    /// `--via`: how to reach an in-process stack (`tun` attaches it to a TUN device in a private
    /// namespace and runs it in real time).
    pub via: Option<String>,
}

/// The stacks [`by_name`] can build, with one line each for `tcpconf run --help` and errors.
pub const STACKS: &[(&str, &str)] = &[
    (
        "reference",
        "the bundled TCP, in process, virtual time (--via tun: behind a TUN device, real time)",
    ),
    (
        "linux",
        "the host kernel in a private network namespace, real time",
    ),
    (
        "smoltcp",
        "smoltcp 0.14 from crates.io, in process, virtual time",
    ),
    (
        "lwip",
        "lwIP 2.1.3 from Debian's liblwip-dev over FFI, in process, virtual time (cargo feature lwip)",
    ),
    (
        "exec:CMD",
        "any program speaking docs/external-stack.md on its stdin/stdout",
    ),
];

/// Whether `name` names a stack [`by_name`] knows, without building one (which may start a
/// process or a namespace).
pub fn check_name(name: &str) -> Result<(), StackError> {
    let known = name.starts_with("exec:")
        || STACKS
            .iter()
            .any(|(n, _)| !n.ends_with(":CMD") && *n == name);
    if known {
        Ok(())
    } else {
        Err(StackError::Environment(unknown(name)))
    }
}

/// A fresh instance of the stack called `name` (each script run gets its own).
pub fn by_name(name: &str, opts: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    if let Some(command) = name.strip_prefix("exec:") {
        no_options(name, opts)?;
        return Ok(Box::new(super::exec::ExecStack::spawn(command)?));
    }
    match name {
        "reference" => {
            let profile = match opts.profile.as_deref().or(opts.script_profile.as_deref()) {
                None | Some("rfc9293") => crate::tcp::Profile::rfc9293(),
                Some("rfc793") => crate::tcp::Profile::rfc793(),
                Some(other) => {
                    return Err(StackError::Environment(format!(
                        "unknown profile `{other}` for the reference stack (rfc9293, rfc793)"
                    )));
                }
            };
            match opts.via.as_deref() {
                None => Ok(Box::new(super::reference::ReferenceStack::new(profile))),
                Some("tun") => Ok(Box::new(super::reference::ReferenceTunStack::new(profile))),
                Some(other) => Err(StackError::Environment(format!(
                    "the reference stack cannot be attached --via {other}; the only attachment \
                     is `--via tun` (a TUN device in a private network namespace, real time)"
                ))),
            }
        }
        "linux" => {
            no_options(name, opts)?;
            Ok(Box::new(super::linux::LinuxStack::new()))
        }
        "smoltcp" => {
            no_options(name, opts)?;
            Ok(Box::new(super::smoltcp::SmoltcpStack::new()))
        }
        #[cfg(feature = "lwip")]
        "lwip" => {
            no_options(name, opts)?;
            Ok(Box::new(super::lwip::LwipStack::new()))
        }
        #[cfg(not(feature = "lwip"))]
        "lwip" => Err(StackError::Unsupported(
            "tcpconf was built without the lwip feature: cargo build --features lwip \
             (needs Debian's liblwip-dev)"
                .into(),
        )),
        other => Err(StackError::Environment(unknown(other))),
    }
}

/// Refuses `--profile` / `--via` for a stack whose behaviour and attachment are fixed (a
/// script's own `//! profile:` is an expectation, not a setting, and is ignored there).
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
    let known: Vec<String> = STACKS
        .iter()
        .map(|(n, what)| format!("{n} ({what})"))
        .collect();
    format!("unknown stack `{name}`; known stacks: {}", known.join(", "))
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
        assert!(check_name("no-such-stack").is_err());
        assert!(check_name("exec:CMD").is_ok() && check_name("reference").is_ok());
        assert!(check_name("exec").is_err());
    }

    #[test]
    fn profiles_select_the_reference_behaviour_and_are_refused_elsewhere() {
        let by_script = StackOptions {
            script_profile: Some("rfc793".into()),
            ..StackOptions::default()
        };
        let reference = by_name("reference", &by_script).map(|s| s.info().profile);
        assert_eq!(reference.ok().as_deref(), Some("rfc793"));
        let smoltcp = by_name("smoltcp", &by_script).map(|s| s.info().name);
        assert_eq!(
            smoltcp.ok().as_deref(),
            Some("smoltcp"),
            "a script's profile is no setting"
        );
        let bogus = StackOptions {
            profile: Some("rfc1122".into()),
            ..StackOptions::default()
        };
        assert!(matches!(
            by_name("reference", &bogus),
            Err(StackError::Environment(_))
        ));
    }

    #[test]
    fn the_reference_stack_attaches_via_tun_and_nothing_else() {
        let via = |v: &str| StackOptions {
            via: Some(v.into()),
            profile: Some("rfc793".into()),
            ..StackOptions::default()
        };
        let info = by_name("reference", &via("tun")).map(|s| s.info()).ok();
        let info = info.as_ref();
        assert_eq!(info.map(|i| i.name.as_str()), Some("reference"));
        assert_eq!(
            info.map(|i| i.capabilities.time),
            Some(super::super::TimeModel::Real)
        );
        assert_eq!(info.map(|i| i.profile.as_str()), Some("rfc793 via tun"));
        match by_name("reference", &via("tap")) {
            Err(StackError::Environment(msg)) => {
                assert!(
                    msg.contains("--via tap") && msg.contains("--via tun"),
                    "{msg}"
                );
            }
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("--via tap was accepted"),
        }
        assert!(matches!(
            by_name("linux", &via("tun")),
            Err(StackError::Environment(_))
        ));
    }

    #[test]
    fn smoltcp_and_exec_are_registered() {
        let smoltcp = by_name("smoltcp", &StackOptions::default()).map(|s| s.info().name);
        assert_eq!(smoltcp.ok().as_deref(), Some("smoltcp"));
        let with_profile = StackOptions {
            profile: Some("rfc793".into()),
            ..StackOptions::default()
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
