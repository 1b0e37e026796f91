"""``python -m ganaug ...`` runs the ``ganaug`` command (e.g. under ``torchrun -m ganaug train ...``)."""
from .cli import main

raise SystemExit(main())
