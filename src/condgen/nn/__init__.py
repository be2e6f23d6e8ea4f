"""condgen.nn."""
