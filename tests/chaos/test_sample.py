"""A seeded sample of the fault matrix runs with the suite: every step once with a fault the seed
draws, and an alarm at a drawn phase; `make chaos` runs the whole matrix. The seed is printed at
the end of the run; CHAOS_SEED=N repeats a run's sample. Each drawn cell is its own test, so the
cells spread over the test processes."""
from __future__ import annotations

import os
from typing import Any

import pytest

from chaos import matrix, run
from tests.once import computed_once, run_directory

pytestmark = pytest.mark.e2e

STATES = matrix.lambda_states(matrix.load_definition())
LATE_OR_LOST = "stop told twice, late or never"
# What the seed draws (chaos.matrix.sample): one cell per step, then a stop, an alarm, and a stop
# whose status change comes twice, late or never. A test per draw, named before the seed is known.
DRAWS = [*sorted(set(STATES.values())), "stop", "alarm", LATE_OR_LOST]


def _draw(cell: matrix.Cell) -> str:
    return cell.step or (cell.fault if cell.fault in ("stop", "alarm") else LATE_OR_LOST)


@pytest.fixture(scope="session")
def plain(tmp_path_factory) -> dict[str, Any]:
    """A release with no fault (the states it enters are the matrix's map): run once for the whole
    run, whichever test process asks first, and read by the others."""
    return computed_once(run_directory(tmp_path_factory), "chaos-baseline", run.baseline)


@pytest.fixture(scope="session")
def sample(plain) -> dict[str, matrix.Cell]:
    """The cells the run's seed draws, by what was drawn."""
    assert plain["status"] == "SUCCEEDED", f"a release with no fault ended {plain['status']}"
    definition = matrix.load_definition()
    cells, _ = matrix.seeded_sample(matrix.diagonal(matrix.cells(definition, plain["entered"], plain["config"])),
                                    int(os.environ["CHAOS_SEED"]), plain["entered"], STATES, definition)
    return {_draw(cell): cell for cell in cells}


def test_a_release_with_no_fault_succeeds(plain):
    assert plain["status"] == "SUCCEEDED", f"a release with no fault ended {plain['status']}"


def test_the_sample_has_every_step_a_stop_an_alarm_and_a_stop_told_twice_late_or_never(sample):
    assert {c.step for c in sample.values() if c.step} == set(STATES.values())
    assert set(sample) == set(DRAWS)


@pytest.mark.parametrize("draw", DRAWS)
def test_a_seeded_cell_of_the_fault_matrix_breaks_no_promise(sample, draw):
    seed = os.environ["CHAOS_SEED"]
    assert draw in sample, f"seed {seed} drew no cell for {draw}"
    cell = sample[draw]

    result = run.run_cell(cell, STATES)

    assert not result["broken"], f"seed {seed}: {cell.id} broke an invariant (this cell again: {result['reproduce']}; " \
        f"the whole sample again: CHAOS_SEED={seed} make test, or python -m chaos --sample {seed})\n" \
        f"{result['description']}\n  " + "\n  ".join(result["broken"])
