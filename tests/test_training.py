import multiprocessing
import os
import pickle
import signal
import time

import numpy as np
import pytest

import handgrad as hg
from handgrad.data import make_blobs, make_spiral
from handgrad.io import load_checkpoint, load_model, load_tensors, save_checkpoint, save_tensors
from handgrad.twins import TWINS


@pytest.fixture
def blobs():
    X, y = make_blobs(400, seed=0)
    return X[:300], y[:300], X[300:], y[300:]


def test_history_records_everything(blobs):
    X, y, Xv, yv = blobs
    model = hg.MLP([4, 16, 3], seed=0)
    model.fit(X, y, epochs=3, batch_size=32, validation_data=(Xv, yv))
    rows = model.history_.rows
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert set(rows[0]) >= {"train_loss", "val_loss", "val_accuracy", "lr", "grad_norm", "seconds"}
    assert rows[-1]["val_accuracy"] > 0.8 and rows[-1]["grad_norm"] > 0


def test_a_diverging_learning_rate_stops_with_step_lr_and_hint_and_keeps_good_weights(blobs, tmp_path):
    X, y, Xv, yv = blobs
    model = hg.MLP([4, 64, 64, 3], seed=0)
    ckpt = tmp_path / "run.safetensors"
    opt = hg.SGD(0.01)
    model.fit(X, y, epochs=2, batch_size=32, optimizer=opt, checkpoint=ckpt)
    good = model.state_dict()
    on_disk = ckpt.read_bytes()
    opt.lr = 1e4
    with pytest.raises(hg.DivergenceError, match=r"at step \d+ \(epoch 3\) with learning rate 10000.*"
                       r"Hint: lower the learning rate") as stopped:
        model.fit(X * 100, y, epochs=5, batch_size=32, optimizer=opt, checkpoint=ckpt,
                  history=model.history_)
    e = stopped.value
    assert (e.epoch, e.lr) == (3, 1e4) and f"at step {e.step} (epoch 3)" in str(e)
    again = pickle.loads(pickle.dumps(e))               # a worker process hands it on whole
    assert (again.step, again.lr, again.epoch, str(again)) == (e.step, e.lr, e.epoch, str(e))
    assert all(np.array_equal(good[k], v) for k, v in model.state_dict().items())
    assert ckpt.read_bytes() == on_disk                 # the last checkpoint is untouched
    assert all(np.isfinite(p).all() for p in model.params.values())


def test_early_stopping_restores_the_best_weights(blobs):
    X, y, Xv, yv = blobs
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 3, len(y))                  # labels it can only memorize
    model = hg.MLP([4, 256, 256, 3], seed=0)
    model.fit(X, noisy, epochs=200, batch_size=16, optimizer=hg.Adam(1e-2),
              validation_data=(Xv, yv), early_stopping=3)
    h = model.history_
    assert h.stopped_early and len(h) < 200
    best = h.best_epoch("val_loss")
    assert len(h) == best + 3
    assert model.evaluate(Xv, yv)["loss"] == pytest.approx(h[best - 1]["val_loss"], rel=1e-5)


def _run(total_epochs, ckpt, stop_after=None):
    """Train a dropout + Adam + cosine model; with stop_after, Ctrl-C lands mid-epoch."""
    X, y = make_spiral(80, 3, seed=0)
    model = hg.MLP([2, 32, 32, 3], seed=7, dropout=0.1)
    opt = hg.Adam(1e-2)
    sched = hg.Cosine(1e-2, total_steps=total_epochs * 8)
    if stop_after is not None:
        calls = {"n": 0}
        original = model.loss_and_grad

        def interrupting(xb, yb, training=True):
            calls["n"] += 1
            if calls["n"] == stop_after:
                raise KeyboardInterrupt
            return original(xb, yb, training)
        model.loss_and_grad = interrupting
    history = model.fit(X, y, epochs=total_epochs, batch_size=32, optimizer=opt, schedule=sched,
                        checkpoint=ckpt)
    return model, model.history_, history


def test_ctrl_c_saves_a_checkpoint_and_resuming_gives_the_uninterrupted_run(tmp_path):
    full, full_hist, _ = _run(6, tmp_path / "full.safetensors")
    ckpt = tmp_path / "cut.safetensors"
    cut, cut_hist, _ = _run(6, ckpt, stop_after=8 * 3 + 5)      # during epoch 4
    assert cut_hist.interrupted and len(cut_hist) == 3
    saved = load_checkpoint(ckpt)
    assert len(saved.history()) == 3 and saved.optimizer().t == 24
    # resume: a fresh process would do exactly this
    model = saved.model()
    opt = saved.optimizer()
    X, y = make_spiral(80, 3, seed=0)
    model.fit(X, y, epochs=6, batch_size=32, optimizer=opt, schedule=saved.schedule(),
              history=saved.history())
    assert len(model.history_) == len(full_hist) == 6
    for a, b in zip(model.history_.rows, full_hist.rows):
        assert a["train_loss"] == b["train_loss"] and a["lr"] == b["lr"]
    for k, v in full.state_dict().items():
        assert np.array_equal(model.state_dict()[k], v), k


def test_checkpoint_holds_weights_optimizer_rng_history_and_spec(tmp_path, blobs):
    X, y, *_ = blobs
    model = hg.MLP([4, 8, 3], seed=0, norm="batch")
    opt = hg.SGD(0.1, momentum=0.9)
    model.fit(X, y, epochs=2, batch_size=50, optimizer=opt, checkpoint=tmp_path / "c.safetensors")
    tensors, meta = load_tensors(tmp_path / "c.safetensors")
    assert "layers.0.norm.running_mean" in tensors and "optimizer.layers.0.weight.velocity" in tensors
    assert {"spec", "optimizer", "history", "rng"} <= set(meta)
    ckpt = load_checkpoint(tmp_path / "c.safetensors")
    again = ckpt.model()
    assert again.spec == model.spec
    assert again.rng.bit_generator.state == model.rng.bit_generator.state
    assert np.array_equal(again.predict_proba(X), model.predict_proba(X))


def test_bad_checkpoints_give_clear_errors(tmp_path):
    model = hg.MLP([4, 8, 3], seed=0)
    path = tmp_path / "m.safetensors"
    save_checkpoint(path, model)
    tensors, meta = load_tensors(path)
    missing = dict(tensors)
    missing.pop("layers.1.bias")
    save_tensors(tmp_path / "missing.safetensors", missing, meta)
    with pytest.raises(ValueError, match=r"missing keys: layers\.1\.bias"):
        load_model(tmp_path / "missing.safetensors")
    misshapen = dict(tensors, **{"layers.0.weight": np.zeros((8, 5), np.float32)})
    save_tensors(tmp_path / "shape.safetensors", misshapen, meta)
    with pytest.raises(ValueError, match=r"layers.0.weight: expected \(8, 4\), got \(8, 5\)"):
        load_model(tmp_path / "shape.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"PK\x03\x04 this is a zip, not safetensors")
    with pytest.raises(ValueError, match=r"is not a readable checkpoint \(a .safetensors file\)"):
        load_model(tmp_path / "junk.safetensors")
    import pickle
    (tmp_path / "pickle.safetensors").write_bytes(pickle.dumps(model.state_dict()))
    with pytest.raises(ValueError, match=r"is not a readable checkpoint \(a .safetensors file\)"):
        load_model(tmp_path / "pickle.safetensors")
    save_tensors(tmp_path / "nospec.safetensors", tensors)
    with pytest.raises(ValueError, match="no handgrad spec"):
        load_model(tmp_path / "nospec.safetensors")
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "absent.safetensors")


def _keep_saving(path, ready):
    big = hg.MLP([784, 2048, 2048, 10], seed=1)
    ready.set()
    while True:
        save_checkpoint(path, big)


@pytest.mark.slow
def test_a_save_killed_midway_leaves_the_previous_checkpoint_whole(tmp_path):
    path = tmp_path / "c.safetensors"
    small = hg.MLP([4, 8, 3], seed=0)
    save_checkpoint(path, small)
    expected = small.state_dict()
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_keep_saving, args=(path, ready))
    proc.start()
    ready.wait(30)
    time.sleep(0.3)                                     # somewhere inside a write of ~20 MB
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    state = load_checkpoint(path).state                 # whichever file is there is whole:
    big = hg.MLP([784, 2048, 2048, 10], seed=1).state_dict()   # the old one or a finished new one
    reference = expected if set(state) == set(expected) else big
    assert all(np.array_equal(state[k], v) for k, v in reference.items())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "c.safetensors"]
    assert all(name.endswith(".tmp") for name in leftovers)   # only an abandoned temporary


def test_a_save_that_fails_midway_removes_its_temporary_and_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, hg.MLP([4, 8, 3], seed=0))
    before = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, hg.MLP([4, 8, 3], seed=1))
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_labels_beyond_the_classes_lose_nothing(tmp_path, blobs):
    X, y, *_ = blobs
    model = hg.MLP([4, 8, 3], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, 3\)"):
        model.fit(X, np.where(y == 2, 5, y), epochs=1, checkpoint=tmp_path / "c.safetensors")
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert not (tmp_path / "c.safetensors").exists()


@pytest.mark.parametrize("backend", list(TWINS))
def test_the_loop_drives_each_twin_like_numpy(backend):
    pytest.importorskip({"torch": "torch", "mlx": "mlx.core"}[backend],
                        reason=f"{backend} is not installed")
    from handgrad.twins import trainable
    X, y = make_blobs(300, seed=0)
    ref = hg.MLP([4, 16, 3], seed=0)
    twin, opt = trainable(backend, ref, hg.SGD(0.05, momentum=0.9))
    h = hg.train(twin, X, y, epochs=4, optimizer=opt, batch_size=32, validation_data=(X, y))
    plain, plain_opt = hg.MLP([4, 16, 3], seed=0), hg.SGD(0.05, momentum=0.9)
    h2 = hg.train(plain, X, y, epochs=4, optimizer=plain_opt, batch_size=32, validation_data=(X, y))
    assert len(h) == len(h2) == 4
    assert np.allclose(h.column("train_loss"), h2.column("train_loss"), rtol=1e-4)
    assert np.allclose(twin.predict_proba(X), plain.predict_proba(X), atol=1e-5)
    sd, expected = opt.state_dict(), plain_opt.state_dict()
    assert sd["t"] == expected["t"] == 40 and sd["type"] == expected["type"]
    assert sorted(sd["state"]) == sorted(expected["state"])
    for name, slots in expected["state"].items():               # the velocities, in NumPy's names
        assert set(sd["state"][name]) == {"velocity"}
        assert np.allclose(sd["state"][name]["velocity"], slots["velocity"], rtol=1e-5, atol=1e-6), name
    numpy_opt = hg.optim.optimizer_from_state(sd)               # moves to the NumPy optimizer
    assert numpy_opt.t == 40 and type(numpy_opt) is hg.SGD
    assert numpy_opt.lr == pytest.approx(0.05) and numpy_opt.momentum == pytest.approx(0.9)
    _, fresh = trainable(backend, hg.MLP([4, 16, 3], seed=1), hg.SGD(0.05, momentum=0.9))
    fresh.load_state_dict(sd)                                    # and back into a new twin optimizer
    again = fresh.state_dict()
    assert again["t"] == 40
    assert all(np.array_equal(again["state"][k]["velocity"], v["velocity"]) for k, v in sd["state"].items())


def test_ctrl_c_after_an_epochs_row_was_written_keeps_history_and_weights_together(tmp_path):
    X, y = make_spiral(60, 3, seed=0)
    model = hg.MLP([2, 16, 3], seed=0)
    after_one = {}

    def callback(m, history):
        if len(history) == 1:
            after_one.update(m.state_dict())
        if len(history) == 2:
            raise KeyboardInterrupt                       # epoch 2's row is already written
    history = hg.train(model, X, y, epochs=5, batch_size=30, callbacks=[callback],
                       checkpoint=tmp_path / "c.safetensors")
    assert history.interrupted and len(history) == 1
    saved = load_checkpoint(tmp_path / "c.safetensors")
    assert len(saved.history()) == 1
    assert all(np.array_equal(saved.state[k], v) for k, v in after_one.items())


def test_a_later_save_removes_what_a_killed_save_left_behind(tmp_path):
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, hg.MLP([4, 8, 3], seed=0))
    abandoned = tmp_path / ".c.safetensors.k1ll3d.tmp"          # as a killed writer leaves it
    abandoned.write_bytes(b"half a checkpoint")
    os.utime(abandoned, (time.time() - 60, time.time() - 60))
    other = tmp_path / ".other.safetensors.k1ll3d.tmp"           # another file's: not ours
    other.write_bytes(b"x")
    os.utime(other, (time.time() - 60, time.time() - 60))
    save_checkpoint(path, hg.MLP([4, 8, 3], seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, path.name]


@pytest.mark.parametrize("n, expected_steps", [(17, 1), (18, 2)])
def test_a_last_single_row_joins_the_batch_before_it_under_batchnorm(n, expected_steps):
    X, y = make_blobs(n_samples=n, seed=0)
    model = hg.MLP([4, 8, 3], norm="batch", seed=0)
    model.fit(X, y, epochs=2, batch_size=16, optimizer=hg.optim.SGD(0.1))
    history = model.history_
    assert len(history) == 2 and np.isfinite(history.column("train_loss")).all()
    assert model.layers[0].norm.buffers["num_batches_tracked"] == 2 * expected_steps
    plain, sgd = hg.MLP([4, 8, 3], seed=0), hg.optim.SGD(0.1)   # without BatchNorm: as cut
    plain.fit(X, y, epochs=1, batch_size=16, optimizer=sgd)
    assert sgd.t == 2
