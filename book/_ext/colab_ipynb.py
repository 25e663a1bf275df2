"""Point the book's Colab button at the executed .ipynb that the site publishes.

Colab cannot open a Jupytext .md notebook, and sphinx-book-theme links Colab to the page's
source file in the repository. The build writes each executed notebook to
``_sources/<page>.ipynb``; published with the site to the ``gh-pages`` branch (``ghp-import``),
Colab opens it from there, and its first cell installs the package.
"""

from __future__ import annotations


def _rewrite(app, pagename, templatename, context, doctree) -> None:
    branch = app.config.colab_branch
    for group in context.get("header_buttons", []):
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if button.get("text") == "Colab" and url.endswith((".md", ".ipynb")):
                prefix = url.split("/blob/")[0]
                button["url"] = f"{prefix}/blob/{branch}/_sources/{pagename}.ipynb"


def setup(app):
    app.add_config_value("colab_branch", "gh-pages", "html")
    # After sphinx-book-theme has added its launch buttons (priority 501).
    app.connect("html-page-context", _rewrite, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
