"""condgen.models."""
