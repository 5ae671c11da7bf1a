"""Pure rules: the pipeline definition, the run's state machine, what a run asks for, reproductions."""
