"""Shared pytest configuration. Paths to the reference data: :mod:`tests.shared_data`."""
