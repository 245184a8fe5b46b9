//! One module per command-line verb that is more than a line or two.
//! Each exposes a clap `Args` struct and a `run` function; `main.rs` only dispatches.
pub mod audit;
pub mod backup;
pub mod cba;
pub mod directory;
pub mod giving;
pub mod import;
pub mod link;
pub mod retention;
pub mod sar;
pub mod spc;
