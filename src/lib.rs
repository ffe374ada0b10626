//! nasstrap: a declarative disk layout (disko's vocabulary, in YAML) → a plan of
//! actions → applied locally on the box, or driven over SSH from a laptop.
pub mod probe;
