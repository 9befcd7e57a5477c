"""Powertools Logger, Tracer and Metrics: created once here, used by every step."""
from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger(service="cutover")
tracer = Tracer(service="cutover")
metrics = Metrics(namespace="Cutover", service="cutover")
