"""Helpers shared by the test suite (imported as ``tests.support.<module>``)."""
