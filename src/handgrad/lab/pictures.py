"""Drawing helpers the experiments share (matplotlib, passed in as ``plt``)."""

import numpy as np

CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"]


def boundary(ax, model, X, y, title="", margin=0.25, n=200, size=7):
    """The model's predicted class over the plane, shaded, with the data points on top."""
    from matplotlib.colors import ListedColormap
    (x0, y0), (x1, y1) = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
    grid = np.c_[gx.ravel(), gy.ravel()].astype(model.dtype)         # (n², 2)
    with np.errstate(all="ignore"):
        pred = model.predict(grid).reshape(gx.shape)                  # (n, n)
    k = max(int(np.max(y)) + 1, 2)
    cmap = ListedColormap(CLASS_COLORS[:k])
    ax.contourf(gx, gy, pred, levels=np.arange(k + 1) - 0.5, cmap=cmap, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=k - 0.5, s=size,
               edgecolors="none")
    ax.set(xticks=[], yticks=[], title=title)
    ax.grid(False)

