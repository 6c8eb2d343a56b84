"""Interpreter dial-out, exactly once: the ``dialout`` handler and its HTTP routes."""

from handlers.dialout.handler import DialOutConfig, DialOutHandler

__all__ = ["DialOutConfig", "DialOutHandler"]
