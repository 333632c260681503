//! The target expression grammar (placeholder until the parser lands).
