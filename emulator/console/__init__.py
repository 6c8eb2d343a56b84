"""The emulator console: ``GET /emulator/console``, a page to play a room call by hand (join and
leave roster members, press keys, script phones and watch them ring, read the media log and the
callbacks sent). It lives under the control API's prefix, so it answers loopback clients only.
Its page reads the control API and these additions: ``GET /emulator/rooms``, ``GET
/emulator/phones``, ``GET /emulator/callbacks`` and the live feed ``GET /emulator/console/events``.
"""
