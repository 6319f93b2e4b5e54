"""Buyer orders in the JSON API (the orders issue fills it in)."""
