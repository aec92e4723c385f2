"""``python -m priorauth`` runs the CLI."""

from priorauth.cli import main

main()
