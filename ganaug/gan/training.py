"""Conditional GAN training: k discriminator steps, one generator step, hooks; resumable bit-for-bit."""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F

from .._checks import check_bool, check_choice, check_device, check_float, check_int, fail
from .._device import warn_if_emulated_bf16
from ._distributed import Dist, rank_seed, setup
from .._outdir import RunLock, check_out_dir, clean_temps, clear_run
from .._progress import bar as tqdm_bar
from .augment import diff_augment, parse_policy
from .checkpoint import (MAX_PARAMS, SPEC_LIMITS, CheckpointError, DiskFullError, check_finite, count_parameters,
                         discriminator_for, load_training_checkpoint, save_training_checkpoint)
from ..data.datasets import LabelledImages, fingerprint, load_dataset
from .losses import LOSSES, d_loss, g_loss, gradient_penalty
from .models import ARCHS, ConditionalGenerator, build_generator, default_spec

# Below this many training images DiffAugment is switched on by default ("auto").
SMALL_DATA = 10_000
# Fields that may change between a checkpoint and its resumption (they do not alter the trajectory).
RESUMABLE_CHANGES = {"steps", "max_minutes", "log_every", "sample_every", "checkpoint_every", "device"}


def _opt(default: Any, help: str):
    return field(default=default, metadata={"help": help})


class TrainingDivergedError(FloatingPointError):
    """A loss became NaN/inf; no weights from that step were written."""


@dataclass
class TrainConfig:
    """Everything that defines a GAN training run. Stored as JSON in every checkpoint."""

    # Each field's help text is its metadata: `ganaug train --help` is generated from these fields.
    arch: str = _opt("dcgan", "network pair: mlp (dense) or dcgan (convolutional)")
    loss: str = _opt("non-saturating", "GAN loss: minimax, non-saturating, hinge or wgan-gp")
    steps: int | None = _opt(2000, "generator updates; None = until max_minutes")
    max_minutes: float | None = _opt(None, "wall-clock budget for this call, in minutes")
    batch_size: int = _opt(64, "images per batch (per process under torchrun)")
    d_steps: int = _opt(1, "discriminator updates per generator update (k in Goodfellow et al.)")
    z_dim: int = _opt(64, "noise size")
    width: int = _opt(32, "channel/unit multiplier of both networks")
    lr_g: float = _opt(2e-4, "generator learning rate (Adam)")
    lr_d: float = _opt(2e-4, "discriminator learning rate (Adam)")
    betas: tuple[float, float] = _opt((0.5, 0.999), "Adam's (beta1, beta2) for both networks")
    lr_decay: float = _opt(0.0, "last fraction of steps over which both lrs fall linearly to 0; 0 disables")
    gp_weight: float = _opt(10.0, "gradient-penalty weight (wgan-gp only)")
    augment: str = _opt("auto", "DiffAugment policy: auto (on below 10,000 images), none, or a comma-separated "
                        "subset of translation,cutout,color")
    ema_decay: float = _opt(0.999, "EMA of the generator's weights; 0 disables")
    minibatch_std: int = _opt(0, "group size of D's minibatch-stddev feature (>= 2, divides batch_size); 0 disables")
    mode_seeking: float = _opt(0.03, "weight of the mode-seeking term (Mao et al., 2019) in G's loss; 0 disables")
    aux_weight: float = _opt(0.0, "auxiliary-classifier loss (AC-GAN, Odena et al., 2017) in D and G; 0 disables")
    aux_twin: bool = _opt(False, "with aux_weight: TAC-GAN's twin class head on generated images (Gong et al., "
                          "2019), which keeps the aux loss from narrowing G")
    spectral_norm: bool | None = _opt(None, "spectral norm in D; None = on unless loss is wgan-gp")
    seed: int = _opt(0, "seed for the models and training (and the CLI's --n-per-class subset)")
    device: str | None = _opt(None, "cpu, cuda, cuda:1 ...; None = cuda if available")
    amp: bool = _opt(True, "bf16 autocast on cuda (ignored on cpu)")
    cpu_amp: bool = _opt(False, "bf16 autocast on the CPU too: faster on CPUs with AVX512-BF16 or AMX, slower "
                         "elsewhere; rounds differently from float32")
    compile: bool = _opt(False, "torch.compile G and D for the training steps: the first steps compile (about a "
                         "minute); faster on cuda, and on the CPU together with cpu_amp (not in float32)")
    log_every: int = _opt(50, "append the mean losses to the history every N steps")
    sample_every: int = _opt(500, "PNG grid (one row per class) into OUT/samples every N steps; 0 disables")
    checkpoint_every: int = _opt(500, "write OUT/checkpoint.pt every N steps; 0 = only at the end")

    def validate(self) -> "TrainConfig":
        check_choice("arch", self.arch, ARCHS)
        check_choice("loss", self.loss, LOSSES)
        if self.steps is None and self.max_minutes is None:
            fail("steps", "a step count or a max_minutes budget", None, "Pass steps=N and/or max_minutes=M.")
        if self.steps is not None:
            check_int("steps", self.steps, minimum=1)
        if self.max_minutes is not None:
            check_float("max_minutes", self.max_minutes, 0.0, low_open=True)
        check_int("batch_size", self.batch_size, minimum=2)
        check_int("d_steps", self.d_steps, minimum=1, fix="Use d_steps >= 1 (k discriminator updates per "
                  "generator update; the original algorithm uses k = 1).")
        # The limits a saved generator must respect to load again (ganaug.gan.SPEC_LIMITS).
        for name in ("z_dim", "width"):
            check_int(name, getattr(self, name), minimum=1)
            if getattr(self, name) > SPEC_LIMITS[name]:
                fail(name, f"at most {SPEC_LIMITS[name]}", getattr(self, name), f"Lower {name}.")
        check_float("lr_g", self.lr_g, 0.0, low_open=True)
        check_float("lr_d", self.lr_d, 0.0, low_open=True)
        check_float("lr_decay", self.lr_decay, 0.0, 1.0)
        if self.lr_decay > 0 and self.steps is None:
            fail("lr_decay", "a schedule over a known number of steps (steps=N)", "steps=None",
                 "Pass steps=N (together with max_minutes if you also want a time limit), or lr_decay=0.")
        if len(tuple(self.betas)) != 2:
            fail("betas", "two numbers (beta1, beta2)", self.betas, "Pass e.g. betas=(0.5, 0.999).")
        for b in self.betas:
            check_float("betas", b, 0.0, 1.0)
        check_float("gp_weight", self.gp_weight, 0.0)
        if self.augment != "auto":
            parse_policy(self.augment)
        check_float("ema_decay", self.ema_decay, 0.0, 1.0)
        check_float("mode_seeking", self.mode_seeking, 0.0)
        check_float("aux_weight", self.aux_weight, 0.0)
        check_bool("aux_twin", self.aux_twin)
        if self.aux_twin and self.aux_weight <= 0:
            fail("aux_twin", "aux_weight > 0 (the twin is part of the auxiliary-classifier loss)",
                 f"aux_twin=True with aux_weight={self.aux_weight}", "Pass aux_weight > 0 too, e.g. 0.5.")
        check_int("minibatch_std", self.minibatch_std, minimum=0)
        # A group of 1 has no spread (the feature is always 0), and a group that does not divide the
        # batch would mix real and generated images in D's joint forward: both would do nothing useful.
        if self.minibatch_std == 1 or (self.minibatch_std and self.batch_size % self.minibatch_std):
            fail("minibatch_std", f"0 (off) or a group size >= 2 that divides batch_size={self.batch_size}",
                 self.minibatch_std, "Pass e.g. minibatch_std=4 with batch_size=64, or 0.")
        if self.spectral_norm is not None and not isinstance(self.spectral_norm, bool):
            fail("spectral_norm", "None, True or False", self.spectral_norm, "Pass spectral_norm=True/False/None.",
                 TypeError)
        for name in ("amp", "cpu_amp", "compile"):
            check_bool(name, getattr(self, name))
        check_device("device", self.device)
        if self.ema_decay >= 1.0:
            fail("ema_decay", "a decay in [0, 1)", self.ema_decay, "Pass e.g. 0.999, or 0 to disable EMA.")
        check_int("seed", self.seed)
        for name in ("log_every", "sample_every", "checkpoint_every"):
            check_int(name, getattr(self, name), minimum=0 if name != "log_every" else 1)
        return self

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        raw = json.loads(text)
        raw["betas"] = tuple(raw["betas"])
        return cls(**{k: v for k, v in raw.items() if k in {f.name for f in dataclasses.fields(cls)}})


@dataclass
class TrainState:
    """What hooks receive after each generator step."""

    step: int
    d_loss: float
    g_loss: float
    G: torch.nn.Module
    D: torch.nn.Module
    G_ema: ConditionalGenerator
    history: list[dict[str, float]] = field(default_factory=list)


Hook = Callable[[TrainState], Any]  # return True to stop training


def fit(data: Any, config: TrainConfig | None = None, out_dir: str | Path | None = None,
        resume: bool | str | Path = False, hooks: Sequence[Hook] = (), progress: bool = True,
        overwrite: bool = False, *, unlabelled: Any = None, pseudo_label_kwargs: dict[str, Any] | None = None
        ) -> tuple[ConditionalGenerator, list[dict[str, float]]]:
    """Train a class-conditional GAN on ``data`` and return ``(generator, history)``.

    ``data``: a :class:`~ganaug.LabelledImages` or anything ``load_dataset`` accepts.
    ``out_dir``: where checkpoints (``checkpoint.pt``), the final ``generator.pt`` and sample grids
    (``samples/step_XXXXXX.png``) go. ``resume``: ``True`` continues from ``out_dir/checkpoint.pt``,
    a path continues from that file; the continued run is bit-for-bit the uninterrupted one.
    An ``out_dir`` that already holds a run is refused unless ``resume`` or ``overwrite=True`` (which
    replaces that run's checkpoint, generator and sample grids) is given; while training, the folder is
    locked (``out_dir/.ganaug.lock``) against a second run.
    The returned generator is the EMA generator (or G itself with ``ema_decay=0``) in eval mode.

    ``unlabelled``: a pool of images without labels (see :func:`ganaug.pseudo_label`). The GAN then
    trains on ``data`` plus the pool images that a self-trained classifier labels confidently
    (``pseudo_label_kwargs`` go to ``pseudo_label``; its seed defaults to ``config.seed``). With
    ``out_dir`` the pseudo-labels are stored in ``out_dir/pseudo_labels.pt``, and a resume reuses them.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every process trains a DistributedDataParallel copy on
    its own batches (``batch_size`` per process); rank 0 writes the files and shows the progress bar,
    and every rank returns the same generator. Resume needs the same number of processes.
    """
    cfg = (config or TrainConfig()).validate()
    data = data if isinstance(data, LabelledImages) else load_dataset(data)
    if unlabelled is not None:  # few labels + a pool: the GAN trains on labelled + confident pseudo-labels
        from ..classify.semi import fit_data

        data = fit_data(data, unlabelled, pseudo_label_kwargs, cfg.seed, cfg.device, out_dir, resume, overwrite,
                        progress)
    if len(data) < cfg.batch_size:
        fail("batch_size", f"at most the number of training images ({len(data)})", cfg.batch_size,
             f"Lower batch_size to <= {len(data)} or add data.")
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        check_out_dir(out, resume, overwrite)
    ctx = setup(cfg.device)
    try:
        ctx.barrier()  # every rank has checked the folder before rank 0 changes it
        with RunLock(out) if out is not None and ctx.main else contextlib.nullcontext():
            if out is not None and ctx.main:
                clean_temps(out)
                if overwrite:
                    clear_run(out)
            return _train(data, cfg, out, resume, hooks, progress, ctx)
    finally:
        ctx.close()


def _train(data, cfg, out, resume, hooks, progress, ctx):
    device = ctx.device
    policy = parse_policy("translation,cutout" if cfg.augment == "auto" and len(data) < SMALL_DATA
                          else (None if cfg.augment == "auto" else cfg.augment))
    autocast = torch.autocast(device_type=device.type, dtype=torch.bfloat16,
                              enabled=cfg.amp if device.type == "cuda" else cfg.cpu_amp and device.type == "cpu")
    if cfg.cpu_amp and device.type == "cpu":
        warn_if_emulated_bf16("cpu_amp", stacklevel=4)  # user -> fit -> _train -> here

    # ---- models, optimisers, RNG (init under a forked global RNG: the user's RNG is untouched;
    # the same seed on every rank gives every rank the same initial weights)
    spec = default_spec(cfg.arch, data.image_shape, data.classes, z_dim=cfg.z_dim, width=cfg.width)
    _check_size(spec, cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        G = build_generator(spec).to(device)
        D = discriminator_for(spec, dataclasses.asdict(cfg)).to(device)
    G_ema = copy.deepcopy(G).requires_grad_(False)
    # The fused kernel is ~4x faster than the per-tensor loop on CPU (a fifth of a small GAN's step).
    fused = {"fused": True} if device.type in ("cpu", "cuda") else {}
    opt_g = torch.optim.Adam(G.parameters(), lr=cfg.lr_g, betas=tuple(cfg.betas), **fused)
    opt_d = torch.optim.Adam(D.parameters(), lr=cfg.lr_d, betas=tuple(cfg.betas), **fused)
    # Every random draw of training comes from here; each rank has its own stream (own batches, noise).
    rng = torch.Generator().manual_seed(rank_seed(cfg.seed, ctx.rank))
    step, history, log = 0, [], {}
    data_id = fingerprint(data)
    ckpt_path = out / "checkpoint.pt" if out is not None else None
    if resume:
        src = Path(resume) if not isinstance(resume, bool) else ckpt_path
        if src is None:
            fail("resume", "a checkpoint path, or out_dir together with resume=True", resume,
                 "Pass out_dir=... or resume='path/to/checkpoint.pt'.")
        step, history, log = _restore(src, cfg, data_id, G, D, G_ema, opt_g, opt_d, rng, ctx)
    # The gradient steps go through these (DDP averages gradients over ranks; G, D themselves when
    # single-process). Hooks, EMA, checkpoints and D's role as G's critic use the plain modules.
    G_step, D_step = ctx.wrap(G), ctx.wrap(D)
    G_fwd, D_critic = G, D  # G's forward for D's step (no gradients), D as G's critic (gradients discarded)
    D_penalty = D_step  # wgan-gp's penalty needs a double backward, which compiled graphs do not support
    if cfg.compile:  # compiled wrappers share the plain modules' parameters: checkpoints are unchanged
        # dynamic=False: D sees 2B and B images, G runs with and without gradients; one graph each.
        G_step, D_step = (torch.compile(m, dynamic=False) for m in (G_step, D_step))
        G_fwd = G_step if ctx.world == 1 else torch.compile(G, dynamic=False)
        D_critic = D_step if ctx.world == 1 else torch.compile(D, dynamic=False)
    images, targets = data.images.to(device), data.targets.to(device)  # (N, C, H, W), (N,)
    n = images.shape[0]
    last_good = step if resume else None

    def batch():  # (B, C, H, W), (B,) drawn with replacement
        idx = torch.randint(0, n, (cfg.batch_size,), generator=rng).to(device)
        return images[idx], targets[idx]

    def noise():  # (B, z_dim)
        return torch.randn(cfg.batch_size, cfg.z_dim, generator=rng).to(device)

    def aug(x):
        return diff_augment(x, policy, rng) if policy else x

    def save(at_step):
        nonlocal last_good
        if ckpt_path is None:
            return
        _bn_recalibrate(G_ema, cfg, at_step)
        for name, net in (("G", G), ("D", D), ("G_ema", G_ema)):  # on every rank: all raise together
            check_finite(net.state_dict(), name)
        rngs = ctx.gather(rng.get_state())  # every rank's stream: each resumes its own
        if ctx.main:
            try:
                save_training_checkpoint(
                    ckpt_path, config_json=cfg.to_json(), spec=spec, data_id=data_id, step=at_step,
                    nets={"G": G, "D": D, "G_ema": G_ema}, optimizers={"opt_G": opt_g, "opt_D": opt_d},
                    rngs=rngs, history=history, log={"sums": sums, "count": count, "elapsed_s": elapsed()})
            except DiskFullError as err:
                kept = f"the last good checkpoint (step {last_good}) is intact" if last_good is not None else \
                    "no checkpoint was written before"
                full = DiskFullError(f"no space left on the device while writing {ckpt_path} at step {at_step}; "
                                     f"{kept}. Free disk space and resume (resume=True, CLI: --resume).")
                full.errno = err.errno
                raise full from None
        ctx.barrier()  # no rank runs ahead (or returns and reads the file) before it is complete
        last_good = at_step

    def stop_if_diverged(which, loss):
        # Collective: a NaN on one rank stops every rank here, instead of leaving the others waiting.
        if ctx.any(not torch.isfinite(loss)):
            value = loss.item() if not torch.isfinite(loss) else "non-finite on another process"
            where = (f"the last good checkpoint is {ckpt_path} (step {last_good}); resume from it"
                     if last_good is not None else "no checkpoint was written yet; restart")
            raise TrainingDivergedError(
                f"training diverged at step {step}: the {which} loss is {value}. Nothing from this step "
                f"was saved; {where} with lower lr_d/lr_g, loss='hinge', or spectral_norm=True.")

    # ---- training loop
    t0 = time.monotonic()
    bar = _progress(progress and ctx.main, cfg, step)
    # Running sums since the last history entry: saved with every checkpoint, so a resumed run logs
    # the same means as the uninterrupted one (older checkpoints start them from zero).
    sums = {"d_loss": 0.0, "g_loss": 0.0, "d_real": 0.0, "d_fake": 0.0, **log.get("sums", {})}
    count = int(log.get("count", 0))
    elapsed_before = float(log.get("elapsed_s", history[-1]["elapsed_s"] if history else 0.0))

    def elapsed():  # seconds of training over all calls (max_minutes limits this call only)
        return round(elapsed_before + time.monotonic() - t0, 3)

    stop = False
    G.train(), D.train()
    while cfg.steps is None or step < cfg.steps:
        # One decision for all ranks (hooks or clocks may disagree), or DDP would wait for a lost rank.
        out_of_time = cfg.max_minutes is not None and time.monotonic() - t0 >= 60.0 * cfg.max_minutes
        if ctx.any(stop or out_of_time):
            break
        if cfg.lr_decay > 0:  # learning rates of this step: constant, then linearly down to 0 at `steps`
            scale = _lr_scale(cfg, step)
            for opt, lr in ((opt_d, cfg.lr_d), (opt_g, cfg.lr_g)):
                for group in opt.param_groups:
                    group["lr"] = lr * scale
        # D step(s): maximise the game value on real vs generated images of the same labels.
        for _ in range(cfg.d_steps):
            real, y = batch()
            z = noise()
            with autocast:
                with torch.no_grad():
                    fake = G_fwd(z, y)
                # One forward over real and generated images together (B + B): one spectral-norm
                # power iteration per layer and larger matmuls; D has no batch statistics across samples
                # except minibatch-stddev, whose groups are contiguous and never straddle the halves.
                both = torch.cat([aug(real), aug(fake)])  # (2B, C, H, W)
                y2 = torch.cat([y, y])  # (2B,)
                if cfg.aux_weight > 0:
                    logits, *heads = D_step(both, y2, with_class=True)  # (2B,), [(2B, K), twin (2B, K)]
                else:
                    logits = D_step(both, y2)
                b = real.shape[0]
                out_real, out_fake = logits[:b], logits[b:]
                loss_d = d_loss(cfg.loss, out_real.float(), out_fake.float())
                if cfg.aux_weight > 0:
                    # D's class head learns from real images only: trained on fakes too, it would
                    # reward G for easy-to-classify prototypes (less diversity). The twin learns fakes.
                    loss_d = loss_d + cfg.aux_weight * F.cross_entropy(heads[0][:b].float(), y)
                    if cfg.aux_twin:
                        loss_d = loss_d + cfg.aux_weight * F.cross_entropy(heads[1][b:].float(), y)
                if cfg.loss == "wgan-gp":
                    eps = torch.rand(real.shape[0], 1, 1, 1, generator=rng).to(device)
                    loss_d = loss_d + cfg.gp_weight * gradient_penalty(D_penalty, real, fake, y, eps)
            stop_if_diverged("discriminator", loss_d)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        # G step: fool D on freshly generated images, labels drawn from the data's class mix.
        # Both halves of the batch share labels, so the mode-seeking term can compare G(z1, y) with
        # G(z2, y): a conditional G that ignores z (one image per class) is penalised.
        _, y = batch()
        half = cfg.batch_size // 2
        y = torch.cat([y[:half], y[: cfg.batch_size - half]])  # (B,): y[i] == y[half + i] for i < half
        z = noise()
        # D's weights are frozen while G's step builds its graph: G needs gradients through D's input
        # only, and D's own were discarded anyway (zeroed before D's next step). Skipping them (weight
        # gradients, spectral-norm backward) saves a fifth of the step and changes no number.
        with autocast, _frozen(D):
            fake = G_step(z, y)
            # Plain D: no gradients of its own here, so nothing for DDP to reduce.
            if cfg.aux_weight > 0:
                out_g, *heads = D_critic(aug(fake), y, with_class=True)  # (B,), [(B, K), twin (B, K)]
                # G is also rewarded when D's class head recognises the requested class (and, with the
                # twin, penalised where the twin, which knows G's own images, recognises it too).
                loss_g = g_loss(cfg.loss, out_g.float()) + cfg.aux_weight * F.cross_entropy(heads[0].float(), y)
                if cfg.aux_twin:
                    loss_g = loss_g - cfg.aux_weight * F.cross_entropy(heads[1].float(), y)
            else:
                loss_g = g_loss(cfg.loss, D_critic(aug(fake), y).float())
            if cfg.mode_seeking > 0:
                loss_g = loss_g + cfg.mode_seeking * _mode_seeking(fake.float(), z, cfg.batch_size // 2)
        stop_if_diverged("generator", loss_g)
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        _ema_update(G_ema, G, cfg.ema_decay, step)
        step += 1

        # Bookkeeping and hooks (losses are this rank's; rank 0's go into the checkpoint).
        sums["d_loss"] += loss_d.item()
        sums["g_loss"] += loss_g.item()
        sums["d_real"] += out_real.float().mean().item()
        sums["d_fake"] += out_fake.float().mean().item()
        count += 1
        if step % cfg.log_every == 0:
            history.append({"step": step, **{k: v / count for k, v in sums.items()}, "elapsed_s": elapsed()})
            sums = dict.fromkeys(sums, 0.0)
            count = 0
            if bar is not None:
                bar.set_postfix(d_loss=f"{history[-1]['d_loss']:.3f}", g_loss=f"{history[-1]['g_loss']:.3f}",
                                refresh=False)
        if bar is not None:
            bar.update(1)
        if out is not None and ctx.main and cfg.sample_every and step % cfg.sample_every == 0:
            _bn_recalibrate(G_ema, cfg, step)
            save_class_grid(G_ema, out / "samples" / f"step_{step:06d}.png", seed=cfg.seed)
        if out is not None and cfg.checkpoint_every and step % cfg.checkpoint_every == 0:
            save(step)
        state = TrainState(step, loss_d.item(), loss_g.item(), G, D, G_ema, history)
        stop = any(h(state) is True for h in hooks)
    if bar is not None:
        bar.close()

    if ckpt_path is not None and last_good != step:
        save(step)
    _bn_recalibrate(G_ema, cfg, step)  # on every rank: all return the same generator
    if out is not None and ctx.main:
        G_ema.save(out / "generator.pt")
        save_class_grid(G_ema, out / "samples" / "final.png", seed=cfg.seed)
    ctx.barrier()  # the other ranks return only once generator.pt is complete
    return G_ema.eval(), history


def _check_size(spec: dict, cfg: TrainConfig) -> None:
    # Absurd widths or noise sizes are refused here, before gigabytes are allocated (or the machine swaps).
    if len(spec["classes"]) > SPEC_LIMITS["classes"]:
        fail("data", f"at most {SPEC_LIMITS['classes']:,} classes", len(spec["classes"]), "Merge or drop classes.")
    for what, build in (("generator", lambda: build_generator(spec)),
                        ("discriminator", lambda: discriminator_for(spec, dataclasses.asdict(cfg)))):
        n, _ = count_parameters(build)
        if n > MAX_PARAMS:
            fail("width", f"networks of at most {MAX_PARAMS:,} parameters", f"a {what} of {n:,} parameters "
                 f"(width={cfg.width}, z_dim={cfg.z_dim}, images {spec['image_shape']})", "Lower width or z_dim.")


def _progress(enabled: bool, cfg: TrainConfig, start: int):
    if not enabled:
        return None
    return tqdm_bar(cfg.steps, initial=start, desc=f"ganaug {cfg.arch}/{cfg.loss}", unit="step", leave=None)


def _lr_scale(cfg: TrainConfig, step: int) -> float:
    # Factor on both lrs at (0-based) generator step `step`: 1 until the last lr_decay * steps steps,
    # then (steps - step) / decay_steps, so the final update still moves (1 / decay_steps) and none is wasted.
    decay_steps = max(1, round(cfg.lr_decay * cfg.steps))
    return min(1.0, (cfg.steps - step) / decay_steps)


@contextlib.contextmanager
def _frozen(module: torch.nn.Module):
    """Parameters of ``module`` that require gradients stop requiring them inside the block."""
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _mode_seeking(fake: torch.Tensor, z: torch.Tensor, half: int) -> torch.Tensor:
    # 1 / (mean |G(z1,y) - G(z2,y)| / mean |z1 - z2|): large when different noise gives the same image.
    images = (fake[:half] - fake[half:2 * half]).abs().mean()  # fake: (B, C, H, W)
    noises = (z[:half] - z[half:2 * half]).abs().mean()  # z: (B, z_dim)
    return 1.0 / (images / noises + 1e-5)


def _ema_update(ema: torch.nn.Module, model: torch.nn.Module, decay: float, step: int) -> None:
    # Warm-up: early on the EMA follows G closely so it is not an average of random initialisations.
    d = min(decay, (1.0 + step) / (10.0 + step)) if decay > 0 else 0.0
    with torch.no_grad():
        torch._foreach_lerp_(list(ema.parameters()), list(model.parameters()), 1.0 - d)
        for be, b in zip(ema.buffers(), model.buffers()):
            be.copy_(b)


def _bn_recalibrate(gen: ConditionalGenerator, cfg: TrainConfig, step: int, batches: int = 8) -> None:
    """Re-estimate BatchNorm statistics for the EMA weights (G's statistics belong to G's weights).

    Uses its own seeded RNG, and only touches buffers that the next EMA update overwrites, so the
    training trajectory is unchanged.
    """
    bns = [m for m in gen.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    rng = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
    momenta = [m.momentum for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the calibration batches
    gen.train()
    with torch.no_grad():
        for _ in range(batches):
            z = torch.randn(256, gen.z_dim, generator=rng).to(gen.device)
            y = torch.randint(0, gen.num_classes, (256,), generator=rng).to(gen.device)
            gen(z, y)
    for m, mom in zip(bns, momenta):
        m.momentum = mom
    gen.eval()


def save_class_grid(gen: ConditionalGenerator, path, n_per_class: int = 10, seed: int = 0) -> Path:
    """Write a PNG grid of samples, one row per class, ``n_per_class`` columns."""
    from .viz import save_grid

    labels = torch.arange(gen.num_classes).repeat_interleave(n_per_class)
    images, _ = gen.sample(len(labels), labels=labels, seed=seed)
    return save_grid(images, path, nrow=n_per_class)


def _restore(path, cfg, data_id, G, D, G_ema, opt_g, opt_d, rng, ctx: Dist):
    ckpt = load_training_checkpoint(path)
    try:
        saved = TrainConfig.from_json(ckpt["config"])
        # With an lr schedule, `steps` sets the schedule: changing it would change the trajectory.
        free = RESUMABLE_CHANGES - ({"steps"} if cfg.lr_decay > 0 else set())
        diffs = {k: (getattr(saved, k), getattr(cfg, k)) for k in dataclasses.asdict(cfg)
                 if k not in free and getattr(saved, k) != getattr(cfg, k)}
        if diffs:
            changed = ", ".join(f"{k}: {a!r} -> {b!r}" for k, a, b in ((k, *v) for k, v in diffs.items()))
            fail("config", "the checkpoint's settings (only steps/max_minutes/cadences may change; steps is fixed "
                 "when lr_decay > 0)", changed,
                 "Resume with the original settings, or start a new out_dir.")
        if ckpt["data"] != data_id:
            fail("data", "the dataset the checkpoint was trained on", "a different dataset",
                 "Resume with the same data (same subset and seed), or start a new out_dir.")
        _check_world_size(int(ckpt.get("world_size", 1)), ctx.world, path)  # older files: one process
        G.load_state_dict(ckpt["G"])
        D.load_state_dict(ckpt["D"])
        G_ema.load_state_dict(ckpt["G_ema"])
        opt_g.load_state_dict(ckpt["opt_G"])
        opt_d.load_state_dict(ckpt["opt_D"])
        rng.set_state(ckpt["rng_ranks"][ctx.rank] if "rng_ranks" in ckpt else ckpt["rng"])
        log = json.loads(ckpt["log"]) if "log" in ckpt else {}
        return int(ckpt["step"]), json.loads(ckpt["history"]), log
    except (KeyError, RuntimeError, TypeError, AttributeError) as err:
        raise CheckpointError(f"checkpoint: {str(path)!r} does not match this model "
                              f"({str(err).splitlines()[0][:120]}). Resume with the original settings."
                              ) from None


def _check_world_size(saved: int, world: int, path) -> None:
    # Each process continues its own random stream, so the process count must match exactly.
    if saved == world:
        return
    how = ("in a single process (without torchrun)" if saved == 1
           else f"with {saved} processes in all (e.g. torchrun --nproc_per_node {saved} on one node)")
    fail("world_size", f"{saved} process{'es' if saved > 1 else ''}, as many as wrote {str(path)!r}", world,
         f"Resume {how}, or start a new out_dir.")
