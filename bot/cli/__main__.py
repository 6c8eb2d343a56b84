"""``python -m bot.cli``: the ``roombot`` console script without the installed wrapper."""

from bot.cli import main

raise SystemExit(main())
