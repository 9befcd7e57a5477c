"""The checks a step runs on a version: verification checks and the canary judge's reads."""
