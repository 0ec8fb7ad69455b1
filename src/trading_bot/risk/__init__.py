"""Risk: every signal is sized and vetted here before it becomes an order."""
