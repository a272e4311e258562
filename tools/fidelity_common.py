"""What the two fidelity drivers (``fidelity_geopixel.py``, ``fidelity_geopix.py``) share. Imported by them in both
phases (the reference's environment and ours), so it needs only torch."""

from __future__ import annotations

import torch


def randomize(network: torch.nn.Module, seed: int) -> torch.Generator:
    """Draw every parameter at random: norms around 1, biases and vectors around 0, weights scaled by fan-in.

    Trained-looking scales without trained weights, so both implementations see non-trivial values. Returns the
    generator, for callers that draw more (buffers) from the same stream."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in network.parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            if parameter.dim() == 1 and bool((parameter == 1).all()):
                parameter.copy_(1 + 0.1 * noise)
            elif parameter.dim() <= 1:
                parameter.copy_(0.1 * noise)
            else:
                parameter.copy_(noise / parameter[0].numel() ** 0.5)
    return generator
