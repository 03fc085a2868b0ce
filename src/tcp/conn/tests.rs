//! Unit tests of the TCB, by RFC section (filled below).
