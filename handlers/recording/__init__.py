"""Call recording: the ``recording`` handler (consent, then record), its record and HTTP routes."""

from handlers.recording.handler import RecordingHandler
from handlers.recording.model import RecordingConfig

__all__ = ["RecordingConfig", "RecordingHandler"]
