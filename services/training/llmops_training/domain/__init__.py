"""Pure training rules: the run spec, runs and their status machine, sweeps, trials and cost."""
