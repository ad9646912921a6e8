"""Site placeholders in task URLs and the base URLs they stand for.

Task URLs may hold ``__KEY__`` placeholders: ``__SHOP__``, ``__FORUM__``, ``__WIKI__``,
``__ADMIN__`` for the local sites, and WebArena's (``__SHOPPING__``, ``__REDDIT__``, ...) for a
WebArena deployment, whose base URLs come from environment variables:

=========================  ==================================  ======================
placeholder                environment variable                WebArena's default port
=========================  ==================================  ======================
``__SHOPPING__``           ``PONDER_WEBARENA_SHOPPING``        7770
``__SHOPPING_ADMIN__``     ``PONDER_WEBARENA_SHOPPING_ADMIN``  7780 (``/admin``)
``__REDDIT__``             ``PONDER_WEBARENA_REDDIT``          9999
``__GITLAB__``             ``PONDER_WEBARENA_GITLAB``          8023
``__WIKIPEDIA__``          ``PONDER_WEBARENA_WIKIPEDIA``       8888
``__MAP__``                ``PONDER_WEBARENA_MAP``             3000
``__HOMEPAGE__``           ``PONDER_WEBARENA_HOMEPAGE``        4399
=========================  ==================================  ======================

``PONDER_WEBARENA_HOST`` (e.g. ``http://10.0.0.5``) fills in any variable left unset with
WebArena's default port on that host.

This module imports nothing else from :mod:`ponder.environments`, so the task loader
(:mod:`~ponder.environments.tasks`) and WebArena's loader (:mod:`~ponder.environments.webarena`)
both build on it without importing each other.
"""

from __future__ import annotations

import os
import re

from ponder.errors import ConfigError

__all__ = ["DEFAULT_PORTS", "ENV_VARS", "PLACEHOLDER", "PLACEHOLDERS", "base_urls_from_env", "resolve_url"]

#: a site placeholder: ``__SHOP__``, ``__SHOPPING_ADMIN__`` (group 1 is the key, upper case)
PLACEHOLDER = re.compile(r"__([A-Z][A-Z0-9_]*[A-Z0-9])__")
#: WebArena site key (the placeholder without underscores, lower case) -> environment variable
ENV_VARS = {
    "shopping": "PONDER_WEBARENA_SHOPPING",
    "shopping_admin": "PONDER_WEBARENA_SHOPPING_ADMIN",
    "reddit": "PONDER_WEBARENA_REDDIT",
    "gitlab": "PONDER_WEBARENA_GITLAB",
    "wikipedia": "PONDER_WEBARENA_WIKIPEDIA",
    "map": "PONDER_WEBARENA_MAP",
    "homepage": "PONDER_WEBARENA_HOMEPAGE",
}
#: WebArena site key -> the port (and path) of its default deployment
DEFAULT_PORTS = {
    "shopping": ":7770", "shopping_admin": ":7780/admin", "reddit": ":9999", "gitlab": ":8023",
    "wikipedia": ":8888/wikipedia_en_all_maxi_2022-05/A", "map": ":3000", "homepage": ":4399",
}
#: WebArena placeholder -> site key
PLACEHOLDERS = {f"__{key.upper()}__": key for key in ENV_VARS}


def base_urls_from_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The WebArena base URLs configured in the environment (site key -> URL); sites with no
    variable (and no ``PONDER_WEBARENA_HOST``) are left out."""
    env = os.environ if environ is None else environ
    host = env.get("PONDER_WEBARENA_HOST", "").rstrip("/")
    urls = {}
    for key, var in ENV_VARS.items():
        value = env.get(var, "").strip()
        if not value and host:
            value = host + DEFAULT_PORTS[key]
        if value:
            urls[key] = value.rstrip("/")
    return urls


def resolve_url(url: str, base_urls: dict[str, str]) -> str:
    """Replace site placeholders with base URLs: ``__SHOP__`` with ``base_urls["shop"]``,
    ``__SHOPPING_ADMIN__`` with ``base_urls["shopping_admin"]`` and so on.

    Raises:
        ConfigError: the URL holds a placeholder no base URL is given for.
    """
    if "__" not in url:
        return url

    def sub(m: re.Match) -> str:
        key = m.group(1).lower()
        if key in base_urls and base_urls[key]:
            return base_urls[key].rstrip("/")
        hint = (f"set {ENV_VARS[key]} to the site's base URL" if key in ENV_VARS
                else f"serve the site {key!r} (known here: {', '.join(sorted(base_urls)) or 'none'})")
        raise ConfigError(f"no base URL for the placeholder {m.group(0)} in {url!r}", hint=hint)

    return PLACEHOLDER.sub(sub, url)
