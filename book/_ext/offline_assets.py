"""A site that needs no network: MathJax served from the site, and a reveal.js deck per notebook.

- MathJax 3 comes from the PyPI package ``django-static-mathjax`` (installed by ``make book``)
  and is copied to ``_static/mathjax``; ``mathjax_path`` points there instead of a CDN.
- myst-nb would load require.js and the widget manager from CDNs for pages with widget state:
  the book shows no live widgets, so they are not loaded.
- Each executed notebook (``_sources/notebooks/<name>.ipynb``) becomes an offline reveal.js deck
  ``slides/<name>.slides.html`` (``lecture21.slides``), linked by a "Слайды" button on its page.
"""

from __future__ import annotations

from pathlib import Path

MATHJAX = "mathjax/tex-chtml.js"  # under _static
NOTEBOOK_PREFIX = "notebooks/"


def _configure(app, config) -> None:
    config.mathjax_path = MATHJAX
    config.nb_ipywidgets_js = {}
    # myst-nb's toggles of hidden cells, in the book's language.
    config.nb_code_prompt_show = "Показать скрытое"
    config.nb_code_prompt_hide = "Скрыть"


def _slides_button(app, pagename, templatename, context, doctree) -> None:
    if not pagename.startswith(NOTEBOOK_PREFIX) or "header_buttons" not in context:
        return
    deck = f"slides/{pagename.removeprefix(NOTEBOOK_PREFIX)}.slides.html"
    context["header_buttons"].append({
        "type": "link", "url": context["pathto"](deck, 1), "tooltip": "Слайды (reveal.js)",
        "icon": "fas fa-person-chalkboard", "label": "slides-button",
    })


def _write_assets(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import nbformat

    from lecture21 import slides

    out = Path(app.outdir)
    slides.copy_mathjax(out / "_static" / Path(MATHJAX).parent)
    for docname in sorted(app.env.found_docs):
        executed = out / "_sources" / f"{docname}.ipynb"
        if docname.startswith(NOTEBOOK_PREFIX) and executed.is_file():
            notebook = nbformat.read(executed, as_version=4)
            slides.write_deck(notebook, docname.removeprefix(NOTEBOOK_PREFIX), out / "slides")


def setup(app):
    app.connect("config-inited", _configure)
    app.connect("html-page-context", _slides_button, priority=900)
    app.connect("build-finished", _write_assets)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
