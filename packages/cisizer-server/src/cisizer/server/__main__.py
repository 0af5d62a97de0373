"""Run the ``cisizer-server`` command with ``python -m cisizer.server``."""

from cisizer.server._cli import main

main(prog_name="cisizer-server")
