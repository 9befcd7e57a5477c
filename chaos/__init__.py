"""The fault matrix: one release per (state of the definition, fault), invariants checked on the whole account."""
