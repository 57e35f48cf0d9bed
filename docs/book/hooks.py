"""MkDocs hooks: the book's pages that live outside docs/book.

- ``notebooks/*.ipynb`` are the lessons, in the order of their names;
- everything in ``docs/lab/`` (the lab's report, its pictures and data) becomes ``lab/``;
- ``docs/playground/`` (the playground's screenshots) and the playground's static export
  (``handgrad playground --export``, written fresh at every build) become ``playground/``;
- the exercises page lists every exercise of ``handgrad learn`` from its registry;
- every public module of the package gets an API page (``api/<module>.md``) rendered by
  mkdocstrings from its docstrings.

The nav in mkdocs.yml names the first page of the "Lessons" and "API reference" sections; the
lessons and the API pages found here are added after it, so a new notebook or module needs no edit.
"""

import shutil
import tempfile
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "handgrad"
NOT_API = {"cli", "__main__"}          # the command line is documented by its own --help
_export_dirs: list[str] = []


def notebooks():
    return sorted((ROOT / "notebooks").glob("*.ipynb"))


def public_modules():
    """The package's modules and subpackages whose names do not start with an underscore."""
    names = []
    for path in sorted(PACKAGE.iterdir()):
        name = path.stem if path.suffix == ".py" else path.name
        is_module = path.suffix == ".py" or (path / "__init__.py").is_file()
        if is_module and not name.startswith("_") and name not in NOT_API:
            names.append(name)
    return names


def on_config(config):
    for section in config["nav"]:
        if "Lessons" in section:
            section["Lessons"] = section["Lessons"][:1] + [f"notebooks/{p.name}" for p in notebooks()]
        if "API reference" in section:
            section["API reference"] = (section["API reference"][:1]
                                        + [{f"handgrad.{m}": f"api/{m}.md"} for m in public_modules()])
    return config


def _add_folder(files, config, folder, prefix):
    for path in sorted(folder.rglob("*")):
        if path.suffix == ".html" and path.with_suffix(".md").is_file():
            continue            # report.html beside report.md: the book renders the .md to that name
        if path.is_file() and "__pycache__" not in path.parts:
            uri = f"{prefix}/{path.relative_to(folder).as_posix()}"
            files.append(File.generated(config, uri, abs_src_path=str(path)))


@event_priority(100)        # before mkdocs-jupyter's on_files, which claims the notebooks
def on_files(files, config):
    for path in notebooks():      # a plain File: mkdocs-jupyter cannot wrap a generated one
        files.append(File(f"notebooks/{path.name}", src_dir=str(ROOT), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    _add_folder(files, config, ROOT / "docs" / "lab", "lab")
    _add_folder(files, config, ROOT / "docs" / "playground", "playground")

    from handgrad.playground.export import export_static
    export = tempfile.mkdtemp(prefix="handgrad-playground-")
    _export_dirs.append(export)
    export_static(export)
    _add_folder(files, config, Path(export), "playground/app")

    for name in public_modules():
        page = f"# `handgrad.{name}`\n\n::: handgrad.{name}\n    options:\n      show_root_heading: false\n"
        files.append(File.generated(config, f"api/{name}.md", content=page))
    return files


def exercise_table():
    """Markdown: every exercise of handgrad learn, by lesson, with its id and title."""
    from handgrad.learn.exercises import all_exercises
    rows = ["| # | id | exercise | lesson, section |", "|---|---|---|---|"]
    for ex in all_exercises():
        rows.append(f"| {ex.number} | `{ex.id}` | {ex.title} | {ex.lesson.title}, {ex.section} |")
    return "\n".join(rows)


def on_page_markdown(markdown, page, config, files):
    if page.file.src_uri == "exercises.md":
        start, end = markdown.index("<!-- exercises -->"), markdown.index("<!-- /exercises -->")
        markdown = markdown[:start] + exercise_table() + "\n" + markdown[end:]
    return markdown


def on_post_build(config):
    while _export_dirs:
        shutil.rmtree(_export_dirs.pop(), ignore_errors=True)
