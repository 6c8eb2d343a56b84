"""Room calls and call connections: the Call Automation data plane."""
