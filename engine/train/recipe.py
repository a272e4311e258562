"""The training loop: one plain loop over the stages a TOML recipe lists (see ``config.py``).

Each stage names the parts it trains and its losses: ``text`` (the LLM's cross-entropy only, e.g. aligning the
projector or teaching grounded answers) or ``joint`` (CE 1.0 + BCE 2.0 + Dice 0.5 plus the mask predictor's class CE,
as weighted in the model config). The papers' two stages are the simplest recipe; the shipped ones have more (the
demo seven, lite three). Each stage has its own AdamW optimizer and cosine schedule with warmup; steps accumulate
gradients over micro-batches, clip them, and run under bf16 autocast on CUDA. Checkpoints resume exactly, each rank
with its own random generators (dropout, sampling and augmentation differ between ranks).

    python -m engine train --recipe demo            # or: torchrun --nproc_per_node 2 -m engine train ...
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from transformers import get_cosine_schedule_with_warmup

from ..model import GeoGroundModel, build_tokenizer, preset_config
from ..model.geoground.backbone import load_pretrained_lite0
from .checkpoint import (
    Progress,
    latest_checkpoint,
    load_model_weights,
    load_training_state,
    read_progress,
    save_checkpoint,
    saved_world_size,
)
from .config import Recipe, RecipeError, StageConfig, stage_data
from .data import Prefetcher, SampleStream, collate
from .distributed import (
    DistContext,
    barrier,
    close_distributed,
    init_distributed,
    mean_across_ranks,
    unwrap_model,
    wrap_model,
)
from .lora import apply_lora, merge_lora, plain_name

LOG = logging.getLogger(__name__)
LOSS_KEYS = ("loss", "ce_loss", "bce_loss", "dice_loss", "class_loss")


def build_model(recipe: Recipe):
    """``(model, tokenizer)``: the preset with the recipe's overrides, seeded (or the saved ``base_model``), with
    LoRA when enabled."""
    if recipe.base_model:
        return _base_model(recipe)
    config = preset_config(recipe.preset, **recipe.model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        model = GeoGroundModel(config)
        load_pretrained_parts(model, recipe)
        if recipe.optim.gradient_checkpointing:
            model.llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        if recipe.lora.enabled:
            model = apply_lora(model, recipe.lora)
    return model, build_tokenizer(config)


def _base_model(recipe: Recipe):
    """The saved model a fine-tuning recipe starts from, in float32 on the CPU (the trainer moves it)."""
    from ..hub.registry import load_family

    family, _ = load_family(recipe.base_model, None, dtype=torch.float32, device=torch.device("cpu"))
    if not isinstance(family.model, GeoGroundModel):
        raise RecipeError(f"{recipe.base_model} is a {family.model_type} model; only GeoGround models fine-tune here")
    model = family.model
    if recipe.optim.gradient_checkpointing:
        model.llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if recipe.lora.enabled:
        model = apply_lora(model, recipe.lora)
    return model, family.tokenizer


def load_pretrained_parts(model: GeoGroundModel, recipe: Recipe) -> None:
    """The recipe's pretrained starting points: the backbone's ImageNet weights, parts of a trained model."""
    if recipe.backbone_weights:
        if model.backbone is None:
            raise RecipeError("backbone_weights is set but the preset has no backbone")
        load_pretrained_lite0(model.backbone, None if recipe.backbone_weights == "package" else recipe.backbone_weights)
    if recipe.init_from:
        folder, parts = Path(recipe.init_from.get("path", "")), list(recipe.init_from.get("parts", []))
        files = sorted(folder.glob("*.safetensors"))
        if not files or not parts:
            raise RecipeError(f"init_from needs a model folder with safetensors and parts; got {recipe.init_from}")
        source = {}
        for file in files:
            source.update(load_file(file))
        own = model.state_dict()
        wanted = {k for k in own if k.split(".")[0] in parts}
        missing = sorted(k for k in wanted if k not in source or source[k].shape != own[k].shape)
        if missing:
            raise RecipeError(f"{folder} lacks or differs in {len(missing)} weights of {parts}, e.g. {missing[0]}")
        model.load_state_dict({k: source[k].to(own[k].dtype) for k in wanted}, strict=False)


def seed_everything(seed: int) -> None:
    """Seed the global generators (python, numpy, torch) that dropout and any sampling in a step draw from."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def set_trainable(model: torch.nn.Module, parts: list[str]) -> int:
    """Freeze everything but the listed name prefixes (``"lora"``: the adapters); returns the trainable count."""
    prefixes = [p for p in parts if p != "lora"]
    count = 0
    for name, param in model.named_parameters():
        is_lora = "lora_" in name
        plain = plain_name(name)
        wanted = ("lora" in parts) if is_lora else any(plain == p or plain.startswith(p + ".") for p in prefixes)
        param.requires_grad_(wanted)
        count += param.numel() if wanted else 0
    if count == 0:
        raise ValueError(f"no parameter matches the trainable parts {parts}")
    return count


def _stage_batch(batch: dict, stage: StageConfig) -> dict:
    """Stage 1 passes no masks or classes, so only the text loss is computed."""
    if stage.losses == "text":
        return {**batch, "masks": None, "class_ids": None}
    return batch


class Trainer:
    """Holds the run's state; :meth:`run` trains all remaining steps and returns the per-step history."""

    def __init__(self, recipe: Recipe, context: DistContext | None = None, log: Callable[[str], None] | None = None):
        self.recipe = recipe
        self.context = context or DistContext()
        self.output = Path(recipe.output_dir)
        self.log = log or (lambda text: LOG.info(text))
        seed_everything(recipe.seed + self.context.rank)
        self.model, self.tokenizer = build_model(recipe)
        self.model.to(self.context.device)
        self.class_names = unwrap_model(self.model).config.class_names
        self.stream = SampleStream(recipe.data)
        self._streams: dict[int, SampleStream] = {}
        self.prefetcher = Prefetcher(recipe.data_workers) if recipe.data_workers > 0 else None
        self.progress = Progress()

    # --- one optimizer step ---------------------------------------------------------------------------------
    def _micro_batch(self, micro: int) -> dict:
        recipe, ctx = self.recipe, self.context
        size, accum = recipe.optim.batch_size, recipe.optim.grad_accum

        def start_of(later: int) -> int:  # this rank's first sample ``later`` micro-batches after this one
            step, index = divmod(micro + later, accum)
            return self.progress.data_position + (step * accum + index) * ctx.world_size * size + ctx.rank * size

        stream = self._stage_stream()
        if self.prefetcher is None:
            samples = stream.take(start_of(0), size)
        else:  # this rank's next micro-batches in the stage, drawn ahead
            stage = recipe.stages[min(self.progress.stage, len(recipe.stages) - 1)]
            left = max((stage.steps - self.progress.stage_step) * accum - micro, 1)
            starts = [start_of(later) for later in range(min(left, self.prefetcher.ahead + 1))]
            samples = self.prefetcher.take(stream.config, starts, size)
        return collate(samples, self.tokenizer, self.class_names)

    def _stage_stream(self) -> SampleStream:
        """The recipe's stream, or the stage's own when it changes the data (made once, when first needed)."""
        index = min(self.progress.stage, len(self.recipe.stages) - 1)
        stage = self.recipe.stages[index]
        if not stage.data:
            return self.stream
        if index not in self._streams:
            self._streams[index] = SampleStream(stage_data(self.recipe, stage))
        return self._streams[index]

    def step(self, model, optimizer, scheduler, stage: StageConfig) -> dict[str, float]:
        recipe, ctx = self.recipe, self.context
        accum = recipe.optim.grad_accum
        use_bf16 = recipe.optim.bf16 and ctx.device.type == "cuda"
        totals = dict.fromkeys(LOSS_KEYS, 0.0)
        model.train()
        for micro in range(accum):
            batch = _stage_batch(self._micro_batch(micro), stage)
            sync = micro == accum - 1 or not hasattr(model, "no_sync")
            context = model.no_sync() if not sync else _nullcontext()
            with context, torch.autocast(ctx.device.type, dtype=torch.bfloat16, enabled=use_bf16):
                out = model(**batch)
                losses = dict(zip(LOSS_KEYS, out)) if isinstance(out, tuple) else {k: out[k] for k in LOSS_KEYS}
                loss = losses["loss"]
                if not loss.requires_grad:  # a mask-only stage and a batch without [SEG]: a zero step, on every rank
                    loss = loss + sum(p.view(-1)[0] * 0.0 for p in model.parameters() if p.requires_grad)
                (loss / accum).backward()
            for key in LOSS_KEYS:
                totals[key] += float(losses[key].detach()) / accum
        params = [p for p in model.parameters() if p.requires_grad]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, recipe.optim.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        self.progress.data_position += recipe.optim.batch_size * accum * ctx.world_size
        logs = mean_across_ranks(totals, ctx)
        grad_norm = grad_norm.full_tensor() if hasattr(grad_norm, "full_tensor") else grad_norm
        logs.update(grad_norm=float(grad_norm), lr=float(scheduler.get_last_lr()[0]))
        return logs

    # --- stages ---------------------------------------------------------------------------------------------
    def _prepare_stage(self, stage: StageConfig):
        recipe = self.recipe
        raw = unwrap_model(self.model)
        if recipe.strategy == "fsdp" and self.context.distributed and self.progress.global_step > 0:
            # Sharded parameters keep the trainable set they were wrapped with: rebuild and reload instead.
            from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

            state = get_model_state_dict(raw, options=StateDictOptions(full_state_dict=True))
            raw, _ = build_model(recipe)
            raw.to(self.context.device).load_state_dict(state)
        count = set_trainable(raw, stage.trainable)
        model = wrap_model(raw, recipe.strategy, self.context)
        self.model = model
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            params, lr=stage.lr, betas=recipe.optim.betas, weight_decay=recipe.optim.weight_decay
        )
        scheduler = get_cosine_schedule_with_warmup(optimizer, stage.warmup_steps, stage.steps)
        self.log(f"stage {stage.name}: {count:,} trainable parameters, {stage.steps} steps, losses={stage.losses}")
        if self.context.distributed:
            sharded = any(hasattr(p, "full_tensor") for p in model.parameters())
            self.log(f"{recipe.strategy} on {self.context.world_size} ranks, parameters sharded: {sharded}")
        return model, optimizer, scheduler

    def checkpoint(self, optimizer, scheduler) -> Path:
        folder = self.output / f"checkpoint-{self.progress.global_step}"
        ctx = self.context
        model = unwrap_model(self.model)
        save_checkpoint(folder, model, optimizer, scheduler, self.progress, rank=ctx.rank, world_size=ctx.world_size)
        barrier(self.context)
        return folder

    def resume(self, folder: Path | None = None) -> Path | None:
        """Continue from ``folder`` (or the newest checkpoint in the output folder); None when there is none."""
        folder = folder or latest_checkpoint(self.output)
        if folder is None:
            return None
        self.progress = read_progress(folder)
        load_model_weights(folder, self.model)
        self._resume_from = Path(folder)
        self.log(f"resuming from {folder} at step {self.progress.global_step}")
        saved = saved_world_size(folder)
        if saved is None and self.context.distributed and self.context.is_main:
            self.log("an older checkpoint holds rank 0's random generators only: the other ranks keep fresh seeds")
        elif saved is not None and saved != self.context.world_size and self.context.is_main:
            self.log(
                f"the checkpoint was written by {saved} rank(s), this run has {self.context.world_size}: steps take "
                f"other batches than an uninterrupted run; ranks below {saved} continue their random generators, "
                "the others keep their fresh seeds"
            )
        return Path(folder)

    def run(
        self, max_steps: int | None = None, should_stop: Callable[[], bool] | None = None
    ) -> list[dict[str, float]]:
        """Train until the recipe's end (or ``max_steps`` more optimizer steps, or until ``should_stop()`` says so
        before a step); returns the whole history."""
        recipe, progress = self.recipe, self.progress
        resume_from = getattr(self, "_resume_from", None)
        budget = max_steps if max_steps is not None else recipe.total_steps
        log_path = self.output / "log.jsonl"
        if self.context.is_main:
            self.output.mkdir(parents=True, exist_ok=True)
        while progress.stage < len(recipe.stages) and budget > 0:
            stage = recipe.stages[progress.stage]
            model, optimizer, scheduler = self._prepare_stage(stage)
            self.optimizer, self.scheduler = optimizer, scheduler
            if resume_from is not None:
                mid_stage = progress.stage_step > 0
                raw, rank = unwrap_model(model), self.context.rank
                load_training_state(resume_from, raw, optimizer, scheduler, optimizer_too=mid_stage, rank=rank)
                resume_from = self._resume_from = None
            started = time.perf_counter()
            while progress.stage_step < stage.steps and budget > 0:
                if should_stop is not None and should_stop():
                    return progress.history
                logs = self.step(model, optimizer, scheduler, stage)
                progress.stage_step += 1
                progress.global_step += 1
                budget -= 1
                entry = {"step": progress.global_step, "stage": stage.name, **logs}
                progress.history.append(entry)
                if self.context.is_main:
                    with log_path.open("a", encoding="utf-8") as handle:
                        handle.write(json.dumps(entry) + "\n")
                if progress.global_step % recipe.log_every == 0:
                    rate = progress.stage_step / (time.perf_counter() - started)
                    self.log(
                        f"step {progress.global_step}/{recipe.total_steps} [{stage.name}] loss {logs['loss']:.4f} "
                        f"ce {logs['ce_loss']:.4f} bce {logs['bce_loss']:.4f} dice {logs['dice_loss']:.4f} "
                        f"lr {logs['lr']:.2e} ({rate:.2f} steps/s)"
                    )
                stage_done = progress.stage_step == stage.steps
                if stage_done:
                    progress.stage += 1
                    progress.stage_step = 0
                if recipe.save_every and progress.global_step % recipe.save_every == 0:
                    self.checkpoint(optimizer, scheduler)
                if stage_done:
                    break
        return progress.history

    def close(self) -> None:
        """Stop the data workers, if any."""
        if self.prefetcher is not None:
            self.prefetcher.close()
            self.prefetcher = None

    def finished(self) -> bool:
        return self.progress.stage >= len(self.recipe.stages)

    def export(self, folder: str | Path | None = None) -> Path | None:
        """Save the trained model (LoRA merged) as a model folder ``Engine.load`` reads; rank 0 writes."""
        folder = Path(folder or self.recipe.export_dir or self.output / "model")
        from torch.distributed.checkpoint.state_dict import StateDictOptions, get_model_state_dict

        options = StateDictOptions(full_state_dict=True, cpu_offload=True)
        state = get_model_state_dict(unwrap_model(self.model), options=options)
        if not self.context.is_main:
            return None
        model, _ = build_model(self.recipe)
        model.load_state_dict(state)
        model = merge_lora(model)
        dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}
        if self.recipe.export_dtype not in dtype:
            raise ValueError(f"export_dtype must be one of {', '.join(dtype)}")
        model = model.to(dtype[self.recipe.export_dtype])
        model.config.dtype = self.recipe.export_dtype
        folder.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)
        return folder


class _nullcontext:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def train(recipe: Recipe, resume: bool = False, export: bool = True, log=None) -> list[dict[str, float]]:
    """Run a whole recipe in this process (or this ``torchrun`` rank); returns the per-step history."""
    context = init_distributed()
    trainer = None
    try:
        trainer = Trainer(recipe, context, log)
        if resume:
            trainer.resume()
        history = trainer.run()
        if trainer.finished():
            save_every = recipe.save_every
            if not save_every or trainer.progress.global_step % save_every:
                trainer.checkpoint(trainer.optimizer, trainer.scheduler)
            if export:
                trainer.export()
        # Every rank leaves together: a rank that tore down its process group while another was still writing the
        # export made gloo abort at exit now and then.
        barrier(context)
        return history
    finally:
        if trainer is not None:
            trainer.close()
        close_distributed()
