"""ML2 mechanism drivers."""
