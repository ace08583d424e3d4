"""The registry: one record per layer of the protocol, split by domain (one module a family, as
PyTorch splits its OpInfo definitions). Adding a layer is one record in its family's module (plus
its NumPy pair in manual/ and its JAX twin in reference/); a new family is a new module listed in
``FAMILIES``. See README, "Adding a layer".
"""

from __future__ import annotations

from bpcheck.layer import Layer, RegistryError
from bpcheck.registry.convolution import CONVOLUTION
from bpcheck.registry.identities import IDENTITIES
from bpcheck.registry.layers import LAYERS
from bpcheck.registry.models import MODELS
from bpcheck.registry.networks import NETWORKS
from bpcheck.registry.recurrent import RECURRENT

#: Every family's records, in the order reports list them.
FAMILIES: tuple[tuple[Layer, ...], ...] = (LAYERS, CONVOLUTION, NETWORKS, IDENTITIES, RECURRENT,
                                             MODELS)
REGISTRY: tuple[Layer, ...] = tuple(layer for family in FAMILIES for layer in family)


def layer_named(name: str) -> Layer:
    for layer in REGISTRY:
        if layer.name == name:
            return layer
    raise RegistryError(f"no layer named {name!r}; known: {', '.join(l.name for l in REGISTRY)}")


def _validate(records: tuple[Layer, ...]) -> None:
    names = [r.name for r in records]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        raise RegistryError(f"duplicate layer names: {sorted(duplicates)}")


_validate(REGISTRY)
