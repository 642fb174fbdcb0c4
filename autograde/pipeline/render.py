"""Step ``render`` (on a worker): the feedback page, made in a bounded process of the
worker (``feedback_seconds``, ``step_memory``; ``autograde.outputs.feedback``). A page that
cannot be made leaves the grades as they are: the submission is marked, with no page."""
from __future__ import annotations

from autograde.execution import workers
from autograde.records import Rendered, Saved


def run(saved: Saved, settings: dict) -> Rendered:
    return Rendered(saved.sub, saved.result, workers.render_feedback(saved.page_nb, saved.page_resources, settings))


def without_page(saved: Saved, exc: BaseException) -> Rendered:
    """``run``'s recovery: the grades stand; the page is missing and the reason said."""
    return Rendered(saved.sub, saved.result, None, f"the feedback page could not be made ({exc})"[:200])
