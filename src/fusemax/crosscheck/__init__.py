"""Cross-checks of fusemax's engine against independent analytical models (test-only dependencies)."""
