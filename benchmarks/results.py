"""One table of every benchmark in the project.

Each benchmark module records its figures with `record(...)`; `python -m benchmarks.run` (what
`make bench` runs) runs the modules one after another, each in its own process, then prints one
table of every figure and writes it as JSON (var/bench/bench-<time>.json) so that runs can be
compared. A figure may carry the baseline it is judged against — measured in the same run, on
the same machine — and then the table shows the ratio, which is what to compare between runs
(absolute times on a shared 2-core machine are noisy; ratios much less so).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Figure:
    benchmark: str
    metric: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_label: str = ""
    target: str = ""  # the goal the issue sets, as text ("< 1 s"), shown beside the figure
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.value / self.baseline if self.baseline else None


def results_file() -> Path:
    return Path(os.environ.get("GRIDMAP_BENCH_RESULTS", ROOT / "var" / "bench" / "results.jsonl"))


def record(benchmark: str, metric: str, value: float, unit: str, *, baseline: float | None = None,
           baseline_label: str = "", target: str = "", note: str = "") -> Figure:
    """Keep one figure for the run's table (and print it as it comes)."""
    figure = Figure(benchmark, metric, float(value), unit, baseline, baseline_label, target, note)
    path = results_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(asdict(figure), ensure_ascii=False) + "\n")
    ratio = f"  ({figure.ratio:.2f}× {baseline_label})" if figure.ratio is not None else ""
    print(f"  [{benchmark}] {metric}: {fmt(value)} {unit}{ratio}", flush=True)
    return figure


def read(path: Path) -> list[Figure]:
    if not path.exists():
        return []
    return [Figure(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def fmt(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def table(figures: list[Figure]) -> str:
    rows = [("benchmark", "metric", "value", "baseline", "ratio", "target")]
    for f in figures:
        base = f"{fmt(f.baseline)} {f.unit} ({f.baseline_label})" if f.baseline else ""
        rows.append((f.benchmark, f.metric, f"{fmt(f.value)} {f.unit}", base,
                     f"{f.ratio:.2f}×" if f.ratio is not None else "", f.target))
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(c + " " * (w - _width(c)) for c, w in zip(r, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
