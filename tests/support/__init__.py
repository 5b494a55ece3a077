"""Helpers shared by the test suites: real servers and a real browser."""
