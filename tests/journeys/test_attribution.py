"""The seven models on paths small enough to compute by hand (Markov chains solved on paper)."""

from __future__ import annotations

import numpy as np
import pytest

from journeys.attribution import MODELS, attribute, path_table, removal_effects, touch_weights

MRS_X = path_table([(["display", "broker"], 1, 850.0, 0, [12.0, 0.0])])


def credit(table, model, **kw):
    return {ch: (round(c, 6), round(v, 6)) for ch, (c, v) in attribute(table, model, **kw).items()}


def test_mrs_x_display_then_the_broker_shop():
    assert credit(MRS_X, "first_touch") == {"display": (1, 850), "broker": (0, 0)}
    assert credit(MRS_X, "last_touch") == {"display": (0, 0), "broker": (1, 850)}
    assert credit(MRS_X, "last_non_direct") == {"display": (0, 0), "broker": (1, 850)}
    assert credit(MRS_X, "position_based") == {"display": (0.5, 425), "broker": (0.5, 425)}
    assert credit(MRS_X, "linear") == {"display": (0.5, 425), "broker": (0.5, 425)}
    # 12 days before the sale with a 7-day half-life: 2^(-12/7) against 2^0 for the sale's own touch.
    w = 2 ** (-12 / 7)
    assert credit(MRS_X, "time_decay") == {"display": (round(w / (1 + w), 6), round(850 * w / (1 + w), 6)),
                                           "broker": (round(1 / (1 + w), 6), round(850 / (1 + w), 6))}
    # One path, always converting: removing either channel loses every conversion.
    assert credit(MRS_X, "markov") == {"display": (0.5, 425), "broker": (0.5, 425)}


def test_position_based_on_one_two_and_five_touches():
    table = path_table([(["a"], 1, 0, 0), (["a", "b"], 1, 0, 0), (["a", "b", "c", "b", "d"], 1, 0, 0)])
    assert list(touch_weights(table, "position_based")) == pytest.approx(
        [1, 0.5, 0.5, 0.4, 0.2 / 3, 0.2 / 3, 0.2 / 3, 0.4])
    assert credit(table, "position_based") == {"a": (1.9, 0), "b": (round(0.5 + 0.4 / 3, 6), 0),
                                               "c": (round(0.2 / 3, 6), 0), "d": (0.4, 0)}


def test_last_non_direct_skips_direct_and_keeps_an_all_direct_path():
    table = path_table([(["email", "direct", "direct"], 2, 100, 0), (["direct", "direct"], 1, 10, 0),
                        ([("display", "spring"), ("direct", "")], 1, 5, 0)])
    assert credit(table, "last_non_direct") == {"email": (2, 100), "direct": (1, 10), ("display", "spring"): (1, 5),
                                                ("direct", ""): (0, 0)}


def test_linear_and_time_decay_add_up_to_each_paths_conversions():
    table = path_table([(["a", "b", "c"], 3, 300, 0, [14, 7, 0]), (["c"], 1, 50, 4, [0])])
    lin = credit(table, "linear")
    assert lin == {"a": (1, 100), "b": (1, 100), "c": (2, 150)}
    decay = attribute(table, "time_decay")
    # Weights 1/4, 1/2, 1 (ages of two half-lives, one, none) normalised by 7/4.
    assert decay["a"][0] == pytest.approx(3 * (1 / 4) / (7 / 4)) and decay["b"][0] == pytest.approx(3 * (1 / 2) / (7 / 4))
    assert decay["c"][0] == pytest.approx(3 * 1 / (7 / 4) + 1)
    assert attribute(table, "time_decay", half_life_days=1e9)["a"][0] == pytest.approx(1)  # no decay: linear


def test_markov_removal_effects_of_the_textbook_chain():
    # C1 > C2 > C3 converts; C1 alone and C2 > C3 do not. start->C1 2/3, ->C2 1/3; C1->C2 1/2, ->null 1/2;
    # C2->C3 1; C3->conversion 1/2, ->null 1/2. P(conv) = 2/3*1/2*1/2 + 1/3*1/2 = 1/3.
    # Without C1: 1/3*1/2 = 1/6, removal effect 1/2. Without C2 or C3: 0, removal effect 1.
    table = path_table([(["C1", "C2", "C3"], 1, 30, 0), (["C1"], 0, 0, 1), (["C2", "C3"], 0, 0, 1)])
    assert list(removal_effects(table)) == pytest.approx([0.5, 1, 1])
    assert credit(table, "markov") == {"C1": (0.2, 6), "C2": (0.4, 12), "C3": (0.4, 12)}


def test_markov_with_a_cycle_and_repeats_collapsed():
    # A > A > B > A converts (collapsed: A > B > A), B does not. start->A 1/2, ->B 1/2; A->B 1/2, A->conv 1/2;
    # B->A 1/2, B->null 1/2. P_A = 1/2 + P_B/2, P_B = P_A/2: P_A = 2/3, P_B = 1/3, P = 1/2.
    # Without A: P = 0 (effect 1). Without B: P_A = 1/2, P = 1/4 (effect 1/2). Shares 2/3 and 1/3.
    table = path_table([(["A", "A", "B", "A"], 3, 90, 0), (["B"], 0, 0, 3)])
    assert list(removal_effects(table)) == pytest.approx([1, 0.5])
    assert credit(table, "markov") == {"A": (2, 60), "B": (1, 30)}


def test_markov_weights_per_path_follow_the_removal_effects():
    table = path_table([(["C1", "C2", "C3"], 1, 30, 0), (["C1"], 0, 0, 1), (["C2", "C3"], 0, 0, 1)])
    assert list(touch_weights(table, "markov")[:3]) == pytest.approx([0.2, 0.4, 0.4])


@pytest.mark.parametrize("model", MODELS)
def test_every_model_shares_exactly_the_conversions_and_revenue_of_paths_with_touches(model):
    rng = np.random.default_rng(7)
    levers = ["display", "search_paid", "broker", "direct", "email"]
    rows = []
    for _ in range(300):
        n = int(rng.integers(0, 6))
        converted = int(rng.random() < 0.3)
        rows.append(([levers[i] for i in rng.integers(0, 5, n)], converted, converted * float(rng.integers(100, 900)),
                     1 - converted, list(rng.uniform(0, 30, n))))
    table = path_table(rows)
    out = attribute(table, model)
    attributed = [r for r in rows if r[0]]
    assert sum(c for c, _ in out.values()) == pytest.approx(sum(r[1] for r in attributed))
    assert sum(v for _, v in out.values()) == pytest.approx(sum(r[2] for r in attributed))
    assert all(c >= 0 for c, _ in out.values())


def test_no_conversion_gives_nothing_to_anyone():
    table = path_table([(["a", "b"], 0, 0, 5)])
    for model in MODELS:
        assert all(c == 0 and v == 0 for c, v in attribute(table, model).values())
