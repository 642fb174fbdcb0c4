"""What a grading worker does: run one sanitized notebook on a fresh forked kernel, and
render one feedback page. Both are pure functions of their arguments (JSON in, JSON or
HTML out), so they run the same on a local process pool or on a dask cluster; the
coordinator alone touches the gradebook.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
import time

import nbformat

# execution statuses (the coordinator turns them into a submission's status)
OK, TIMED_OUT, CRASHED = "ok", "timed-out", "crashed"


def _not_run(cell, why: str) -> None:
    """Give a code cell that never ran an error output, so a grade cell that was never
    run cannot score (nbgrader gives full marks to a test cell without errors)."""
    cell.outputs = [nbformat.v4.new_output("error", ename="NotRun", evalue=why, traceback=[f"NotRun: {why}"])]


def execute(nb_json: str, settings: dict) -> dict:
    """Execute a notebook with nbgrader's own Execute preprocessor on a forked kernel.

    settings: cell_timeout (s), notebook_timeout (s), mem_limit (bytes or None),
    max_output_bytes (per cell), figures (rasterize matplotlib figures, default True). Returns {"nb": executed JSON, "status", "message", "seconds"}.
    """
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbgrader.preprocessors import Execute
    from traitlets.config import Config

    from autograde.zygote import limited_manager

    started = time.monotonic()
    nb = nbformat.v4.nbjson.reads(nb_json)  # sanitized and validated by the coordinator
    c = Config()
    c.Execute.timeout = settings["cell_timeout"]
    c.Execute.interrupt_on_timeout = True
    ex = Execute(config=c)
    ex.kernel_manager_class = limited_manager(settings.get("mem_limit"), settings.get("max_output_bytes"),
                                              settings.get("figures", True))
    ex.shutdown_kernel = "immediate"
    ex.kernel_name = "python3"
    status, message = OK, ""
    expired = threading.Event()
    running = {"index": None}  # the cell being executed, for a kernel that dies in it

    def on_start(cell=None, cell_index=None, **_):
        if cell is not None and cell.cell_type == "code" and cell.source.strip():
            running["index"] = cell_index

    record_error = ex.on_cell_executed  # nbgrader's: records errors the kernel did not print

    def on_executed(**kwargs):
        record_error(**kwargs)
        running["index"] = None

    ex.on_cell_start = on_start
    ex.on_cell_executed = on_executed

    def watchdog():
        # the per-cell timeout interrupts a cell; a kernel that ignores the interrupt
        # (or a notebook of many slow cells) is killed at the notebook's deadline
        expired.set()
        km = getattr(ex, "km", None)
        pid = getattr(getattr(km, "provisioner", None), "pid", None)
        if pid:
            import signal

            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    timer = threading.Timer(settings["notebook_timeout"], watchdog)
    timer.daemon = True
    with tempfile.TemporaryDirectory(prefix="autograde-run-") as cwd:
        timer.start()
        try:
            os.environ["NBGRADER_EXECUTION"] = "autograde"
            nb, _ = ex.preprocess(nb, {"metadata": {"path": cwd}})
        except DeadKernelError:
            status = TIMED_OUT if expired.is_set() else CRASHED
        except CellTimeoutError:  # a cell that ignored the interrupt
            status = TIMED_OUT
            message = f"a cell ran longer than {settings['cell_timeout']} s and ignored the interrupt"
        except Exception as exc:  # nbclient gave up on this notebook; keep what ran
            status = TIMED_OUT if expired.is_set() else CRASHED
            message = f"{type(exc).__name__}: {exc}"[:300]
        finally:
            timer.cancel()
    timed_out = any(o.get("ename") == "CellTimeoutError" for cell in nb.cells if cell.cell_type == "code"
                    for o in cell.get("outputs", []))
    if status == OK and timed_out:
        status = TIMED_OUT
        message = f"a cell ran longer than {settings['cell_timeout']} s and was interrupted"
    if status != OK and running["index"] is not None:
        why = {TIMED_OUT: f"the notebook ran out of time ({settings['notebook_timeout']} s)",
               CRASHED: "the kernel died (a crash, os._exit, or out of memory)"}[status]
        message = message or why
        for i, cell in enumerate(nb.cells):
            if cell.cell_type == "code" and i >= running["index"]:
                _not_run(cell, (why + " while this cell ran") if i == running["index"] else (why + " before this cell ran"))
    import socket

    return {"nb": json.dumps(nb, ensure_ascii=False), "status": status, "message": message,
            "seconds": round(time.monotonic() - started, 3), "worker": f"{socket.gethostname()}:{os.getpid()}"}


_EXPORTER = None


def _exporter():
    """nbgrader's feedback exporter, made once per worker process (compiling its
    templates costs more than rendering a page)."""
    global _EXPORTER
    if _EXPORTER is None:
        import re

        from nbconvert.exporters import HTMLExporter
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from traitlets.config import Config

        import nbgrader.converters as conv

        class FeedbackExporter(HTMLExporter):
            """HTMLExporter without its BeautifulSoup pass, which re-parses the whole page to
            add alt texts and tab stops to JupyterLab markup (more than half the time of a
            page; the feedback uses nbgrader's classic template). The alt text is added here."""

            _highlighted: dict = {}

            def from_notebook_node(self, nb, resources=None, **kw):
                lang = nb.metadata.get("language_info", {})
                highlight = Highlight2HTML(pygments_lexer=lang.get("pygments_lexer", lang.get("name")), parent=self)
                cache = self._highlighted

                def highlight_code(source, language=None, metadata=None):
                    # every learner's notebook repeats the chapter's code cells: highlight
                    # each distinct source once per worker (pygments is most of a page's cost)
                    key = (source, language, highlight.pygments_lexer, (metadata or {}).get("magics_language"))
                    if key not in cache:
                        if len(cache) > 20000:
                            cache.clear()
                        cache[key] = highlight(source, language, metadata)
                    return cache[key]

                self.register_filter("highlight_code", highlight_code)
                html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
                html = re.sub(r"<img(?![^>]*\balt=)", '<img alt="figure"', html)
                return html, resources

        base = os.path.dirname(conv.__file__)
        c = Config()
        c.HTMLExporter.template_name = "feedback"
        c.HTMLExporter.extra_template_basedirs = [os.path.abspath(os.path.join(
            base, "..", "server_extensions", "formgrader", "templates"))]
        c.HTMLExporter.extra_template_paths = [os.path.abspath(os.path.join(
            base, "..", "server_extensions", "formgrader", "static", "node_modules", "bootstrap", "dist", "css"))]
        _EXPORTER = FeedbackExporter(config=c)
    return _EXPORTER


def render_feedback(nb_json: str, nbgrader_resources: dict) -> str:
    """The feedback HTML of an autograded notebook (nbgrader's feedback template), given
    the grade information the coordinator read from the gradebook."""
    nb = nbformat.v4.nbjson.reads(nb_json)  # written by the coordinator; not validated again
    html, _ = _exporter().from_notebook_node(nb, resources={"nbgrader": nbgrader_resources})
    return html


def dask_setup(worker=None) -> None:
    """Run by every local dask worker as it starts (LocalCluster's preload): start the
    zygote, and import what grading needs in the background while the zygote imports
    what kernels need; the worker is ready for tasks at once (a task that comes early
    just waits for the imports)."""
    from autograde.zygote import Zygote

    Zygote.get()

    def preimport():
        import nbclient  # noqa: F401
        from nbgrader.preprocessors import Execute  # noqa: F401

        _exporter()

    threading.Thread(target=preimport, daemon=True).start()


def warm_up(settings: dict | None = None) -> int:
    """Start this worker's zygote, and run a one-cell notebook through the whole path
    once (imports, kernel spec lookup, ZMQ set-up), ahead of the first submission."""
    from autograde.zygote import Zygote

    Zygote.get()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    execute(nbformat.writes(nb), dict(settings or {}, cell_timeout=60, notebook_timeout=120))
    _exporter()
    return os.getpid()
