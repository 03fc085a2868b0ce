//! The bundled reference TCP: a sans-IO implementation of RFC 9293, with an RFC 793 profile.
//!
//! A [`Host`] owns sockets and connections on a set of local addresses. It is driven entirely by
//! its caller: inbound IP packets ([`Host::receive`]), socket calls mirroring the Linux syscalls
//! ([`Host::connect`], [`Host::send`], …) and the passage of time ([`Host::poll`] at the deadline
//! [`Host::poll_at`] reports). Outbound IP packets queue up for [`Host::pop_outbound`]. It never
//! reads a clock, spawns or touches the OS; with the same [`Profile::secret`] and the same inputs
//! a run is reproducible byte for byte.
//!
//! The code is organised by concern: [`codec`] and [`options`] (wire format), [`seq`] (modular
//! arithmetic), [`profile`], [`buffer`], [`congestion`], `conn` (the TCB, with one file per RFC
//! section: opening, segment arrival, closing, output, timers, user calls), and [`host`]
//! (demultiplexing and the socket API).

pub mod buffer;
pub mod codec;
pub mod congestion;
mod conn;
pub mod error;
pub mod host;
pub mod isn;
pub mod options;
pub mod profile;
pub mod seq;
pub mod sim;
pub mod socket;

pub use conn::State;
pub use error::{Error, Result};
pub use host::Host;
pub use profile::Profile;
pub use socket::{ConnectionInfo, Family, Fd, OptValue, Readiness, Shutdown, SockOpt, SockOptName};
