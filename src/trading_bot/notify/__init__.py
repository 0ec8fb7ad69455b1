"""Telling people what happens (console, audit trail, Telegram, Discord) and taking commands."""

import os

# python-telegram-bot 22 gives durations as int or timedelta and warns about the int on every
# flood-control error; `PTB_TIMEDELTA` opts in to its coming behaviour (timedelta) now.
os.environ.setdefault("PTB_TIMEDELTA", "1")
