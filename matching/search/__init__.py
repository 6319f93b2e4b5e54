"""Search strategies behind `matching.solver.solve`: greedy and label insertion (greedy),
CP-SAT LNS and decomposition (lns), ruin and recreate, re-insertion (repair) and the tabu
search of pure shops (shop). `context` holds the state of one solve() call."""
