"""Business rules and transactions. Services take a Session and plain values; they never
touch Flask's request, so pages, the API, jobs and the CLI share them."""
