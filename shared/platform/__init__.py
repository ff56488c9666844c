"""Cross-cutting building blocks every function uses: errors, log, clock, config, identity, validation, the database."""
