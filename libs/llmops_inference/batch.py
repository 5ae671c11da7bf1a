"""The running batch's KV cache: one row per sequence, left-padded to a common length.

Rows join (their prefilled cache padded on the left and concatenated), leave (rows selected away),
and columns every row pads are trimmed. This keeps transformers' own ``DynamicCache`` and 2-D
attention masks, so any causal LM whose cache layers are plain (not sliding-window) works unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class BatchCache:
    cache: object  # transformers DynamicCache, [rows, heads, columns, head_dim] per layer
    mask: torch.Tensor  # [rows, columns], 1 where a column holds a token of that row

    @property
    def rows(self) -> int:
        return int(self.mask.shape[0])

    @property
    def columns(self) -> int:
        return int(self.mask.shape[1])

    def layers(self) -> list:
        return self.cache.layers  # type: ignore[attr-defined]

    def tokens(self) -> int:
        return int(self.mask.sum())

    def nbytes(self) -> int:
        return sum(layer.keys.numel() * layer.keys.element_size() * 2 for layer in self.layers()
                   if layer.keys is not None)

    def extend_mask(self) -> torch.Tensor:
        """The mask with one more column for the token being decoded (kept as the new mask)."""
        self.mask = torch.cat([self.mask, self.mask.new_ones((self.rows, 1))], dim=1)
        return self.mask

    def select(self, rows: list[int]) -> None:
        index = torch.tensor(rows, dtype=torch.long, device=self.mask.device)
        for layer in self.layers():
            layer.keys = layer.keys.index_select(0, index)
            layer.values = layer.values.index_select(0, index)
        self.mask = self.mask.index_select(0, index)
        self._trim()

    def append(self, other: BatchCache) -> None:
        """Add ``other``'s rows after this cache's rows."""
        width = max(self.columns, other.columns)
        for mine, theirs in zip(self.layers(), other.layers(), strict=True):
            mine.keys = torch.cat([_pad_left(mine.keys, width), _pad_left(theirs.keys, width)], dim=0)
            mine.values = torch.cat([_pad_left(mine.values, width), _pad_left(theirs.values, width)], dim=0)
        self.mask = torch.cat([_pad_left(self.mask, width), _pad_left(other.mask, width)], dim=0)

    def _trim(self) -> None:
        used = self.mask.any(dim=0).nonzero()
        first = int(used[0]) if used.numel() else self.columns
        if first:
            for layer in self.layers():
                layer.keys = layer.keys[:, :, first:]
                layer.values = layer.values[:, :, first:]
            self.mask = self.mask[:, first:]


def _pad_left(tensor: torch.Tensor, width: int) -> torch.Tensor:
    """Pad the column axis (-2 for a [rows, heads, columns, dim] cache, -1 for a mask) on the left."""
    axis = -1 if tensor.dim() == 2 else -2
    missing = width - tensor.shape[axis]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[axis] = missing
    return torch.cat([tensor.new_zeros(shape), tensor], dim=axis)
