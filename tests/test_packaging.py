"""Installing vasr keeps numpy 2: nothing it depends on, however indirectly, caps numpy below 2."""

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


def test_no_dependency_caps_numpy_below_2():
    numpy_requirements = closure("vasr").get("numpy", [])
    assert numpy_requirements  # vasr and others do need numpy
    capped = [str(r) for r in numpy_requirements if not r.specifier.contains("2.5.0")]
    assert not capped, capped
    assert "pyctcdecode" not in closure("vasr")  # its numpy<2 pin is why vasr decodes with ctc-beam-decoder
