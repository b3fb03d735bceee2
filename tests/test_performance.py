"""Issue 32: the chunking policy, the speed options, host round trips, training noise on the
device, and the threads a reproduction gives its kernels."""

import json
import os
import subprocess
import sys

import nbformat
import pytest
import torch

from companion import batching, evaluation, models, reproduce, train
from companion.attacks import dag_trace, denoising_pgd, l2_denoising_pgd, obsatk, spsa
from companion.evaluation import Speed
from companion.models.base import NotDifferentiableError


class FakeWork:
    """A probe whose k images cost ``per_image[k]`` seconds each on a fake clock, returning k
    copies of one result (or other bits from ``differs_at`` images on, or GPU memory running out
    from ``oom_at``); the first run of each k costs ``cold`` seconds more (kernels set up)."""

    def __init__(self, per_image, differs_at=None, oom_at=None, cold=0.0):
        self.per_image, self.differs_at, self.oom_at, self.cold = per_image, differs_at, oom_at, cold
        self.now, self.sizes = 0.0, []

    def clock(self):
        return self.now

    def __call__(self, k):
        self.sizes.append(k)
        if self.oom_at is not None and k >= self.oom_at:
            raise torch.cuda.OutOfMemoryError("fake")
        self.now += self.per_image[k] * k + (self.cold if k not in self.sizes[:-1] else 0.0)
        rows = torch.ones(k, 1, 2, 2)
        if self.differs_at is not None and k >= self.differs_at:
            rows[-1] += 1e-7
        return (rows,)


def _size(work, n, model=None, **kwargs):
    model = model or torch.nn.Identity()
    return batching.chunk_size(model, ("key",), n, work, clock=work.clock, **kwargs), model


def test_the_probe_doubles_while_it_pays_and_keeps_the_size_for_the_session():
    work = FakeWork({1: 1.0, 2: 0.8, 4: 0.9, 8: 0.5})
    size, model = _size(work, 10)
    assert size == 2 and work.sizes == [1, 1, 2, 4]  # warm-up, then 1, 2, 4: 4 costs more per image than 2
    found = batching.measured(model)[("key",)]
    assert found.next is None and "1.12x" in found.reason
    assert batching.chunk_size(model, ("key",), 10, work) == 2 and work.sizes == [1, 1, 2, 4]  # kept: no new probe
    assert batching.chunks(5, 2) == [(0, 2), (2, 4), (4, 5)]


def test_a_probe_cut_short_by_a_small_group_goes_on_at_the_next_call():
    work = FakeWork({1: 1.0, 2: 0.5, 4: 0.3, 8: 0.4})
    size, model = _size(work, 3)
    assert size == 2 and work.sizes == [1, 1, 2]
    assert batching.chunk_size(model, ("key",), 16, work, clock=work.clock) == 4 and work.sizes[3:] == [4, 8]
    assert batching.chunk_size(model, ("key",), 3, work) == 3  # never more than the images there are


def test_a_fast_model_is_timed_warm_and_more_than_once():
    # 10 ms per image alone, 8 ms in pairs, 7 ms in fours; a new batch size's first run costs 20 ms more
    work = FakeWork({1: 0.010, 2: 0.008, 4: 0.007}, cold=0.020)
    size, model = _size(work, 4)
    assert size == 4, batching.measured(model)  # one cold run of 2 would cost 18 ms per image: 1 would stay
    assert work.sizes == sorted(work.sizes) and all(1 < work.sizes.count(k) <= batching.RUNS + 1 for k in (1, 2, 4))
    slow = FakeWork({1: 1.0, 2: 0.8})
    assert _size(slow, 2)[0] == 2 and slow.sizes == [1, 1, 2]  # a run past TIMED is timed once


def test_the_probe_keeps_only_sizes_with_the_bits_of_one_image_and_stops_at_gpu_memory():
    size, model = _size(FakeWork({1: 1.0, 2: 0.5, 4: 0.3}, differs_at=4), 8)
    assert size == 2 and "other bits" in batching.measured(model)[("key",)].reason
    assert _size(FakeWork({1: 1.0, 2: 0.5, 4: 0.3, 8: 0.4}, differs_at=4), 8, exact=False)[0] == 4  # CUDA: time alone
    size, model = _size(FakeWork({1: 1.0, 2: 0.5, 4: 0.3}, oom_at=4), 8)
    assert size == 2 and "GPU memory" in batching.measured(model)[("key",)].reason


def test_speed_text_round_trip_and_refusals(monkeypatch):
    fast = Speed.parse("chunk=2, channels_last,bf16")
    assert fast == Speed(chunk=2, channels_last=True, bf16=True) and Speed.parse(str(fast)) == fast
    assert str(Speed()) == "default" and Speed.parse("") == Speed() == Speed.parse("default")
    with pytest.raises(ValueError, match="unknown speed option 'fp16'.*known: chunk=N, channels_last"):
        Speed.parse("fp16")
    with pytest.raises(ValueError, match="chunk >= 1"):
        Speed.parse("chunk=0")
    with pytest.raises(TypeError, match="True or False"):
        Speed(compile="yes")
    monkeypatch.setenv(evaluation.SPEED_ENV, "chunk=3")
    assert evaluation.current_speed() == Speed(chunk=3)
    with evaluation.using("chunk=1"):
        assert evaluation.current_speed() == Speed(chunk=1)  # the enclosing call's before the environment
    assert evaluation.current_speed(Speed()) == Speed()
    monkeypatch.setenv(evaluation.SPEED_ENV, "chunks=3")
    with pytest.raises(ValueError, match="COMPANION_SPEED='chunks=3': unknown speed option"):
        evaluation.current_speed()


@pytest.fixture(scope="module")
def dncnn():
    return models.create("dncnn_s25")  # our shipped checkpoint


def _images(n=3, size=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    clean = torch.rand(n, 1, size, size, generator=g) * 0.8 + 0.1
    return clean + torch.randn(clean.shape, generator=g) * 25 / 255, clean


@pytest.mark.parametrize("attack", [denoising_pgd, l2_denoising_pgd])
def test_chunks_give_the_bits_of_one_image_at_a_time(dncnn, attack):
    noisy, clean = _images()
    one = torch.cat([attack(dncnn, noisy[i:i + 1], clean[i:i + 1], seed=5 + i, speed="chunk=1") for i in range(3)])
    for speed in (None, "chunk=1", "chunk=2", "chunk=3"):
        assert torch.equal(attack(dncnn, noisy, clean, seed=5, speed=speed), one), speed
    assert any(key[2] == "attack" for key in batching.measured(dncnn))  # the default was probed


def test_scoring_chunks_give_the_same_bits(dncnn):
    noisy, clean = _images(4)
    one = torch.cat([evaluation.denoise(dncnn, noisy[i:i + 1], speed="chunk=1") for i in range(4)])
    assert torch.equal(evaluation.denoise(dncnn, noisy), one)
    assert torch.equal(evaluation.denoise(dncnn, noisy, speed="chunk=3"), one)
    psnr = evaluation.denoised_psnr(dncnn, noisy, clean)
    assert (psnr == evaluation.denoised_psnr(dncnn, noisy, clean, batch_size=1)).all()
    assert (psnr == evaluation.denoised_psnr(dncnn, noisy, clean, speed=Speed(chunk=4))).all()


class Refusing(torch.nn.Module):
    """A model with weights and no gradient to give (as a classical method refuses one)."""

    def __init__(self):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(0.9))

    def forward(self, x):
        if torch.is_grad_enabled() and x.requires_grad:
            raise NotDifferentiableError("Refusing has no gradient")
        return x * self.scale


def test_models_without_gradient_or_weights_keep_working():
    noisy, clean = _images(2, 16)
    refusing = Refusing()
    adv = spsa(refusing, noisy, clean, iterations=2, samples=2)  # the probe times its forward alone
    assert torch.equal(adv, spsa(refusing, noisy, clean, iterations=2, samples=2, speed="chunk=1"))
    assert {key[2] for key in batching.measured(refusing)} == {"attack", "forward"}
    tv = models.create("tv", sigma=25)
    spsa(tv, noisy, clean, iterations=1, samples=2)
    assert batching.measured(tv) == {}  # no weights: the whole group at once, nothing to probe
    with pytest.raises(NotDifferentiableError, match="TotalVariation has no gradient"):
        denoising_pgd(tv, noisy, clean, steps=1)


def test_a_repeated_call_gives_the_same_bits():
    torch.manual_seed(0)
    tiny = models.DnCNN(1, depth=3, features=8)
    noisy, clean = _images(3, 40)
    assert torch.equal(obsatk(tiny, noisy, clean, r=5, clip="none"), obsatk(tiny, noisy, clean, r=5, clip="none"))


def test_speed_options_keep_the_model_and_stay_close(dncnn):
    noisy, clean = _images(2, 32)
    plain = denoising_pgd(dncnn, noisy, clean, steps=2)
    weights = {k: v.clone() for k, v in dncnn.state_dict().items()}
    fast = denoising_pgd(dncnn, noisy, clean, steps=2, speed="channels_last")
    assert fast.is_contiguous() and (fast != plain).float().mean() < 0.01  # a gradient sign flips here and there
    assert all(torch.equal(v, dncnn.state_dict()[k]) and dncnn.state_dict()[k].is_contiguous()
               for k, v in weights.items())
    close = evaluation.denoise(dncnn, noisy, speed="channels_last")
    assert torch.allclose(close, evaluation.denoise(dncnn, noisy), atol=1e-5)
    if torch.ops.mkldnn._is_mkldnn_bf16_supported():
        half = evaluation.denoised_psnr(dncnn, noisy, clean, speed="bf16")
        assert abs(half - evaluation.denoised_psnr(dncnn, noisy, clean)).max() < 0.1


class HostTrips:
    """Counts the calls that bring a tensor's values to the host (a synchronization on a GPU)."""

    NAMES = ("item", "tolist", "cpu", "numpy", "__bool__", "__float__", "__int__", "nonzero")

    def __init__(self, monkeypatch):
        self.count = 0
        for name in self.NAMES:
            original = getattr(torch.Tensor, name)

            def counted(*args, _original=original, **kwargs):
                self.count += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, counted)


def test_round_trips_once_per_batch_and_none_inside_the_attack_loop(dncnn, monkeypatch):
    noisy, clean = _images(3, 16)
    evaluation.denoise(dncnn, noisy, speed="chunk=1")
    trips = HostTrips(monkeypatch)
    evaluation.denoise(dncnn, noisy, speed="chunk=1")
    assert trips.count == 1  # the range check: min and max in one transfer
    trips.count = 0
    from companion.attacks import engine
    engine.losses(dncnn, noisy, clean)
    assert trips.count == 0
    noisy[0, 0, 1, 2] = float("nan")
    with pytest.raises(ValueError, match="non-finite.*index \\(0, 0, 1, 2\\)"):  # the check's meaning kept
        evaluation.denoise(dncnn, noisy)


def test_dag_checks_the_stopping_rule_rarely_and_stops_where_it_did(monkeypatch):
    identity = torch.nn.Identity()
    clean, target = torch.full((1, 1, 4, 4), 0.5), torch.full((1, 1, 4, 4), 0.55)
    # each step adds gamma / sqrt(16) = 0.006 per value: after 2 steps the gap 0.038 is within 0.04
    settings = dict(gamma=0.024, tolerance=0.04, per="value")
    adv, trace = dag_trace(identity, clean, target, steps=40, **settings)
    assert trace["active"].shape == (3, 1) and trace["active"][-1].item() == 0 and trace["active"][1].item() == 1
    assert torch.allclose(adv, torch.full_like(adv, 0.512), atol=1e-6)
    short, trace = dag_trace(identity, clean, target, steps=2, **settings)
    assert torch.equal(short, adv) and trace["active"].shape == (2, 1)
    trips = HostTrips(monkeypatch)
    _, trace = dag_trace(identity, clean, torch.full((1, 1, 4, 4), 0.9), steps=40, **settings)
    assert trace["active"].shape == (40, 1) and (trace["active"] == 1).all()
    assert trips.count < 20  # 40 steps: one check per dag.CHECK_EVERY steps, not three round trips per step


@pytest.mark.parametrize("sigma", [25.0, (0.0, 55.0)])
def test_training_noise_is_drawn_where_the_batch_is_with_the_bits_of_the_cpu_generator(sigma, monkeypatch):
    clean = torch.rand(4, 1, 8, 8)
    cfg = train.TrainConfig(sigma=sigma, seed=3)
    g = torch.Generator().manual_seed(3 * 1_000_003 + 7)  # the draw of every earlier version
    level = sigma[0] + (sigma[1] - sigma[0]) * torch.rand(4, generator=g) if isinstance(sigma, tuple) \
        else torch.full((4,), sigma)
    expected = clean + torch.randn(clean.shape, generator=g) * (level / 255).view(-1, 1, 1, 1)
    trips = HostTrips(monkeypatch)
    noisy, target, told = train.noisy_batch(clean, cfg, 7)
    assert trips.count == 0 and torch.equal(noisy, expected) and torch.equal(told, level) and target is clean
    if torch.cuda.is_available():
        on_gpu = train.noisy_batch(clean.cuda(), cfg, 7)[0]
        assert on_gpu.is_cuda and torch.equal(on_gpu, train.noisy_batch(clean.cuda(), cfg, 7)[0])


def test_kernel_environment_names_the_threads_and_restores(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    assert reproduce.default_threads() == 3 and reproduce.default_jobs() == 2
    with reproduce.kernel_environment(1, "chunk=1"):
        seen = subprocess.run([sys.executable, "-c", "import os, torch; print(torch.get_num_threads(), "
                               "os.environ['COMPANION_SPEED'])"], capture_output=True, text=True, check=True)
    assert seen.stdout.split() == ["1", "chunk=1"]
    assert os.environ["OMP_NUM_THREADS"] == "3" and "MKL_NUM_THREADS" not in os.environ
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert reproduce.default_jobs() == 1
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert reproduce.default_threads() == len(os.sched_getaffinity(0))
    with pytest.raises(ValueError, match="whole number threads >= 1"):
        reproduce.run(threads=0, progress=False)


def test_reproduce_gives_its_kernels_the_threads_and_the_speed(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    nbs = tmp_path / "notebooks"
    nbs.mkdir()
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell('profile = "quick"\ndevice = "cpu"\noutput_dir = "."')
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, nbformat.v4.new_code_cell(
        "import json, os, torch\nfrom companion import evaluation, report\n"
        "seen = {'threads': torch.get_num_threads(), 'speed': str(evaluation.current_speed())}\n"
        "open(os.path.join(output_dir, 'seen.json'), 'w').write(json.dumps(seen))\n"
        "report.Results('01_seen', output_dir, {}).save()")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbs / "01_seen.ipynb")
    out = tmp_path / "out"
    info = reproduce.run(folder=nbs, output=out, progress=False, threads=1, speed="chunk=2,channels_last")
    assert info["notebooks"]["01_seen"]["status"] == "done", info
    assert json.loads((out / "seen.json").read_text()) == {"threads": 1, "speed": "chunk=2,channels_last"}
    recorded = json.loads((out / "run.json").read_text())
    assert recorded["threads"] == 1 and recorded["speed"] == "chunk=2,channels_last"
    assert json.loads((out / "01_seen.state.json").read_text())["speed"] == "chunk=2,channels_last"
    assert os.environ["OMP_NUM_THREADS"] == "2" and evaluation.SPEED_ENV not in os.environ
    alone = reproduce.run(folder=nbs, output=tmp_path / "alone", progress=False)  # 1 notebook: 1 job, both threads
    assert json.loads((tmp_path / "alone" / "seen.json").read_text())["threads"] == 2
    assert (alone["notebooks"]["01_seen"]["status"], json.loads((tmp_path / "alone" / "run.json").read_text())["jobs"]) \
        == ("done", 1)
