"""Clerical review in the browser: sample the uncertain pairs, label them, feed the labels
back into the linkage (see ``docs/review.md``).

:class:`~undercount.review.session.ReviewSession` reads a project's store and writes labels;
:func:`~undercount.review.app.create_app` is the HTTP API and page;
:func:`~undercount.review.server.serve` runs it; :mod:`undercount.review.labels` exports and
imports labels and measures agreement.
"""

from __future__ import annotations

__all__: list[str] = []
