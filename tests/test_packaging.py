"""Installing vasr downgrades nothing: no dependency, however indirect, caps a package below what is installed or
below a current release (numpy 2; optuna 4 and 5, which hydra-optuna-sweeper's optuna<3 once pulled back to 2.10)."""

from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name


def closure(root: str) -> dict[str, list[Requirement]]:
    """Every installed distribution vasr needs (extras left out), with the requirements naming it."""
    wanted: dict[str, list[Requirement]] = {}
    queue = [root]
    seen = set()
    while queue:
        name = queue.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for line in requires:
            requirement = Requirement(line)
            if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
                continue
            key = canonicalize_name(requirement.name)
            wanted.setdefault(key, []).append(requirement)
            queue.append(key)
    return wanted


CURRENT = {"numpy": ["2.5.0"], "optuna": ["4.0.0", "5.0.0"]}


def test_no_dependency_caps_a_current_release():
    wanted = closure("vasr")
    for name, releases in CURRENT.items():
        assert wanted.get(name), name  # vasr does need it
        capped = [f"{r} (excludes {v})" for r in wanted[name] for v in releases if not r.specifier.contains(v)]
        assert not capped, capped


def test_installing_vasr_downgrades_nothing_installed():
    capped = [
        f"{requirement} (installed: {metadata.version(name)})"
        for name, requirements in closure("vasr").items()
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
    assert "pyctcdecode" not in closure("vasr")  # its numpy<2 pin is why vasr decodes with ctc-beam-decoder
