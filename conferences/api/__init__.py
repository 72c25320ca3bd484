"""The JSON API at /api/v1/: personal tokens, dials, conferences and invite lists (issue 22)."""
