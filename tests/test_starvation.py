"""The judgement after each kernel block: did it leave the kernel at the process limit?"""

from __future__ import annotations

from autorun.executors.base import ExecResult
from autorun.executors.kernel.starvation import KernelTaskBudget, reserve, starved_result


def test_a_block_that_fills_the_budget_is_blamed_once_and_a_fresh_kernel_is_the_new_baseline() -> None:
    budget = KernelTaskBudget(256, "executor.max_processes")
    assert reserve(256) == 32 and budget.threshold == 224
    assert budget.after_block(14) is None  # a fresh kernel
    assert budget.after_block(120) is None  # a thread pool: plenty left
    line = budget.after_block(256)
    assert line is not None and "left 136 more" in line and "256 of the 256 executor.max_processes" in line
    assert budget.fresh_kernel(14) == ""
    assert budget.after_block(14) is None


def test_what_the_block_did_not_add_is_not_blamed_on_it() -> None:
    budget = KernelTaskBudget(16, "executor.pids_limit")
    assert budget.after_block(None) is None
    budget.kernel_restarted()
    first = budget.after_block(12)  # not known what the kernel had before: at the limit, so restart
    assert first is not None and "the block left threads" in first
    assert "raise executor.pids_limit" in budget.fresh_kernel(12)  # a fresh kernel takes as many
    assert budget.after_block(12) is None  # and the next block is not blamed for it: no restart loop


def test_the_result_says_it_was_killed_and_the_state_is_lost() -> None:
    seen: list[str] = []
    result = starved_result(ExecResult(0, "partial", 1.0), "killed: too many", seen.append)
    assert result.exit_code == 137 and result.output.startswith("partial\nkilled: too many\n")
    assert "variables and imports from earlier blocks are gone" in result.output and seen == [result.output[7:]]
