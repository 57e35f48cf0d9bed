"""Training speed of the playground's two engines on the default network (XOR, 2 → 4 → 2 → 2,
tanh, SGD, batch size 10): handgrad's NumPy, as the server runs it, against handgrad's
JavaScript twin in headless Chromium, as the exported page runs it.

    python benchmarks/playground_speed.py            # 5 rounds of each
    python benchmarks/playground_speed.py --rounds 9

Two measures, each the median over rounds that interleave the engines (A B, A B, …) so a
slow moment on a shared machine hurts both alike:

- the engine alone: mini-batches per second of ``Session.advance`` (NumPy, in this
  process) and of the page's own ``HG.local.Session`` (the twin, timed in the page);
- as the page plays at full speed (500 mini-batches a frame, at most 0.1 s of training and
  30 frames a second): the steps counted by the page over a few seconds, with the server
  (its socket, its frames) and from the exported page opened at a file:// URL.

Needs Playwright, Chromium and the playground extra.
"""

import statistics
import tempfile
import time
from pathlib import Path

import click

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu"]


def numpy_steps_per_second(steps):
    from handgrad.playground.config import check_setup
    from handgrad.playground.session import Session
    s = Session(check_setup({}))
    start = time.perf_counter()
    s.advance(steps, seconds=float("inf"))
    return steps / (time.perf_counter() - start)


def twin_steps_per_second(page, steps):
    return page.evaluate("""n => {
        const setup = HG.local.checkSetup(HG.STATIC.options.defaults);
        const s = new HG.local.Session(setup, null), t0 = performance.now();
        s.advance(n, 1e9);
        return n / ((performance.now() - t0) / 1000); }""", steps)


def playing_steps_per_second(page, url, seconds):
    page.goto(url + "#view=playground&speed=500")
    page.wait_for_function("HG.views.playground.state.frame !== null")
    page.click("#pg-play")
    page.wait_for_function("HG.views.playground.state.frame.step > 0")
    first = page.evaluate("HG.views.playground.state.frame.step")
    start = time.perf_counter()
    page.wait_for_timeout(seconds * 1000)
    last = page.evaluate("HG.views.playground.state.frame.step")
    elapsed = time.perf_counter() - start
    page.click("#pg-play")
    return (last - first) / elapsed


@click.command()
@click.option("--rounds", default=5, show_default=True, type=click.IntRange(1))
@click.option("--steps", default=4000, show_default=True, type=click.IntRange(1),
              help="Mini-batches per engine-alone measurement.")
@click.option("--seconds", default=3, show_default=True, type=click.IntRange(1),
              help="Seconds of play per as-the-page-plays measurement.")
def main(rounds, steps, seconds):
    from playwright.sync_api import sync_playwright

    from handgrad.playground import export_static
    from handgrad.playground.server import Background

    site = export_static(Path(tempfile.mkdtemp()) / "site")
    static_url = (site / "index.html").as_uri()
    results = {"numpy alone": [], "twin alone": [], "server playing": [], "static page playing": []}
    with Background() as server_url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page()
        page.goto(static_url + "#view=graph")
        page.wait_for_function("HG.local !== undefined")
        for r in range(rounds):
            results["numpy alone"].append(numpy_steps_per_second(steps))
            results["twin alone"].append(twin_steps_per_second(page, steps))
            results["server playing"].append(playing_steps_per_second(page, server_url, seconds))
            results["static page playing"].append(playing_steps_per_second(page, static_url, seconds))
            click.echo(f"round {r + 1}: " + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in results.items()))
        browser.close()
    median = {k: statistics.median(v) for k, v in results.items()}
    click.echo(f"\nmini-batches per second, median of {rounds} rounds:")
    for k, v in median.items():
        click.echo(f"  {k:<22} {v:>10,.0f}")
    click.echo(f"\nthe twin alone runs {median['twin alone'] / median['numpy alone']:.2f}x as many "
               f"steps a second as handgrad's NumPy alone;")
    click.echo(f"the exported page plays {median['static page playing'] / median['server playing']:.2f}x "
               "as many steps a second as the page served by handgrad playground.")


if __name__ == "__main__":
    main()
