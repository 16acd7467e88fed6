"""Marathon's app definition rules, importable as a package from tests/;
see marathon_rules.py and README.md."""

from .marathon_rules import *  # noqa: F401,F403
