"""``python -m rapport`` runs the command line."""

from rapport.cli import main

main()
