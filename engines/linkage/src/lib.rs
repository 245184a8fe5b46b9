//! Record linkage for Early Help: find the same people and families across agencies' datasets.
//!
//! A Fellegi-Sunter model (u from random pairs, m by expectation-maximisation in sessions,
//! no labels needed) over comparisons with graded levels, candidate pairs from several blocking
//! rules streamed block by block over all cores, clustering into people and households, and the
//! same pipeline on privacy-preserving Bloom-filter encodings. Pure library: callers do the IO.

pub mod autoconfig;
pub mod blocking;
pub mod bloom;
pub mod cluster;
pub mod compare;
pub mod data;
pub mod generate;
pub mod households;
pub mod input;
pub mod model;
pub mod nicknames;
pub mod normalise;
pub mod pipeline;
pub mod records;
pub mod similarity;
pub mod train;

pub use cluster::ScoredPair;
pub use data::{Dataset, Field, FieldKind};
pub use model::{Explanation, Model, Scorer};
pub use pipeline::{LinkError, Outcome, Progress, Report, Settings, run};
