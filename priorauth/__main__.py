"""``python -m priorauth`` runs the CLI."""

from .cli import main

main()
