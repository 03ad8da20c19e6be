"""Runnable examples (the JSON Lines logs beside them are replay examples)."""
