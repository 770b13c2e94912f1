"""Library functions: each takes a Repo, does one capability's work and returns data."""
