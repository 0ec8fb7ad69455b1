"""`python -m trading_bot.main`, the entry point the original specification names."""

from trading_bot.cli import main

if __name__ == "__main__":
    main()
