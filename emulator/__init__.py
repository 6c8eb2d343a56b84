"""A local stand-in for Azure Communication Services.

It speaks the ACS data-plane REST protocol (Rooms, Identity, Call Automation) closely enough
that the official Python SDKs talk to it unchanged, signs its callbacks like ACS does, and
adds a small simulation control API under ``/emulator``. It imports nothing from ``bot``.
"""

from emulator.app import create_emulator_app
from emulator.config import EmulatorConfig

__all__ = ["EmulatorConfig", "create_emulator_app"]
