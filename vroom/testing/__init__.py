"""vroom's public test kit: hypothesis strategies, invariants to check after any run."""
