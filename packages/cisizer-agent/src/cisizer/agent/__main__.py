"""Let ``python -m cisizer.agent`` run the command line."""

from cisizer.agent._cli import main

main()
