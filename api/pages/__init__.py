"""The public pages (一公开) and the discipline dashboard, rendered on the server (DESIGN.md C5-C8).

No front-end build step, no CDN, no JavaScript needed: Jinja2 templates
(``templates/``), one stylesheet (``static/style.css``) and inline SVG charts
drawn here (:mod:`api.pages.charts`).  The modules:

- :mod:`api.pages.data`: :class:`~api.pages.data.PageData`, the projections the
  pages read (register, cases, compliance, fairness and a small public fold of
  draws and case records), folded in memory up to the latest checkpoint, and
  the Beijing-time and label helpers;
- :mod:`api.pages.views`: what each page shows, as plain dicts for the templates;
- :mod:`api.pages.results`: the 抽查结果公示 rows and their CSV / XLSX downloads;
- :mod:`api.pages.charts`: server-rendered SVG bar charts;
- :mod:`api.pages.auth`: the discipline login (signed challenge) and session cookie.

The routes are in :mod:`api.routes.pages`.
"""
