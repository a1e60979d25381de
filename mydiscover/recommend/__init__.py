"""The weekly: candidates, the three signals and the cold start, blending, rules and order."""
