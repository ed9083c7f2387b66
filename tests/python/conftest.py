"""The fixtures live in kingly_fixtures.py, shared with tests/inspector."""

from kingly_fixtures import *  # noqa: F401,F403
