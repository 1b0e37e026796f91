import json

import pytest
import torch

import ganaug
from ganaug.gan import losses as losses_module
from ganaug.gan.checkpoint import safe_load
from ganaug.metrics.diversity import diversity_ratio
from ganaug.gan.training import TrainConfig, fit

from conftest import state_equal, tiny_config


@pytest.mark.parametrize("loss", ["minimax", "non-saturating", "hinge", "wgan-gp"])
@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_every_loss_and_arch_trains(tiny, arch, loss):
    gen, history = fit(tiny, tiny_config(arch=arch, loss=loss, d_steps=2), progress=False)
    assert isinstance(gen, ganaug.ConditionalGenerator) and not gen.training
    assert [h["step"] for h in history] == [2, 4, 6]
    assert all(torch.isfinite(torch.tensor(h["d_loss"])) for h in history)
    images, labels = gen.sample(8, seed=0)
    assert images.shape == (8, 1, 8, 8)


def test_d_steps_counts_discriminator_updates(tiny):
    calls = {"d": 0}
    real_d_loss = losses_module.d_loss

    def counting(*a, **k):
        calls["d"] += 1
        return real_d_loss(*a, **k)

    import ganaug.gan.training as tr
    orig = tr.d_loss
    tr.d_loss = counting
    try:
        fit(tiny, tiny_config(d_steps=3, steps=4), progress=False)
    finally:
        tr.d_loss = orig
    assert calls["d"] == 12


def test_training_is_seeded_and_leaves_global_rng_alone(tiny):
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a, _ = fit(tiny, tiny_config(), progress=False)
    assert torch.equal(before, torch.get_rng_state())
    b, _ = fit(tiny, tiny_config(), progress=False)
    c, _ = fit(tiny, tiny_config(seed=1), progress=False)
    assert state_equal(a, b) and not state_equal(a, c)


@pytest.mark.parametrize("arch, loss, augment, aux, twin", [("mlp", "wgan-gp", "translation,cutout", 0.0, False),
                                                             ("dcgan", "non-saturating", "auto", 0.0, False),
                                                             ("mlp", "hinge", "none", 1.0, False),
                                                             ("mlp", "non-saturating", "none", 0.5, True)])
def test_resume_is_bit_for_bit(tiny, tmp_path, arch, loss, augment, aux, twin):
    cfg = dict(arch=arch, loss=loss, augment=augment, d_steps=2, checkpoint_every=3, aux_weight=aux, aux_twin=twin)
    straight, hist_straight = fit(tiny, tiny_config(steps=6, **cfg), out_dir=tmp_path / "a", progress=False)
    fit(tiny, tiny_config(steps=3, **cfg), out_dir=tmp_path / "b", progress=False)
    resumed, hist_resumed = fit(tiny, tiny_config(steps=6, **cfg), out_dir=tmp_path / "b", resume=True,
                                progress=False)
    assert state_equal(straight, resumed)
    a, b = safe_load(tmp_path / "a" / "checkpoint.pt"), safe_load(tmp_path / "b" / "checkpoint.pt")
    for key in ("G", "D", "G_ema"):
        assert all(torch.equal(a[key][k], b[key][k]) for k in a[key])
    assert a["step"] == b["step"] == 6
    assert hist_straight == hist_resumed or [h["step"] for h in hist_resumed] == [2, 4, 6]


@pytest.mark.parametrize("arch, loss, aux, twin", [("mlp", "non-saturating", 0.5, True), ("mlp", "wgan-gp", 0.0, False),
                                                   pytest.param("dcgan", "hinge", 0.0, False, marks=pytest.mark.slow)])
def test_compile_trains_the_same_and_resumes_bit_for_bit(tiny, tmp_path, compiled, arch, loss, aux, twin):
    cfg = dict(arch=arch, loss=loss, aux_weight=aux, aux_twin=twin, checkpoint_every=3, minibatch_std=2)
    eager, _ = fit(tiny, tiny_config(steps=6, **cfg), progress=False)
    assert not compiled
    straight, _ = fit(tiny, tiny_config(steps=6, compile=True, **cfg), out_dir=tmp_path / "a", progress=False)
    assert [name for name, _ in compiled] == ["MLPGenerator" if arch == "mlp" else "DCGANGenerator",
                                              "ConditionalDiscriminator"]
    assert all(kw == {"dynamic": False} for _, kw in compiled)
    # aot_eager runs the same kernels as eager mode: the same numbers (inductor fuses, so it rounds differently)
    assert state_equal(eager, straight)
    fit(tiny, tiny_config(steps=3, compile=True, **cfg), out_dir=tmp_path / "b", progress=False)
    resumed, _ = fit(tiny, tiny_config(steps=6, compile=True, **cfg), out_dir=tmp_path / "b", resume=True,
                     progress=False)
    assert state_equal(straight, resumed)
    assert set(safe_load(tmp_path / "b" / "checkpoint.pt")["G"]) == set(eager.state_dict())  # no "_orig_mod."
    with pytest.raises(ValueError, match=r"config: expected the checkpoint's settings.*compile: True -> False"):
        fit(tiny, tiny_config(steps=9, **cfg), out_dir=tmp_path / "b", resume=True, progress=False)


def test_cpu_amp_warns_where_the_cpu_emulates_bf16(tiny, monkeypatch):
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    monkeypatch.setattr("ganaug._device.platform.machine", lambda: "x86_64")
    with pytest.warns(RuntimeWarning, match="cpu_amp=True: this CPU has no native bf16 math") as caught:
        fit(tiny, tiny_config(steps=1, cpu_amp=True), progress=False)
    assert caught[0].filename == __file__  # points at the caller's fit(...)


@pytest.mark.parametrize("arch", ["mlp", "dcgan"])
def test_cpu_amp_trains_in_bf16_and_resumes_bit_for_bit(tiny, tmp_path, arch):
    dtypes = []

    def watch(state):  # from the second step on: the dtype of every image G makes in training
        if state.step == 1:
            state.G.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))

    cfg = dict(arch=arch, checkpoint_every=3, aux_weight=0.5, aux_twin=True)
    fp32, _ = fit(tiny, tiny_config(**cfg), progress=False)
    straight, history = fit(tiny, tiny_config(cpu_amp=True, **cfg), out_dir=tmp_path / "a", hooks=[watch],
                            progress=False)
    assert dtypes and set(dtypes) == {torch.bfloat16}
    assert not state_equal(fp32, straight) and all(torch.isfinite(torch.tensor(h["g_loss"])) for h in history)
    assert next(straight.parameters()).dtype == torch.float32  # weights stay float32; only the math is bf16
    fit(tiny, tiny_config(steps=3, cpu_amp=True, **cfg), out_dir=tmp_path / "b", progress=False)
    resumed, _ = fit(tiny, tiny_config(cpu_amp=True, **cfg), out_dir=tmp_path / "b", resume=True, progress=False)
    assert state_equal(straight, resumed)


def test_lr_decay_schedule(tiny, adam_lrs):
    seen = adam_lrs
    fit(tiny, tiny_config(steps=6, lr_d=2e-3, lr_g=1e-3, lr_decay=0.5), progress=False)
    scale = [1, 1, 1, 1, 2 / 3, 1 / 3]  # constant, then the last 3 steps fall linearly towards 0
    assert seen == pytest.approx([lr * s for s in scale for lr in (2e-3, 1e-3)])  # D, then G, each step
    seen.clear()
    fit(tiny, tiny_config(steps=6, lr_d=2e-3, lr_g=1e-3), progress=False)
    assert seen == [2e-3, 1e-3] * 6


def test_resume_with_lr_decay_is_bit_for_bit(tiny, tmp_path):
    cfg = tiny_config(steps=6, lr_decay=1.0, checkpoint_every=3)
    straight, _ = fit(tiny, cfg, out_dir=tmp_path / "a", progress=False)
    fit(tiny, cfg, out_dir=tmp_path / "b", progress=False, hooks=[lambda s: s.step == 3])  # interrupted
    resumed, _ = fit(tiny, cfg, out_dir=tmp_path / "b", resume=True, progress=False)
    assert state_equal(straight, resumed)
    # steps sets the schedule, so it may not change on resume (it may without lr_decay).
    with pytest.raises(ValueError, match=r"config: expected .*steps is fixed when lr_decay > 0.*steps: 6 -> 9"):
        fit(tiny, tiny_config(steps=9, lr_decay=1.0, checkpoint_every=3), out_dir=tmp_path / "b", resume=True,
            progress=False)


def test_outputs_written(tiny, tmp_path):
    fit(tiny, tiny_config(steps=4, sample_every=2, checkpoint_every=2), out_dir=tmp_path, progress=False)
    assert (tmp_path / "samples" / "step_000002.png").exists() and (tmp_path / "samples" / "final.png").exists()
    ckpt = safe_load(tmp_path / "checkpoint.pt")
    assert ckpt["step"] == 4 and json.loads(ckpt["config"])["arch"] == "mlp"
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temp files
    gen = ganaug.load_generator(tmp_path / "generator.pt", device="cpu")
    assert gen.classes == tiny.classes


def test_hooks_see_state_and_can_stop(tiny):
    seen = []

    def hook(state):
        seen.append((state.step, state.d_loss))
        return state.step == 3

    _, history = fit(tiny, tiny_config(steps=10), hooks=[hook], progress=False)
    assert [s for s, _ in seen] == [1, 2, 3]


def test_time_budget_stops(tiny):
    _, history = fit(tiny, tiny_config(steps=None, max_minutes=1e-9), progress=False)
    assert history == []


def test_divergence_keeps_last_good_checkpoint(tiny, tmp_path, monkeypatch):
    import ganaug.gan.training as tr

    calls = {"n": 0}
    real = tr.g_loss

    def poisoned(name, fake):
        calls["n"] += 1
        out = real(name, fake)
        return out * float("nan") if calls["n"] == 5 else out

    monkeypatch.setattr(tr, "g_loss", poisoned)
    with pytest.raises(ganaug.TrainingDivergedError,
                       match=r"diverged at step 4: the generator loss is nan.*checkpoint.pt \(step 4\)"):
        fit(tiny, tiny_config(steps=10, checkpoint_every=2), out_dir=tmp_path, progress=False)
    ckpt = safe_load(tmp_path / "checkpoint.pt")
    assert ckpt["step"] == 4
    assert all(torch.isfinite(v).all() for v in ckpt["G"].values() if v.is_floating_point())


def test_resume_checks(tiny, tmp_path):
    fit(tiny, tiny_config(steps=2), out_dir=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"config: expected the checkpoint's settings.*lr_d: 0.0002 -> 0.1"):
        fit(tiny, tiny_config(steps=4, lr_d=0.1), out_dir=tmp_path, resume=True, progress=False)
    other = ganaug.load_dataset((tiny.images.flip(0), tiny.targets.flip(0)))
    with pytest.raises(ValueError, match=r"data: expected the dataset the checkpoint was trained on"):
        fit(other, tiny_config(steps=4), out_dir=tmp_path, resume=True, progress=False)
    with pytest.raises(ganaug.CheckpointError, match=r"no file at"):
        fit(tiny, tiny_config(steps=4), out_dir=tmp_path / "empty", resume=True, progress=False)
    with pytest.raises(ValueError, match=r"resume: expected a checkpoint path"):
        fit(tiny, tiny_config(steps=4), resume=True, progress=False)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(d_steps=0), ValueError, r"d_steps: expected an integer >= 1"),
    (dict(d_steps=1.5), TypeError, r"d_steps: expected an integer"),
    (dict(loss="lsgan"), ValueError, r"loss: expected one of"),
    (dict(arch="vit"), ValueError, r"arch: expected one of 'mlp', 'dcgan'"),
    (dict(steps=None, max_minutes=None), ValueError, r"steps: expected a step count or a max_minutes"),
    (dict(lr_g=0), ValueError, r"lr_g: expected a number in \(0.0"),
    (dict(ema_decay=1.0), ValueError, r"ema_decay: expected a decay in \[0, 1\)"),
    (dict(augment="colour"), ValueError, r"augment: expected a comma-separated subset"),
    (dict(betas=(0.5,)), ValueError, r"betas: expected two numbers"),
    (dict(aux_weight=-1.0), ValueError, r"aux_weight: expected a number in \[0.0"),
    (dict(aux_twin=True), ValueError, r"aux_twin: expected aux_weight > 0 .*got 'aux_twin=True with aux_weight=0.0'"),
    (dict(aux_twin=1, aux_weight=1.0), TypeError, r"aux_twin: expected True or False, got 1"),
    (dict(compile="yes"), TypeError, r"compile: expected True or False, got 'yes'. Pass compile=True"),
    (dict(cpu_amp=None), TypeError, r"cpu_amp: expected True or False, got None. Pass cpu_amp=True"),
    (dict(lr_decay=1.5), ValueError, r"lr_decay: expected a number in \[0.0, 1.0\], got 1.5"),
    (dict(lr_decay=0.5, steps=None, max_minutes=1.0), ValueError,
     r"lr_decay: expected a schedule over a known number of steps \(steps=N\), got 'steps=None'. Pass steps=N"),
])
def test_bad_config(tiny, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fit(tiny, tiny_config(**kwargs), progress=False)


def test_auxiliary_classifier_loss_trains_d_class_head(digits, tmp_path, monkeypatch):
    """With aux_weight, D's class head learns the real classes and G is scored by it (AC-GAN)."""
    from ganaug.synth.filtering import load_discriminator

    seen = []
    real_ce = torch.nn.functional.cross_entropy

    def recording(logits, y, *a, **k):
        seen.append(tuple(logits.shape))
        return real_ce(logits, y, *a, **k)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", recording)
    fit(digits, TrainConfig(arch="mlp", steps=150, device="cpu", aux_weight=1.0, sample_every=0), out_dir=tmp_path,
        progress=False)
    assert seen == [(64, 10)] * 300  # one term in D's loss, one in G's, per step
    D, _ = load_discriminator(tmp_path / "checkpoint.pt")
    with torch.no_grad():
        _, logits = D(digits.images, digits.targets, with_class=True)  # (N, 10)
    assert (logits.argmax(1) == digits.targets).double().mean() > 0.6  # chance is 0.1 (0.80 measured)


def test_twin_classifier_enters_both_losses(tiny, monkeypatch):
    """TAC-GAN: D's twin head learns G's images; G's loss is adversarial + w * CE(head) - w * CE(twin)."""
    import ganaug.gan.training as tr

    ces, advs, g_losses = [], [], []
    real_ce, real_g_loss = torch.nn.functional.cross_entropy, tr.g_loss

    def recording_ce(logits, y, *a, **k):
        ces.append(real_ce(logits, y, *a, **k))
        return ces[-1]

    def recording_g_loss(*a, **k):
        advs.append(real_g_loss(*a, **k).item())
        return real_g_loss(*a, **k)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", recording_ce)
    monkeypatch.setattr(tr, "g_loss", recording_g_loss)
    fit(tiny, tiny_config(steps=3, aux_weight=0.5, aux_twin=True, mode_seeking=0.0), progress=False,
        hooks=[lambda s: g_losses.append(s.g_loss)])
    assert len(ces) == 12  # per step: head on real + twin on fakes (D), head + twin on G's images (G)
    for step in range(3):
        head, twin = ces[4 * step + 2].item(), ces[4 * step + 3].item()
        assert g_losses[step] == pytest.approx(advs[step] + 0.5 * head - 0.5 * twin, rel=1e-5)


def test_fewer_samples_than_batch(tiny):
    with pytest.raises(ValueError, match=r"batch_size: expected at most the number of training images \(40\)"):
        fit(tiny, tiny_config(batch_size=64), progress=False)


def test_digits_generator_is_conditional_and_not_collapsed(digits):
    """A short real run: every class keeps most of the real intra-class variety (no mode collapse)."""
    gen, _ = fit(digits, TrainConfig(arch="mlp", steps=400, device="cpu", sample_every=0), progress=False)
    fake, fake_y = gen.sample(500, seed=0)
    ratio = diversity_ratio(fake, fake_y, digits.images, digits.targets, 10)
    assert (ratio > 0.5).all(), ratio
    # And a collapsed "generator" (one image per class) is caught by the same check.
    collapsed = digits.images[:10][fake_y]
    assert (diversity_ratio(collapsed, fake_y, digits.images, digits.targets, 10).nan_to_num(0) < 0.1).all()
