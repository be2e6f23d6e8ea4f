"""condgen.metrics."""
