"""Publishing to the Hub: datasets, models and their cards."""
