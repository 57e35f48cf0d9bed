"""The book (./run.sh docs): built with MkDocs from mkdocs.yml, then read in a real browser.

The build runs `mkdocs build` into a temporary folder. Playwright then drives Debian's headless
Chromium over a local HTTP server on 127.0.0.1 and visits every page reachable from the home page:
each must load (HTTP 200) with no console error and no uncaught JavaScript error, every image on
it must load, every link to another place in the book must resolve (the file exists and, for
`page.html#part`, the part exists on that page), and nothing may be fetched from anywhere else —
the book works offline. Skips, saying what to install, without the `docs` extra or Chromium.
"""

import functools
import importlib.util
import os
import subprocess
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _missing():
    for module in ("mkdocs", "material", "mkdocstrings", "mkdocs_jupyter"):
        if importlib.util.find_spec(module) is None:
            return f"building the book needs {module}: pip install 'handgrad[docs]'"
    return None


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if reason := _missing():
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("book") / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-f",
                             str(ROOT / "mkdocs.yml"), "-d", str(out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"mkdocs build failed:\n{result.stdout}{result.stderr}"
    return out


def test_the_book_has_every_part(site):
    """Home, every notebook, the lab's report, the exercises, the playground and its export, and
    an API page for every public module."""
    sys.path.insert(0, str(ROOT / "docs" / "book"))
    try:
        import hooks
    finally:
        sys.path.pop(0)
    expected = ["index.html", "notebooks/index.html", "lab/report.html", "exercises.html",
                "playground.html", "playground/app/index.html", "playground/app/static-data.js",
                "api/index.html"]
    expected += [f"notebooks/{p.stem}.html" for p in hooks.notebooks()]
    expected += [f"api/{name}.html" for name in hooks.public_modules()]
    assert not [p for p in expected if not (site / p).is_file()], "pages missing from the book"
    assert {"nn", "optim", "mlp", "train", "data", "check", "engine", "learn"} <= set(hooks.public_modules())
    # the exercises page lists handgrad learn's exercises, from its registry
    from handgrad.learn.exercises import all_exercises
    exercises = (site / "exercises.html").read_text(encoding="utf-8")
    assert all(f"<code>{ex.id}</code>" in exercises for ex in all_exercises())
    # the API pages are rendered from the docstrings, not left as directives
    mlp = (site / "api" / "mlp.html").read_text(encoding="utf-8")
    assert "backward" in mlp and ":::" not in mlp
    # the notebooks come with their outputs: pictures inline, printed numbers
    first = (site / "notebooks" / "01-mlp-by-hand.html").read_text(encoding="utf-8")
    assert "data:image/png;base64" in first and "parameters: 131" in first


@pytest.fixture(scope="module")
def server(site):
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def watch(page, name, problems, server):
    """Record the page's console errors, uncaught errors and failed requests to the book."""
    def console(message):
        if message.type == "error":
            problems.append(f"{name}: console: {message.text}")

    def failed(request):
        if urlparse(request.url).netloc == urlparse(server).netloc:
            problems.append(f"{name}: request failed: {request.url}")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(f"{name}: JavaScript error: {e}"))
    page.on("requestfailed", failed)


def test_every_page_loads_offline_with_no_error_and_every_link_and_image_resolves(site, server):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the browser test needs Playwright: pip install 'handgrad[test]'")
    from playwright.sync_api import sync_playwright

    problems, outside, ids, links = [], [], {}, []
    todo, seen = [f"{server}/index.html"], set()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()

        def route(r):
            if urlparse(r.request.url).netloc == urlparse(server).netloc or \
                    r.request.url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                outside.append(r.request.url)
                r.abort()

        context.route("**/*", route)
        while todo:
            url = todo.pop()
            if url in seen:
                continue
            seen.add(url)
            page = context.new_page()
            name = url[len(server):]
            watch(page, name, problems, server)
            response = page.goto(url, wait_until="load")
            if response is None or response.status != 200:
                problems.append(f"{name}: HTTP {response.status if response else 'no response'}")
                page.close()
                continue
            page.wait_for_timeout(200)                      # scripts that run after load
            broken = page.evaluate("""() => Array.from(document.images)
                .filter(i => !i.complete || i.naturalWidth === 0).map(i => i.currentSrc || i.src)""")
            problems += [f"{name}: image did not load: {src}" for src in broken]
            ids[url] = set(page.evaluate("() => Array.from(document.querySelectorAll('[id]'), e => e.id)"))
            for href in page.evaluate("() => Array.from(document.querySelectorAll('a[href]'), a => a.href)"):
                target, fragment = urldefrag(href)
                if not target.startswith(server):
                    continue
                links.append((name, target, fragment))
                if target.endswith(".html") and target not in seen:
                    todo.append(target)
            page.close()
        browser.close()

    for name, target, fragment in links:
        path = site / urlparse(target).path.lstrip("/")
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file():
            problems.append(f"{name}: link to a missing file: {target}")
        elif fragment and target in ids and fragment not in ids[target]:
            problems.append(f"{name}: link to a missing part: {target}#{fragment}")
    assert len(seen) >= 25, f"only {len(seen)} pages reached from the home page"
    assert not outside, f"the book fetched from outside (it must work offline): {sorted(set(outside))}"
    assert not problems, "\n".join(problems)
