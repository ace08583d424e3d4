"""MkDocs hook: the pages that are generated from the code, so that they cannot drift from it.

* ``protocol/<family>.md``, one page per family of ``bpcheck.registry.FAMILIES`` (a new family
  module gets its page and its place in the navigation with no edit here): the family's
  docstring, an optional hand-written note (``docs/protocol/notes/<family>.md``), a table of its
  records, then per record its functions' signatures and docstrings from ``manual/`` (shapes and
  the derivation in matrix form), its JAX twin and the fields of its record that differ from the
  defaults, and the checks that run on it (``battery.checks.checks_for``).
* ``<!-- generated: battery table -->`` in a page (checks/battery.md) becomes the table of the
  checks of ``battery.checks.BATTERY`` with their records' facts.
* ``contributing/mistakes.md``: the catalogue ``mistakes/`` (each file's first docstring line,
  layer, broken functions and the phrase bpcheck's message must contain).

Configured in mkdocs.yml (``hooks:``); ``mkdocs build --strict`` runs it (tests/test_docs.py).
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _checkout_importable() -> None:
    """mistakes/ is a folder of the checkout, not of the installed package."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))

NAV_SECTION = "Protocol reference"
BATTERY_TABLE = "<!-- generated: battery table -->"
DEFAULTS = {"differentiable": (0,), "batched": (0,), "magnitudes": (1.0,), "outputs": ("out",)}


def families() -> list[tuple[str, str, tuple]]:
    """(module name, its docstring, its records) for each family, in ``FAMILIES`` order."""
    import importlib
    import pkgutil

    import bpcheck.registry as registry

    found = []
    modules = [importlib.import_module(f"bpcheck.registry.{m.name}")
               for m in pkgutil.iter_modules(registry.__path__)]
    for family in registry.FAMILIES:
        # A family module binds its records under its own name in capitals (layers.LAYERS);
        # another module may import them too (convolution imports LAYERS).
        module = next(m for m in modules
                      if getattr(m, m.__name__.rpartition(".")[2].upper(), None) is family)
        found.append((module.__name__.rpartition(".")[2], inspect.getdoc(module) or "", family))
    return found


def _title(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _doc(function) -> tuple[str, str]:
    """A docstring's first paragraph (prose) and the rest (shapes, formulas: kept verbatim)."""
    text = inspect.getdoc(function) or "(no docstring)"
    first, _, rest = text.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _source(function) -> str:
    module = inspect.getmodule(function)
    return str(Path(module.__file__).resolve().relative_to(ROOT)) if module else "?"


def _function_section(name: str, function, level: str = "###") -> list[str]:
    prose, rest = _doc(function)
    lines = [f"{level} `{name}{inspect.signature(function)}`", "",
             f"{prose} <small>(`{_source(function)}`)</small>", ""]
    if rest:
        lines += ["```text", rest, "```", ""]
    return lines


def _record_facts(layer) -> list[str]:
    """The record's fields that differ from the defaults, in words."""
    args = layer.arg_names
    facts = [f"**JAX twin**: `reference.{layer.reference.__name__}"
             f"({', '.join(args)})` (its value only; gradients come from `jax.vjp`)"]
    facts.append("**differentiable**: " + ", ".join(f"`{args[i]}`" for i in layer.differentiable))
    facts.append("**batched** (axis 0 is the batch): "
                 + (", ".join(f"`{args[i]}`" for i in layer.batched) or "none: the layer couples "
                    "the batch"))
    if layer.magnitudes != DEFAULTS["magnitudes"]:
        facts.append("**magnitudes drawn**: " + ", ".join(f"{m:g}" for m in layer.magnitudes))
    if layer.kinks is not None:
        facts.append(f"**kinks**: `{layer.kinks.__name__}` (finite differences are not trusted "
                     f"across them; a difference from JAX only there is a warning)")
    if layer.outputs != DEFAULTS["outputs"]:
        facts.append("**outputs**: " + ", ".join(f"`{o}`" for o in layer.outputs))
    if layer.names is not None:
        facts.append("**course names**: " + ", ".join(f"`{n}`" for n in layer.names))
    if layer.backward_in is not None:
        doc = " ".join((inspect.getdoc(layer.backward_in) or "").split())
        facts.append(f"**backward defined where** `{layer.backward_in.__name__}`"
                     + (f": {doc}" if doc else ""))
    if getattr(layer.writes, "__name__", "") not in ("_writes_nothing", "<lambda>"):
        doc = " ".join((inspect.getdoc(layer.writes) or "").split())
        facts.append(f"**writes** `{layer.writes.__name__}`" + (f": {doc}" if doc else ""))
    if layer.observed is not None:
        facts.append("**random**: judged at its own random choices (`observed`)")
    if layer.properties:
        facts.append("**its own properties**: " + "; ".join(
            getattr(p, "title", None) or getattr(p, "name", str(p)) for p in layer.properties))
    if layer.dims is not None:
        facts.append(f"**dimensions**: its own (`{layer.dims!r}`)")
    if layer.elementwise:
        facts.append("**elementwise** (its reference is computed on flattened, padded entries)")
    return [f"- {fact}" for fact in facts]


def family_page(name: str, doc: str, records: tuple, note: str) -> str:
    import manual
    from bpcheck.battery.checks import checks_for

    lines = [f"# {_title(name)}", "",
             "<!-- Generated by tools/mkdocs_hooks.py from bpcheck/registry/"
             f"{name}.py and manual/'s docstrings: edit those, not this page. -->", "",
             " ".join(doc.split("\n\n")[0].split()), ""]
    if note:
        lines += [note.strip(), ""]
    lines += ["| layer | functions | gradients | checks |", "|---|---|---|---|"]
    for layer in records:
        lines.append(f"| [{layer.name}](#{layer.name}) | "
                     + ", ".join(f"`{f}`" for f in layer.functions)
                     + f" | {', '.join(layer.grad_names)} | "
                     + ", ".join(c.name for c in checks_for(layer)) + " |")
    lines.append("")
    shown = set()
    for layer in records:
        lines += [f"## {layer.name} {{#{layer.name}}}", ""]
        lines += _record_facts(layer)
        lines += ["- **checks**: " + ", ".join(f"`{c.name}`" for c in checks_for(layer)), ""]
        for function_name in layer.functions:
            function = getattr(manual, function_name, None)
            if function is None:
                lines += [f"### `{function_name}`", "", "Not in `manual/` yet.", ""]
                continue
            shown.add(function)
            lines += _function_section(function_name, function)
    # The other public functions of the manual/ modules this family uses (the list forms of the
    # packed models, affine_param_grads, …): documented here too.
    modules = []
    for function in shown:
        module = inspect.getmodule(function)
        if module not in modules:
            modules.append(module)
    extra = [(n, getattr(m, n)) for m in modules for n in getattr(m, "__all__", ())
             if callable(getattr(m, n, None)) and getattr(m, n) not in shown
             and not isinstance(getattr(m, n), type)]
    if extra:
        lines += ["## Also in these modules of `manual/`", ""]
        for function_name, function in sorted(extra, key=lambda e: e[0]):
            lines += _function_section(function_name, function)
    return "\n".join(lines) + "\n"


def battery_table() -> str:
    from bpcheck.battery.checks import BATTERY

    lines = ["| check | what it verifies | judges | measured against | tiers |",
             "|---|---|---|---|---|"]
    for check in BATTERY:
        lines.append(f"| `{check.name}` | {check.title} | the {check.judges} | "
                     f"{check.measures or '— (protocol hygiene)'} | {', '.join(check.tiers)} |")
    return "\n".join(lines) + "\n"


def mistakes_page() -> str:
    _checkout_importable()
    import mistakes

    catalogue = mistakes.catalogue()
    tests = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "tests").glob("test_*.py")
                   if "from mistakes import" in path.read_text()
                   or "mistakes.catalogue" in path.read_text())
    readers = (" and ".join(f"`{t}`" for t in tests) + (" check" if len(tests) > 1 else " checks")
               if tests else "The tests check")
    lines = ["# The mistake catalogue", "",
             "<!-- Generated by tools/mkdocs_hooks.py from mistakes/: edit those files. -->", "",
             f"`mistakes/` holds {len(catalogue)} classic hand-derivation mistakes, one "
             "cs231n-API file each. Each file says what is wrong in three constants, read without "
             "importing it (`mistakes/__init__.py`): `LAYER`, the registry layer; `BROKEN`, the "
             "functions that carry the mistake; `DIAGNOSIS`, a phrase bpcheck's failure message "
             f"must contain. {readers} every file: the broken functions fail, the others pass, "
             "and the message names the mistake; the [benchmarks](../benchmarks.md) run the "
             "peers on the same files.", "",
             "To add one: a file `mistakes/<layer>_<what>.py` whose docstring's first line names "
             "the mistake, the three constants, and the layer's functions with the one mistake "
             "in them (marked `# mistake:`). It then appears here and in the tests.", "",
             "| mistake | layer | broken | bpcheck's message says |", "|---|---|---|---|"]
    for m in catalogue:
        said = " or ".join(f"“{d}”" for d in m.diagnosis)
        title = m.title.rstrip(":").replace("|", "\\|")
        lines.append(f"| `{m.name}`: {title} | {m.layer} | "
                     f"{', '.join(f'`{b}`' for b in m.broken)} | {said.replace('|', '/')} |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------ the hooks

def on_config(config):
    """Put one page per family into the protocol reference's navigation."""
    pages = [{_title(name): f"protocol/{name}.md"} for name, _, _ in families()]
    for entry in config["nav"] or []:
        if isinstance(entry, dict) and NAV_SECTION in entry:
            entry[NAV_SECTION] = [p for p in entry[NAV_SECTION]
                                  if not (isinstance(p, dict) and "GENERATED" in p)] + pages
    return config


def on_files(files, config):
    from mkdocs.structure.files import File

    docs = Path(config["docs_dir"])
    generated = {"contributing/mistakes.md": mistakes_page()}
    for name, doc, records in families():
        note = docs / "protocol" / "notes" / f"{name}.md"
        generated[f"protocol/{name}.md"] = family_page(
            name, doc, records, note.read_text() if note.exists() else "")
    for path, content in generated.items():
        existing = files.get_file_from_path(path)
        if existing is not None:
            files.remove(existing)
        files.append(File.generated(config, path, content=content))
    return files


def on_page_markdown(markdown, page, config, files):
    return markdown.replace(BATTERY_TABLE, battery_table())
