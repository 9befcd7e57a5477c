"""Benchmarks of a release through the local engine: what it costs, how cleanup scales, how fast
the handlers start. Run with `make bench`; results go to bench/results/.
"""
