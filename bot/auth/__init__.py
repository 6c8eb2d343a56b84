"""Who may talk to the bot: bearer API keys for `/api` and `/ops`, signed JWTs for ACS callbacks."""
