"""Raw input for local runs: the deterministic synthetic sales lake and the demo's lake."""
