"""Pure seed data for Yunzao (taxonomy and demo world); standard library only."""
