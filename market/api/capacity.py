"""Factory capacity in the JSON API (the capacity issue fills it in)."""
