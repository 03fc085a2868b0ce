//! How a run ends early: the three non-pass verdicts while they travel up the scheduler.

use crate::script::ast::Span;
use crate::stack::StackError;

use super::result::{Failure, Location, Verdict};

/// A reason to stop running a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// Boxed: a failure carries several strings, the other stops little.
    Fail(Box<Failure>),
    Skip {
        reason: String,
        location: Option<Location>,
    },
    Error {
        message: String,
        location: Option<Location>,
    },
}

impl Stop {
    /// A failure at `location` with only a message.
    pub fn fail(location: Option<Location>, message: impl Into<String>) -> Stop {
        Stop::failure(Failure::new(location, message))
    }

    /// A failure with details.
    pub fn failure(f: Failure) -> Stop {
        Stop::Fail(Box::new(f))
    }

    /// A skip.
    pub fn skip(location: Option<Location>, reason: impl Into<String>) -> Stop {
        Stop::Skip {
            reason: reason.into(),
            location,
        }
    }

    /// A harness or script error.
    pub fn error(location: Option<Location>, message: impl Into<String>) -> Stop {
        Stop::Error {
            message: message.into(),
            location,
        }
    }

    /// Maps a stack's error: what it cannot do is a skip, anything else an error — never a fail.
    pub fn from_stack(e: StackError, location: Option<Location>) -> Stop {
        match e {
            StackError::Unsupported(reason) => Stop::skip(location, reason),
            other => Stop::error(location, other.to_string()),
        }
    }

    /// The verdict this stop stands for.
    pub fn into_verdict(self) -> Verdict {
        match self {
            Stop::Fail(f) => Verdict::Fail(*f),
            Stop::Skip { reason, location } => Verdict::Skip { reason, location },
            Stop::Error { message, location } => Verdict::Error { message, location },
        }
    }
}

/// The location of a span (its source text is filled in later, see
/// [`super::RunResult::attach_source`]).
pub fn location(span: Span) -> Location {
    Location {
        line: span.line as usize,
        column: span.col as usize,
        source: String::new(),
    }
}
