"""Compare a converted GeoPix checkpoint with the reference GeoPix code, on a tiny random model, on the CPU.

Produces the GeoPix figures of docs/FIDELITY.md: the "Results" table (runs 1 and 2), the memory check and the key
report of "Procedure", and the table of "Chat: the released inference, end to end". Never run in CI: it needs a
checkout of the public GeoPix repository (``Norman-Ou/GeoPix``, commit ``4ae9a35``) and a separate Python
environment in which that code runs (torch, transformers 4.50.3, numpy 1.26, pillow, einops, opencv-python).
Nothing is downloaded and the reference code is not edited.

    python tools/fidelity_geopix.py --reference /path/to/GeoPix --reference-python /path/to/venv/bin/python

Two phases, one per environment: ``reference`` (run with the reference's Python, started by the command above)
builds ``GeoPixForConditinalGeneration`` from the published top config with tiny random parts, saves it in the
published layout and records its outputs; ``compare`` (this environment) converts the folder with
``convert_geopix``, loads it and runs our modules on the same inputs. ``--work DIR`` keeps the files.

Model runs: the LLaVA forward on a 1,046-id prompt (two [SEG0]..[SEG5] runs), the states that predict each [SEG]
token, then the reference's steps after generation (necks, prompt encoder, two decoder passes per level around the
memory block with class 1, the scalar-weighted sum at 128 x 128); run 2 scales the hypernetwork outputs x20. Chat
run: the released ``GeoPixValidProcessor`` + ``InferenceInputData`` + ``inference()`` on a 500 x 500 PNG, with the
generated tokens forced to ``Sure, it is [SEG0..5] and [SEG0..5].`` (a ``LogitsProcessor`` passed to
``vlm.generate``), the memory block called with class 1 and the tensors ``inference()`` puts on "cuda" made on the
CPU; ours answers through ``engine.model.geopix.chat`` with the same forced tokens.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase

IMAGE_ID, SEG_IDS, VOCAB = 32000, list(range(32002, 32008)), 32010
CLIP_WIDTH, CLIP_LAYERS, LLM_WIDTH = 32, 12, 64  # 12 CLIP layers so that hidden state -11 exists
SIZE, PATCHES = 448, 1024
RUNS = {"1": 1.0, "2": 20.0}  # hypernetwork output scale
QUESTION = "[segment] segment the storage tanks"
ANSWER = ("Sure, it is ", SEG_IDS, " and ", SEG_IDS, ".")
PNG_SIZE = 500


# --- reference phase (the reference's environment: no engine imports) ----------------------------------------------
def build_reference(reference: Path, seed: int) -> torch.nn.Module:
    """``GeoPixForConditinalGeneration`` with tiny random parts (the class builds them only in from_pretrained)."""
    sys.path.insert(0, str(reference))
    import torch
    from model.configuration_GeoPix import GeoPixConfig
    from model.custom_llava import CustomLlavaForConditionalGeneration
    from model.mask_predictor import MaskPredictorConfig, MaskPredictorModel
    from model.memory import ClasswiseLearnableMemoryConfig, ClasswiseLearnableMemoryModel
    from model.modelling_GeoPix import GeoPixForConditinalGeneration, ImageNeck
    from model.prompt_encoder import PromptEncoderConfig, PromptEncoderModel
    from torch import nn
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig

    torch.manual_seed(seed)
    vision = CLIPVisionConfig(
        image_size=SIZE,
        patch_size=14,
        hidden_size=CLIP_WIDTH,
        intermediate_size=2 * CLIP_WIDTH,
        num_hidden_layers=CLIP_LAYERS,
        num_attention_heads=2,
    )
    text = LlamaConfig(
        vocab_size=VOCAB,
        hidden_size=LLM_WIDTH,
        intermediate_size=2 * LLM_WIDTH,
        num_hidden_layers=2,
        num_attention_heads=4,
    )
    llava = LlavaConfig(vision_config=vision, text_config=text, image_token_index=IMAGE_ID)
    network = GeoPixForConditinalGeneration(GeoPixConfig())
    network.vlm = CustomLlavaForConditionalGeneration(llava)
    network.mask_predictor = MaskPredictorModel(MaskPredictorConfig())
    network.prompt_encoder = PromptEncoderModel(PromptEncoderConfig())
    network.classwise_learnable_module = ClasswiseLearnableMemoryModel(ClasswiseLearnableMemoryConfig(num_class=2))
    network.image_neck_rough = ImageNeck(in_channels=CLIP_WIDTH)
    network.image_neck_detail = ImageNeck(in_channels=CLIP_WIDTH)
    network.text_hidden_fcs = nn.Sequential(
        nn.Linear(LLM_WIDTH, LLM_WIDTH), nn.ReLU(inplace=True), nn.Linear(LLM_WIDTH, 256)
    )
    from fidelity_common import randomize

    generator = randomize(network, seed)
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
    for parameter, value in zip(network.multiseg_scalar, (0.2, 0.5, 0.3)):
        parameter.data = torch.tensor(value)
    for parameter, value in zip(network.multiscale_scalar, (0.7, 0.4)):
        parameter.data = torch.tensor(value)
    return network.float().eval()


def scale_hypernetworks(network: torch.nn.Module, factor: float) -> None:
    import torch

    with torch.no_grad():
        for mlp in network.mask_predictor.mask_decoder.output_hypernetworks_mlps:
            mlp.layers[-1].weight.mul_(factor)
            mlp.layers[-1].bias.mul_(factor)


def reference_after_generation(
    network: torch.nn.Module, states: torch.Tensor, pixel_values: torch.Tensor, class_idx: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The reference's steps after generation for ``states`` ``(runs, 6, hidden)``: neck features, 128 x 128 logits."""
    import torch
    import torch.nn.functional as F

    config = network.config
    projected = network.text_hidden_fcs(states).view(
        len(states), config.image_feature_scale_num, config.seg_token_num, -1
    )
    fused = projected[:, :, 0] * 0
    for i in range(config.seg_token_num):
        fused = fused + network.multiseg_scalar[i] * projected[:, :, i]
    residual = network.get_residual_image_feature(pixel_values=pixel_values)
    side = int(residual.shape[2] ** 0.5)
    maps = residual.flatten(1, 2).permute(0, 2, 1).view(config.image_feature_scale_num, -1, side, side)
    necks = torch.stack([network.image_neck_rough(maps[0][None])[0], network.image_neck_detail(maps[1][None])[0]])
    sparse, dense, image_pe = network.prompt_encoder(fused)
    sparse = sparse.to(fused.dtype)
    total = torch.zeros(len(states), 1, 128, 128)
    previous = None
    for level in range(config.image_feature_scale_num):
        image = necks[level][None]
        options = {"image_pe": image_pe, "sparse_embeddings": sparse, "dense_embeddings": dense, "level": level}
        first, _ = network.mask_predictor(img_embeds=image, previous_masks=previous, **options)
        for_memory = F.interpolate(first.float(), size=(128, 128), mode="bilinear", align_corners=False)
        memory = network.classwise_learnable_module(
            img_embeds=image, obj_masks=for_memory, class_idx=class_idx, img_feature_level=level
        )
        previous, _ = network.mask_predictor(img_embeds=memory, previous_masks=previous, **options)
        total = total + network.multiscale_scalar[level] * F.interpolate(
            previous.float(), (128, 128), mode="bilinear", align_corners=False
        )
    return necks, total[:, 0]


def memory_change(network: torch.nn.Module, seed: int) -> float:
    """How much the memory block's output moves when the bank, the class and the object masks all change."""
    import torch

    memory = network.classwise_learnable_module
    generator = torch.Generator().manual_seed(seed + 1)
    image = torch.randn(1, 256, 32, 32, generator=generator)
    masks = torch.randn(1, 1, 128, 128, generator=generator)
    before = memory(img_embeds=image, obj_masks=masks, class_idx=[1], img_feature_level=0)
    saved = memory.learnable_memory.memory.detach().clone()
    memory.learnable_memory.memory.data.add_(torch.randn(saved.shape, generator=generator))
    after = memory(img_embeds=image, obj_masks=torch.zeros_like(masks), class_idx=[0], img_feature_level=0)
    memory.learnable_memory.memory.data.copy_(saved)
    return float((after - before).abs().max())


def save_published(network: torch.nn.Module, folder: Path) -> None:
    """The published layout: vlm/ (with vision/ and text/ configs), seg/, pec/, clm/, five loose .pth files and the
    top config."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    network.vlm.save_pretrained(folder / "vlm")
    network.vlm.config.vision_config.save_pretrained(folder / "vlm" / "vision")
    network.vlm.config.text_config.save_pretrained(folder / "vlm" / "text")
    network.mask_predictor.save_pretrained(folder / "seg")
    network.prompt_encoder.save_pretrained(folder / "pec")
    network.classwise_learnable_module.save_pretrained(folder / "clm")
    torch.save(network.image_neck_rough.state_dict(), folder / "image_neck_rough.pth")
    torch.save(network.image_neck_detail.state_dict(), folder / "image_neck_detail.pth")
    torch.save(network.text_hidden_fcs.state_dict(), folder / "text_hidden_fcs.pth")
    torch.save([p.data for p in network.multiseg_scalar], folder / "multiseg_scalar.pth")
    torch.save([p.data for p in network.multiscale_scalar], folder / "multiscale_scalar.pth")
    network.config.save_pretrained(folder)


def model_phase(network: torch.nn.Module, out: Path, seed: int) -> None:
    import torch

    generator = torch.Generator().manual_seed(seed)
    pixel_values = torch.randn(1, 3, SIZE, SIZE, generator=generator)
    text = [int(i) for i in torch.randint(3, 31000, (8,), generator=generator)]
    ids = torch.tensor([[1, *text[:4], *[IMAGE_ID] * PATCHES, *text[4:], *SEG_IDS, *SEG_IDS, 2]])
    with torch.no_grad():
        output = network.vlm(input_ids=ids, pixel_values=pixel_values, output_hidden_states=True)
        last = output.hidden_states[-1][0]
        positions = [p for p, token in enumerate(ids[0].tolist()) if token in SEG_IDS]
        states = last[[p - 1 for p in positions]].view(2, len(SEG_IDS), -1)  # the states that predict [SEG]
        necks, logits = reference_after_generation(network, states, pixel_values, class_idx=[1])
        change = memory_change(network, seed)
    results = {"ids": ids[0], "pixel_values": pixel_values, "logits": output.logits[0], "states": states}
    results |= {"necks": necks, "masks": logits, "memory_change": torch.tensor(change)}
    torch.save(results, out / "reference_outputs.pt")


class _Forced:
    """Forces the tokens of ``plan`` after ``prompt`` tokens (a ``LogitsProcessor``), then end of text."""

    def __init__(self, plan: list[int], prompt: int) -> None:
        self.plan, self.prompt = plan, prompt

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        step = input_ids.shape[1] - self.prompt
        forced = scores.new_full(scores.shape, float("-inf"))
        forced[:, self.plan[step] if step < len(self.plan) else 2] = 0.0
        return forced


def write_tokenizer(folder: Path) -> None:
    """A character-level tokenizer with LLaVA's special ids: ``<image>`` 32000, ``[SEG0]``..``[SEG5]`` 32002-32007."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, processors

    characters = [chr(c) for c in range(32, 127)] + ["\n"]
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2} | {c: 3 + i for i, c in enumerate(characters)}
    vocab |= {f"<unused{i}>": i for i in range(len(vocab), IMAGE_ID)}
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))  # noqa: S106 - not a secret
    specials = ["<unk>", "<s>", "</s>", "<image>", "<pad>", *[f"[SEG{k}]" for k in range(6)]]
    specials += [f"<extra{i}>" for i in range(VOCAB - IMAGE_ID - 8)]
    tokenizer.add_special_tokens([AddedToken(t, normalized=False) for t in specials])
    tokenizer.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    tokenizer.decoder = decoders.Fuse()  # characters back to text without separators
    tokenizer.save(str(folder / "tokenizer.json"))
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<s>", "eos_token": "</s>"}
    config |= {"unk_token": "<unk>", "pad_token": "<pad>", "model_max_length": 4096}
    (folder / "tokenizer_config.json").write_text(json.dumps(config), encoding="utf-8")
    processor = {"patch_size": 14, "vision_feature_select_strategy": "default", "image_token": "<image>"}
    (folder / "processor_config.json").write_text(json.dumps(processor), encoding="utf-8")
    mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    image = {"image_processor_type": "CLIPImageProcessor", "do_resize": True, "size": {"shortest_edge": SIZE}}
    image |= {"do_center_crop": True, "crop_size": {"height": SIZE, "width": SIZE}, "do_rescale": True}
    image |= {"rescale_factor": 1 / 255, "do_normalize": True, "image_mean": mean, "image_std": std}
    image |= {"do_convert_rgb": True, "resample": 3}
    (folder / "preprocessor_config.json").write_text(json.dumps(image), encoding="utf-8")


def write_png(path: Path) -> None:
    """Two bright discs on colour ramps, written with OpenCV as the released inference reads it."""
    import cv2
    import numpy as np

    ramp = np.linspace(0, 255, PNG_SIZE)
    image = np.stack(
        [np.tile(ramp, (PNG_SIZE, 1)), np.tile(ramp[:, None], (1, PNG_SIZE)), 255 - np.tile(ramp, (PNG_SIZE, 1))], -1
    )
    rows, cols = np.mgrid[:PNG_SIZE, :PNG_SIZE]
    for y, x, r in ((150, 170, 60), (330, 340, 80)):
        image[(rows - y) ** 2 + (cols - x) ** 2 <= r * r] = 240
    cv2.imwrite(str(path), image.astype(np.uint8))


def answer_plan(tokenizer: PreTrainedTokenizerBase) -> list[int]:
    """The ids of ``ANSWER``: its text through ``tokenizer``, its [SEG] runs as they are."""
    plan = []
    for part in ANSWER:
        plan += part if isinstance(part, list) else tokenizer(part, add_special_tokens=False)["input_ids"]
    return plan


def chat_phase(network: torch.nn.Module, folder: Path, out: Path) -> None:
    """The released inference on a PNG with forced tokens; everything the comparison needs goes to chat_outputs.pt."""
    import functools

    import cv2
    import numpy as np
    import torch
    from dataset.inference_input import InferenceInputData
    from model.processing_GeoPix import GeoPixValidProcessor
    from transformers import LogitsProcessorList

    png = out / "scene.png"
    write_png(png)
    processor = GeoPixValidProcessor.from_pretrained(str(folder))
    batch = processor([InferenceInputData(question=QUESTION, image_path=str(png))[0]])
    prompt = batch["input_ids"].shape[1]
    forced = LogitsProcessorList([_Forced(answer_plan(processor.tokenizer), prompt)])
    network.vlm.generate = functools.partial(network.vlm.generate, logits_processor=forced)
    memory = network.classwise_learnable_module
    memory_forward = memory.forward
    memory.forward = lambda *args, class_idx, **kwargs: memory_forward(*args, class_idx=[1], **kwargs)
    make_tensor = torch.tensor

    def on_cpu(
        *args: object, device: str | None = None, **kwargs: object
    ) -> torch.Tensor:  # inference() makes some tensors on "cuda"
        return make_tensor(*args, device=None if device == "cuda" else device, **kwargs)

    torch.tensor = on_cpu
    try:
        with torch.no_grad():
            generated, masks = network.inference(**batch, max_new_tokens=256)
    finally:
        torch.tensor = make_tensor
    text = processor.tokenizer.batch_decode(generated, skip_special_tokens=False)[0].split("</s>")[0]
    height, width = cv2.imread(str(png)).shape[:2]
    binary = [cv2.resize(m.float().numpy(), (width, height), interpolation=cv2.INTER_LINEAR) > 0 for m in masks]
    results = {"ids": batch["input_ids"][0], "pixel_values": batch["pixel_values"], "generated": generated[0]}
    results |= {"masks": masks.float(), "binary": torch.from_numpy(np.stack(binary))}
    torch.save(results, out / "chat_outputs.pt")
    (out / "chat_text.json").write_text(json.dumps({"text": text}), encoding="utf-8")


def reference_phase(args: argparse.Namespace) -> int:
    out = Path(args.out)
    network = build_reference(Path(args.reference), args.seed)
    scale_hypernetworks(network, args.hyper_scale)
    folder = out / "GeoPix-tiny"
    save_published(network, folder)
    model_phase(network, out, args.seed)
    if args.chat:
        write_tokenizer(folder)
        chat_phase(network, folder, out)
    return 0


# --- compare phase (this environment) -------------------------------------------------------------------------------
def max_diff(a: torch.Tensor, b: torch.Tensor) -> str:
    return f"{float((a.float() - b.float()).abs().max()):.1e}"


def compare_model(run_dir: Path) -> tuple[dict[str, str], Path]:
    import torch

    from engine.convert import convert_geopix
    from engine.model.geopix.model import GeoPixModel

    reference = torch.load(run_dir / "reference_outputs.pt", weights_only=True)
    converted = run_dir / "converted"
    report = convert_geopix(run_dir / "GeoPix-tiny", converted, dtype=torch.float32)
    print(f"{run_dir.name}: key report\n{report.summary()}")
    model = GeoPixModel.from_pretrained(str(converted)).float().eval()
    ids, pixel_values = reference["ids"][None], reference["pixel_values"]
    with torch.no_grad():
        last = model.vlm.model(input_ids=ids, pixel_values=pixel_values).last_hidden_state[0]
        logits = model.vlm.lm_head(last)
        positions = [p for p, token in enumerate(ids[0].tolist()) if token in SEG_IDS]
        states = last[[p - 1 for p in positions]].view(2, len(SEG_IDS), -1)
        features = model.image_features(pixel_values)
        masks = model.predict_masks(features, states)
        for module in model.decoder.modules():  # transformers' SAM default instead of the original blocks' 1e-5
            if isinstance(module, torch.nn.LayerNorm):
                module.eps = 1e-6
        masks_eps = model.predict_masks(features, states)
    pixels = reference["masks"].numel()
    changed = int(((masks > 0) != (reference["masks"] > 0)).sum())
    peak = float(reference["masks"].abs().max())
    column = {
        f"LLaVA logits ({len(ids[0]):,} x {logits.shape[-1]:,})": max_diff(logits, reference["logits"]),
        "[SEG] states (2 x 6 x hidden)": max_diff(states, reference["states"]),
        "neck features (2 x 256 x 32 x 32)": max_diff(torch.cat(features), reference["necks"]),
        "mask logits at 128 x 128 (2 masks)": f"{max_diff(masks, reference['masks'])} (values up to {peak:.3g})",
        "binary mask pixels that differ": f"{changed} of {pixels:,}",
        "memory output change when the bank, class and masks change": f"{float(reference['memory_change'])}",
        "mask logits with LayerNorm eps 1e-6 in our decoder": max_diff(masks_eps, reference["masks"]),
    }
    return column, converted


def compare_chat(run_dir: Path, converted: Path) -> dict[str, str]:
    import numpy as np
    import torch
    from PIL import Image
    from transformers import LogitsProcessorList

    from engine.api import Engine
    from engine.model.geopix import chat
    from engine.types import Turn

    reference = torch.load(run_dir / "chat_outputs.pt", weights_only=True)
    reference_text = json.loads((run_dir / "chat_text.json").read_text(encoding="utf-8"))["text"]
    engine = Engine.load(str(converted), device="cpu", dtype="float32")
    model, tokenizer = engine.model, engine.tokenizer
    rgb = np.asarray(Image.open(run_dir / "scene.png").convert("RGB"))
    processor = chat.image_processor(converted, SIZE)
    turns = [Turn("user", QUESTION.split(" ", 1)[1])]  # our prompt adds the task tag the wording asks for
    ids = tokenizer(chat.render(turns))["input_ids"]
    at = ids.index(IMAGE_ID)
    ids = ids[:at] + [IMAGE_ID] * PATCHES + ids[at + 1 :]
    pixels = rgb[..., ::-1] if model.config.channel_order == "bgr" else rgb
    square, _ = chat.pad_to_square(np.ascontiguousarray(pixels), [255 * m for m in processor.image_mean])
    pixel_values = processor(images=square, return_tensors="pt")["pixel_values"]
    image = chat.encode_image(model, processor, rgb)
    embeds = chat.prompt_embeds(model, tokenizer, image, turns)[None]
    forced = LogitsProcessorList([_Forced(answer_plan(tokenizer), 0)])
    result = chat.generate(model, tokenizer, embeds, max_new_tokens=256, logits_processor=forced)[0]
    runs = chat.seg_runs(result, model.config.seg_token_ids)
    with torch.no_grad():
        logits = model.predict_masks(image.mask_features, runs)
    binary = chat.masks(model, image, runs, rgb.shape[:2]) > 0
    generated = [t for t in reference["generated"].tolist() if t != 2]
    same_ids = ids == reference["ids"].tolist()
    size = f"{rgb.shape[0]} x {rgb.shape[1]}"
    changed = ", ".join(f"{int((b != r).sum())} of {r.numel():,}" for b, r in zip(binary, reference["binary"]))
    return {
        f"prompt token ids ({len(ids):,}, with the {PATCHES:,} image tokens)": "identical" if same_ids else "DIFFERENT",
        "pixel values (1 x 3 x 448 x 448)": f"max difference {max_diff(pixel_values, reference['pixel_values'])}",
        "generated ids and text": (
            "identical"
            if result.token_ids == generated and result.text == reference_text
            else f"DIFFERENT: {result.text!r} vs {reference_text!r}"
        ),
        "masks": f"{len(runs)} and {len(reference['masks'])}",
        "mask logits at 128 x 128": (
            f"max difference {max_diff(logits, reference['masks'])} "
            f"(values up to {float(reference['masks'].abs().max()):.3g})"
        ),
        f"mask pixels at {size} that differ": changed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, required=True, help="checkout of Norman-Ou/GeoPix")
    parser.add_argument("--reference-python", default=sys.executable, help="Python of the reference's environment")
    parser.add_argument("--work", type=Path, help="keep the checkpoints and outputs here (default: a temporary folder)")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=list(RUNS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-chat", action="store_true", help="skip the end-to-end chat comparison")
    parser.add_argument("--phase", choices=("all", "reference", "compare"), default="all", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--hyper-scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--chat", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase == "reference":
        return reference_phase(args)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    chat_run = "2"  # the chat comparison uses the model of run 2 (hypernetwork x20), as docs/FIDELITY.md describes
    with tempfile.TemporaryDirectory() as scratch:
        work = args.work or Path(scratch)
        columns, chat_column = {}, None
        for run in args.runs:
            run_dir = work / f"run{run}"
            with_chat = run == chat_run and not args.no_chat
            if args.phase == "all":
                run_dir.mkdir(parents=True, exist_ok=True)
                command = [args.reference_python, str(Path(__file__).resolve()), "--phase", "reference"]
                command += ["--reference", str(args.reference), "--out", str(run_dir), "--seed", str(args.seed)]
                command += ["--hyper-scale", str(RUNS[run])] + (["--chat"] if with_chat else [])
                subprocess.run(command, check=True, cwd=args.reference)
            columns[run], converted = compare_model(run_dir)
            if with_chat:
                chat_column = compare_chat(run_dir, converted)
    print("\n| quantity | " + " | ".join(f"run {run} (hypernetwork x{RUNS[run]:g})" for run in columns) + " |")
    print("|---|" + "---|" * len(columns))
    for name in next(iter(columns.values())):
        print(f"| {name} | " + " | ".join(column[name] for column in columns.values()) + " |")
    if chat_column:
        print("\n| chat quantity | result |\n|---|---|")
        for name, value in chat_column.items():
            print(f"| {name} | {value} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
