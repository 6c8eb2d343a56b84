"""The Rooms data plane: room records, their roster, and the REST routes."""
