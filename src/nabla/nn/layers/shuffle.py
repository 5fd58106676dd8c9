"""``ChannelShuffle``: the channel interleaving of ShuffleNet, over ``F.channel_shuffle``."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from ..module import Module


class ChannelShuffle(Module):
    """(N, C, *) -> (N, C, *): the channels of ``groups`` groups interleaved, so that the next
    grouped convolution sees channels from every group."""

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, input: Tensor) -> Tensor:
        return F.channel_shuffle(input, self.groups)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


__all__ = ["ChannelShuffle"]
