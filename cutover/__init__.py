"""Cutover: careful releases of ECS services behind ALBs, driven by AWS Step Functions."""
import os
import sys

# The release steps live in lambdas/ (that folder is the Lambda code asset); the command line and
# the local engine import them from there, so a checkout works without installing anything else.
_LAMBDAS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "lambdas")
if os.path.isdir(_LAMBDAS) and _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)

ROOT = os.path.dirname(_LAMBDAS)
DEFINITION = os.path.join(ROOT, "statemachine", "release.asl.json")
