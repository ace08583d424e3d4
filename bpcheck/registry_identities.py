"""Registry records for manual/identities.py (issue 3): whole-model losses, each (loss, grads)."""

from __future__ import annotations

from bpcheck.layer import Layer

IDENTITIES: tuple[Layer, ...] = ()
