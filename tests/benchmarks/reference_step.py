#!/usr/bin/env python3
"""The HESP training step in plain PyTorch: the baseline a user would write.

Eager PyTorch with nn.Modules in the style of OpenAI's CLIP model.py (nn.MultiheadAttention,
nn.LayerNorm), optional bf16 autocast on CUDA, SGD from torch.optim. It computes what
shared/spec/hesp-method.md §2-§7 and shared/fixtures/hesp_step/README.md describe: the
visual prompt added in a box per clip, the frozen image tower on every frame and the
temporal mean, learnable text contexts, negative texts and images, the ARPL negative
logits, and the six loss terms; backward to the four learnable tensors (delta, contexts,
negative images, R).

Two uses:
  check  reference_step.py check --fixture hesp_step_a.h5 --weights tiny_clip_a.state_dict.pt
         Runs the fixture's step in float64 and float32 and compares losses, logits,
         features and gradients with /expected (the fixture README's tolerance rule).
         Exit 0 = pass, 1 = mismatch, 77 = a needed module (torch, h5py) is missing.
  bench  reference_step.py bench --arch ViT-B/16 --batch 64 --frames 8 --classes 7
         [--device cuda] [--bf16] [--steps 10] [--warmup 3] [--json out.json]
         Random weights at the released shapes; times whole steps (forward, losses,
         backward, SGD) and prints one JSON object: step time, frames/s, peak memory.
"""
import argparse
import json
import math
import os
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:  # pragma: no cover
    print(f"reference_step.py: PyTorch is not installed ({e}); skipping")
    sys.exit(77)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
EOT = 49407

# name: (embed, image_res, vision_layers, vision_width, patch, context, vocab, text_width,
#        text_heads, text_layers), as OpenAI's released models.
ARCHS = {
    "ViT-B/32": (512, 224, 12, 768, 32, 77, 49408, 512, 8, 12),
    "ViT-B/16": (512, 224, 12, 768, 16, 77, 49408, 512, 8, 12),
    "ViT-L/14": (768, 224, 24, 1024, 14, 77, 49408, 768, 12, 12),
}


# ----------------------------------------------------------------------------- CLIP
class LayerNorm(nn.LayerNorm):
    """OpenAI's fp16-safe LayerNorm: half inputs are normalised in float32."""

    def forward(self, x):
        if x.dtype in (torch.float16, torch.bfloat16):
            return super().forward(x.float()).to(x.dtype)
        return super().forward(x)


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, causal_len=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, 4 * width))
        self.mlp.add_module("gelu", QuickGELU())
        self.mlp.add_module("c_proj", nn.Linear(4 * width, width))
        self.ln_2 = LayerNorm(width)

    def forward(self, x, mask=None):  # x [L, N, W], sequence first like the reference
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False, attn_mask=mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x, mask=None):
        for block in self.resblocks:
            x = block(x, mask)
        return x


class VisionTransformer(nn.Module):
    def __init__(self, res, patch, width, layers, heads, embed):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, patch, patch, bias=False)
        scale = width**-0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((res // patch) ** 2 + 1, width))
        self.ln_pre = LayerNorm(width)
        self.transformer = Transformer(width, layers, heads)
        self.ln_post = LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed))

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)  # [N, g*g, W]
        cls = self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], 1) + self.positional_embedding.to(x.dtype)
        x = self.ln_pre(x).transpose(0, 1)
        x = self.transformer(x).transpose(0, 1)
        return self.ln_post(x[:, 0]) @ self.proj


class CLIP(nn.Module):
    def __init__(self, embed, res, v_layers, v_width, patch, context, vocab, t_width, t_heads,
                 t_layers):
        super().__init__()
        self.context_length = context
        self.visual = VisionTransformer(res, patch, v_width, v_layers, v_width // 64, embed)
        self.transformer = Transformer(t_width, t_layers, t_heads)
        self.token_embedding = nn.Embedding(vocab, t_width)
        self.positional_embedding = nn.Parameter(torch.empty(context, t_width).normal_(std=0.01))
        self.ln_final = LayerNorm(t_width)
        self.text_projection = nn.Parameter(torch.randn(t_width, embed) * t_width**-0.5)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def encode_text_embeddings(self, emb, eot_index):
        """emb [M, L, D] token embeddings (contexts spliced in); eot_index [M]."""
        length = emb.shape[1]
        mask = torch.full((length, length), float("-inf"), device=emb.device).triu_(1)
        x = (emb + self.positional_embedding[:length].to(emb.dtype)).transpose(0, 1)
        x = self.ln_final(self.transformer(x, mask.to(x.dtype)).transpose(0, 1))
        return x[torch.arange(x.shape[0], device=x.device), eot_index] @ self.text_projection


def clip_from_state_dict(sd):
    """OpenAI's build_model: the architecture from the tensor shapes."""
    v_width = sd["visual.conv1.weight"].shape[0]
    v_layers = len({k.split(".")[3] for k in sd if k.startswith("visual.transformer.resblocks.")})
    patch = sd["visual.conv1.weight"].shape[-1]
    grid = round((sd["visual.positional_embedding"].shape[0] - 1) ** 0.5)
    t_width = sd["ln_final.weight"].shape[0]
    t_layers = len({k.split(".")[2] for k in sd if k.startswith("transformer.resblocks.")})
    model = CLIP(sd["text_projection"].shape[1], patch * grid, v_layers, v_width, patch,
                 sd["positional_embedding"].shape[0], sd["token_embedding.weight"].shape[0],
                 t_width, t_width // 64, t_layers)
    sd = {k: v for k, v in sd.items() if k not in ("input_resolution", "context_length", "vocab_size")}
    model.load_state_dict({k: v.float() for k, v in sd.items()})
    return model


# ----------------------------------------------------------------------------- HESP step
def up(x):
    """Half-precision (autocast) results to float32; float32 and float64 stay as they are."""
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


class HespStep(nn.Module):
    """The learnable tensors of HESP around a frozen CLIP, and one step's losses."""

    def __init__(self, clip, K, M, s, S, prompt_ids, eot_index, negative_ids, negative_eot):
        super().__init__()
        self.clip = clip.requires_grad_(False)
        D = clip.ln_final.weight.shape[0]
        self.s, self.S, self.M = s, S, M
        self.delta = nn.Parameter(torch.zeros(3, s, s))
        self.contexts = nn.Parameter(0.02 * torch.randn(K, M, D))
        self.negative_images = nn.Parameter(torch.randn(K, 3, S, S))
        self.radius = nn.Parameter(torch.zeros(()))
        self.register_buffer("prompt_ids", prompt_ids)
        self.register_buffer("eot_index", eot_index)
        self.register_buffer("negative_ids", negative_ids)
        self.register_buffer("negative_eot", negative_eot)
        # float64 constants, cast to the frames' dtype where used.
        self.register_buffer("mean", torch.tensor(CLIP_MEAN, dtype=torch.float64).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(CLIP_STD, dtype=torch.float64).view(1, 3, 1, 1))
        self.negative_text_features = None

    def prompt(self, frames, centers):
        """Adds delta in a box per clip: rows [r - s/2, r + s/2), clamped centres."""
        s, S = self.s, self.S
        centers = centers.clamp(s // 2, S - 1 - s // 2).tolist()
        x = frames.clone()
        for b, (r, c) in enumerate(centers):
            x[b, :, :, r - s // 2:r + s // 2, c - s // 2:c + s // 2] += self.delta
        return x

    def text_features(self):
        ids = self.prompt_ids[:, : int(self.eot_index.max()) + 1]  # causal: exact to cut at EOT
        emb = self.clip.token_embedding(ids)
        emb = torch.cat([emb[:, :1], self.contexts.to(emb.dtype), emb[:, 1 + self.M:]], 1)
        return self.clip.encode_text_embeddings(emb, self.eot_index)

    def forward(self, frames, centers):
        B, T = frames.shape[:2]
        mean, std = self.mean.to(frames.dtype), self.std.to(frames.dtype)
        x = (self.prompt(frames, centers) - mean.unsqueeze(0)) / std.unsqueeze(0)
        frame_features = self.clip.visual(x.flatten(0, 1)).view(B, T, -1)
        video = frame_features.mean(1)
        text = self.text_features()
        if self.negative_text_features is None:  # encoded once (spec), no gradient
            with torch.no_grad():
                ids = self.negative_ids[:, : int(self.negative_eot.max()) + 1]
                self.negative_text_features = self.clip.encode_text_embeddings(
                    self.clip.token_embedding(ids), self.negative_eot)
            self.negative_text_features = up(self.negative_text_features)
        neg_img = self.clip.visual(self.negative_images)
        return frame_features, video, text, neg_img

    def losses(self, video, text, neg_img, labels, supcon_t=0.5, margin_w=0.1, arpl_t=1.0):
        video, text, neg_img = up(video), up(text), up(neg_img)
        tau = self.clip.logit_scale.exp()
        E = video.shape[1]
        known = tau * F.normalize(video, dim=1) @ F.normalize(text, dim=1).t()
        dist = ((video.unsqueeze(1) - neg_img.unsqueeze(0)) ** 2).sum(-1) / E
        negative = dist - video @ neg_img.t()
        combined = (known + negative) / 2
        # SupCon over the clips (anchors with at least one positive).
        z = F.normalize(video, dim=1)
        sim = z @ z.t() / supcon_t
        B = video.shape[0]
        eye = torch.eye(B, dtype=torch.bool, device=video.device)
        pos = (labels.view(-1, 1) == labels.view(1, -1)) & ~eye
        log_denominator = torch.logsumexp(sim.masked_fill(eye, float("-inf")), 1, keepdim=True)
        log_prob = sim - log_denominator
        anchors = pos.any(1)
        per_anchor = -supcon_t * (log_prob * pos).sum(1)[anchors] / pos.sum(1)[anchors]
        supcon = per_anchor.mean() if anchors.any() else video.sum() * 0
        margin_raw = F.relu(dist[torch.arange(B), labels] - self.radius + 1).mean()
        neg_text = self.negative_text_features.to(neg_img.dtype)
        neg_clip_logits = tau * F.normalize(neg_img, dim=1) @ F.normalize(neg_text, dim=1).t()
        terms = {
            "known_ce": F.cross_entropy(known, labels),
            "supcon": supcon,
            "negative_ce": F.cross_entropy(negative / arpl_t, labels),
            "margin_weighted": margin_w * margin_raw,
            "neg_clip": F.cross_entropy(neg_clip_logits, torch.arange(len(neg_img), device=video.device)),
            "hybrid": F.cross_entropy(combined, labels),
        }
        total = sum(terms.values())
        extra = {"margin_raw": margin_raw, "known_logits": known, "negative_logits": negative,
                 "combined_logits": combined, "margin_distances": dist[torch.arange(B), labels]}
        return total, terms, extra


# ----------------------------------------------------------------------------- check
def check(args):
    try:
        import h5py
    except ImportError as e:
        print(f"reference_step.py: h5py is not installed ({e}); skipping")
        return 77
    if not os.path.exists(args.fixture):
        print(f"reference_step.py: no {args.fixture}; skipping")
        return 77
    f = h5py.File(args.fixture, "r")
    g = lambda p: torch.from_numpy(f[p][()]) if f[p].shape != () else torch.tensor(f[p][()])
    sd = torch.load(args.weights, map_location="cpu")
    a = f.attrs
    K, M, s, S = int(a["K"]), int(a["M"]), int(a["s"]), int(a["S"])
    worst = {}
    ok = True
    for dtype, rtol in ((torch.float64, 1e-9), (torch.float32, None)):
        torch.manual_seed(0)
        clip = clip_from_state_dict(sd).to(dtype)
        step = HespStep(clip, K, M, s, S, g("/expected/tokens/prompt_ids"),
                        g("/expected/tokens/eot_index"), g("/expected/tokens/negative_ids"),
                        g("/expected/tokens/negative_eot_index"))
        for name, p in step.named_parameters():
            p.data = p.data.to(dtype)
        with torch.no_grad():
            for name in ("delta", "contexts", "negative_images", "radius"):
                getattr(step, name).copy_(g(f"/params/{name}"))
        frames, labels = g("/inputs/frames").to(dtype), g("/inputs/labels")
        frame_f, video, text, neg_img = step(frames, g("/inputs/box_centers"))
        total, terms, extra = step.losses(video.to(dtype), text.to(dtype), neg_img.to(dtype), labels,
                                          float(a["supcon_temperature"]), float(a["margin_weight"]),
                                          float(a["arpl_temperature"]))
        total.backward()
        got = {f"loss/{k}": v for k, v in terms.items()}
        got["loss/total"], got["loss/margin_raw"] = total, extra["margin_raw"]
        for k in ("known_logits", "negative_logits", "combined_logits", "margin_distances"):
            got[k] = extra[k]
        got.update({"frame_features": frame_f, "video_features": video, "text_features": text,
                    "negative_image_features": neg_img,
                    "negative_text_features": step.negative_text_features})
        for name in ("delta", "contexts", "negative_images", "radius"):
            got[f"grad/{name}"] = getattr(step, name).grad
        for key, value in got.items():
            want = g(f"/expected/{key}").double()
            value = value.detach().double()
            scale = want.abs().max()
            if dtype == torch.float64:
                bound = rtol * (want.abs() + scale) + 1e-12
            elif key.startswith("loss/"):
                bound = 1e-4 * want.abs()
            elif key.startswith("grad/"):
                bound = 1e-3 * want.abs() + 1e-4 * scale
            else:
                bound = 1e-4 * want.abs() + 1e-4 * scale
            ratio = float(((value - want).abs() / bound.clamp_min(1e-300)).max())
            worst[f"{str(dtype)[6:]}:{key}"] = ratio
            if not ratio <= 1.0:
                ok = False
                print(f"MISMATCH {dtype} {key}: worst |a-b|/bound = {ratio:.3g}")
    print(json.dumps({"pass": ok, "worst_ratio_to_bound": max(worst.values()),
                      "worst_entry": max(worst, key=worst.get)}))
    return 0 if ok else 1


# ----------------------------------------------------------------------------- bench
def bench(args):
    dev = torch.device(args.device)
    torch.manual_seed(0)
    clip = CLIP(*ARCHS[args.arch]).to(dev)
    S, K, M, B, T = ARCHS[args.arch][1], args.classes, args.contexts, args.batch, args.frames
    # Token ids: SOT, M contexts, one name token, ".", EOT (the spec's layout, single-token
    # class names); the negatives "This video is not {name}." are 8 tokens likewise.
    prompt_ids = torch.zeros(K, 77, dtype=torch.long)
    prompt_ids[:, 0], prompt_ids[:, 1:M + 1] = 49406, 343
    prompt_ids[:, M + 1], prompt_ids[:, M + 2], prompt_ids[:, M + 3] = 1000 + torch.arange(K), 269, EOT
    negative_ids = torch.zeros(K, 77, dtype=torch.long)
    negative_ids[:, :8] = torch.tensor([49406, 589, 1455, 533, 783, 0, 269, EOT])
    negative_ids[:, 5] = 1000 + torch.arange(K)
    step = HespStep(clip, K, M, args.prompt_size, S, prompt_ids, prompt_ids.argmax(1),
                    negative_ids, negative_ids.argmax(1)).to(dev)
    opt = torch.optim.SGD([p for p in step.parameters() if p.requires_grad], lr=0.01, momentum=0.9,
                          weight_decay=1e-4)
    frames = torch.rand(B, T, 3, S, S, device=dev)
    centers = torch.full((B, 2), S // 2, dtype=torch.long)
    labels = torch.arange(B, device=dev) % K
    cuda = dev.type == "cuda"

    def one_step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda and args.bf16):
            _, video, text, neg_img = step(frames, centers)
            total, _, _ = step.losses(video, text, neg_img, labels)
        total.backward()
        opt.step()

    sync = torch.cuda.synchronize if cuda else (lambda: None)
    for _ in range(args.warmup):
        one_step()
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        one_step()
        sync()
        times.append(time.perf_counter() - t0)
    times.sort()
    step_s = times[len(times) // 2]
    out = {"impl": "pytorch_eager", "torch": torch.__version__, "arch": args.arch, "batch": B,
           "frames": T, "classes": K, "contexts": M, "device": args.device,
           "bf16_autocast": bool(cuda and args.bf16), "steps": args.steps, "step_s": step_s,
           "frames_per_s": B * T / step_s,
           "peak_memory_mib": torch.cuda.max_memory_allocated() / 2**20 if cuda else None}
    print(json.dumps(out))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh)
    return 0


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--fixture", required=True)
    c.add_argument("--weights", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--arch", default="ViT-B/16", choices=sorted(ARCHS))
    b.add_argument("--batch", type=int, default=64)
    b.add_argument("--frames", type=int, default=8)
    b.add_argument("--classes", type=int, default=7)
    b.add_argument("--contexts", type=int, default=16)
    b.add_argument("--prompt-size", type=int, default=56)
    b.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    b.add_argument("--bf16", action="store_true")
    b.add_argument("--steps", type=int, default=10)
    b.add_argument("--warmup", type=int, default=3)
    b.add_argument("--json")
    args = p.parse_args()
    return check(args) if args.cmd == "check" else bench(args)


if __name__ == "__main__":
    sys.exit(main())
