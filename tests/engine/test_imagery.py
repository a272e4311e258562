"""to_rgb8: band mapping, stretch, validity and errors on small synthetic arrays."""

from __future__ import annotations

import numpy as np
import pytest

from engine.imagery import ImageryError, looks_like_alpha, stretch_limits, to_rgb8


def _ramp(dtype, bands=1, height=6, width=8, scale=1):
    values = np.arange(height * width, dtype=np.float64).reshape(height, width) * scale
    return np.stack([values + 1000 * b for b in range(bands)]).astype(dtype)


def test_single_band_2d_uint8_is_grey_and_unstretched():
    grey = np.arange(48, dtype=np.uint8).reshape(6, 8)
    rgb, valid = to_rgb8(grey)
    assert rgb.shape == (6, 8, 3) and rgb.dtype == np.uint8
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], grey)
    assert valid.all()


def test_uint8_rgb_kept_as_is_unless_stretch_requested():
    image = np.random.default_rng(0).integers(50, 100, size=(3, 5, 7), dtype=np.uint8)
    rgb, _ = to_rgb8(image)
    np.testing.assert_array_equal(rgb, image.transpose(1, 2, 0))
    stretched, _ = to_rgb8(image, stretch=True, percentiles=(0, 100))
    assert stretched.min() == 0 and stretched.max() == 255


def test_uint16_band_stretched_between_percentiles():
    band = _ramp(np.uint16, scale=40)[0]  # 0 .. 1880
    rgb, valid = to_rgb8(band, percentiles=(0, 100))
    assert valid.all()
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    # linear in between
    middle = band.flat[24] / band.max() * 255
    assert abs(int(rgb.reshape(-1, 3)[24, 0]) - middle) <= 1
    # default 2-98 percentiles clip the tails
    clipped, _ = to_rgb8(band)
    assert (clipped[..., 0] == 0).sum() >= 1 and (clipped[..., 0] == 255).sum() >= 1


def test_stretch_uses_valid_pixels_only():
    band = _ramp(np.uint16, scale=1)[0].astype(np.uint16)  # 0 .. 47
    band[0, :4] = 65535  # nodata would dominate the range if it were counted
    rgb, valid = to_rgb8(band, nodata=65535, percentiles=(0, 100))
    assert not valid[0, :4].any() and valid[0, 4:].all() and valid[1:].all()
    assert rgb[-1, -1, 0] == 255  # the largest valid value reaches white
    assert (rgb[0, :4] == 0).all()  # invalid painted black


def test_float_nan_and_inf_are_invalid():
    image = _ramp(np.float32, bands=3) / 100
    image[1, 2, 3] = np.nan
    image[0, 4, 4] = np.inf
    rgb, valid = to_rgb8(image)
    assert not valid[2, 3] and not valid[4, 4]
    assert valid.sum() == valid.size - 2
    assert (rgb[2, 3] == 0).all()


def test_nodata_needs_all_used_bands():
    image = np.full((3, 4, 4), 80, dtype=np.uint8)
    image[:, 0, 0] = 0  # all bands nodata -> invalid
    image[0, 1, 1] = 0  # a dark red channel alone stays valid
    rgb, valid = to_rgb8(image, nodata=0)
    assert not valid[0, 0] and valid[1, 1]
    assert tuple(rgb[1, 1]) == (0, 80, 80)


def test_four_band_alpha_detected_and_applied():
    image = np.full((4, 5, 5), 120, dtype=np.uint8)
    image[3] = 255
    image[3, :, :2] = 0
    rgb, valid = to_rgb8(image)
    assert not valid[:, :2].any() and valid[:, 2:].all()
    assert (rgb[:, 2:] == 120).all()


def test_four_band_nir_dropped_by_default():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(4, 5, 5), dtype=np.uint8)
    image[3, 0, 0] = 17  # not 0/255-like: NIR
    rgb, valid = to_rgb8(image)
    assert valid.all()
    np.testing.assert_array_equal(rgb, image[:3].transpose(1, 2, 0))


def test_four_band_explicit_alpha_overrides_heuristic():
    image = np.full((4, 3, 3), 90, dtype=np.uint8)
    image[3] = 255
    image[3, 0, 0] = 0
    _, valid_auto = to_rgb8(image)
    _, valid_no_alpha = to_rgb8(image, alpha=False)
    assert not valid_auto[0, 0] and valid_no_alpha.all()


def test_four_band_uint16_with_nodata():
    image = (_ramp(np.uint16, bands=4, scale=10)).astype(np.uint16)
    image[:, :2, :2] = 0
    rgb, valid = to_rgb8(image, nodata=0)
    assert not valid[:2, :2].any() and valid.sum() == valid.size - 4
    assert (rgb[:2, :2] == 0).all() and rgb[valid].max() == 255


def test_two_bands_grey_plus_alpha_or_ignored():
    grey = np.full((4, 4), 60, dtype=np.uint8)
    alpha = np.full((4, 4), 255, dtype=np.uint8)
    alpha[0] = 0
    rgb, valid = to_rgb8(np.stack([grey, alpha]))
    assert not valid[0].any() and valid[1:].all()
    assert (rgb[1:] == 60).all()
    other = np.stack([grey, np.arange(16, dtype=np.uint8).reshape(4, 4)])
    _, valid_other = to_rgb8(other)
    assert valid_other.all()


def test_twelve_band_default_is_4_3_2_and_bands_override():
    height, width = 4, 5
    image = np.stack([np.full((height, width), 100 * (b + 1), dtype=np.uint16) for b in range(12)])
    image[:, 0, 0] = 0  # give each band a range so the stretch is defined
    limits_default = stretch_limits(image, percentiles=(0, 100))
    assert [hi for _, hi in limits_default] == [400, 300, 200]
    limits_custom = stretch_limits(image, bands=[8, 4, 3], percentiles=(0, 100))
    assert [hi for _, hi in limits_custom] == [800, 400, 300]
    rgb, valid = to_rgb8(image, bands=[11])
    assert valid.all() and (rgb[..., 0] == rgb[..., 2]).all()


def test_masked_array_masks_pixels():
    data = np.ma.masked_array(np.full((3, 3, 3), 50, dtype=np.uint8), mask=False)
    data.mask[:, 1, 1] = True
    _, valid = to_rgb8(data)
    assert not valid[1, 1] and valid.sum() == 8


def test_shared_limits_give_the_same_mapping_to_every_tile():
    image = _ramp(np.uint16, scale=30)[0]
    limits = stretch_limits(image)
    left, _ = to_rgb8(image[:, :4], limits=limits)
    whole, _ = to_rgb8(image, limits=limits)
    np.testing.assert_array_equal(left, whole[:, :4])


def test_channels_last_rgb_accepted():
    image = np.random.default_rng(2).integers(0, 256, size=(3, 6, 5), dtype=np.uint8)
    first, _ = to_rgb8(image)
    last, _ = to_rgb8(image.transpose(1, 2, 0))
    np.testing.assert_array_equal(first, last)
    again, valid = to_rgb8(last)  # an already converted image passes through unchanged
    np.testing.assert_array_equal(again, last)
    assert valid.all()


def test_looks_like_alpha():
    assert looks_like_alpha(np.array([[0, 255]], dtype=np.uint8))
    assert not looks_like_alpha(np.array([[0, 254]], dtype=np.uint8))
    assert not looks_like_alpha(np.array([[0, 255]], dtype=np.uint16))


@pytest.mark.parametrize(
    ("array", "kwargs", "message"),
    [
        (np.zeros((2, 2, 2, 2)), {}, "expected a"),
        (np.zeros((0, 4, 4)), {}, "empty"),
        (np.zeros((3, 4, 4), dtype=np.uint8), {"bands": [1, 2]}, r"1 \(grey\) or 3"),
        (np.zeros((3, 4, 4), dtype=np.uint8), {"bands": [1, 2, 4]}, "out of range"),
        (np.zeros((3, 4, 4), dtype=np.uint8), {"nodata": 0}, "no valid pixels"),
        (np.full((4, 4), np.nan, dtype=np.float32), {}, "no valid pixels"),
        (np.array([["a"]]), {}, "unsupported pixel type"),
        (np.ones((3, 4, 4), dtype=np.uint16), {"percentiles": (90, 10)}, "percentiles"),
    ],
)
def test_bad_input_raises_imagery_error(array, kwargs, message):
    with pytest.raises(ImageryError, match=message) as info:
        to_rgb8(array, **kwargs)
    assert isinstance(info.value, ValueError)
