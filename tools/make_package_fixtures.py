"""Write tests/fixtures/packages/a1, a2, a3: a complete, correct course package per assignment, in
the course's layout (cs231n/layers.py, layer_utils.py, rnn_layers.py, classifiers/…), assembled
from manual/'s own definitions. a1 imports absolutely (``from cs231n.layers import *``), a2
relatively (``from ..layers import *``), a3 both; a2 has a fast_layers.py whose Cython import is
not handed in. Run: ``.venv/bin/python tools/make_package_fixtures.py`` (tests/test_packages.py
checks the files are what this writes).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANUAL = ROOT / "manual"
OUT = ROOT / "tests" / "fixtures" / "packages"

ALL = None


def take(module: str, names) -> str:
    """The source of ``names`` (every top-level def and class for ALL) in manual/<module>.py."""
    source = (MANUAL / f"{module}.py").read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    parts = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and (
                names is ALL or node.name in names):
            start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
            parts.append("\n".join(lines[start:node.end_lineno]))
    wanted = set() if names is ALL else set(names)
    missing = wanted - {p.split("(")[0].split()[-1] for p in parts if p}
    assert not missing or all(any(f" {m}(" in p or f" {m}:" in p for p in parts)
                              for m in missing), (module, missing)
    return "\n\n\n".join(parts)


def file(header: str, *pieces: str) -> str:
    return header.strip() + "\n\n\n" + "\n\n\n".join(p for p in pieces if p) + "\n"


HEAD = '"""{}"""\n\nimport functools\nfrom typing import NamedTuple\n\nimport numpy as np\n'
STABLE = ("ignore_underflow", "exp_nonpos", "sigmoid")
BASIC = [take("_stable", STABLE), take("layers", ("AffineCache", "affine_forward",
                                                   "affine_backward")),
         take("activations", ("ReluCache", "relu_forward", "relu_backward")),
         take("losses", ("_log_softmax_rows", "softmax_loss", "svm_loss"))]
SOFTMAX_HELPERS = [take("_stable", ("ignore_underflow", "exp_nonpos")),
                   take("losses", ("_log_softmax_rows",))]


def neural_net() -> str:
    return take("classifiers", ("neural_net_TwoLayerNet",)).replace(
        "class neural_net_TwoLayerNet:", "class TwoLayerNet(object):")


def keep_ratio_fc_net() -> str:
    source = take("models", ("FullyConnectedNet",))
    for old, new in (("dropout=1,", "dropout_keep_ratio=1,"),
                     ("self.use_dropout = dropout != 1", "self.use_dropout = dropout_keep_ratio != 1"),
                     ('"p": dropout}', '"p": dropout_keep_ratio}')):
        assert old in source, old
        source = source.replace(old, new)
    return source


def packages() -> dict[str, dict[str, str]]:
    a1 = {
        "cs231n/__init__.py": "",
        "cs231n/layers.py": file(HEAD.format("Assignment 1's layers."), *BASIC),
        "cs231n/layer_utils.py": file('"""Sandwich layers."""\n\nfrom typing import NamedTuple\n\n'
                                      "from cs231n.layers import *\n",
                                      take("layer_utils", ("AffineReluCache", "affine_relu_forward",
                                                           "affine_relu_backward"))),
        "cs231n/classifiers/__init__.py": "from cs231n.classifiers.linear_svm import *\n"
                                          "from cs231n.classifiers.softmax import *\n",
        "cs231n/classifiers/linear_svm.py": file(
            '"""The linear SVM."""\n\nimport numpy as np\nfrom past.builtins import xrange\n',
            take("classifiers", ("svm_loss_naive", "svm_loss_vectorized"))),
        "cs231n/classifiers/softmax.py": file(
            HEAD.format("The softmax classifier."), *SOFTMAX_HELPERS,
            take("classifiers", ("softmax_loss_naive", "softmax_loss_vectorized"))),
        "cs231n/classifiers/neural_net.py": file(
            '"""The older two-layer network."""\n\nimport numpy as np\n\n'
            "from cs231n.layers import *\nfrom cs231n.layer_utils import *\n", neural_net()),
        "cs231n/classifiers/fc_net.py": file(
            '"""The two-layer network."""\n\nimport numpy as np\n\n'
            "from cs231n.layers import *\nfrom cs231n.layer_utils import *\n",
            take("models", ("_l2", "TwoLayerNet"))),
    }
    a2_layers = [*BASIC, take("normalization", ALL), take("batchnorm_alt", ALL),
                 take("dropout", ALL), take("convolution", ALL), take("spatial", ALL)]
    a2 = {
        "cs231n/__init__.py": "",
        "cs231n/layers.py": file(HEAD.format("Assignment 2's layers."), *a2_layers),
        "cs231n/fast_layers.py": file(
            '"""Fast layers on the Cython im2col (not handed in: it is compiled)."""\n\n'
            "import numpy as np\n\nfrom .im2col_cython import col2im_cython, im2col_cython\n",
            "def conv_forward_fast(x, w, b, conv_param):\n"
            "    cols = im2col_cython(x, w.shape[2], w.shape[3], conv_param['pad'],\n"
            "                         conv_param['stride'])\n    return cols, None"),
        "cs231n/layer_utils.py": file('"""Sandwich layers."""\n\nfrom typing import NamedTuple\n\n'
                                      "from .layers import *\nfrom .fast_layers import *\n",
                                      take("layer_utils", ALL)),
        "cs231n/classifiers/__init__.py": "",
        "cs231n/classifiers/fc_net.py": file(
            '"""Fully connected networks."""\n\nimport numpy as np\n\n'
            "from ..layers import *\nfrom ..layer_utils import *\n",
            take("models", ("_l2", "TwoLayerNet")), keep_ratio_fc_net()),
        "cs231n/classifiers/cnn.py": file(
            '"""A three-layer convolutional network."""\n\nimport numpy as np\n\n'
            "from ..layers import *\nfrom ..fast_layers import *\nfrom ..layer_utils import *\n",
            take("models", ("_l2", "ThreeLayerConvNet"))),
    }
    a3 = {
        "cs231n/__init__.py": "",
        "cs231n/layers.py": file(HEAD.format("Assignment 3's layers.") + "from builtins import range\n",
                                 *BASIC),
        "cs231n/rnn_layers.py": file(HEAD.format("Recurrent layers.")
                                     + "\nfrom cs231n.layers import *\n",
                                     take("_stable", STABLE), "_sigmoid = sigmoid",
                                     take("recurrent", ALL),
                                     take("embedding", ALL)),
        "cs231n/classifiers/__init__.py": "",
        "cs231n/classifiers/rnn.py": file(
            '"""The captioning model."""\n\nimport numpy as np\n\n'
            "from ..layers import *\nfrom ..rnn_layers import *\nfrom cs231n.coco_utils import "
            "decode_captions\n", take("captioning", ("CaptioningRNN",))),
    }
    return {"a1": a1, "a2": a2, "a3": a3}


def main(check: bool = False) -> int:
    stale = []
    for assignment, files in packages().items():
        for relative, text in files.items():
            path = OUT / assignment / relative
            if check:
                if not path.is_file() or path.read_text() != text:
                    stale.append(str(path))
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    if stale:
        print("stale:", *stale, sep="\n  ")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv))
