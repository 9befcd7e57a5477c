"""Cutover's release steps: the code every Lambda function of the state machine runs."""
