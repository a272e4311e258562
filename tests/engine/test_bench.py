"""The answer benchmark: its scripted answer, its byte count per decoded token, and a whole run at tiny size."""

from __future__ import annotations

import math

import torch

from engine import bench
from engine.model import GeoGroundModel, preset_config


def test_scripted_answer_places_the_seg_tokens_evenly_and_never_ends():
    script = bench.ScriptedAnswer(tokens=10, masks=4, seg=7, filler=3)
    chosen = []
    for step in range(10):
        scores = script(torch.zeros(1, step, dtype=torch.long), torch.randn(1, 20))
        chosen.append(int(scores.argmax()))
    assert chosen == [3, 3, 7, 3, 7, 3, 7, 3, 7, 3]


def test_decode_bytes_count_the_weights_read_per_token_and_the_cache():
    config = preset_config("tiny")
    model = GeoGroundModel(config)
    llm = config.llm
    hidden, layers, heads, kv_heads = (
        llm[k] for k in ("hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads")
    )
    head_dim = hidden // heads
    per_layer = (
        hidden * hidden * 2 + 2 * hidden * kv_heads * head_dim + 3 * hidden * llm["intermediate_size"] + 2 * hidden
    )
    weights = layers * per_layer + hidden + llm["vocab_size"] * hidden  # final norm, one (tied) vocabulary matrix
    kv = 2 * layers * kv_heads * head_dim * 100
    assert bench.decode_bytes_per_token(model, context=100) == 4 * (weights + kv)  # float32


def test_answer_bench_runs_every_measurement_at_tiny_size():
    results = bench.bench_answer("tiny", 96, tokens=12, masks=3, repeats=1, dtype="float32", no_cache_tokens=3)
    assert results["answer_masks"] == 3 and results["answer_tokens"] == 12
    for key in ("time_to_first_token_s", "answer_s"):  # whole runs: always take time
        assert results[key] > 0, key
    for key in ("decode_s_per_token", "decode_no_cache_eager_s_per_token"):  # differences of two runs: noise can
        assert math.isfinite(results[key]), key  # make a tiny model's per-token cost come out at or below zero
    assert results["answer_reference_decoding_s"] > 0
    assert "| speed-up of the whole answer |" in bench.answer_table(results)


def test_stage_bench_times_a_preset_with_a_shared_backbone():
    rows = dict(bench.bench_model("lite", 128, tokens=2, repeats=1))
    assert rows and all(value for value in rows.values())
