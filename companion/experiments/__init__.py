"""The paper experiments: one module per notebook section (its reference values, table builders and claim checks)."""
