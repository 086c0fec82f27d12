"""Helpers of the browser tests."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def page_errors(page) -> list[str]:
    """Error output rendered in a Voila page (stderr outputs, tracebacks, our error boxes)."""
    errs = [
        e.inner_text()
        for e in page.query_selector_all(
            "[data-mime-type='application/vnd.jupyter.stderr'], "
            ".jp-RenderedText[data-mime-type*='error'], .ql-error"
        )
    ]
    body = page.inner_text("body")
    if "Traceback" in body:
        errs.append(body[body.index("Traceback") :][:2000])
    return errs
