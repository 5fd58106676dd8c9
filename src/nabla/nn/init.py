"""Weight initialisers (filled in by the layers issue)."""
