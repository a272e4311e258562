"""Tiling follows GeoPixel's grid rule, caps the work, and the visual token sequence has the documented layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.model.geoground.modeling import GeoGroundModel
from engine.model.geoground.presets import preset_config
from engine.model.geoground.tiling import image_token_count, plan_grid, tile_image


def test_geopixel_reference_grid_for_an_800px_tile():
    grid = plan_grid(800, 800, tile=560, hd_num=9, max_tiles=9)
    assert (grid.rows, grid.cols) == (3, 3)
    assert image_token_count(grid.rows, grid.cols, 20) == 4081  # the published sequence length


def test_inference_grows_with_width_and_training_shrinks():
    assert plan_grid(2000, 1000, 560, hd_num=9, max_tiles=49).cols == 4  # 4 * ceil(4 / 2) <= 9 beats floor(2000/560)
    assert plan_grid(4000, 4000, 560, hd_num=9, max_tiles=49).cols == 7  # grows past hd_num at inference
    assert plan_grid(300, 300, 560, hd_num=9, max_tiles=9, training=True).cols == 1  # ceil(1.5*300/560) = 1


def test_cap_bounds_the_number_of_tiles_for_huge_rasters():
    grid = plan_grid(40000, 30000, 560, hd_num=9, max_tiles=16)
    assert grid.rows * grid.cols <= 16
    assert grid.cols >= grid.rows  # landscape stays landscape


def test_tall_images_are_transposed_and_padded_on_the_right():
    image = np.zeros((300, 100, 3), dtype=np.uint8)
    tiled = tile_image(image, tile=56, hd_num=4, max_tiles=4)
    grid = tiled.grid
    assert grid.transposed and grid.rows > grid.cols
    assert grid.resized_height == grid.rows * 56  # the long side fills the grid exactly
    # the padding is white and sits to the right of the resized image
    canvas_right = tiled.tiles.reshape(grid.rows, grid.cols, 3, 56, 56)[:, -1]
    assert (canvas_right[..., grid.resized_width - (grid.cols - 1) * 56 :] == 255).all()


def test_extreme_aspect_ratio_still_tiles():
    tiled = tile_image(np.zeros((3, 5000, 3), dtype=np.uint8), tile=56, hd_num=4, max_tiles=4)
    assert tiled.grid.rows == 1 and tiled.grid.cols == 4
    assert tiled.tiles.shape == (4, 3, 56, 56) and tiled.global_view.shape == (3, 56, 56)


def test_training_padding_is_centred():
    image = np.zeros((80, 120, 3), dtype=np.uint8)  # ratio 1.5 -> 2 columns, resized to 112 x 74, padded to 112
    tiled = tile_image(image, tile=56, hd_num=4, max_tiles=4, training=True)
    assert (tiled.grid.rows, tiled.grid.cols, tiled.grid.resized_height) == (2, 2, 74)
    column = np.concatenate([tiled.tiles[row * 2, 0, :, 0] for row in range(2)])  # left edge, top to bottom
    white = column == 255
    top, bottom = int(np.argmax(~white)), int(np.argmax(~white[::-1]))
    assert (top, bottom) == (19, 19)


def test_rejects_empty_images():
    with pytest.raises(ValueError, match="positive size"):
        plan_grid(0, 10, 56, 4, 4)


@pytest.mark.parametrize("shape", [(97, 131), (400, 90), (1024, 1024)])
def test_visual_sequence_matches_layout_formula(shape):
    config = preset_config("tiny")
    model = GeoGroundModel(config).eval()
    image = np.random.default_rng(0).integers(0, 256, (*shape, 3), dtype=np.uint8)
    tiled = tile_image(image, config.tile_size, config.hd_num, config.max_tiles)
    with torch.no_grad():
        tokens = model.visual(tiled)
    side = model.visual.tokens_per_side
    assert tokens.shape == (image_token_count(tiled.grid.rows, tiled.grid.cols, side), config.llm_hidden_size)
    # the separator between views sits right after the global rows
    assert torch.equal(tokens[side * (side + 1)], model.visual.global_separator)
    assert torch.equal(tokens[side], model.visual.row_separator)
