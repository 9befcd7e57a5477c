"""A seeded sample of the fault matrix runs with the suite: every step once with a fault the seed
draws, and an alarm at a drawn phase; `make chaos` runs the whole matrix. The seed is printed at
the end of the run; CHAOS_SEED=N repeats a run's sample."""
from __future__ import annotations

import os

import pytest

from chaos import matrix, run

pytestmark = pytest.mark.e2e


def test_a_seeded_sample_of_the_fault_matrix_breaks_no_promise():
    seed = int(os.environ["CHAOS_SEED"])
    plain = run.baseline()
    assert plain["status"] == "SUCCEEDED", f"a release with no fault ended {plain['status']}"
    definition = matrix.load_definition()
    states = matrix.lambda_states(definition)
    cells, _ = matrix.seeded_sample(matrix.diagonal(matrix.cells(definition, plain["entered"], plain["config"])),
                                        seed, plain["entered"], states, definition)
    assert {c.step for c in cells if c.step} == set(states.values())

    failing = [result for result in (run.run_cell(cell, states) for cell in cells) if result["broken"]]

    assert not failing, f"seed {seed}: {len(failing)} of {len(cells)} cells broke an invariant " \
        f"(the whole sample again: CHAOS_SEED={seed} make test, or python -m chaos --sample {seed})\n" + "\n".join(
            f"{r['id']}: {r['description']}\n  reproduce: {r['reproduce']}\n  " + "\n  ".join(r["broken"]) for r in failing)
