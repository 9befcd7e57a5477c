"""The local engine served as an AWS endpoint on 127.0.0.1 (`cutover sandbox up`), and `cutover demo`."""
