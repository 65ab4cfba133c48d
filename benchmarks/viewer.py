"""Viewer speed: the case page's viewer against a viewer fed server-rendered PNGs.

Makes a 300-slice 512 x 512 CT from pydicom-data's ``693_UNCR.dcm`` (new UIDs
and positions, as ``benchmarks/ingest.py`` makes it), imports it into a
temporary store, starts a real ``jupyter server`` with the claripacs extension
on loopback, and drives headless Chromium with Playwright, measuring inside
the page (``performance.now``, resource timing, the viewer's ``data-``
attributes):

- ``claripacs``: the standalone case page ``claripacs/case/<acc>``, which
  fetches raw frames and windows them in the browser;
- ``PNG``: a small page of this benchmark's own, served from the same origin
  (so that resource timing sees the sizes), that shows each frame's
  ``frames/0.png`` in an ``<img>`` (pydicom + Pillow on the server per frame
  and per window).

Figures:

- first image: navigation start to the first image on screen (a non-blank
  canvas after the viewer's draw; the first PNG decoded and in the page);
- whole stack: navigation start to every slice held in the page (the
  viewer's own loaded count; every PNG decoded);
- scrolling: one step per animation frame (ArrowDown key on the viewer;
  swapping preloaded, decoded images) through all slices, distinct images
  drawn per second;
- W/L repaint: a window change to the next drawn frame, median of several
  (the viewer's preset keys, whose change goes through ``setState``; a new
  PNG at a new window, round trip and decode); for the viewer also the paint
  work alone (from the start of the animation frame that draws it);
- bytes per slice: mean ``transferSize`` and ``encodedBodySize`` of the frame
  requests;
- memory: ``performance.memory.usedJSHeapSize`` and the resident size of
  the page's renderer process, also less that of an empty page (the goal is
  under twice the stack's raw size).

Rows indented under a figure break it down (when the page and the case's JSON
arrived; the median time from sending a frame request to its first byte and
to its last; how long the requests kept being sent). Other work on the
machine moves every figure: the header shows the load average.

Run by hand::

    python benchmarks/viewer.py [--count 300]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest import make_series
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from claripacs_jupyter.store import open_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-precise-memory-info",
]
VIEWPORT = {"width": 1200, "height": 900}
TIMEOUT_MS = 300_000
START_TIMEOUT_S = 180
WINDOW_CHANGES = 20
MIB = 1024**2

# Installed before the case page's own scripts: records when the viewer first
# draws a non-blank canvas and when its loaded count reaches the total.
VIEWER_PROBE = """
(() => {
  performance.setResourceTimingBufferSize(10000);
  const bench = { firstImage: null, allLoaded: null, draws: [] };
  window.__bench = bench;
  function nonBlank(canvas) {
    if (!canvas || !canvas.width) return false;
    const data = canvas.getContext("2d")
      .getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < data.length; i += 4) if (data[i] || data[i + 1]) return true;
    return false;
  }
  new MutationObserver((records) => {
    const now = performance.now();
    for (const record of records) {
      const root = record.target;
      if (record.attributeName === "data-draws") {
        bench.draws.push({ t: now, image: Number(root.dataset.drawnImage) });
        if (bench.firstImage === null && nonBlank(root.querySelector("canvas"))) {
          bench.firstImage = now;
        }
      } else if (bench.allLoaded === null && root.dataset.total &&
                 Number(root.dataset.loaded) >= Number(root.dataset.total)) {
        bench.allLoaded = now;
      }
    }
  }).observe(document, {
    subtree: true, attributes: true, attributeFilter: ["data-draws", "data-loaded"],
  });
})();
"""

VIEWER_SCROLL = """
async () => {
  const root = document.querySelector(".claripacs-viewer");
  const key = (name) => root.dispatchEvent(
    new KeyboardEvent("keydown", { key: name, bubbles: true, cancelable: true }));
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  key("Home");
  await frame(); await frame(); await frame();
  const last = Number(root.dataset.total) - 1;
  const from = window.__bench.draws.length;
  const deadline = performance.now() + 120000;
  const paints = [];
  while (Number(root.dataset.drawnImage) < last && performance.now() < deadline) {
    // runs in the next animation frame just before the viewer's draw
    let frameStart = null;
    requestAnimationFrame(() => { frameStart = performance.now(); });
    const drawsBefore = window.__bench.draws.length;
    key("ArrowDown");
    await frame();
    const drawn = window.__bench.draws[drawsBefore];
    if (drawn && frameStart !== null) paints.push(drawn.t - frameStart);
  }
  await frame();
  const draws = window.__bench.draws.slice(from).filter((d) => d.image > 0);
  const distinct = new Set(draws.map((d) => d.image)).size;
  const seconds = (draws[draws.length - 1].t - draws[0].t) / 1000;
  paints.sort((a, b) => a - b);
  return { fps: (distinct - 1) / seconds, distinct,
           paint: paints[Math.floor(paints.length / 2)] };
}
"""

VIEWER_WINDOW = """
async (count) => {
  const root = document.querySelector(".claripacs-viewer");
  const keys = ["1", "2", "3", "4", "5"];  // the CT presets
  const results = [];
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => setTimeout(resolve, 40));
    const before = Number(root.dataset.draws);
    const drawn = new Promise((resolve) => {
      const observer = new MutationObserver(() => {
        if (Number(root.dataset.draws) > before) {
          observer.disconnect();
          resolve(performance.now());
        }
      });
      observer.observe(root, { attributes: true, attributeFilter: ["data-draws"] });
    });
    // runs in the same animation frame as the viewer's draw, just before it
    let frameStart = null;
    requestAnimationFrame(() => { frameStart = performance.now(); });
    const start = performance.now();
    root.dispatchEvent(new KeyboardEvent("keydown",
      { key: keys[i % keys.length], bubbles: true, cancelable: true }));
    const end = await drawn;
    results.push({ latency: end - start, paint: end - frameStart });
  }
  return results;
}
"""

RESOURCES = """
() => performance.getEntriesByType("resource").map((e) => ({
  name: new URL(e.name).pathname, end: e.responseEnd,
  wait: e.responseStart - e.requestStart, download: e.responseEnd - e.responseStart,
  start: e.startTime,
  transfer: e.transferSize, encoded: e.encodedBodySize,
}))
"""

HEAP = "() => performance.memory.usedJSHeapSize"

# When the page and its scripts had arrived.
PAGE_READY = """
() => Math.max(
  performance.getEntriesByType("navigation")[0].responseEnd,
  ...performance.getEntriesByType("resource")
    .filter((e) => e.initiatorType === "script" || e.name.endsWith(".js"))
    .map((e) => e.responseEnd))
"""

# The PNG viewer: the first frame, then the rest (six at a time, the browser's
# limit per host), each decoded and kept as an Image.
PNG_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>PNG viewer</title></head>
<body style="margin:0;background:#000">
<div id="stage" style="width:100vw;height:100vh"></div>
<script type="module">
performance.setResourceTimingBufferSize(10000);
const config = __CONFIG__;
const bench = window.__bench = { firstImage: null, allLoaded: null };
const token = `token=${config.token}`;
const caseUrl = `${config.api}cases/${encodeURIComponent(config.accession)}`;
const detail = await (await fetch(`${caseUrl}?${token}`)).json();
const series = detail.series.find(
  (s) => s.instances.some((i) => i.image && i.image.rows > 0));
const urls = series.instances.map(
  (i) => `${caseUrl}/instances/${encodeURIComponent(i.uid)}/frames/0.png`);
const stage = document.getElementById("stage");
const images = [];
function show(img) {
  img.style.cssText = "height:100%;display:block;margin:auto";
  stage.replaceChildren(img);
}
async function load(i, query = "") {
  const img = new Image();
  img.src = `${urls[i]}?${token}${query}`;
  await img.decode();
  return img;
}
images[0] = await load(0);
show(images[0]);
bench.firstImage = performance.now();
await Promise.all(urls.slice(1).map(async (_, k) => {
  images[k + 1] = await load(k + 1);
}));
bench.allLoaded = performance.now();
window.__png = { images, urls, load, show };
</script></body></html>
"""

PNG_SCROLL = """
async () => {
  const { images, show } = window.__png;
  const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
  show(images[0]);
  await frame();
  const times = [];
  for (let i = 1; i < images.length; i++) {
    show(images[i]);
    times.push(await frame());
  }
  return { fps: (times.length - 1) / ((times[times.length - 1] - times[0]) / 1000),
           distinct: images.length, paint: null };
}
"""

PNG_WINDOW = """
async (count) => {
  const { load, show } = window.__png;
  const results = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    // a new window each time, as a drag would ask for
    show(await load(0, `&window_center=${40 + i}&window_width=${400 + 10 * i}`));
    results.push({ latency: performance.now() - start, paint: null });
  }
  return results;
}
"""


@dataclass
class Server:
    """A running Jupyter server with the claripacs extension."""

    base: str
    token: str
    accession: str


@dataclass
class Figures:
    """What one viewer measured."""

    page_ms: float
    case_ms: float | None  # None: the page holds the case's detail
    first_frame_ms: float
    first_image_ms: float
    all_loaded_ms: float
    server_ms: float
    download_ms: float
    requests_ms: float
    fps: float
    scroll_paint_ms: float | None
    window_ms: float
    window_paint_ms: float | None
    transfer_bytes: float
    encoded_bytes: float
    heap_bytes: float
    renderer_rss: float | None
    renderer_growth: float | None = None


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get_json(url: str) -> Any:
    """The JSON answer of a GET."""
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.load(answer)


@contextmanager
def jupyter_server(data: Path, work: Path, accession: str) -> Iterator[Server]:
    """Run ``jupyter server`` on `data` until the block ends, then kill it."""
    root, home = work / "root", work / "home"
    root.mkdir()
    home.mkdir()
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "CLARIPACS_DATA": str(data),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }
    command = [
        sys.executable,
        "-m",
        "jupyter",
        "server",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = work / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise SystemExit(f"jupyter server exited: {log.read_text()[-3000:]}")
            try:
                get_json(f"{base}api/status?token={token}")
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    raise SystemExit("jupyter server did not start") from None
                time.sleep(0.5)
        # the first answer of a case is the slowest; neither viewer should pay it
        get_json(f"{base}claripacs/api/cases/{accession}?token={token}")
        yield Server(base, token, accession)
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def renderer_rss(tag: str) -> tuple[int, int] | None:
    """Resident bytes and pid of the largest renderer of the browser with `tag`.

    One page is open at a time, so its renderer is the largest (Chromium keeps
    a small spare one besides).
    """
    pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    browsers = {pid for pid in pids if tag in _cmdline(pid)}
    sizes = []
    for pid in pids:
        ancestor = _parent(pid)
        while ancestor and ancestor not in browsers:
            ancestor = _parent(ancestor)
        if not ancestor or "--type=renderer" not in _cmdline(pid):
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                sizes.append((int(line.split()[1]) * 1024, pid))
    return max(sizes) if sizes else None


# Renderer processes measured so far: each must be gone before the next page's
# renderer is measured, so that the largest renderer is that page's.
renderers: list[int] = []


def close(context: BrowserContext) -> None:
    """Close `context` and wait (up to 10 s) until its renderer has exited."""
    context.close()
    deadline = time.monotonic() + 10
    while renderers and time.monotonic() < deadline:
        if not Path(f"/proc/{renderers[-1]}").exists():
            break
        time.sleep(0.1)  # polling the process table, nothing else to wait on


def wait_for_stack(page: Page) -> None:
    """Wait until the page has every slice."""
    page.wait_for_function(
        "() => window.__bench && window.__bench.allLoaded !== null",
        timeout=TIMEOUT_MS,
        polling=100,
    )


def finish(
    page: Page, scroll: str, window: str, suffix: str, case_path: str, tag: str
) -> Figures:
    """Scroll, change the window, and read the figures of `page`.

    `suffix` ends the path of each frame request, `case_path` that of the
    case's JSON.
    """
    bench = page.evaluate("() => window.__bench")
    resources = page.evaluate(RESOURCES)
    frames = [r for r in resources if r["name"].endswith(suffix)]
    case = [r for r in resources if r["name"].rstrip("/").endswith(case_path)]
    scrolled = page.evaluate(scroll)
    changes = page.evaluate(window, WINDOW_CHANGES)
    paints = [c["paint"] for c in changes if c["paint"] is not None]
    largest = renderer_rss(tag)
    if largest:
        renderers.append(largest[1])
    return Figures(
        page_ms=page.evaluate(PAGE_READY),
        case_ms=case[0]["end"] if case else None,
        first_frame_ms=min(r["end"] for r in frames),
        first_image_ms=bench["firstImage"],
        all_loaded_ms=bench["allLoaded"],
        server_ms=statistics.median(r["wait"] for r in frames),
        download_ms=statistics.median(r["download"] for r in frames),
        requests_ms=max(r["start"] for r in frames) - min(r["start"] for r in frames),
        fps=scrolled["fps"],
        scroll_paint_ms=scrolled["paint"],
        window_ms=statistics.median(c["latency"] for c in changes),
        window_paint_ms=statistics.median(paints) if paints else None,
        transfer_bytes=statistics.mean(r["transfer"] for r in frames),
        encoded_bytes=statistics.mean(r["encoded"] for r in frames),
        heap_bytes=page.evaluate(HEAP),
        renderer_rss=largest[0] if largest else None,
    )


def measure_blank(browser: Browser, tag: str) -> float | None:
    """The renderer's resident size with an empty page open."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_content("<!doctype html><title>blank</title>")
        largest = renderer_rss(tag)
        if not largest:
            return None
        renderers.append(largest[1])
        return float(largest[0])
    finally:
        close(context)


# A page that does nothing but fetch every raw frame of the case, as the viewer
# does (same requests, four at a time), and keep the bytes: what the browser
# itself costs to hold the stack, whatever a viewer does with it.
FETCH_ONLY_PAGE = """<!doctype html><title>fetch only</title><script>
const config = __CONFIG__;
window.held = [];
window.done = (async () => {
  const caseUrl = `${config.api}cases/${config.accession}`;
  const token = `token=${config.token}`;
  const detail = await (await fetch(`${caseUrl}?${token}`)).json();
  const series = detail.series.find((s) => s.instances.some((i) => i.image));
  const urls = series.instances.map(
    (i) => `${caseUrl}/instances/${encodeURIComponent(i.uid)}/frames/0/raw?${token}`);
  let next = 0;
  async function worker() {
    while (next < urls.length) {
      const k = next++;
      window.held[k] = await (await fetch(urls[k])).arrayBuffer();
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()]);
  return window.held.reduce((n, b) => n + b.byteLength, 0);
})();
</script>"""


def open_own_page(
    context: BrowserContext, server: Server, name: str, template: str
) -> Page:
    """Open one of this benchmark's own pages at a same-origin URL of the server.

    `template` gets the API root, the case and the token in place of
    ``__CONFIG__``; the page is served by the browser context itself, so that
    resource timing sees its requests as same-origin.
    """
    context.set_default_timeout(TIMEOUT_MS)
    config = {
        "api": "/claripacs/api/",
        "accession": server.accession,
        "token": server.token,
    }
    html = template.replace("__CONFIG__", json.dumps(config))
    url = f"{server.base}claripacs-benchmark/{name}"
    context.route(url, lambda route: route.fulfill(content_type="text/html", body=html))
    page = context.new_page()
    page.goto(url)
    return page


def measure_fetch_only(browser: Browser, server: Server, tag: str) -> float | None:
    """The renderer's resident size once a bare page holds every raw frame."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = open_own_page(context, server, "fetch-only.html", FETCH_ONLY_PAGE)
        page.evaluate("() => window.done")
        largest = renderer_rss(tag)
        if not largest:
            return None
        renderers.append(largest[1])
        return float(largest[0])
    finally:
        close(context)


def case_path(server: Server) -> str:
    """The path of the case's JSON."""
    return f"/claripacs/api/cases/{server.accession}"


def measure_viewer(browser: Browser, server: Server, tag: str) -> Figures:
    """The case page's viewer."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.set_default_timeout(TIMEOUT_MS)
        context.add_init_script(VIEWER_PROBE)
        page = context.new_page()
        page.goto(
            f"{server.base}claripacs/case/{server.accession}?token={server.token}"
        )
        wait_for_stack(page)
        page.wait_for_function("() => window.__bench.firstImage !== null")
        return finish(
            page, VIEWER_SCROLL, VIEWER_WINDOW, "/raw", case_path(server), tag
        )
    finally:
        close(context)


def measure_png(browser: Browser, server: Server, tag: str) -> Figures:
    """The PNG viewer, served at a same-origin URL of its own."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = open_own_page(context, server, "png-viewer.html", PNG_PAGE)
        wait_for_stack(page)
        return finish(page, PNG_SCROLL, PNG_WINDOW, ".png", case_path(server), tag)
    finally:
        close(context)


def print_table(viewer: Figures, png: Figures, blank: float | None, count: int) -> None:
    """One table: both viewers and the issue's goals.

    `blank` is the renderer's resident size with an empty page.
    """
    for figures in (viewer, png):
        if figures.renderer_rss is not None and blank is not None:
            figures.renderer_growth = figures.renderer_rss - blank
    raw_stack = count * 512 * 512 * 2
    rows = [
        ("page and scripts received (ms)", "page_ms", "{:.0f}", ""),
        ("case JSON received (ms; - in the page)", "case_ms", "{:.0f}", ""),
        ("first frame received (ms)", "first_frame_ms", "{:.0f}", ""),
        ("first image (ms)", "first_image_ms", "{:.0f}", "<= 300"),
        ("whole stack ready (ms)", "all_loaded_ms", "{:.0f}", "<= 3000"),
        ("  request to response (ms, median)", "server_ms", "{:.0f}", ""),
        ("  response download (ms, median)", "download_ms", "{:.0f}", ""),
        ("  first to last request sent (ms)", "requests_ms", "{:.0f}", ""),
        ("scrolling (images/s)", "fps", "{:.1f}", ">= 60"),
        ("  paint per step (ms, median)", "scroll_paint_ms", "{:.1f}", ""),
        ("W/L repaint (ms, median)", "window_ms", "{:.1f}", "<= 16"),
        ("  of which paint (ms)", "window_paint_ms", "{:.1f}", ""),
        ("bytes per slice, wire (KiB)", "transfer_bytes", "{:.0f}", ""),
        ("bytes per slice, body (KiB)", "encoded_bytes", "{:.0f}", ""),
        ("JS heap (MiB)", "heap_bytes", "{:.0f}", ""),
        ("renderer RSS (MiB)", "renderer_rss", "{:.0f}", ""),
        (
            "  above an empty page (MiB)",
            "renderer_growth",
            "{:.0f}",
            f"< {2 * raw_stack / MIB:.0f}",
        ),
    ]
    scale = {"transfer_bytes": 1024, "encoded_bytes": 1024, "heap_bytes": MIB}
    scale["renderer_rss"] = scale["renderer_growth"] = MIB
    print(
        f"{count} slices of 512 x 512 CT, raw stack {raw_stack / MIB:.0f} MiB, "
        "loopback, headless Chromium, load average "
        f"{os.getloadavg()[0]:.1f}\n"
    )
    print(f"{'figure':<38} {'claripacs':>10} {'PNG':>10}   goal")
    for label, name, form, goal in rows:
        cells = []
        for figures in (viewer, png):
            value = getattr(figures, name)
            if value is None:
                cells.append("-")
            else:
                cells.append(form.format(value / scale.get(name, 1)))
        print(f"{label:<38} {cells[0]:>10} {cells[1]:>10}   {goal}")


def main() -> None:
    """Make and import the series, run both viewers, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="slices (300)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="claripacs-bench-viewer-"))
    try:
        incoming = work / "incoming"
        incoming.mkdir()
        paths = make_series(incoming, args.count)
        with open_store(work / "store") as store:
            report = store.ingest([incoming])
        if report.stored != len(paths):
            raise SystemExit(f"ingest stored {report.stored} of {len(paths)} files")
        shutil.rmtree(incoming)

        tag = f"--claripacs-benchmark={secrets.token_hex(8)}"
        with (
            jupyter_server(work / "store", work, report.accessions[0]) as server,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, tag], headless=True
            )
            try:
                blank = measure_blank(browser, tag)
                viewer = measure_viewer(browser, server, tag)
                png = measure_png(browser, server, tag)
                fetch_only = measure_fetch_only(browser, server, tag)
            finally:
                browser.close()
        print_table(viewer, png, blank, args.count)
        if fetch_only is not None and blank is not None:
            print(
                "\na bare page holding the same raw frames (fetch, four at a time): "
                f"renderer RSS {(fetch_only - blank) / MIB:.0f} MiB above an empty page"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
