"""Reusable helpers for tests: real HTTP receivers and the like."""
