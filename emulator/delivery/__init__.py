"""What the emulator sends out, as ACS does: callbacks signed with its own RS256 key (published
at ``/calling/keys``), and Event Grid events, each over an ordered, retrying POST."""
