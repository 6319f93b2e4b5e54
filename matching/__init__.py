"""Yunzao matching engine: which machine in which factory does each operation, and when.

Pure Python + OR-Tools; never imports the web app. Public API:

- `solve(problem, time_limit=10.0, workers=2, seed=0, deterministic=True, gap_limit=None)
  -> Plan` (deterministic=False: the anytime mode, which uses the whole time limit)
- `quote(problem, plan, new_order, time_limit=0.2) -> Quote`
- `Problem.from_dict(d)`, `load(path)` (JSON or `.fjs`), `Plan.to_dict()`
- `matching.validate.validate(problem, plan) -> list[str]` (independent checker, its own module)
"""

from matching.problem import Problem, load
from matching.quote import Quote, quote
from matching.result import Assignment, Plan
from matching.solver import solve

__all__ = ["Assignment", "Plan", "Problem", "Quote", "load", "quote", "solve"]
