import subprocess
import sys
import textwrap

BLOCK = ["torch", "mlx", "sklearn", "scipy", "matplotlib", "click", "tqdm", "safetensors", "hypothesis"]


def test_import_handgrad_and_train_with_numpy_alone():
    code = textwrap.dedent(f"""
        import sys
        for name in {BLOCK!r}:
            sys.modules[name] = None          # any import of these now fails
        import numpy as np
        import handgrad as hg
        from handgrad.data import make_blobs
        X, y = make_blobs(seed=0)
        m = hg.MLP([4, 16, 3], ["gelu", "softmax"], seed=0)     # GELU's erf without SciPy
        losses = m.fit(X, y, epochs=30, learning_rate=0.05, batch_size=32, progress=True)
        assert losses[-1] < losses[0] and m.score(X, y) > 0.9
        g = hg.gradcheck(hg.MLP([3, 4, 2], ["gelu", "softmax"], dtype=np.float64, seed=0),
                         np.random.default_rng(0).standard_normal((4, 3)), np.array([0, 1, 1, 0]))
        assert g.passed
        print("ok", sorted(k for k in {BLOCK!r} if sys.modules.get(k) is not None))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("ok []")          # (epoch lines printed without tqdm)


def test_twins_say_which_extra_to_install():
    code = textwrap.dedent("""
        import sys
        sys.modules["torch"] = None
        sys.modules["mlx"] = None
        for mod in ("handgrad.twins.torch_mlp", "handgrad.twins.mlx_mlp"):
            try:
                __import__(mod)
            except ImportError as e:
                print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "handgrad[torch]" in out and "handgrad[mlx]" in out
