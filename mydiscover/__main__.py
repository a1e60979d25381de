"""Allow ``python -m mydiscover``."""

from mydiscover.launch import main

main()
