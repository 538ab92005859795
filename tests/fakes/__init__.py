"""Test doubles for external services (see :mod:`tests.fakes.telegram`)."""
