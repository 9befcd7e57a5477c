"""The command line: parse the arguments, call an operation, render what it found."""
from cutover.cli.main import main

__all__ = ["main"]
