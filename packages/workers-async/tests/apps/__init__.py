"""Applications the tests serve."""
