"""Redaction of hostile free text: what one 32 KB field (--max-event) full of numbers costs the collector
(written with ASCII separators, or Unicode ones and full-width digits, which the redaction reads folded; or
percent-encoded, up to three times, or joined by `+`, which it reads decoded too),
which redacts on its event loop, beside the same size of ordinary prose with a phone number in it, measured
in the same run. The figures are the ratios; the target: no field costs more than 50x prose of its size.
Run: .venv/bin/python bench/bench_redact.py
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collector import redact  # noqa: E402

SIZE = 32_768
NBSP = "\u00a0"
WIDE = str.maketrans("0123456789", "\uff10\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19")


def fill(piece) -> str:
    out, n = [], 0
    while n < SIZE:
        out.append(piece(len(out)))
        n += len(out[-1]) + 1
    return " ".join(out)[:SIZE]


def cases() -> dict[str, str]:
    rnd = random.Random(7)
    two = lambda: f"{rnd.randint(10, 99)}"  # noqa: E731
    return {
        "prose with a phone (baseline)": fill(lambda i: "rappelez-moi au 06 71 82 93 04" if i % 40 == 0 else
                                          rnd.choice(["bonjour", "devis", "moto", "assurance", "merci"])),
        "phones one after another": fill(lambda i: f"06 {rnd.choice([12, 71])} {two()} {two()} {two()}"),
        "phones, comma-separated": fill(lambda i: f"06 {rnd.choice([12, 71])} {two()} {two()} {two()},"),
        "international phones": fill(lambda i: f"+33 6 {rnd.choice([12, 71])} {two()} {two()} {two()}"),
        "phones glued to words": fill(lambda i: f"tel06{rnd.choice([12, 71])}{rnd.randint(100000, 999999)}"),
        "phones, no-break spaces": fill(lambda i: f"06 {rnd.choice([12, 71])} {two()} {two()} {two()}".replace(" ", NBSP)),
        "phones, full-width digits": fill(lambda i: f"06{rnd.choice([12, 71])}{two()}{two()}{two()}".translate(WIDE)),
        "phones, percent-encoded": fill(lambda i: f"06%20{rnd.choice([12, 71])}%20{two()}%20{two()}%20{two()}"),
        "phones, percent-encoded twice": fill(lambda i: f"06%2520{rnd.choice([12, 71])}%2520{two()}%2520{two()}%2520{two()}"),
        "phones, encoded three times": fill(lambda i: f"06%252520{rnd.choice([12, 71])}%252520{two()}%252520{two()}%252520{two()}"),
        "one-digit groups, %252520": fill(lambda i: str(rnd.randint(0, 9)) + "%252520"),
        "phones joined by +": fill(lambda i: f"06+{rnd.choice([12, 71])}+{two()}+{two()}+{two()}").replace(" ", "+"),
        "one-digit groups, %20 and +": fill(lambda i: str(rnd.randint(0, 9)) + rnd.choice(["%20", "+"])),
        "one-digit groups, then a %20": fill(lambda i: str(rnd.randint(0, 9)))[:-3] + "%20",  # read twice
        "digits, zero-width spaces": "\u200b".join(str(rnd.randint(0, 9)) for _ in range(SIZE // 2)),
        "one-digit groups": fill(lambda i: str(rnd.randint(0, 9))),
        "a 32 KB number": "".join(str(rnd.randint(0, 9)) for _ in range(SIZE)),
        "one-digit groups, hyphens": "0-" * (SIZE // 2),
        # What an e-mail address's pattern may cost: unbounded, the first took 5.5 s (the square of its length).
        "letters, then @b.b.b.": "a" * (SIZE // 2) + "@" + "b." * (SIZE // 4),
        "@, then b-b-b-": "a@" + "b-" * (SIZE // 2 - 1),
        "a.a.a., then @": "a." * (SIZE // 2 - 1) + "@b",
    }


def main() -> int:
    r = redact.Redactor("FR")
    results = {}
    for label, text in cases().items():
        best = float("inf")
        for _ in range(3):
            redact._phones.cache_clear()
            redact._ibans.cache_clear()
            redact._escaped.cache_clear()
            redact._in_own_grouping.cache_clear()
            redact._overseas_only.cache_clear()
            t = time.perf_counter()
            r.text(text)
            best = min(best, time.perf_counter() - t)
        results[label] = best
    base = results["prose with a phone (baseline)"]
    print(f"{'32 KB field':32} {'ms':>8} {'ratio':>7}")
    for label, seconds in results.items():
        print(f"{label:32} {seconds * 1000:8.1f} {seconds / base:6.1f}x")
    worst = max(results.values()) / base
    print(f"worst: {worst:.1f}x prose of the same size (target <= 50x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
