"""The local engine: the real state machine in moto's interpreter, the real handlers, no AWS account."""
