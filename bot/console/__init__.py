"""The operator console: ``GET /console`` (a page of plain HTML, CSS and JavaScript served from this
package's ``static/`` folder) and what it reads besides the ``/ops`` routes: the live feed of call
changes (``GET /ops/events``, server-sent events) and one call's timeline
(``GET /ops/calls/{callConnectionId}/timeline``)."""
