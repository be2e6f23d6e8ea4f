"""Self-attention over the positions of a feature map (SAGAN, Zhang et al., 2019).

Convolutions see a few pixels at a time; a self-attention block lets every position of a feature map
``[B, C, H, W]`` look at every other one, so a GAN can keep distant parts of an image consistent (both
eyes of a face). With ``N = H·W`` positions and 1×1 convolutions ``f`` (query), ``g`` (key), ``h`` (value)
and ``v`` (output):

    βⱼ,ᵢ = softmax over i of f(x)ⱼᵀ g(x)ᵢ   [B, N (j), N (i)]
    oⱼ = v( Σᵢ βⱼ,ᵢ h(x)ᵢ )                 [B, C, N]
    y = x + γ·o

``γ`` is a learned scalar that starts at 0, so at initialisation the block is the identity and the
network first learns from local features, then leans on attention as γ grows. Query and key have
``C / 8`` channels and the value ``C / 2``, as in the authors' code (at least one each).
"""

from __future__ import annotations

import torch
from torch import nn


class SelfAttention2d(nn.Module):
    """SAGAN's self-attention block: ``[B, channels, H, W]`` → ``[B, channels, H, W]``.

    Args:
        channels: channels of the feature map it sits on.
    """

    def __init__(self, channels: int):
        super().__init__()
        key_channels, value_channels = max(1, channels // 8), max(1, channels // 2)
        self.query = nn.Conv2d(channels, key_channels, 1)
        self.key = nn.Conv2d(channels, key_channels, 1)
        self.value = nn.Conv2d(channels, value_channels, 1)
        self.out = nn.Conv2d(value_channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))  # the identity at initialisation

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """Attention weights ``[B, N, N]`` of ``x [B, C, H, W]`` (``N = H·W``): row ``j`` is how much position
        ``j`` draws from each position ``i``; every row sums to 1."""
        query = self.query(x).flatten(2).transpose(1, 2)  # [B, N, C/8]
        key = self.key(x).flatten(2)  # [B, C/8, N]
        return torch.softmax(torch.bmm(query, key), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        value = self.value(x).flatten(2)  # [B, C/2, N]
        attended = torch.bmm(value, self.attention(x).transpose(1, 2))  # [B, C/2, N]: column j = Σᵢ βⱼ,ᵢ hᵢ
        return x + self.gamma * self.out(attended.reshape(batch, -1, height, width))
