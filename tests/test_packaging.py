"""Installing vasr downgrades nothing: no dependency, however indirect, caps a package below what is installed or
below a future release of what users upgrade most (torch, transformers, lightning, numpy; optuna, which
hydra-optuna-sweeper's optuna<3 once pulled back to 2.10)."""

import warnings
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

PYPROJECT = Path(__file__).parents[1] / "pyproject.toml"


def requires(name: str) -> list[str]:
    """A distribution's requirements; vasr's from this checkout's pyproject.toml, since an editable install's
    metadata lags behind it (Python 3.10, without tomllib, reads the installed metadata)."""
    if name == "vasr":
        try:
            import tomllib
        except ModuleNotFoundError:
            return metadata.requires(name) or []
        return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    try:
        return metadata.requires(name) or []
    except metadata.PackageNotFoundError:
        return []


def closure() -> dict[str, list[Requirement]]:
    """Every distribution vasr needs (extras left out), with the requirements naming it."""
    wanted: dict[str, list[Requirement]] = {}
    queue = ["vasr"]
    seen = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        for line in requires(name):
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            key = canonicalize_name(requirement.name)
            wanted.setdefault(key, []).append(requirement)
            queue.append(key)
    return wanted


# Releases newer than any today's requirements were written against: a requirement excluding one downgrades or
# blocks the users who have it.
FUTURE = {
    "torch": ["2.14.0", "2.20.0", "3.0.0"],
    "transformers": ["5.30.0", "6.0.0"],
    "lightning": ["2.7.0", "3.0.0"],
    "numpy": ["2.5.0", "3.0.0"],
    "optuna": ["4.9.0", "5.0.0", "6.0.0"],
}


def test_no_dependency_caps_a_future_release():
    wanted = closure()
    for name, releases in FUTURE.items():
        assert wanted.get(name), name  # vasr does need it
        capped = [f"{r} (excludes {v})" for r in wanted[name] for v in releases if not r.specifier.contains(v)]
        assert not capped, capped


def test_installing_vasr_downgrades_nothing_installed():
    capped = [
        f"{requirement} (installed: {metadata.version(name)})"
        for name, requirements in closure().items()
        if name in installed()
        for requirement in requirements
        if not requirement.specifier.contains(metadata.version(name), prereleases=True)
    ]
    assert not capped, capped


def installed() -> set[str]:
    return {canonicalize_name(d.metadata["Name"]) for d in metadata.distributions()}


def test_hydra_finds_vasrs_optuna_sweeper():
    from hydra.core.plugins import Plugins
    from hydra.plugins.sweeper import Sweeper

    names = {f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Sweeper)}
    assert "hydra_plugins.vasr_sweeper.optuna_sweeper.OptunaSweeper" in names
    assert "pyctcdecode" not in closure()  # its numpy<2 pin is why vasr decodes with ctc-beam-decoder


def test_a_deprecation_on_one_of_vasrs_lines_fails_the_tests():
    """pyproject.toml's filterwarnings: a deprecated call vasr makes is an error, a library's own is shown."""
    call = compile("warnings.warn('renamed', category)", "vasr/recipe/anything.py", "exec")
    for category in (DeprecationWarning, FutureWarning):
        with pytest.raises(category, match="renamed"):
            exec(call, {"__name__": "vasr.recipe.anything", "warnings": warnings, "category": category})
        with pytest.warns(category, match="renamed"):
            exec(call, {"__name__": "vasrlike.module", "warnings": warnings, "category": category})
