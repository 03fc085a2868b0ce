//! Run options: packetdrill's command-line flags, the script's option lines, and tcpconf's own
//! switches, resolved into the [`Settings`] of one run.
//!
//! packetdrill applies a script's option lines (`--tolerance_usecs=50000` at the top of the file)
//! first and then its command line, so the command line wins (`config.c: parse_script_options`).
//! tcpconf does the same: the engine starts from [`Settings::default`], applies the script's
//! flags, then the [`RunOptions::flags`] given by the user.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use crate::stack::NetConfig;

/// packetdrill's default `--tolerance_usecs`.
pub const DEFAULT_TOLERANCE_USECS: u64 = 4000;
/// packetdrill's default `--tolerance_percent` (of the scripted gap since the previous event).
pub const DEFAULT_TOLERANCE_PERCENT: f64 = 12.5;
/// Default strict-end quiet period (`docs/language.md`, *Strict end*).
pub const DEFAULT_QUIET_USECS: u64 = 200_000;
/// packetdrill's default `--bind_port` and `--connect_port`.
pub const DEFAULT_PORT: u16 = 8080;
/// packetdrill's default `--mtu`.
pub const DEFAULT_MTU: u16 = 1500;

/// packetdrill flags that tcpconf accepts and ignores because they change nothing about a script's
/// meaning here: output verbosity, buffer lifetime, link speed, the TUN device name, the python
/// interpreter (tcpconf never runs `%{ }%` blocks) and packetdrill's own cleanup switches.
pub const IGNORED_FLAGS: &[&str] = &[
    "code_command",
    "code_format",
    "code_sockopt",
    "debug",
    "gateway_linklocal_ip",
    "local_linklocal_ip",
    "mss",
    "no_cleanup",
    "persistent_tun_dev",
    "send_omit_free",
    "speed",
    "tun_dev",
    "verbose",
];

/// packetdrill flags tcpconf knows but cannot honour: a script that sets one is skipped.
pub const UNSUPPORTED_FLAGS: &[&str] = &[
    "init_scripts",
    "is_anyip",
    "non_fatal",
    "psp_udp_port",
    "so_filename",
    "so_flags",
    "tcp_md5_secret",
    "udp_encapsulation",
    "wire_client",
    "wire_client_dev",
    "wire_server",
    "wire_server_at",
    "wire_server_dev",
    "wire_server_ip",
    "wire_server_port",
];

/// One `--name[=value]` flag, as written on a command line or a script option line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// Name without leading dashes (`tolerance_usecs`, `D` for `-D`).
    pub name: String,
    pub value: Option<String>,
}

impl Flag {
    /// A flag with a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// Parses `--name=value`, `--name value` is not accepted here (option lines are one token),
    /// `--name`, `-D SYM=val` written as `-DSYM=val`.
    pub fn parse(text: &str) -> Result<Flag, OptionError> {
        let text = text.trim();
        if let Some(rest) = text.strip_prefix("--") {
            let (name, value) = match rest.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (rest, None),
            };
            if name.is_empty() {
                return Err(OptionError::Malformed(text.to_string()));
            }
            Ok(Flag {
                name: name.to_string(),
                value,
            })
        } else if let Some(rest) = text.strip_prefix("-D") {
            Ok(Flag::new("define", rest.trim()))
        } else {
            Err(OptionError::Malformed(text.to_string()))
        }
    }
}

/// What a caller (the CLI, a test harness) asks of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// packetdrill flags from the command line; they override the script's option lines.
    pub flags: Vec<Flag>,
    /// `--strict`: force strict end on (`Some(true)`) or off; `None` follows the script.
    pub strict: Option<bool>,
    /// `--quiet_usecs`: the strict-end quiet period.
    pub quiet_usecs: Option<u64>,
    /// `--allow-shell`: run backtick lines. Never settable from a script.
    pub allow_shell: bool,
    /// The directory shell commands start in. [`super::run_source`] sets the script's own
    /// directory, as packetdrill's `run_all.py` does, so `../common/defaults.sh` resolves.
    pub shell_dir: Option<std::path::PathBuf>,
}

/// `--ip_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum IpVersion {
    V4,
    /// AF_INET6 sockets, IPv4 packets on the wire.
    V4MappedV6,
    V6,
}

/// A problem with an option: reported as `error` (unknown, malformed) or `skip` (unsupported).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("unknown option --{0} (not a packetdrill or tcpconf option)")]
    Unknown(String),
    #[error("malformed option `{0}`")]
    Malformed(String),
    #[error("option --{name}: bad value `{value}`: {why}")]
    BadValue {
        name: String,
        value: String,
        why: String,
    },
    #[error("option --{0} is a packetdrill option tcpconf does not support")]
    Unsupported(String),
}

/// The resolved settings of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub tolerance_usecs: u64,
    pub tolerance_percent: f64,
    pub ip_version: IpVersion,
    pub local_ip: Option<IpAddr>,
    pub remote_ip: Option<IpAddr>,
    pub gateway_ip: Option<IpAddr>,
    /// Prefix length from `--netmask_ip` or a `/N` suffix on `--local_ip`.
    pub prefix_len: Option<u8>,
    pub bind_port: u16,
    pub connect_port: u16,
    pub mtu: u16,
    /// `-D SYM=val` definitions.
    pub defines: BTreeMap<String, String>,
    /// `--strict_segments`: don't merge consecutive outbound segments to match a larger script packet.
    pub strict_segments: bool,
    /// `--tcp_ts_ecr_scaled`: infer an inbound TS ecr the stack never sent by offset.
    pub tcp_ts_ecr_scaled: bool,
    /// `--tcp_ts_tick_usecs`: check outbound TS val against the script at this tick (0 = don't).
    pub tcp_ts_tick_usecs: u64,
    /// Strict end: `None` means "the default for this script" (on iff it has `//!` metadata).
    pub strict: Option<bool>,
    pub quiet_usecs: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tolerance_usecs: DEFAULT_TOLERANCE_USECS,
            tolerance_percent: DEFAULT_TOLERANCE_PERCENT,
            ip_version: IpVersion::V4,
            local_ip: None,
            remote_ip: None,
            gateway_ip: None,
            prefix_len: None,
            bind_port: DEFAULT_PORT,
            connect_port: DEFAULT_PORT,
            mtu: DEFAULT_MTU,
            defines: BTreeMap::new(),
            strict_segments: false,
            tcp_ts_ecr_scaled: false,
            tcp_ts_tick_usecs: 0,
            strict: None,
            quiet_usecs: DEFAULT_QUIET_USECS,
        }
    }
}

impl Settings {
    /// Applies the caller's flags and switches (after the script's option lines, so they win).
    pub fn apply_run_options(&mut self, opts: &RunOptions) -> Result<(), OptionError> {
        for f in &opts.flags {
            self.apply(f)?;
        }
        if opts.strict.is_some() {
            self.strict = opts.strict;
        }
        if let Some(q) = opts.quiet_usecs {
            self.quiet_usecs = q;
        }
        Ok(())
    }

    /// Applies one flag.
    pub fn apply(&mut self, flag: &Flag) -> Result<(), OptionError> {
        let name = flag.name.as_str();
        let value = || -> Result<&str, OptionError> {
            flag.value.as_deref().ok_or_else(|| OptionError::BadValue {
                name: name.to_string(),
                value: String::new(),
                why: "a value is required".into(),
            })
        };
        let bad = |why: &str| OptionError::BadValue {
            name: name.to_string(),
            value: flag.value.clone().unwrap_or_default(),
            why: why.to_string(),
        };
        match name {
            "tolerance_usecs" => {
                self.tolerance_usecs = value()?.parse().map_err(|_| bad("expected microseconds"))?
            }
            "tolerance_percent" => {
                let p: f64 = value()?.parse().map_err(|_| bad("expected a percentage"))?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(bad("must be between 0 and 100"));
                }
                self.tolerance_percent = p;
            }
            "ip_version" => {
                self.ip_version = match value()? {
                    "ipv4" => IpVersion::V4,
                    "ipv4-mapped-ipv6" => IpVersion::V4MappedV6,
                    "ipv6" => IpVersion::V6,
                    _ => return Err(bad("expected ipv4, ipv4-mapped-ipv6 or ipv6")),
                }
            }
            "local_ip" => {
                let (ip, prefix) = parse_ip_prefix(value()?).map_err(|w| bad(&w))?;
                self.local_ip = Some(ip);
                if prefix.is_some() {
                    self.prefix_len = prefix;
                }
            }
            "remote_ip" => self.remote_ip = Some(parse_ip_prefix(value()?).map_err(|w| bad(&w))?.0),
            "gateway_ip" => {
                self.gateway_ip = Some(
                    value()?
                        .parse()
                        .map_err(|_| bad("expected an IP address"))?,
                )
            }
            "netmask_ip" => {
                let mask: IpAddr = value()?.parse().map_err(|_| bad("expected a netmask"))?;
                self.prefix_len =
                    Some(netmask_prefix(mask).ok_or_else(|| bad("not a contiguous netmask"))?);
            }
            "bind_port" => self.bind_port = value()?.parse().map_err(|_| bad("expected a port"))?,
            "connect_port" => {
                self.connect_port = value()?.parse().map_err(|_| bad("expected a port"))?
            }
            "mtu" => self.mtu = value()?.parse().map_err(|_| bad("expected an MTU"))?,
            "define" | "D" => {
                // `-D NAME` alone (nplab, for `#ifdef NAME`) defines NAME as 1.
                let v = value()?;
                let (sym, val) = v.split_once('=').unwrap_or((v, "1"));
                if sym.trim().is_empty() {
                    return Err(bad("expected SYM=value"));
                }
                self.defines.insert(sym.trim().to_string(), val.to_string());
            }
            "strict_segments" => self.strict_segments = parse_bool(flag).map_err(|w| bad(&w))?,
            "tcp_ts_ecr_scaled" => {
                self.tcp_ts_ecr_scaled = parse_bool(flag).map_err(|w| bad(&w))?
            }
            "tcp_ts_tick_usecs" => {
                self.tcp_ts_tick_usecs =
                    value()?.parse().map_err(|_| bad("expected microseconds"))?
            }
            "strict" => self.strict = Some(parse_bool(flag).map_err(|w| bad(&w))?),
            "quiet_usecs" => {
                self.quiet_usecs = value()?.parse().map_err(|_| bad("expected microseconds"))?
            }
            n if IGNORED_FLAGS.contains(&n) => {}
            n if UNSUPPORTED_FLAGS.contains(&n) => {
                return Err(OptionError::Unsupported(n.to_string()));
            }
            n => return Err(OptionError::Unknown(n.to_string())),
        }
        Ok(())
    }

    /// The tolerance for an event `gap` after the previous one:
    /// max(tolerance_usecs, tolerance_percent × gap) (packetdrill `run.c: verify_time`).
    pub fn tolerance(&self, gap: Duration) -> Duration {
        let fixed = Duration::from_micros(self.tolerance_usecs);
        let dynamic = gap.mul_f64(self.tolerance_percent / 100.0);
        // Whole microseconds, like packetdrill's integer arithmetic.
        let dynamic = Duration::from_micros(dynamic.as_micros() as u64);
        fixed.max(dynamic)
    }

    /// The strict-end quiet period.
    pub fn quiet_period(&self) -> Duration {
        Duration::from_micros(self.quiet_usecs)
    }

    /// The addresses of this run: packetdrill's pinned defaults (`run_all.py`, kselftests) unless
    /// overridden.
    pub fn net_config(&self) -> Result<NetConfig, OptionError> {
        let v6 = self.ip_version == IpVersion::V6;
        let (local, remote, gateway, prefix) = if v6 {
            (
                IpAddr::V6(Ipv6Addr::new(0xfd3d, 0x0a0b, 0x17d6, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0xfd3d, 0xfa7b, 0xd17d, 0, 0, 0, 0, 1)),
                IpAddr::V6(Ipv6Addr::new(0xfd3d, 0x0a0b, 0x17d6, 0x8888, 0, 0, 0, 1)),
                48,
            )
        } else {
            (
                IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                IpAddr::V4(Ipv4Addr::new(192, 168, 0, 1)),
                16,
            )
        };
        let net = NetConfig {
            local_ip: self.local_ip.unwrap_or(local),
            remote_ip: self.remote_ip.unwrap_or(remote),
            gateway_ip: self.gateway_ip.unwrap_or(gateway),
            prefix_len: self.prefix_len.unwrap_or(prefix),
            mtu: self.mtu,
            ipv4_mapped_ipv6: self.ip_version == IpVersion::V4MappedV6,
        };
        for (name, ip) in [
            ("local_ip", net.local_ip),
            ("remote_ip", net.remote_ip),
            ("gateway_ip", net.gateway_ip),
        ] {
            if ip.is_ipv6() != v6 {
                return Err(OptionError::BadValue {
                    name: name.to_string(),
                    value: ip.to_string(),
                    why: format!(
                        "address family does not match --ip_version={}",
                        self.ip_version_name()
                    ),
                });
            }
        }
        if net.local_ip == net.remote_ip {
            return Err(OptionError::BadValue {
                name: "remote_ip".into(),
                value: net.remote_ip.to_string(),
                why: "the remote address must differ from the local one".into(),
            });
        }
        Ok(net)
    }

    /// `ipv4`, `ipv4-mapped-ipv6` or `ipv6`.
    pub fn ip_version_name(&self) -> &'static str {
        match self.ip_version {
            IpVersion::V4 => "ipv4",
            IpVersion::V4MappedV6 => "ipv4-mapped-ipv6",
            IpVersion::V6 => "ipv6",
        }
    }
}

fn parse_bool(flag: &Flag) -> Result<bool, String> {
    match flag.value.as_deref() {
        None | Some("1") | Some("true") | Some("on") => Ok(true),
        Some("0") | Some("false") | Some("off") => Ok(false),
        Some(_) => Err("expected a boolean".into()),
    }
}

fn parse_ip_prefix(text: &str) -> Result<(IpAddr, Option<u8>), String> {
    let (ip, prefix) = match text.split_once('/') {
        Some((ip, p)) => (
            ip,
            Some(
                p.parse::<u8>()
                    .map_err(|_| "bad prefix length".to_string())?,
            ),
        ),
        None => (text, None),
    };
    let ip: IpAddr = ip
        .parse()
        .map_err(|_| "expected an IP address".to_string())?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    if prefix.is_some_and(|p| p > max) {
        return Err("prefix length too long".into());
    }
    Ok((ip, prefix))
}

fn netmask_prefix(mask: IpAddr) -> Option<u8> {
    let (bits, width) = match mask {
        IpAddr::V4(m) => (u128::from(u32::from(m)) << 96, 32),
        IpAddr::V6(m) => (u128::from(m), 128),
    };
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0 && ones <= width).then_some(ones as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(list: &[&str]) -> Vec<Flag> {
        list.iter().map(|f| Flag::parse(f).unwrap()).collect()
    }

    #[test]
    fn command_line_overrides_script_options() {
        let script = flags(&["--tolerance_usecs=50000", "--ip_version=ipv6", "--mtu=1400"]);
        let opts = RunOptions {
            flags: flags(&["--tolerance_usecs=1000"]),
            ..RunOptions::default()
        };
        let mut s = Settings::default();
        for f in &script {
            s.apply(f).unwrap();
        }
        s.apply_run_options(&opts).unwrap();
        assert_eq!(s.tolerance_usecs, 1000);
        assert_eq!(s.ip_version, IpVersion::V6);
        assert_eq!(s.mtu, 1400);
    }

    #[test]
    fn unknown_unsupported_and_ignored_flags_are_told_apart() {
        let mut s = Settings::default();
        assert_eq!(
            s.apply(&Flag::parse("--tolerance_usec=5").unwrap()),
            Err(OptionError::Unknown("tolerance_usec".into()))
        );
        assert_eq!(
            s.apply(&Flag::parse("--non_fatal=packet").unwrap()),
            Err(OptionError::Unsupported("non_fatal".into()))
        );
        assert_eq!(s.apply(&Flag::parse("--send_omit_free").unwrap()), Ok(()));
        assert!(matches!(
            s.apply(&Flag::parse("--tolerance_percent=abc").unwrap()),
            Err(OptionError::BadValue { .. })
        ));
    }

    #[test]
    fn tolerance_is_the_larger_of_fixed_and_percent_of_gap() {
        let s = Settings::default();
        assert_eq!(
            s.tolerance(Duration::from_millis(10)),
            Duration::from_micros(4000)
        );
        // 12.5 % of 100 ms = 12.5 ms > 4 ms.
        assert_eq!(
            s.tolerance(Duration::from_millis(100)),
            Duration::from_micros(12_500)
        );
        let zero = Settings {
            tolerance_percent: 0.0,
            ..Settings::default()
        };
        assert_eq!(
            zero.tolerance(Duration::from_secs(10)),
            Duration::from_micros(4000)
        );
    }

    #[test]
    fn addresses_default_per_ip_version_and_follow_overrides() {
        let v4 = Settings::default().net_config().unwrap();
        assert_eq!(v4.local_ip.to_string(), "192.168.0.1");
        assert_eq!(v4.remote_ip.to_string(), "192.0.2.1");
        assert_eq!(v4.prefix_len, 16);
        let mut s = Settings::default();
        for f in flags(&["--ip_version=ipv6"]) {
            s.apply(&f).unwrap();
        }
        let v6 = s.net_config().unwrap();
        assert_eq!(v6.remote_ip.to_string(), "fd3d:fa7b:d17d::1");
        let mut s = Settings::default();
        for f in flags(&[
            "--local_ip=10.0.0.2/8",
            "--remote_ip=10.9.9.9",
            "--netmask_ip=255.255.255.0",
        ]) {
            s.apply(&f).unwrap();
        }
        let net = s.net_config().unwrap();
        assert_eq!(net.local_ip.to_string(), "10.0.0.2");
        assert_eq!(net.prefix_len, 24);
        let mut s = Settings::default();
        s.apply(&Flag::new("remote_ip", "2001:db8::1")).unwrap();
        assert!(
            s.net_config().is_err(),
            "v6 remote on a v4 run must be rejected"
        );
        let mapped = Settings {
            ip_version: IpVersion::V4MappedV6,
            ..Settings::default()
        };
        assert!(mapped.net_config().unwrap().ipv4_mapped_ipv6);
    }

    #[test]
    fn defines_and_dash_d() {
        let mut s = Settings::default();
        s.apply(&Flag::parse("-DFOO=1").unwrap()).unwrap();
        s.apply(&Flag::parse("--define=BAR=\"x\"").unwrap())
            .unwrap();
        assert_eq!(s.defines.get("FOO").map(String::as_str), Some("1"));
        assert_eq!(s.defines.get("BAR").map(String::as_str), Some("\"x\""));
        s.apply(&Flag::parse("-DSTANDARD").unwrap()).unwrap();
        assert_eq!(s.defines.get("STANDARD").map(String::as_str), Some("1"));
    }

    #[test]
    fn netmask_must_be_contiguous() {
        assert_eq!(netmask_prefix("255.255.0.0".parse().unwrap()), Some(16));
        assert_eq!(netmask_prefix("255.0.255.0".parse().unwrap()), None);
        assert_eq!(
            netmask_prefix("ffff:ffff:ffff::".parse().unwrap()),
            Some(48)
        );
    }
}
