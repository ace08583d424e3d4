"""The command line: ``bpcheck check``, ``grade``, ``gradescope``, ``demo`` (the only layer that
prints)."""
