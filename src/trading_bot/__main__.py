"""`python -m trading_bot`."""

from trading_bot.cli import main

main()
