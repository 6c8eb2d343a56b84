"""The ACS request protocol every data-plane call goes through: HMAC authentication,
api-versions, ``Repeatability-Request-ID``, ACS's error bodies, and the log of requests."""
