"""condgen.train."""
