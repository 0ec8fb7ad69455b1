"""The ICT ("Inner Circle Trader", smart money concepts) strategy and its causal indicators."""
