//! tcpconf: a TCP conformance test harness.
//!
//! A script (packetdrill's language plus a few extensions, see `docs/language.md`) says, time by time,
//! which segments arrive at a TCP stack, which syscalls its application makes, and which segments and
//! results must come out. tcpconf plays the network and the application against a [`stack::Stack`]
//! under test and records whether the stack behaved as the script requires.
//!
//! The parts, and the boundaries between them, are described in `ARCHITECTURE.md`'s summary in the
//! README: `script` (language), `wire` (packets), `tcp` (the bundled reference TCP), `stack` (stacks
//! under test), `engine` (runs one script), `suite` (runs many: the one runner behind `run`,
//! `matrix` and the conformance suite), `report` (outputs).

pub mod clock;
pub mod engine;
pub mod explore;
pub mod report;
pub mod script;
pub mod stack;
pub mod state;
pub mod suite;
pub mod tcp;
pub mod wire;
