// The standalone case page: an HTTP frame source over the server extension's
// REST API, and mountPage, which the page template calls.
//
// Requests are same-origin with the session's cookies; no token ever goes into
// a URL that this module builds.

import { createViewer } from "./viewer.js";

const STYLESHEET = "claripacs-viewer-css";

/** Error of an API call, with the server's message when it sent one. */
async function apiError(response, what) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.message) message = body.message;
  } catch {
    // not JSON: keep the status line
  }
  return new Error(`${what}: ${message}`);
}

function seriesLabel(s) {
  const count = s.instances.reduce((n, i) => n + Math.max(1, Number(i.frames) || 1), 0);
  const name = s.description || s.modality || "Series";
  const number = s.number !== null && s.number !== undefined ? `${s.number}: ` : "";
  return `${number}${name} (${count} image${count === 1 ? "" : "s"})`;
}

function hasImages(s) {
  return (s.instances || []).some((i) => i.image && i.image.rows > 0);
}

/**
 * A frame source for the viewer over `{api}cases/<accession>`.
 *
 * @param {string} api the API root, ending in "/" (e.g. "/claripacs/api/")
 * @param {string} accession the case's accession
 * @param {string|null} [seriesUid] the series to show first; else the first
 *   series with images
 * @returns {object} the source (info, frame, select)
 */
export function httpSource(api, accession, seriesUid = null) {
  const caseUrl = `${api}cases/${encodeURIComponent(accession)}`;
  let detail = null;
  let current = null;
  let images = [];

  async function load() {
    if (detail) return detail;
    const response = await fetch(caseUrl, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw await apiError(response, `Case ${accession}`);
    detail = await response.json();
    return detail;
  }

  function pick(uid) {
    const all = (detail.series || []).filter(hasImages);
    if (!all.length) throw new Error(`Case ${accession} has no images.`);
    const chosen = all.find((s) => s.uid === uid);
    if (uid && !chosen) console.warn("claripacs: series not in this case, showing the first");
    current = chosen || all[0];
    images = [];
    for (const inst of current.instances) {
      const count = Math.max(1, Number(inst.frames ?? inst.image?.frames ?? 1));
      for (let f = 0; f < count; f++) images.push({ inst, frame: f });
    }
    return all;
  }

  return {
    async info() {
      await load();
      const all = pick(current ? current.uid : seriesUid);
      return {
        seriesUid: current.uid,
        modality: current.modality || "",
        label: seriesLabel(current),
        series: all.map((s) => ({ uid: s.uid, label: seriesLabel(s) })),
        instances: current.instances.map((i) => ({
          uid: i.uid,
          frames: i.frames,
          image: i.image,
        })),
      };
    },
    async frame(index) {
      const img = images[index];
      if (!img) throw new Error(`no image ${index + 1} in this series`);
      const url =
        `${caseUrl}/instances/${encodeURIComponent(img.inst.uid)}` +
        `/frames/${img.frame}/raw`;
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw await apiError(response, `Image ${index + 1}`);
      return { info: img.inst.image, pixels: await response.arrayBuffer() };
    },
    async select(uid) {
      await load();
      pick(uid);
    },
  };
}

function ensureStylesheet() {
  if (document.getElementById(STYLESHEET)) return;
  const link = document.createElement("link");
  link.id = STYLESHEET;
  link.rel = "stylesheet";
  link.href = new URL("viewer.css", import.meta.url).href;
  document.head.append(link);
}

function numberParam(params, name) {
  const raw = params.get(name);
  if (raw === null || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * Mount the viewer of one case in `element`.
 *
 * The element carries `data-accession`, `data-api` (the API root) and
 * `data-xsrf`. `params` are the page's query parameters, with the reference
 * guide's names: `series` (a series UID), `image` (the image number, counted
 * from 1), `window_level` and `window_width`.
 *
 * @param {HTMLElement} element the host element
 * @param {URLSearchParams} params the page's query parameters
 * @returns {object} the viewer (see createViewer)
 */
export function mountPage(element, params) {
  const accession = element.dataset.accession;
  const api = element.dataset.api || "/claripacs/api/";
  ensureStylesheet();

  // the login token has done its work (the server set a cookie); keep it out of
  // the history and of links copied from the address bar
  if (params.has("token")) {
    const url = new URL(window.location.href);
    url.searchParams.delete("token");
    window.history.replaceState(window.history.state, "", url.href);
  }

  const options = { height: "100%" };
  const image = numberParam(params, "image");
  if (image !== undefined) options.image = Math.max(0, Math.round(image) - 1);
  const center = numberParam(params, "window_level");
  const width = numberParam(params, "window_width");
  if (center !== undefined && width !== undefined && width > 0) {
    options.window = { center, width };
  }
  if (!element.style.height && element.getBoundingClientRect().height < 100) {
    element.style.height = "100vh";
  }
  const source = httpSource(api, accession, params.get("series"));
  const viewer = createViewer(element, source, options);
  viewer.element.focus({ preventScroll: true });
  return viewer;
}
