"""What copying a resource's words into a need is worth: the figures behind the text component
(matching/scoring.py, TEXT_FLOOR). Over the demo need templates x the demo resources, need
text written as the demo writes it. Run: python -m benchmarks.text_gaming"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from matching import text
from matching.scoring import Weights, text_value

DEMO = Path(__file__).resolve().parents[1] / "marketplace" / "demo_data"
VILLAGES = ("三滩村", "北湾村", "平堡村", "糜滩村")
OLD = {"text": 0.10, "urgency": 0.15, "waiting": 0.10, "total": 1.00}


def similarity(a: str, b: str) -> float:
    return float(text.similarities(text.encode_one(a), text.encode([b]))[0])


def main() -> None:
    templates = json.loads((DEMO / "need_templates.json").read_text(encoding="utf-8"))
    resources = json.loads((DEMO / "resources.json").read_text(encoding="utf-8"))["resources"]
    fit: list[float] = []
    unfit: list[float] = []
    gain: list[float] = []
    gain_title: list[float] = []
    value_gain: list[float] = []
    for t in templates:
        for village in VILLAGES:
            need = f"{t['title']} {village}{t['title']}。"
            for r in resources:
                words = f"{r['title']} {r['description']}"
                cats = r["categories"]
                fits = t["subcategory"] in cats or t["subcategory"].split(".")[0] in cats
                s = similarity(words, need)
                (fit if fits else unfit).append(s)
                if fits:
                    pasted = similarity(words, f"{need} {words}")
                    gain.append(pasted - s)
                    gain_title.append(similarity(words, f"{need} {r['title']}") - s)
                    value_gain.append(text_value(pasted) - text_value(s))

    def q(values: list[float]) -> str:
        p = np.percentile(values, [0, 10, 50, 90, 100])
        return "min {:.2f}, p10 {:.2f}, median {:.2f}, p90 {:.2f}, max {:.2f}".format(*p)

    w = Weights()
    f = w.factors()
    print(f"allowed pairs ({len(fit)}): similarity {q(fit)}")
    print(f"unrelated pairs ({len(unfit)}): similarity {q(unfit)}")
    print(f"pasting title and description: similarity gain {q(gain)}")
    print(f"pasting the title alone: similarity gain {q(gain_title)}")
    old = OLD["text"] / OLD["total"] * 10_000
    print(f"old weights: pasting worth up to {max(gain) * old:.0f} points; one urgency level "
          f"{OLD['urgency'] / 2 * 10_000:.0f}, 30 days {OLD['waiting'] / 3 * 10_000:.0f}, "
          f"60 days {OLD['waiting'] * 2 / 3 * 10_000:.0f}")  # fmt: skip
    print(f"new: pasting worth up to {max(value_gain) * f['text']:.0f} points here (never more "
          f"than {f['text']:.0f}); one urgency level {f['urgency'] / 2:.0f}, 30 days "
          f"{f['waiting'] / 3:.0f}, a met priority {f['priority']:.0f}")  # fmt: skip


if __name__ == "__main__":
    main()
