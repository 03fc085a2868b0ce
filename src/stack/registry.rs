//! The single list of stacks: what `--stack NAME` selects, in the order the report's columns
//! take, with each stack's time model, selectable profiles, cargo feature and privileges.
//!
//! Adding an in-process stack is one adapter module plus one [`STACKS`] entry; `tcpconf run
//! --help`, the matrix's column order, the conformance suite and the suite runner read this list
//! and know nothing else about which stacks exist.

use super::{Stack, StackError, TimeModel};

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

/// Builds a fresh instance from the `--stack` name and its options.
type Build = fn(&str, &StackOptions) -> Result<Box<dyn Stack + Send>, StackError>;

/// One stack tcpconf knows.
pub struct StackEntry {
    /// The `--stack` name (`exec:CMD` stands for every `exec:` command line).
    pub name: &'static str,
    /// One line for `tcpconf run --help` and error messages.
    pub summary: &'static str,
    /// How the stack experiences time when attached the default way (`--via tun` is real time).
    pub time: TimeModel,
    /// The behaviour profiles that can be chosen per run, default first; empty when the stack has
    /// one fixed behaviour (judged against RFC 9293).
    pub profiles: &'static [&'static str],
    /// The cargo feature the adapter needs, if any.
    pub feature: Option<&'static str>,
    /// Whether this build has the adapter (its feature is on).
    pub built: bool,
    /// Whether runs need CAP_NET_ADMIN and CAP_SYS_ADMIN (a private namespace and a TUN device).
    privileged: fn(&StackOptions) -> bool,
    build: Build,
}

impl std::fmt::Debug for StackEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackEntry")
            .field("name", &self.name)
            .field("time", &self.time)
            .field("profiles", &self.profiles)
            .field("feature", &self.feature)
            .field("built", &self.built)
            .finish_non_exhaustive()
    }
}

/// Every stack, in column order: the report's columns and the conformance suite follow it.
pub static STACKS: &[StackEntry] = &[
    StackEntry {
        name: "reference",
        summary: "the bundled TCP, in process, virtual time (--via tun: behind a TUN device, real time)",
        time: TimeModel::Virtual,
        profiles: super::reference::PROFILES,
        feature: None,
        built: true,
        privileged: via_tun,
        build: build_reference,
    },
    StackEntry {
        name: "linux",
        summary: "the host kernel in a private network namespace, real time (needs root)",
        time: TimeModel::Real,
        profiles: &[],
        feature: None,
        built: true,
        privileged: always,
        build: |name, opts| {
            no_options(name, opts)?;
            Ok(Box::new(super::linux::LinuxStack::new()))
        },
    },
    StackEntry {
        name: "smoltcp",
        summary: "smoltcp 0.14 from crates.io, in process, virtual time",
        time: TimeModel::Virtual,
        profiles: &[],
        feature: None,
        built: true,
        privileged: never,
        build: |name, opts| {
            no_options(name, opts)?;
            Ok(Box::new(super::smoltcp::SmoltcpStack::new()))
        },
    },
    StackEntry {
        name: "lwip",
        summary: "lwIP 2.1.3 from Debian's liblwip-dev over FFI, in process, virtual time (cargo feature lwip)",
        time: TimeModel::Virtual,
        profiles: &[],
        feature: Some("lwip"),
        built: cfg!(feature = "lwip"),
        privileged: never,
        build: build_lwip,
    },
    StackEntry {
        name: "exec:CMD",
        summary: "any program speaking docs/external-stack.md on its stdin/stdout",
        // The program says in its `hello` answer; the suite reads it from there.
        time: TimeModel::Virtual,
        profiles: &[],
        feature: None,
        built: true,
        privileged: never,
        build: build_exec,
    },
];

fn always(_: &StackOptions) -> bool {
    true
}

fn never(_: &StackOptions) -> bool {
    false
}

fn via_tun(opts: &StackOptions) -> bool {
    opts.via.as_deref() == Some("tun")
}

fn build_reference(_: &str, opts: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    let name = opts.profile.as_deref().or(opts.script_profile.as_deref());
    let profile = match name {
        None => crate::tcp::Profile::rfc9293(),
        Some(name) => super::reference::profile(name).ok_or_else(|| {
            StackError::Environment(format!(
                "unknown profile `{name}` for the reference stack ({})",
                super::reference::PROFILES.join(", ")
            ))
        })?,
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

/// `exec:CMD`: starts CMD (split on whitespace, no shell).
fn build_exec(name: &str, opts: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    no_options(name, opts)?;
    match name.strip_prefix("exec:").map(str::trim) {
        Some(command) if !command.is_empty() => {
            Ok(Box::new(super::exec::ExecStack::spawn(command)?))
        }
        _ => Err(StackError::Adapter(
            "exec: no command given (use exec:CMD)".into(),
        )),
    }
}

#[cfg(feature = "lwip")]
fn build_lwip(name: &str, opts: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    no_options(name, opts)?;
    Ok(Box::new(super::lwip::LwipStack::new()))
}

#[cfg(not(feature = "lwip"))]
fn build_lwip(_: &str, _: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    Err(StackError::Unsupported(not_built("lwip")))
}

impl StackEntry {
    /// The time model of the stack attached as `opts` says (a TUN attachment is real time).
    pub fn time_with(&self, opts: &StackOptions) -> TimeModel {
        if via_tun(opts) {
            TimeModel::Real
        } else {
            self.time
        }
    }

    /// Why runs of this stack, attached as `opts` says, cannot happen in this process (adapter not
    /// built in, privileges missing); `None` when they can. Said once per run, not per script.
    pub fn unavailable(&self, opts: &StackOptions) -> Option<String> {
        if !self.built {
            return Some(not_built(self.name));
        }
        if (self.privileged)(opts) && !super::linux::has_privileges() {
            return Some(format!(
                "stack `{}`{} runs in a private network namespace with a TUN device, which needs \
                 CAP_NET_ADMIN and CAP_SYS_ADMIN (and /dev/net/tun is usually 0600, so file \
                 capabilities alone do not open it): run tcpconf as root, e.g. \
                 `sudo \"$(command -v tcpconf)\" …` (sudo's PATH does not include ~/.cargo/bin)",
                self.name,
                if via_tun(opts) { " --via tun" } else { "" }
            ));
        }
        None
    }
}

fn not_built(name: &str) -> String {
    format!(
        "tcpconf was built without the {name} feature: cargo build --features {name} \
         (lwip needs Debian's liblwip-dev)"
    )
}

/// The entry of the stack called `name` (`exec:…` names find the `exec:CMD` entry).
pub fn find(name: &str) -> Option<&'static StackEntry> {
    let key = if name.starts_with("exec:") {
        "exec:CMD"
    } else {
        name
    };
    STACKS.iter().find(|e| e.name == key)
}

/// Where the column of `stack` goes: its position in [`STACKS`]; unknown names after them.
pub fn rank(stack: &str) -> usize {
    find(stack)
        .and_then(|e| STACKS.iter().position(|s| std::ptr::eq(s, e)))
        .unwrap_or(STACKS.len())
}

/// Whether `name` names a stack [`by_name`] knows, without building one (which may start a
/// process or a namespace).
pub fn check_name(name: &str) -> Result<&'static StackEntry, StackError> {
    find(name).ok_or_else(|| StackError::Environment(unknown(name)))
}

/// A fresh instance of the stack called `name` (each script run gets its own).
pub fn by_name(name: &str, opts: &StackOptions) -> Result<Box<dyn Stack + Send>, StackError> {
    (check_name(name)?.build)(name, opts)
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

/// The stacks as `tcpconf run --help` lists them, one per line.
pub fn help() -> String {
    STACKS
        .iter()
        .map(|e| format!("  {:<10} {}", e.name, e.summary))
        .collect::<Vec<_>>()
        .join("\n")
}

fn unknown(name: &str) -> String {
    let known: Vec<String> = STACKS
        .iter()
        .map(|e| format!("{} ({})", e.name, e.summary))
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
        for e in STACKS {
            assert!(msg.contains(e.name), "{msg}");
        }
        assert!(check_name("no-such-stack").is_err());
        assert!(check_name("exec:CMD").is_ok() && check_name("reference").is_ok());
        assert!(check_name("exec").is_err());
    }

    #[test]
    fn ranks_follow_the_list_and_unknown_stacks_come_last() {
        assert_eq!(rank("reference"), 0);
        assert_eq!(rank("linux"), 1);
        assert!(rank("smoltcp") < rank("lwip"));
        assert_eq!(rank("exec:./x"), rank("exec:CMD"));
        assert_eq!(rank("other"), STACKS.len());
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
    fn capabilities_advertise_the_registered_profiles() {
        for entry in STACKS.iter().filter(|e| e.built && e.name != "exec:CMD") {
            let Ok(stack) = by_name(entry.name, &StackOptions::default()) else {
                continue;
            };
            let caps = stack.info().capabilities;
            assert_eq!(caps.profiles, entry.profiles, "{}", entry.name);
            assert_eq!(caps.time, entry.time, "{}", entry.name);
        }
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
        assert_eq!(info.map(|i| i.capabilities.time), Some(TimeModel::Real));
        assert_eq!(info.map(|i| i.profile.as_str()), Some("rfc793 via tun"));
        assert_eq!(
            find("reference").map(|e| e.time_with(&via("tun"))),
            Some(TimeModel::Real)
        );
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

    #[test]
    fn unbuilt_adapters_say_which_feature() {
        let lwip = find("lwip").and_then(|e| e.unavailable(&StackOptions::default()));
        assert_eq!(lwip.is_some(), !cfg!(feature = "lwip"));
        assert!(
            find("smoltcp")
                .and_then(|e| e.unavailable(&StackOptions::default()))
                .is_none()
        );
    }
}
