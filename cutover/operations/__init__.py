"""What the commands do: start, answer, stop and read releases, plan, adopt, check configs; each gives what it found, for the command line to render."""
