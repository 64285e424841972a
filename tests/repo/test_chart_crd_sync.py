"""The chart ships the canonical CRD: charts/.../crds/ must be a byte-for-byte copy of crds/."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = ROOT / "crds"
CHART_CRDS = ROOT / "charts" / "drs-pause-operator" / "crds"


def test_chart_crds_are_the_canonical_crds_byte_for_byte():
    canonical = {p.name: p.read_bytes() for p in CANONICAL.glob("*.yaml")}
    shipped = {p.name: p.read_bytes() for p in CHART_CRDS.iterdir() if p.is_file()}
    assert canonical, "no CRD in crds/"
    assert sorted(shipped) == sorted(canonical), (
        "the chart's crds/ must hold exactly the files of crds/"
    )
    for name, data in canonical.items():
        assert shipped[name] == data, (
            f"charts/drs-pause-operator/crds/{name} differs from crds/{name}: "
            f"cp crds/{name} charts/drs-pause-operator/crds/"
        )
