"""``python -m condgen.cli`` (e.g. ``torchrun --nproc_per_node=2 -m condgen.cli train ...``)."""

from condgen.cli import main

main()
