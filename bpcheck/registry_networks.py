"""Registry records for manual/networks.py (issue 3): whole-model losses, each (loss, grads)."""

from __future__ import annotations

from bpcheck.layer import Layer

NETWORKS: tuple[Layer, ...] = ()
