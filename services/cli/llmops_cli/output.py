"""The consoles every ``llmops`` command prints through.

Data is always printed literally: rich's markup, emoji codes and highlighting are off, so a name, a
record, a template or a message holding ``[bold]`` or ``:x:`` prints as written, in plain lines,
tables and trees alike. The CLI's own styling is given as ``style=`` or as ``Text.assemble`` parts,
never as markup inside a string (progress bars pass ``markup=False`` to their text columns).
"""

from __future__ import annotations

from rich.console import Console

console = Console(markup=False, emoji=False, highlight=False)
err_console = Console(stderr=True, markup=False, emoji=False, highlight=False)
