"""Allow ``python -m mydiscover``."""

from mydiscover.cli import main

main()
