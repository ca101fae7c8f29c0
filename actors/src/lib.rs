//! Switchyard's actors and the plain logic they wrap.
//!
//! Actors own state and decisions; they never carry request or stream bytes. Each actor is a
//! thin shell around a plain struct (`FailureAccrual`, `Planner`) so the rules can be tested
//! without a runtime, with time passed in.

pub mod accrual;
pub mod backend_watch;
pub mod class;
pub mod clock;
pub mod deployment;
pub mod gate;
pub mod plan;
pub mod policy;
pub mod quick_pick;
pub mod recent;
pub mod routing;
pub mod seconds;
pub mod spec;
pub mod supervisor;

pub use class::ErrorClass;
pub use spec::{DeploymentIdx, GroupIdx};

/// Mailbox size for the router actors: requests from every worker arrive at once, and a handler
/// should never wait for room (actix's default is 16).
pub const MAILBOX_CAPACITY: usize = 1 << 16;
