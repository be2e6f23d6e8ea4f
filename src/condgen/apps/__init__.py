"""condgen.apps."""
