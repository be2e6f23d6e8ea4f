"""condgen.plugin."""
