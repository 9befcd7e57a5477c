"""Cutover: careful releases of ECS services behind ALBs, driven by AWS Step Functions."""
import os
import sys

_PACKAGE = os.path.dirname(os.path.abspath(__file__))

# The release steps live in lambdas/ (that folder is the Lambda code asset); the command line and
# the local engine import them from there, so a checkout works without installing anything else.
_LAMBDAS = os.path.join(os.path.dirname(_PACKAGE), "lambdas")
if os.path.isdir(_LAMBDAS) and _LAMBDAS not in sys.path:
    sys.path.insert(0, _LAMBDAS)

ROOT = os.path.dirname(_PACKAGE)


def shipped(*parts: str) -> str:
    """A repository file the wheel carries inside this package (pyproject.toml maps its folder in).

    Installed, it is found in the package; in a checkout, where it is kept once, at its own place.
    """
    packaged = os.path.join(_PACKAGE, *parts)
    return packaged if os.path.exists(packaged) else os.path.join(ROOT, *parts)


DEFINITION = shipped("statemachine", "release.asl.json")
# The undo of releases that ended outside their flow: a flow of its own, deployed and run like the release's.
UNDO_DEFINITION = shipped("statemachine", "undo.asl.json")
