"""The prompt store: prompts with immutable versions, movable labels, sandboxed rendering and diffs."""
