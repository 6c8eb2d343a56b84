"""Call recording: ``/calling/recordings`` (start, state, pause, resume, stop), its state events,
the ``RecordingFileStatusUpdated`` Event Grid event and the recorded files (``/v1/objects/...``)."""
