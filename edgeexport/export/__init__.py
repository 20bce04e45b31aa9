"""The exporter: ``pipeline`` plans and runs the converter stages (``stages/``) for one card, ``reference``
writes what every artifact is judged against, ``context`` is what a stage may read. Needs torch."""
