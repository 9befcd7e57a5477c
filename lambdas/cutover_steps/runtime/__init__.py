"""What every step runs in: the Lambda wrapper, polling, observability and the retry policy."""
