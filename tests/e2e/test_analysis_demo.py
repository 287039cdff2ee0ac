"""The analysis demo end to end: exporter → flightdeck's store (scraping) → the seed's template.

The template is a time-compressed copy of the example's (delays, interval and rate windows
shortened) so a run takes seconds; everything else is what `make demo` runs.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from flightdeck.analysis.types import Phase
from flightdeck.sim.analysis_demo import EXAMPLE, DemoOptions, run_demo

pytestmark = pytest.mark.e2e


def compressed_template(tmp_path: Path) -> Path:
    text = (EXAMPLE / "hotrod" / "analysis-template.yaml").read_text()
    for before, after in (
        ("initialDelay: 90s", "initialDelay: 4s"),
        ("initialDelay: 60s", "initialDelay: 3s"),
        ("interval: 10s", "interval: 1s"),
        ("[2m]", "[20s]"),
    ):
        assert before in text
        text = text.replace(before, after)
    path = tmp_path / "analysis-template.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("bad", "idle", "phase", "message"),
    [
        (False, False, Phase.SUCCESSFUL, ""),
        (
            True,
            False,
            Phase.FAILED,
            'Metric "error-rate-lt-5-percent" assessed Failed due to failed (3) > failureLimit (2)',
        ),
        # The idle canary's counters exist but stop growing: its error rate is 0/0 = NaN, which
        # the seed's success-only condition counts as Failed (the trap `flightdeck lint` warns about).
        (
            False,
            True,
            Phase.FAILED,
            'Metric "error-rate-lt-5-percent" assessed Failed due to failed (3) > failureLimit (2)',
        ),
    ],
    ids=["healthy", "bad-canary", "idle-canary"],
)
def test_demo_variants(tmp_path: Path, bad: bool, idle: bool, phase: Phase, message: str) -> None:
    out = io.StringIO()
    options = DemoOptions(
        template=compressed_template(tmp_path), bad_canary=bad, idle_canary=idle, scrape_interval="1s"
    )
    result = run_demo(options, out)
    text = out.getvalue()
    assert result is phase, text
    assert f"Phase:    {phase.value}" in text
    if message:
        assert f"Message:  {message}" in text
