"""Side-by-side benchmark harness: venvs, servers, scenarios, load, and reports."""
