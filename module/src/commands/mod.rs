//! The `ECL.*` commands: parse with `ecl_core`, act on the group's store
//! (through `open_group` for writes), reply. Every error is an `EclError`
//! and changes nothing. Arity is checked before a handler runs (the command
//! table), so handlers index the arguments the table guarantees.
//!
//! - `write`: `ECL.LOG`, `ECL.MLOG`;
//! - `read`: `ECL.GET`, `ECL.TOTALS`, `ECL.INFO`, `ECL.GROUPS`;
//! - `schema`: `ECL.CREATE`, `ECL.DECLARE`, `ECL.ALTER`, `ECL.DROP`;
//! - `admin`: `ECL.ROTATE`, `ECL.RESTORE` (what the timer and AOF rewrite emit).

pub mod admin;
pub mod read;
pub mod schema;
pub mod write;
