//! Snapshot diff (month N-1 to N).
