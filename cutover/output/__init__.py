"""What a command shows: its report as `--output json` or as text for people, the streams of the commands that follow a release, and the masking of secrets."""
