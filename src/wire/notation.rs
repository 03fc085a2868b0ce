//! Segments in packetdrill notation, and field-by-field differences.
