"""Print the HTML report to PDF with headless Chromium (the browser's own print engine)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ..errors import NotAvailable
from ..io import atomic_copy
from ..runtime import find_chromium


def html_to_pdf(html: Path, pdf: Path, timeout: float = 180) -> Path:
    """Render `html` to `pdf` atomically; a clear NotAvailable when Chromium is absent or fails."""
    exe = find_chromium()
    if exe is None:
        raise NotAvailable(
            f"--pdf needs Chromium and none was found. The HTML report is at {html}. Install the Debian "
            "package `chromium` (apt-get install chromium) or point LOOKALIKE_CHROMIUM at a Chrome/Chromium "
            "binary, or open the HTML in a browser and print it.")
    pdf = Path(pdf)
    with tempfile.TemporaryDirectory(prefix="lookalike-chromium-") as work:
        tmp = Path(work) / "print.pdf"  # Chromium writes here; the atomic writer puts it in place
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-extensions", "--no-first-run", f"--user-data-dir={Path(work) / 'profile'}",
               "--no-pdf-header-footer", f"--print-to-pdf={tmp}", Path(html).resolve().as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise NotAvailable(f"Chromium did not finish printing {html} within {timeout:.0f} s") from None
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-5:]
            raise NotAvailable(f"Chromium could not print {html} to PDF (exit {proc.returncode}): " + " | ".join(tail))
        return atomic_copy(tmp, pdf)
