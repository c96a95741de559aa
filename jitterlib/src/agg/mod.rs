//! Aggregations: the byte layout of aggregation maps, the BPF code that updates them ([`emit`]), merging their
//! per-CPU values in user space, histogram buckets, and rendering as bpftrace-style text or JSON.
//!
//! The flow is [`decode`] (raw [`MapEntries`](crate::maps::MapEntries) plus a [`MapLayout`] into a
//! sorted, merged [`Snapshot`]) followed by [`render_text`] or [`render_json`].
//!
//! Byte layouts written by the BPF side (all little-endian):
//! - Keys: the key fields in order; integers take 8 bytes, strings their declared size (NUL-padded).
//!   A map without `[...]` has one 8-byte key that is always 0. Histogram keys end with a `u64`
//!   bucket index (see [`bucket`]).
//! - Values: per [`AggKind`]; plain maps (`@x[k] = expr`) hold one shared field.

pub mod bucket;
pub mod emit;
mod enums;
mod error;
mod folded;
mod json;
mod json_line;
mod kind;
mod layout;
mod merge;
mod openmetrics;
pub mod quantile;
mod stack;
#[cfg(test)]
mod testing;
mod text;
mod time_format;
mod tseries;
mod value;

pub use crate::units::format_duration;
pub use bucket::{
    hist_bucket, hist_label, hist_range, lhist_bucket, lhist_label, lhist_range, timehist_bucket, timehist_label,
    timehist_range, BucketRange, HIST_MAX_BITS,
};
pub use enums::EnumNames;
pub use error::AggError;
pub use folded::render_folded;
pub use json::render_json;
pub use json_line::json_line;
pub use kind::{AggKind, TSeriesAgg, LHIST_MAX_BUCKETS, TSERIES_MAX_INTERVALS};
pub use layout::{ArrayElement, ArrayLayout, FieldLayout, KeyPart, MapLayout, MapValue, NameSlots, ValueFormat};
pub use merge::{decode, decode_zeroed};
pub use openmetrics::{render_openmetrics, LabelBudget, CULPRIT_LABELS, OPENMETRICS_CONTENT_TYPE, OTHER_CULPRITS};
pub use stack::{StackKind, StackMode, MAX_STACK_FRAMES};
pub use text::render_text;
pub use time_format::TimeFormat;
pub use tseries::TimeSeries;
pub use value::{
    format_buf, format_culprit, format_inet, format_inet_family, AggValue, Average, FieldValue, HexSymbolizer,
    Histogram, KernelSymbols, Row, Snapshot, Symbolizer,
};
