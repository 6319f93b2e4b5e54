"""Reading and writing instances: `.fjs` flexible job shop files (fjs) and the synthetic
marketplace instance generator (generate)."""
