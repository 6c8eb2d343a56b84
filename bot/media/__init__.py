"""The bot's media machinery: one scheduler per call for play and recognize, and DTMF key names.

Kept free of imports: `bot.acs` uses the DTMF helpers, and the scheduler uses `bot.acs`.
"""
