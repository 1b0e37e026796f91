"""ganaug._device: the default device and the bf16 warning, with the CPU probes faked."""
import warnings

import pytest
import torch

from ganaug import _device


def fake_cpu(monkeypatch, machine="x86_64", avx512_bf16=False, amx=False):
    monkeypatch.setattr(_device.platform, "machine", lambda: machine)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)


def test_default_device_is_cpu_without_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _device.default_device() == torch.device("cpu")


@pytest.mark.parametrize("machine, avx512_bf16, amx, native", [
    ("x86_64", True, False, True), ("x86_64", False, True, True), ("AMD64", False, False, False),
    ("aarch64", False, False, None),  # torch's probes are x86-only: no claim elsewhere
])
def test_native_cpu_bf16(monkeypatch, machine, avx512_bf16, amx, native):
    fake_cpu(monkeypatch, machine, avx512_bf16, amx)
    assert _device.native_cpu_bf16() is native


def test_native_cpu_bf16_unknown_without_the_probes(monkeypatch):
    fake_cpu(monkeypatch)
    monkeypatch.delattr(torch.cpu, "_is_avx512_bf16_supported")
    assert _device.native_cpu_bf16() is None


def test_warns_only_where_bf16_is_emulated(monkeypatch):
    fake_cpu(monkeypatch)
    with pytest.warns(RuntimeWarning, match=r"cpu_amp=True: this CPU has no native bf16 math .* Pass cpu_amp=False"):
        _device.warn_if_emulated_bf16("cpu_amp")
    for kwargs in (dict(avx512_bf16=True), dict(machine="arm64")):
        fake_cpu(monkeypatch, **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            _device.warn_if_emulated_bf16("cpu_amp")
