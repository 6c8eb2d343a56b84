"""Emulated call media: play, recognize, continuous DTMF, send DTMF, and the media log."""
