"""Helpers shared by more than one test area, defined once.

Each module is a plain library: import from it, never from a conftest.py or a test module.
Shared fixtures live in `tests.support.fixtures`; an area's conftest imports the ones it
uses, so pytest registers them for that folder only.
"""
