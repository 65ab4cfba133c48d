// The standalone case page: mountPage, which the page template calls, over the
// HTTP frame source of transport.js. mountPage opens the view that the page's
// query string names (links.js) and gives the page the reference guide's
// embedded API: get_url(), change_left_mouse(n) and toggle_simple_mode().

import { paramsToState, stateToParams, TOOL_NUMBERS, VIEW_PARAMS } from "./links.js";
import { httpSource } from "./transport.js";
import { createViewer } from "./viewer.js";

const STYLESHEET = "claripacs-viewer-css";

function ensureStylesheet() {
  if (document.getElementById(STYLESHEET)) return;
  const link = document.createElement("link");
  link.id = STYLESHEET;
  link.rel = "stylesheet";
  link.href = new URL("viewer.css", import.meta.url).href;
  document.head.append(link);
}

/** Bars of the page itself (the case bar of the template) that simple mode hides. */
function pageBars(element) {
  return element.ownerDocument.querySelectorAll(".cp-case-bar");
}

/**
 * Give the page's window the reference guide's embedded API for `viewer`.
 *
 * - `get_url()`: this page's URL with the view on screen (series, image,
 *   window, zoom, xpos, ypos; see links.js). Like the guide's, it leaves
 *   `mode` out: a caller adds "&mode=simple" when `claripacs_display_mode` is
 *   "simple".
 * - `change_left_mouse(n)`: the left-mouse tool by the guide's number: 1
 *   window/level, 2 drag (pan), 3 scroll, 4 zoom.
 * - `toggle_simple_mode()`: hide or show the menus and icons; answers the new
 *   mode.
 * - `claripacs_display_mode`: "simple" or "normal", kept current.
 */
function exposeEmbeddedApi(win, element, viewer) {
  const showMode = (mode) => {
    win.claripacs_display_mode = mode;
    // an inline style: the template's own CSS gives the bar a display
    for (const bar of pageBars(element)) bar.style.display = mode === "simple" ? "none" : "";
  };
  showMode(viewer.getState().mode);
  viewer.onChange((state, changed) => {
    if (changed.includes("mode")) showMode(state.mode);
  });

  win.get_url = () => {
    const url = new URL(win.location.href);
    for (const name of [...VIEW_PARAMS, "token"]) url.searchParams.delete(name);
    const view = stateToParams({ ...viewer.getState(), mode: "normal" });
    for (const [name, value] of view) url.searchParams.append(name, value);
    return url.href;
  };
  win.change_left_mouse = (n) => {
    const tool = TOOL_NUMBERS[Number(n)];
    if (!tool) {
      throw new RangeError(
        `change_left_mouse: ${n} is not a tool; use 1 (W/L), 2 (drag), 3 (scroll) or 4 (zoom)`,
      );
    }
    viewer.setState({ tool });
  };
  win.toggle_simple_mode = () => {
    const mode = viewer.getState().mode === "simple" ? "normal" : "simple";
    viewer.setState({ mode });
    return mode;
  };
}

/**
 * Mount the viewer of one case in `element`.
 *
 * The element carries `data-accession`, `data-api` (the API root) and
 * `data-xsrf`. `params` are the page's query parameters, with the reference
 * guide's names (see links.js): `series`, `image` (counted from 1),
 * `window_level`, `window_width`, `zoom`, `xpos`, `ypos` and `mode=simple`.
 * The page's window gets the guide's embedded API (get_url and the others).
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

  const view = paramsToState(params);
  const options = { height: "100%", mode: view.mode };
  if (view.image !== undefined) options.image = view.image;
  if (view.window) options.window = view.window;
  if (!element.style.height && element.getBoundingClientRect().height < 100) {
    element.style.height = "100vh";
  }
  const source = httpSource(api, accession, view.series ?? null);
  const viewer = createViewer(element, source, options);
  const place = {};
  if (view.zoom !== undefined) place.zoom = view.zoom;
  if (view.position) place.position = view.position;
  viewer.setState(place);
  exposeEmbeddedApi(window, element, viewer);
  viewer.element.focus({ preventScroll: true });
  return viewer;
}
