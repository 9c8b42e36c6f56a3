"""``python -m labelport``: the ``labelport`` command (used where the console script is not on PATH)."""

from labelport.cli.main import main

main()
