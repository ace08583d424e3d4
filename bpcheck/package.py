"""The course's package as students hand it in: a folder holding ``cs231n/`` (or the package
folder itself), or the zip of it that the course's ``collect_submission`` script makes.

``stage(path)`` copies the package (or extracts the zip) into a folder of its own, under the name
it has, beside a generated entry module, ``layers.py``. Importing that entry imports the
package's modules as a package (``cs231n.layers``, ``cs231n.classifiers.fc_net`` …), so that
absolute imports (``from cs231n.layers import *``) and relative ones (``from ..layers import *``)
both work, and gathers their functions and classes under the protocol's names (the older
``classifiers/neural_net.py``'s ``TwoLayerNet`` as ``neural_net_TwoLayerNet``). The entry is then
loaded as any user's file (``loader.load``, or the grading sandbox's child, which runs it as
written: it imports nothing of bpcheck).

A module that cannot be imported (a Python 2 file, an error at import) costs only its own
functions: each gets one sentence naming the file and the cause (``BPCHECK_PROBLEMS``, read by the
loader; the same sentence is raised if the function is called, as in the sandbox). A helper module
of the package that is not handed in (``data_utils``, the Cython ``im2col_cython`` of the fast
layers) is a stand-in inside the package, raising that sentence when used; modules missing from
the machine (``torch``, ``past``) get the loader's stand-ins (``bpcheck.standins``).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import zipfile
from pathlib import Path

from bpcheck.layer import Layer

#: The generated entry module's file name (the sandbox's entry of a folder is its layers.py).
ENTRY = "layers.py"
#: How deep below the given folder a package is looked for (a zip holds cs231n/ at its root, or
#: inside one folder).
DEPTH = 2
#: The course's modules (relative to the package), in the order their functions are gathered: a
#: function is taken from the first module that defines it.
MODULES = ("layers", "rnn_layers", "layer_utils", "classifiers.linear_svm", "classifiers.softmax",
           "classifiers.neural_net", "classifiers.fc_net", "classifiers.cnn", "classifiers.rnn")
#: (module, its name) -> the protocol's name, where they differ.
RENAMED = {("classifiers.neural_net", "TwoLayerNet"): "neural_net_TwoLayerNet"}
#: Protocol names the course writes in a module other than layers.py (the rest are layers.py's).
HOMES = {
    "classifiers.linear_svm": ("svm_loss_naive", "svm_loss_vectorized"),
    "classifiers.softmax": ("softmax_loss_naive", "softmax_loss_vectorized"),
    "classifiers.neural_net": ("neural_net_TwoLayerNet",),
    "classifiers.fc_net": ("TwoLayerNet", "FullyConnectedNet"),
    "classifiers.cnn": ("ThreeLayerConvNet",),
    "classifiers.rnn": ("CaptioningRNN",),
}
#: Layer records of the recurrent family live in rnn_layers.py; the sandwiches in layer_utils.py.
SANDWICHES = ("affine_relu", "affine_bn_relu", "affine_ln_relu", "conv_relu", "conv_relu_pool",
              "conv_bn_relu")


class PackageError(ValueError):
    """The path holds no course package, or its zip cannot be read."""


def is_package_dir(folder: Path) -> bool:
    """Whether ``folder`` looks like the course's package: a layers.py or a classifiers/."""
    return folder.is_dir() and ((folder / "layers.py").is_file()
                                or (folder / "classifiers").is_dir())


def find(path: Path) -> Path | None:
    """The course package inside ``path`` (a folder), or None: the folder itself when it is the
    package, else the first package folder (by name) at most DEPTH levels below."""
    if is_package_dir(path) and (path / "__init__.py").is_file():
        return path
    level = [path]
    for _ in range(DEPTH):
        level = sorted(d for folder in level for d in folder.iterdir()
                       if d.is_dir() and not d.name.startswith((".", "__")))
        for folder in level:  # below, only a package that is the course's by its look
            if is_package_dir(folder) and (folder.name == "cs231n"
                                           or (folder / "classifiers").is_dir()):
                return folder
    return path if is_package_dir(path) else None


def holds_package(path: Path) -> bool:
    """Whether ``path`` is a zip, or a folder holding the course package (a folder with a
    layers.py of its own and no package is a plain submission)."""
    path = Path(path)
    if path.is_file():
        return path.suffix == ".zip"
    if not path.is_dir() or ((path / "layers.py").is_file() and not (path / "__init__.py").exists()
                             and not (path / "classifiers").is_dir()):
        return False
    return find(path) is not None


def homes(layers: tuple[Layer, ...]) -> dict[str, tuple[str, ...]]:
    """Each course module -> the protocol functions it is expected to hold."""
    placed = {name for names in HOMES.values() for name in names}
    rnn, utils, rest = [], [], []
    from bpcheck.registry import RECURRENT

    recurrent = {layer.name for layer in RECURRENT}
    for layer in layers:
        for function in layer.functions:
            if function in placed:
                continue
            (rnn if layer.name in recurrent else utils if layer.name in SANDWICHES
             else rest).append(function)
    return {"layers": tuple(rest), "rnn_layers": tuple(rnn), "layer_utils": tuple(utils),
            **HOMES}


_STAGED: list[Path] = []


def _cleanup() -> None:
    for folder in _STAGED:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_cleanup)


def stage(path: str | Path, layers: tuple[Layer, ...], into: Path | None = None) -> Path:
    """A folder holding a copy of the package found in ``path`` (a folder or a zip) under its own
    name, and the generated entry module ``layers.py``; removed when this process ends unless
    ``into`` is given. PackageError when there is none."""
    path = Path(path)
    if into is None:
        into = Path(tempfile.mkdtemp(prefix="bpcheck-package-"))
        _STAGED.append(into)
    if path.is_file():
        if path.suffix != ".zip":
            raise PackageError(f"{path} is not a zip (nor a folder)")
        unpacked = into / "unpacked"
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    target = (unpacked / member.filename).resolve()
                    if not target.is_relative_to(unpacked.resolve()):
                        raise PackageError(f"{path}: {member.filename} would unpack outside the "
                                           f"folder")
                archive.extractall(unpacked)
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackageError(f"{path} cannot be read as a zip ({exc})") from None
        path = unpacked
    package = find(path)
    if package is None:
        raise PackageError(f"{path} holds no course package (a folder with layers.py or "
                           f"classifiers/)")
    shutil.copytree(package, into / package.name, symlinks=False,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.so", ".*"))
    if path.name == "unpacked":
        shutil.rmtree(path, ignore_errors=True)
    (into / ENTRY).write_text(entry_source(package.name, into / package.name, layers))
    return into


def entry_source(name: str, folder: Path, layers: tuple[Layer, ...]) -> str:
    """The entry module for the package ``name`` (copied at ``folder``)."""
    present = [m for m in MODULES if (folder / (m.replace(".", "/") + ".py")).is_file()]
    return _TEMPLATE.format(package=repr(name), package_name=name, modules=repr(present),
                            homes=repr(homes(layers)), renamed=repr(RENAMED))


# The entry imports nothing of bpcheck: the sandbox's child runs it as a submission's file.
_TEMPLATE = '''"""Generated by bpcheck (bpcheck/package.py): the course package {package}, gathered."""

import importlib
import os
import sys
import types

PACKAGE = {package}
MODULES = {modules}
HOMES = {homes}
RENAMED = {renamed}
BPCHECK_PROBLEMS = {{}}

_here = os.path.dirname(os.path.abspath(__file__))
if _here not in sys.path:
    sys.path.insert(0, _here)
for _name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
    del sys.modules[_name]  # another copy of the package, loaded before this one


class _Absent(types.ModuleType):
    """A module of the package that was not handed in: using it raises one sentence."""

    def __getattr__(self, attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return _absent(attribute, f"{{attribute}} is from {{self.__name__}}, which was not "
                                  f"handed in (a helper of the course, not checked here)")


def _absent(what, why):
    def absent(*args, **kwargs):
        raise ImportError(why)
    return absent


class _Finder:
    """Finds a module of the package that is not there (a helper not handed in, the Cython
    im2col of the fast layers) as an _Absent one."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PACKAGE + "."):
            return None
        relative = fullname[len(PACKAGE) + 1:].replace(".", os.sep)
        base = os.path.join(_here, PACKAGE, relative)
        if os.path.exists(base + ".py") or os.path.isdir(base):
            return None
        import importlib.machinery
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec):
        return _Absent(spec.name)

    def exec_module(self, module):
        pass


def _sentence(module, exc):
    file = PACKAGE + "/" + module.replace(".", "/") + ".py"
    if isinstance(exc, SyntaxError) and exc.filename and os.path.isfile(exc.filename):
        file = os.path.relpath(exc.filename, _here).replace(os.sep, "/")  # the file at fault
    if isinstance(exc, SyntaxError):
        where = f"{{file}}, line {{exc.lineno}}"
        message = exc.msg or ""
        python2 = ("Missing parentheses in call to" in message or "except E, e" in message
                   or "multiple exception types must be parenthesized" in message)
        if python2:
            return f"{{where}} is Python 2 code ({{message}}): the course's files are Python 3"
        return f"{{where}}: syntax error: {{message}}"
    line = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(file.replace("/", os.sep)):
            line = f", line {{tb.tb_lineno}}"
        tb = tb.tb_next
    return f"{{file}}{{line}}: raised {{type(exc).__name__}}: {{exc}} while being imported"


_finder = _Finder()
sys.meta_path.append(_finder)
if False:  # for bpcheck's scan of imports (its stand-ins): the package is imported below
    import {package_name}  # noqa: F401
_loaded = {{}}


def _bare_packages(module):
    """The packages above ``module`` whose __init__ failed, as bare packages (the course's
    classifiers/__init__.py re-exports its modules: one broken module must not hide the
    others)."""
    parts = f"{{PACKAGE}}.{{module}}".split(".")[:-1]
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name not in sys.modules:
            bare = types.ModuleType(name)
            bare.__path__ = [os.path.join(_here, *parts[:depth])]
            sys.modules[name] = bare


for _module in MODULES:
    try:
        _loaded[_module] = importlib.import_module(f"{{PACKAGE}}.{{_module}}")
    except (Exception, SystemExit) as _exc:
        try:
            _bare_packages(_module)
            _loaded[_module] = importlib.import_module(f"{{PACKAGE}}.{{_module}}")
        except (Exception, SystemExit) as _again:
            for _function in HOMES.get(_module, ()):
                BPCHECK_PROBLEMS.setdefault(_function, _sentence(_module, _again))
for _module, _object in _loaded.items():  # each function from the module that defines it
    for _attribute, _value in vars(_object).items():
        if (not _attribute.startswith("_") and callable(_value)
                and getattr(_value, "__module__", None) == _object.__name__):
            globals().setdefault(RENAMED.get((_module, _attribute), _attribute), _value)
for _function, _why in BPCHECK_PROBLEMS.items():
    if _function not in globals():
        globals()[_function] = _absent(_function, _why)
'''
