"""The ``ponder`` command line. Each capability adds a sub-command module here."""
