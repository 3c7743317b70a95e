"""vasr's layers point one way: a module imports from its own part of the package or from a lower layer, never
from a higher one nor from a neighbour in its own layer.

Bottom to top (each part named by module prefix; the longest prefix that matches decides):

0. ``vasr`` (the package root: version, shipped assets; exactly that module), ``vasr.console``
1. ``vasr.audio`` (audio I/O), ``vasr.text`` (normalisation, numbers, vocabularies), ``vasr.slu.schema``
   (the SoICT intents and entity types)
2. ``vasr.augment`` (waveforms altered), ``vasr.synth`` (the demo corpus made, in the SoICT schema)
3. ``vasr.data`` (manifests, corpus, batches: augments training audio, synthesises the demo corpus on first use)
4. ``vasr.decoding`` (CTC outputs to text: knows log-probabilities, not models)
5. ``vasr.model`` (the CTC model; its validation decodes), ``vasr.slu`` (the NLU model and its data)
6. ``vasr.infer`` (models applied to recordings)
7. ``vasr.recipe`` (a run's steps), ``vasr.slu.__main__`` (``vasr-slu``: ASR then NLU)
8. ``vasr.tools`` (commands over finished runs), ``vasr.prepare`` (``vasr-prepare``: public corpora into manifests)

Every import counts: module level or inside a function, ``import a.b`` and ``from a import b`` (``b`` taken as
the module ``a.b`` where there is one), relative or absolute. A new module takes the layer of its prefix; a new
part of the package needs a line here.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "vasr"
ROOT = "vasr"
LAYERS: list[tuple[str, ...]] = [
    ("vasr.console",),
    ("vasr.audio", "vasr.text", "vasr.slu.schema"),
    ("vasr.augment", "vasr.synth"),
    ("vasr.data",),
    ("vasr.decoding",),
    ("vasr.model", "vasr.slu"),
    ("vasr.infer",),
    ("vasr.recipe", "vasr.slu.__main__"),
    ("vasr.tools", "vasr.prepare"),
]


def module_names() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its ``__init__``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


MODULES = module_names()


def part_of(module: str) -> tuple[int, str]:
    """The layer of ``module`` and the prefix that places it (the longest that matches)."""
    if module == ROOT:
        return 0, ROOT
    matches = [
        (len(prefix), rank, prefix)
        for rank, prefixes in enumerate(LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    if not matches:
        raise LookupError(f"{module} is in no layer: give its part of the package a line in tests/test_layers.py")
    _, rank, prefix = max(matches)
    return rank, prefix


def submodule(source: str, name: str) -> str:
    """What ``from source import name`` imports from: the module ``source.name`` where there is one."""
    return f"{source}.{name}" if f"{source}.{name}" in MODULES else source


def imports(module: str, path: Path) -> list[tuple[int, str]]:
    """(line, imported vasr module) for every import in ``path``, at any depth of the code."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found += [(node.lineno, submodule(source, alias.name)) for alias in node.names]
    # One entry per imported module a line names (``from a import b, c`` is one import of ``a``).
    return sorted({(line, name) for line, name in found if name == ROOT or name.startswith(ROOT + ".")})


def offences(module: str, path: Path) -> list[str]:
    """``module:line imports name`` for each import in ``path`` of a higher layer or of a neighbour in the same one."""
    rank, prefix = part_of(module)
    found = []
    for line, name in imports(module, path):
        their_rank, their_prefix = part_of(name)
        if their_rank > rank or (their_rank == rank and their_prefix != prefix):
            found.append(f"{module}:{line} ({prefix}, layer {rank}) imports {name} (layer {their_rank})")
    return found


def test_no_module_imports_a_higher_layer():
    offending = [offence for module, path in MODULES.items() for offence in offences(module, path)]
    assert not offending, "imports against the layer order:\n" + "\n".join(offending)


def test_every_module_has_a_layer_and_every_layer_a_module():
    placed = {part_of(module)[1] for module in MODULES}
    assert placed == {ROOT, *(prefix for prefixes in LAYERS for prefix in prefixes)}


def test_the_check_names_a_function_level_import_of_a_higher_layer(tmp_path):
    source = tmp_path / "probe.py"
    source.write_text(
        "from ..augment import pipeline\n\n\ndef f():\n    from vasr.recipe import run_folder\n", encoding="utf-8"
    )
    assert imports("vasr.data.probe", source) == [(1, "vasr.augment.pipeline"), (5, "vasr.recipe.run_folder")]
    assert offences("vasr.data.probe", source) == [
        "vasr.data.probe:5 (vasr.data, layer 3) imports vasr.recipe.run_folder (layer 7)"
    ]
