"""Plan validation speed: the compiled validators against msgspec types built from the same plan.

Both are measured in this run on the same events; figures are ratios to the baseline (a plain
`json`-free dict copy of the properties), so a loaded machine shifts all of them together.
Run: .venv/bin/python bench/bench_plan.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Literal

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tagplan import compile_plan, load_plan  # noqa: E402

PLAN = Path(__file__).resolve().parent.parent / "examples" / "moto-insurance.yaml"
N = 10_000

BROCHURE = {"document_url": "https://www.motoassur.example/garanties.pdf", "pages": 12}
VALID = {"quote_id": "Q-7F3K9", "phone": "06 12 34 56 78", "formula": "tiers_vol"}
INVALID = {"quote_id": "X", "formula": "all", "extra": 1}


def msgspec_type(props):
    """The submit properties as a msgspec Struct: types, max_length, pattern, enum; phones still need a check."""
    fields = []
    for name, p in props.items():
        t = {"string": str, "integer": int, "number": float, "boolean": bool, "phone": str}.get(p.type, str)
        if p.type == "enum":
            t = Literal[tuple(p.values)]
        meta = {}
        if p.max_length is not None:
            meta["max_length"] = p.max_length
        if p.pattern is not None:
            meta["pattern"] = p.pattern
        if meta:
            t = Annotated[t, msgspec.Meta(**meta)]
        fields.append((name, t) if p.required else (name, t | None, None))
    return msgspec.defstruct("Submit", fields, forbid_unknown_fields=True)


def timed(fn, arg, repeat: int = 5) -> float:
    """Seconds per call, the best of `repeat` runs (the machine is shared: the minimum is the least noisy)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(N):
            fn(arg)
        best = min(best, (time.perf_counter() - start) / N)
    return best


def main() -> None:
    plan = compile_plan(load_plan(PLAN))
    cases = [
        ("valid, no phone", plan.events["brochure_downloaded"], plan.plan.events["brochure_downloaded"].properties, BROCHURE),
        ("valid with phone", plan.submits["moto_quote"], plan.plan.forms["moto_quote"].submit.properties, VALID),
        ("4 errors", plan.submits["moto_quote"], plan.plan.forms["moto_quote"].submit.properties, INVALID),
    ]
    baseline = timed(dict, VALID)
    print(f"baseline dict copy: {baseline * 1e9:.0f} ns/event (best of 5 x {N} events)")
    for label, spec, props_spec, props in cases:
        struct = msgspec_type(props_spec)

        def via_msgspec(p, struct=struct):
            try:
                msgspec.convert(p, struct)
            except msgspec.ValidationError as exc:
                return [str(exc)]  # the first error only
            return []

        ours = timed(spec.problems, props)
        theirs = timed(via_msgspec, props)
        print(f"{label:>18}: compiled validators {ours / baseline:6.1f}x baseline ({ours * 1e6:.2f} us), "
              f"msgspec types {theirs / baseline:6.1f}x baseline ({theirs * 1e6:.2f} us; phone not checked, first error only)")
        if label == "4 errors":
            print("   errors, compiled:", spec.problems(props))
            print("   errors, msgspec: ", via_msgspec(props))


if __name__ == "__main__":
    main()
