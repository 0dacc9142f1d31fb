"""How close Reviewdesk runs to the limit of its engine: ``python bench/run.py`` (README)."""
