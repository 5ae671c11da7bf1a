"""The work the training service runs on Ray: one detached driver actor per run or sweep
(``driver``), the per-worker training loop (``loop``), its data (``data``), its optimiser engines
(``engines``), its outputs (``outputs``) and sweeps (``sweep``). ``protocol`` is the only module the
service imports without Ray or torch: the plan a job runs and the events it reports back."""
