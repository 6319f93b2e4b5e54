"""Page blueprints, one per area."""
