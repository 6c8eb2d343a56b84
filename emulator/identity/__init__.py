"""The Identity API (``/identities``, ``:issueAccessToken``) and the users it has created."""
