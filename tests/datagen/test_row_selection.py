"""``--num-samples`` at corpus scale: the selection is one bit a source row and answers as the set did."""

import pickle
import random

import numpy as np
import pytest

from hub_tools.datagen.row_selection import RowSelection


@pytest.mark.parametrize("total", [0, 1, 7, 8, 9, 1000, 100_003])
def test_the_bitmap_answers_as_the_set_of_its_indices(total):
    rng = random.Random(total)
    chosen = set(rng.sample(range(total), total // 3)) if total else set()
    selection = RowSelection.of(np.array(sorted(chosen), dtype=np.int64), total)
    assert len(selection) == len(chosen)
    probes = list(range(min(total, 2000))) + [rng.randrange(total) for _ in range(2000)] if total else [0]
    assert [index in selection for index in probes] == [index in chosen for index in probes]
    assert -1 not in selection and total not in selection and "3" not in selection and None not in selection
    assert list(selection) == sorted(chosen)
    for position in (0, len(chosen) // 2, len(chosen) - 1) if chosen else ():
        assert selection.nth(position) == sorted(chosen)[position]
    assert pickle.loads(pickle.dumps(selection)) == selection


def test_a_selection_of_millions_pickles_to_a_bit_a_row():
    total = 10_000_000
    chosen = np.random.default_rng(0).choice(total, size=total // 2, replace=False)
    selection = RowSelection.of(chosen, total)
    assert len(pickle.dumps(selection)) < total // 8 + 200  # 1.25 MB; the set held 59 bytes an index
    assert int(chosen[123]) in selection and len(selection) == total // 2


def test_bad_indices_are_refused():
    with pytest.raises(ValueError, match="never negative"):
        RowSelection.of([3, -1], 10)
    with pytest.raises(ValueError, match="past the 10 rows"):
        RowSelection.of([10], 10)
    assert len(RowSelection.of([], 0)) == 0 and list(RowSelection.of(range(3))) == [0, 1, 2]
