//! Whether a script applies to a stack, from the profiles the stack's capabilities advertise.
//!
//! A script's `//! profile:` says which rules it tests. A stack that can select that profile runs
//! the script with it; a stack with one fixed behaviour is judged against RFC 9293, so `rfc9293`
//! scripts (and scripts without a profile) apply to it and `rfc793` scripts do not: those are
//! `skip` with the reason, wherever they are run from.

use crate::script::meta::{Profile, ScriptMeta};

/// The profile to select for a script with `meta` on a stack that can select `profiles` (empty:
/// one fixed behaviour): `Ok(None)` runs the stack's default, `Err` is why the script does not
/// apply.
pub fn profile_for(
    stack: &str,
    profiles: &[String],
    meta: &ScriptMeta,
) -> Result<Option<String>, String> {
    let Some(wanted) = meta.profile else {
        return Ok(None);
    };
    let name = wanted.name();
    if profiles.iter().any(|p| p == name) {
        return Ok(Some(name.to_string()));
    }
    match (wanted, profiles.is_empty()) {
        (Profile::Rfc9293, true) => Ok(None),
        (Profile::Rfc793, true) => Err(format!(
            "the script tests the rfc793 profile (the original RFC 793 rules); stack `{stack}` has \
             one fixed behaviour, so only rfc9293 scripts apply to it"
        )),
        (_, false) => Err(format!(
            "the script tests the {name} profile; stack `{stack}` has no such profile (it has {})",
            profiles.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(profile: Option<Profile>) -> ScriptMeta {
        ScriptMeta {
            profile,
            ..ScriptMeta::default()
        }
    }

    #[test]
    fn profiles_apply_per_stack() {
        let both: Vec<String> = vec!["rfc9293".into(), "rfc793".into()];
        let rfc793 = meta(Some(Profile::Rfc793));
        assert_eq!(
            profile_for("reference", &both, &rfc793),
            Ok(Some("rfc793".into()))
        );
        assert!(
            profile_for("linux", &[], &rfc793).is_err_and(|r| r.contains("one fixed behaviour"))
        );
        assert_eq!(profile_for("linux", &[], &meta(None)), Ok(None));
        assert_eq!(
            profile_for("linux", &[], &meta(Some(Profile::Rfc9293))),
            Ok(None)
        );
        let only_9293: Vec<String> = vec!["rfc9293".into()];
        assert!(
            profile_for("x", &only_9293, &rfc793).is_err_and(|r| r.contains("no such profile"))
        );
    }
}
