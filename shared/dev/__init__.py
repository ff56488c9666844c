"""Development-only engine pieces (the embedded engine's index-like lookups). Never shipped."""
