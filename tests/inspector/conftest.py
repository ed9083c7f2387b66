"""The fixtures are the SDK suites' (tests/python/kingly_fixtures.py)."""

from kingly_fixtures import *  # noqa: F401,F403
