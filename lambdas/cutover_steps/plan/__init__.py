"""The plan of a release: every name and request the steps act on, computed once from the input."""
