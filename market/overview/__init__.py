"""The operators' market overview (fill rate, on-time rate, utilisation, money in flight)."""
