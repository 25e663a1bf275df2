"""The site's interface in Russian: the strings the themes' own Russian catalogs lack.

``language: ru`` translates most of the interface, but sphinx-book-theme and
pydata-sphinx-theme leave some in English (the search field, the launch buttons' tooltips,
"Back to top", the colour mode). This extension compiles the translations below into a message
catalog in the build folder and adds it behind the themes' own catalogs, so it only fills what
they miss; the two sidebar buttons, whose tooltips the theme does not translate at all, are
overridden in ``book/_templates``. ``tests/test_browser.py`` checks the pages.
"""

from __future__ import annotations

from pathlib import Path

#: English interface string -> Russian. Keys are exactly the themes' msgids (the search field's
#: texts are theme options, set by ``_search_field``). The screen-reader labels "Main" and
#: "Page" are written into the theme's templates without translation: they stay English.
RUSSIAN = {
    "Search this book...": "Поиск по книге…",
    "Search the docs ...": "Поиск по книге…",
    "Launch on": "Открыть в",
    "Launch interactive content": "Запустить тетрадь",
    "Back to top": "Наверх",
    "logo": "логотип",
    "Color mode": "Цветовая тема",
    "System Settings": "Как в системе",
    "Version warning": "Предупреждение о версии",
}
#: The gettext domains the two themes translate with.
DOMAINS = ("sphinx", "booktheme")


def _add_catalogs(app) -> None:
    if (app.config.language or "").split("_")[0] != "ru":
        return
    from babel.messages.catalog import Catalog
    from babel.messages.mofile import write_mo
    from sphinx import locale

    folder = Path(app.doctreedir) / "ru_interface"
    (folder / "ru" / "LC_MESSAGES").mkdir(parents=True, exist_ok=True)
    for domain in DOMAINS:
        catalog = Catalog(locale="ru", domain=domain)
        for english, russian in RUSSIAN.items():
            catalog.add(english, russian)
        with open(folder / "ru" / "LC_MESSAGES" / f"{domain}.mo", "wb") as mo:
            write_mo(mo, catalog)
        # Chained behind the catalog already registered for the domain: only missing strings.
        locale.init([str(folder)], "ru", domain)


def _search_field(app, config) -> None:
    """jupyter-book sets the search field's text itself, in English, past any catalog."""
    options = config.html_theme_options
    if (config.language or "").startswith("ru") and options.get("search_bar_text") in RUSSIAN:
        options["search_bar_text"] = RUSSIAN[options["search_bar_text"]]


def setup(app):
    app.connect("config-inited", _search_field)
    app.connect("builder-inited", _add_catalogs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
