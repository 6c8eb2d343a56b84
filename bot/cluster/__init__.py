"""Several replicas on one shared store: a leader lease decides who drives the calls, and the
others pass their requests on to it (see `bot.cluster.election` and `bot.cluster.forward`)."""
