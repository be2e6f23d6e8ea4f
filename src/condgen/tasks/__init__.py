"""What the commands do, as functions that return data: the CLI (and the browser UI) call these, print
what they return and write it; nothing here prints tables or parses command-line text."""
