// The review of burned-in text on the case page: the actions of the banner's
// series that await review ("Mark reviewed" and "Mask…"), and the mask mode,
// in which rectangles dragged on the viewer's image are sent to the server to
// be blacked out on every frame of every image of the series.
//
// Rectangles are kept in image pixels, [x, y, width, height] as the server's
// mask endpoint takes them, and drawn over the canvas through the viewer's
// toCanvas and toImage, so zoom, pan and resizing move them with the image.

import { apiError } from "./transport.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const MASK_COLOUR = "#ffd400";
const MASK_FILL = "rgb(255 212 0 / 15%)";
/** CSS pixels a drag must span to draw a rectangle (less is a click). */
const MIN_DRAG = 3;

/** An HTML element with attributes (`text` is its text) and children. */
function htmlNode(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

/** An SVG element with attributes. */
function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, String(value));
  }
  return node;
}

/**
 * The whole-pixel rectangle between two image points, clipped to the image.
 *
 * @param {{x: number, y: number}} a one corner, in image pixels (see toImage)
 * @param {{x: number, y: number}} b the opposite corner
 * @param {{rows: number, columns: number}} size the image's size
 * @returns {number[] | null} [x, y, width, height] covering every pixel the
 *   two points span, or null when that is no pixel of the image
 */
export function pixelRect(a, b, size) {
  const x0 = Math.max(0, Math.floor(Math.min(a.x, b.x)));
  const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y)));
  const x1 = Math.min(size.columns, Math.ceil(Math.max(a.x, b.x)));
  const y1 = Math.min(size.rows, Math.ceil(Math.max(a.y, b.y)));
  if (x1 - x0 < 1 || y1 - y0 < 1) return null;
  return [x0, y0, x1 - x0, y1 - y0];
}

/**
 * Give the case page's review banner its actions.
 *
 * The banner lists each series awaiting review as an `li` with
 * `data-series` (its Series Instance UID). Each gets "Mark reviewed", which
 * clears the series' flag as reviewed, and "Mask…", which shows the series in
 * the viewer and draws rectangles on it until "Apply mask" (the server masks
 * the series and clears its flag; the page reloads to show the masked images)
 * or "Cancel" or Escape. A refusal of the server is shown in the banner. Once
 * no series awaits review the banner goes.
 *
 * @param {HTMLElement} banner the page's `.cp-review` element
 * @param {object} viewer the page's viewer (see createViewer)
 * @param {object} spec
 * @param {string} spec.api the API root, ending in "/"
 * @param {string} spec.accession the case's accession
 * @param {string} spec.xsrf the page's XSRF token, sent as X-XSRFToken
 * @returns {{destroy: function}} destroy() leaves the mask mode and takes the
 *   banner away
 */
export function mountReview(banner, viewer, { api, accession, xsrf }) {
  const caseUrl = `${api}cases/${encodeURIComponent(accession)}`;
  const doc = banner.ownerDocument;
  const error = htmlNode("p", { class: "cp-review-error" });
  error.hidden = true;
  banner.append(error);
  let busy = false; // a request is on its way
  let masking = null; // the mask mode: see startMask

  const items = () => [...banner.querySelectorAll("li[data-series]")];

  /** Show a refusal or a mistake in the banner. */
  function showError(err) {
    error.textContent = err instanceof Error ? err.message : String(err);
    error.hidden = false;
  }

  function clearError() {
    error.textContent = "";
    error.hidden = true;
  }

  /** Enable the actions when nothing else is going on. */
  function refresh() {
    for (const button of banner.querySelectorAll(".cp-review-action")) {
      button.disabled = busy || masking !== null;
    }
    if (masking) {
      masking.apply.disabled = busy || !masking.rects.length;
      masking.cancel.disabled = busy;
    }
  }

  /** Send a JSON request; a refusal is an Error "what: the server's message". */
  async function request(method, url, what, body) {
    const init = {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.headers["X-XSRFToken"] = xsrf;
      init.body = JSON.stringify(body);
    }
    const response = await fetch(url, init);
    if (!response.ok) throw await apiError(response, what);
    return response.json();
  }

  /** After a series was cleared: list what still awaits review, or close. */
  async function cleared(item) {
    item.remove();
    const { reviews } = await request("GET", `${caseUrl}/reviews`, "Reviews");
    const pending = new Set(
      reviews.filter((r) => r.status === "pending").map((r) => r.series_uid),
    );
    const listed = new Set(items().map((i) => i.dataset.series));
    if ([...pending].some((uid) => !listed.has(uid))) {
      // images flagged since the page was made: show them as they are now
      window.location.reload();
      return;
    }
    for (const other of items()) {
      if (!pending.has(other.dataset.series)) other.remove();
    }
    if (!items().length) destroy();
  }

  /** Clear the series of `item` as reviewed. */
  async function markReviewed(item) {
    clearError();
    busy = true;
    refresh();
    const uid = item.dataset.series;
    try {
      const url = `${caseUrl}/reviews/${encodeURIComponent(uid)}`;
      await request("POST", url, "Not marked reviewed", { status: "reviewed" });
      await cleared(item);
    } catch (err) {
      showError(err);
    } finally {
      busy = false;
      refresh();
    }
  }

  // ---- the mask mode ----------------------------------------------------------
  /** Show the series of `item` in the viewer, then draw its mask on it. */
  async function startMask(item) {
    const uid = item.dataset.series;
    clearError();
    busy = true;
    refresh();
    try {
      await viewer.ready;
      if (viewer.getState().series !== uid) await viewer.selectSeries(uid);
      if (viewer.getState().series !== uid || !viewer.imageSize) {
        throw new Error(
          "The viewer cannot show this series: check its images in another " +
            "viewer, then mark it reviewed.",
        );
      }
    } catch (err) {
      showError(err);
      return;
    } finally {
      busy = false;
      refresh();
    }
    enterMask(item, uid);
  }

  /** The mask mode: an overlay to draw on, and the panel of rectangles. */
  function enterMask(item, uid) {
    const overlay = svgNode("svg", { class: "cp-mask-overlay" });
    overlay.setAttribute("aria-label", "Mask rectangles");
    Object.assign(overlay.style, {
      position: "absolute",
      inset: "0",
      width: "100%",
      height: "100%",
      zIndex: "2",
      cursor: "crosshair",
      touchAction: "none",
    });
    viewer.stage.append(overlay);

    const rectList = htmlNode("ol", { class: "cp-mask-rects" });
    const none = htmlNode("p", { class: "cp-mask-none", text: "No rectangle yet." });
    const apply = htmlNode("button", {
      type: "button",
      class: "cp-mask-apply",
      text: "Apply mask",
    });
    const cancel = htmlNode("button", {
      type: "button",
      class: "cp-mask-cancel",
      text: "Cancel",
    });
    const hint =
      "Drag on the image to draw rectangles over the burned-in text. They are " +
      "blacked out on every frame of every image of this series, at the same " +
      "pixel positions. Escape cancels.";
    const panel = htmlNode("div", { class: "cp-mask-panel", role: "group" }, [
      htmlNode("p", { text: hint }),
      rectList,
      none,
      apply,
      cancel,
    ]);
    panel.setAttribute("aria-label", "Mask this series");
    item.append(panel);
    apply.addEventListener("click", applyMask);
    cancel.addEventListener("click", leaveMask);

    const resizeObserver = new ResizeObserver(draw);
    resizeObserver.observe(viewer.stage);
    const stopListening = viewer.onChange((state, changed) => {
      // rectangles belong to the series they were drawn on
      if (changed.includes("series") && state.series !== uid) leaveMask();
      else draw();
    });
    overlay.addEventListener("pointerdown", onPointerDown);
    overlay.addEventListener("pointermove", onPointerMove);
    overlay.addEventListener("pointerup", onPointerUp);
    overlay.addEventListener("pointercancel", onPointerUp);

    masking = {
      uid,
      item,
      overlay,
      panel,
      rectList,
      none,
      apply,
      cancel,
      rects: [],
      drag: null,
      stop() {
        resizeObserver.disconnect();
        stopListening();
        overlay.remove();
        panel.remove();
      },
    };
    listRects();
    refresh();
    draw();
    viewer.element.focus({ preventScroll: true }); // the keys scroll the frames
  }

  /** Leave the mask mode; the rectangles drawn are dropped. */
  function leaveMask() {
    if (!masking) return;
    masking.stop();
    masking = null;
    refresh();
  }

  /** The canvas point of a pointer event (CSS pixels from the stage's corner). */
  function stagePoint(event) {
    const box = viewer.stage.getBoundingClientRect();
    return [event.clientX - box.left, event.clientY - box.top];
  }

  function onPointerDown(event) {
    // the other buttons keep the viewer's tools (right-drag window/level)
    if (event.button !== 0 || !event.isPrimary || busy) return;
    event.stopPropagation();
    event.preventDefault();
    const [x, y] = stagePoint(event);
    const start = viewer.toImage(x, y);
    if (!start) return;
    masking.drag = { id: event.pointerId, x, y, start, end: start };
    masking.overlay.setPointerCapture(event.pointerId);
  }

  function onPointerMove(event) {
    const drag = masking?.drag;
    if (!drag || event.pointerId !== drag.id) return;
    event.stopPropagation();
    drag.end = viewer.toImage(...stagePoint(event)) ?? drag.end;
    draw();
  }

  function onPointerUp(event) {
    const drag = masking?.drag;
    if (!drag || event.pointerId !== drag.id) return;
    event.stopPropagation();
    masking.drag = null;
    const [x, y] = stagePoint(event);
    if (event.type === "pointerup" && Math.hypot(x - drag.x, y - drag.y) >= MIN_DRAG) {
      const end = viewer.toImage(x, y) ?? drag.end;
      const rect = pixelRect(drag.start, end, viewer.imageSize);
      if (rect) {
        clearError();
        masking.rects.push(rect);
        listRects();
      } else {
        showError("That rectangle lies outside the image: draw it over the image.");
      }
    }
    refresh();
    draw();
  }

  /** List the rectangles drawn, each with its Remove button. */
  function listRects() {
    const { rects, rectList, none } = masking;
    rectList.replaceChildren(
      ...rects.map((rect, k) => {
        const [x, y, width, height] = rect;
        const remove = htmlNode("button", {
          type: "button",
          class: "cp-mask-remove",
          text: "Remove",
          "aria-label": `Remove rectangle ${k + 1}`,
        });
        remove.addEventListener("click", () => {
          rects.splice(rects.indexOf(rect), 1);
          listRects();
          refresh();
          draw();
        });
        const text = `x ${x}, y ${y}: ${width} × ${height} pixels`;
        return htmlNode("li", { class: "cp-mask-rect" }, [
          htmlNode("span", { class: "cp-mask-size", text }),
          remove,
        ]);
      }),
    );
    none.hidden = rects.length > 0;
  }

  /** Draw the rectangles, and the one being dragged, over the image. */
  function draw() {
    if (!masking) return;
    const { overlay, rects, drag } = masking;
    const shapes = rects.map((rect, k) => [rect, String(k + 1)]);
    if (drag) {
      const rect = pixelRect(drag.start, drag.end, viewer.imageSize);
      if (rect) shapes.push([rect, ""]);
    }
    overlay.replaceChildren();
    for (const [[x, y, width, height], label] of shapes) {
      // toCanvas takes a pixel's centre: half a pixel back is its corner
      const a = viewer.toCanvas(y - 0.5, x - 0.5);
      const b = viewer.toCanvas(y + height - 0.5, x + width - 0.5);
      if (!a || !b) return;
      overlay.append(
        svgNode("rect", {
          x: a.x,
          y: a.y,
          width: b.x - a.x,
          height: b.y - a.y,
          fill: MASK_FILL,
          stroke: MASK_COLOUR,
          "stroke-width": 2,
          "stroke-dasharray": label ? "none" : "4 3",
        }),
      );
      if (label) {
        const text = svgNode("text", {
          x: a.x + 3,
          y: a.y + 14,
          fill: MASK_COLOUR,
          "font-size": 13,
          "font-family": "system-ui, sans-serif",
        });
        text.textContent = label;
        overlay.append(text);
      }
    }
  }

  /** Send the rectangles; once the series is masked, reload the page. */
  async function applyMask() {
    if (!masking || !masking.rects.length) return;
    clearError();
    busy = true;
    refresh();
    const { apply, uid, rects } = masking;
    apply.textContent = "Masking…";
    try {
      const url = `${caseUrl}/series/${encodeURIComponent(uid)}/mask`;
      await request("POST", url, "Mask not applied", { rects });
    } catch (err) {
      showError(err);
      apply.textContent = "Apply mask";
      busy = false;
      refresh();
      return;
    }
    // the masked images have new UIDs: the page's case detail is out of date
    apply.textContent = "Masked; reloading…";
    window.location.reload();
  }

  /** Escape leaves the mask mode, wherever the focus is. */
  function onKeyDown(event) {
    if (!masking || event.key !== "Escape" || busy) return;
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    // before the viewer, which keeps the keys it is given
    event.stopPropagation();
    event.preventDefault();
    leaveMask();
  }

  /** No series awaits review: the banner goes. */
  function destroy() {
    leaveMask();
    doc.removeEventListener("keydown", onKeyDown, true);
    banner.remove();
  }

  for (const item of items()) {
    const reviewed = htmlNode("button", {
      type: "button",
      class: "cp-review-action cp-review-reviewed",
      text: "Mark reviewed",
      title: "I have checked every image of this series: it shows no identifier",
    });
    const mask = htmlNode("button", {
      type: "button",
      class: "cp-review-action cp-review-mask",
      text: "Mask…",
      title: "Draw rectangles to black out on every image of this series",
    });
    reviewed.addEventListener("click", () => markReviewed(item));
    mask.addEventListener("click", () => startMask(item));
    item.append(reviewed, mask);
  }
  doc.addEventListener("keydown", onKeyDown, true);
  return { destroy };
}
