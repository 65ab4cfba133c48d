// The standalone pages: the case page (mountPage) and the split-screen page
// (mountSplit), which their templates call, over the HTTP frame source of
// transport.js. Both are built from mountView, which mounts the viewer of one
// case in one element at the view that a URL's query names (links.js); a split
// page mounts one per pane, in one document, so the panes can be linked.
// Every page gets the reference guide's embedded API: get_url(),
// change_left_mouse(n), toggle_simple_mode(), claripacs_display_mode and
// read_url_line(url). The case page's review banner gets its actions from
// review.js.

import { ignoredParams, linkTarget, paramsToSplit, paramsToState, splitToParams, stateToParams, TOOL_NUMBERS, VIEW_PARAMS } from "./links.js";
import { buildSplit } from "./layout.js";
import { mountReview } from "./review.js";
import { httpSource } from "./transport.js";
import { createViewer } from "./viewer.js";

const STYLESHEET = "claripacs-viewer-css";

/** How deep split pages may nest (a page of 2 ** 6 panes at most). */
const MAX_SPLIT_DEPTH = 6;

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
 * The case's detail that the case page's template puts in the document (a JSON
 * script named by the element's `data-detail`), or null.
 */
function inlineDetail(element) {
  const id = element.dataset.detail;
  const script = id ? element.ownerDocument.getElementById(id) : null;
  if (!script) return null;
  try {
    return JSON.parse(script.textContent);
  } catch (err) {
    console.warn("claripacs: the page's case detail is not JSON; asking the server");
    console.warn(err);
    return null;
  }
}

/** Drop the login token from the address bar once the server has set a cookie. */
function forgetToken(params) {
  // the login token has done its work; keep it out of the history and of
  // links copied from the address bar
  if (!params.has("token")) return;
  const url = new URL(window.location.href);
  url.searchParams.delete("token");
  window.history.replaceState(window.history.state, "", url.href);
}

/**
 * Mount the viewer of one case in `element` at the view `params` name.
 *
 * This is the one mounting of a case view that the case page and each pane of
 * a split page use.
 *
 * @param {HTMLElement} element the host element; the viewer fills it
 * @param {object} spec
 * @param {string} spec.api the API root, ending in "/"
 * @param {string} spec.accession the case's accession
 * @param {URLSearchParams} spec.params the view's query parameters, with the
 *   names of links.js (series, stack, image, window_level, window_width, zoom,
 *   xpos, ypos, mode, annotations, key, link)
 * @param {string} [spec.mode] "simple" hides the menus whatever `params` say
 * @param {boolean} [spec.linked] start in the link group whatever `params` say
 * @param {object} [spec.detail] the case's detail, when the page holds it
 * @returns {object} the viewer (see createViewer)
 */
export function mountView(element, { api, accession, params, mode, linked, detail }) {
  const view = paramsToState(params);
  if (mode === "simple") view.mode = "simple";
  if (linked) view.linked = true;

  const options = { height: "100%", mode: view.mode };
  if (view.stack !== undefined) options.stack = view.stack;
  if (view.image !== undefined) options.image = view.image;
  if (view.window) options.window = view.window;
  const source = httpSource(api, accession, view.series ?? null, detail ?? null);
  const viewer = createViewer(element, source, options);
  const ignored = ignoredParams(params);
  if (ignored.length) showIgnored(element, ignored);

  // series, stack, image, window and mode went in as options
  const place = { ...view };
  for (const key of ["series", "stack", "image", "window", "mode"]) delete place[key];
  viewer.setState(place);
  return viewer;
}

/** Longest value quoted in the notice of parameters left out. */
const QUOTED_CHARS = 40;

/**
 * Tell the reader which parameters of the link the view left out, and what
 * they should have been, in a note over the viewer that a click closes.
 */
function showIgnored(element, ignored) {
  console.warn(
    "claripacs: link parameters left out:",
    ignored.map((p) => p.name).join(", "),
  );
  const quote = (v) => (v.length > QUOTED_CHARS ? `${v.slice(0, QUOTED_CHARS)}…` : v);
  const note = document.createElement("div");
  note.className = "cp-link-notice";
  note.setAttribute("role", "status");
  note.textContent =
    "Left out of this link: " +
    ignored.map((p) => `${p.name}=${quote(p.value)} (${p.expected})`).join("; ");
  const close = document.createElement("button");
  close.type = "button";
  close.textContent = "×";
  close.setAttribute("aria-label", "Close");
  close.addEventListener("click", () => note.remove());
  note.append(close);
  Object.assign(note.style, {
    position: "absolute",
    top: "0",
    left: "0",
    right: "0",
    zIndex: "5",
    padding: ".3em 2em .3em .8em",
    background: "#3a2f00",
    color: "#ffe9a6",
    font: "13px system-ui, sans-serif",
  });
  Object.assign(close.style, { position: "absolute", right: ".4em", top: ".2em" });
  if (getComputedStyle(element).position === "static") {
    element.style.position = "relative";
  }
  element.append(note);
}

/** The whole view a fresh page shows for `params`: unnamed keys at their defaults. */
function freshView(params, { mode, linked }) {
  const view = {
    stack: 0,
    image: 0,
    window: null, // the file's own
    zoom: 1,
    pan: { x: 0, y: 0 },
    annotations: [],
    keyImages: [],
    linked: false,
    ...paramsToState(params),
  };
  if (mode === "simple") view.mode = "simple";
  if (linked) view.linked = true;
  return view;
}

/** A pane that could not be mounted: a message in place of a viewer. */
function errorPane(element, message, url) {
  const note = document.createElement("div");
  note.className = "cp-pane-error";
  note.setAttribute("role", "alert");
  note.textContent = message;
  Object.assign(note.style, { padding: "1em", color: "#f88" });
  element.append(note);
  return {
    kind: "error",
    viewers: () => [],
    url: () => url ?? "",
    fits: () => false,
    async move() {},
    destroy: () => note.remove(),
  };
}

/** A pane showing one case. `inherited` is the enclosing split's {mode, linked}. */
function casePane(element, api, target, inherited) {
  const viewer = mountView(element, {
    api,
    accession: target.accession,
    params: target.params,
    detail: target.detail,
    ...inherited,
  });
  if (element.classList.contains("cp-split-pane")) {
    viewer.element.style.flex = "1 1 0";
    viewer.element.style.minHeight = "0";
  }
  const state = () => viewer.getState();
  return {
    kind: "case",
    accession: target.accession,
    href: target.href,
    viewer,
    state,
    viewers: () => [viewer],
    /** This case's URL with the view on screen (without mode, as the guide's). */
    url() {
      const query = stateToParams({ ...state(), mode: "normal" }).toString();
      return query ? `${target.href}?${query}` : target.href;
    },
    fits: (other) =>
      other.kind === "case" &&
      other.accession === target.accession &&
      new URL(other.href).origin === window.location.origin,
    async move(other) {
      const view = freshView(other.params, inherited);
      await viewer.ready.catch(() => {});
      if (view.series && view.series !== viewer.getState().series) {
        await viewer.selectSeries(view.series);
      }
      const rest = { ...view };
      delete rest.series;
      viewer.setState(rest);
    },
    destroy: () => viewer.destroy(),
  };
}

/** A split pane: two panes (cases or splits) in cols or rows. */
function splitPane(element, api, target, inherited, depth) {
  const split = paramsToSplit(target.params);
  const layout = buildSplit(element, split);
  const own = {
    mode: split.mode === "simple" || inherited.mode === "simple" ? "simple" : undefined,
    linked: split.linked || inherited.linked || undefined,
  };
  const children = [split.url1, split.url2].map((url, i) =>
    mountTarget(
      i ? layout.second : layout.first,
      api,
      url,
      target.href,
      own,
      depth + 1,
    ),
  );
  const targetsOf = (other) => {
    const s = paramsToSplit(other.params);
    const targets = [s.url1, s.url2].map((url) => (url ? linkTarget(url, other.href) : null));
    return [s, targets];
  };
  return {
    kind: "split",
    href: target.href,
    layout,
    children,
    viewers: () => children.flatMap((child) => child.viewers()),
    /** The split URL with each pane's current view (and the divider's place). */
    url() {
      const urls = children.map((child) => child.url());
      const [url1, url2] = urls;
      const query = splitToParams({ ...split, size: layout.size, url1, url2 });
      return `${target.href}?${query}`;
    },
    fits(other) {
      if (other.kind !== "split") return false;
      const [s, targets] = targetsOf(other);
      return (
        s.type === layout.type &&
        targets.every((t, i) => t !== null && children[i].fits(t))
      );
    },
    async move(other) {
      const [s, targets] = targetsOf(other);
      layout.size = s.size;
      await Promise.all(children.map((child, i) => child.move(targets[i])));
    },
    destroy() {
      for (const child of children) child.destroy();
      layout.destroy();
    },
  };
}

/** Mount what `url` links to (a case or a split) in `element`. */
/** A full URL or a path from the root: what a link to a page may be. */
const ROOTED = /^(?:[a-z][a-z\d+.-]*:|\/)/i;

function mountTarget(element, api, url, base, inherited, depth = 0) {
  const target = url && ROOTED.test(url) ? linkTarget(url, base) : null;
  if (!target) {
    return errorPane(element, `Not a case or split page URL: ${url ?? "(none)"}`, url);
  }
  if (new URL(target.href).origin !== window.location.origin) {
    return errorPane(element, `This pane links to another server: ${url}`, url);
  }
  if (target.kind === "case") return casePane(element, api, target, inherited);
  if (depth >= MAX_SPLIT_DEPTH) {
    return errorPane(element, `Split pages nest ${MAX_SPLIT_DEPTH} deep at most.`, url);
  }
  return splitPane(element, api, target, inherited, depth);
}

/** The target `url` names, or a TypeError that says why it is none. */
function targetOf(url) {
  const text = url instanceof URL ? url.href : url;
  // an absolute URL or a path from the root: a bare word would be read
  // against the page's own URL and name a case that does not exist
  if (typeof text !== "string" || !ROOTED.test(text.trim())) {
    throw new TypeError(`read_url_line: give a full URL or a path from /, not ${url}`);
  }
  const target = linkTarget(text.trim(), window.location.href);
  if (!target) {
    throw new TypeError(`read_url_line: not a case or split page URL: ${url}`);
  }
  if (new URL(target.href).origin !== window.location.origin) {
    throw new TypeError(`read_url_line: ${url} is on another server`);
  }
  return target;
}

/**
 * Give the page's window the reference guide's embedded API.
 *
 * - `get_url()`: the page's URL with the view on screen (see `host.url`). Like
 *   the guide's, it leaves `mode` out: a caller adds "&mode=simple" when
 *   `claripacs_display_mode` is "simple".
 * - `change_left_mouse(n)`: the left-mouse tool of every viewer by number: 1
 *   window/level, 2 drag (pan), 3 scroll, 4 zoom (the guide's), 5 arrow, 6
 *   text, 7 length, 8 ellipse, 9 angle. A RangeError for another number or a
 *   tool the viewer does not have.
 * - `toggle_simple_mode()`: hide or show the menus and icons of every viewer;
 *   answers the new mode.
 * - `claripacs_display_mode`: "simple" or "normal", the first viewer's.
 * - `read_url_line(url)`: move to the view of `url` without reloading; see
 *   `host.read`. Answers a promise of "moved", "mounted" or "navigated".
 * - `claripacs_viewers` and `claripacs_viewer`: the viewers, and the first
 *   (embedded.js's find_viewer answers it).
 */
function exposeEmbeddedApi(win, host) {
  const viewers = () => host.root().viewers();
  const define = (name, get) =>
    Object.defineProperty(win, name, { get, configurable: true, enumerable: true });
  define("claripacs_viewers", viewers);
  define("claripacs_viewer", () => viewers()[0] ?? null);
  define("claripacs_display_mode", () => viewers()[0]?.getState().mode ?? "normal");

  win.get_url = () => host.url();
  win.change_left_mouse = (n) => {
    const tool = TOOL_NUMBERS[Number(n)];
    if (!tool) {
      throw new RangeError(
        `change_left_mouse: ${n} is not a tool; use 1 (W/L), 2 (drag), 3 (scroll), ` +
          "4 (zoom), 5 (arrow), 6 (text), 7 (length), 8 (ellipse) or 9 (angle)",
      );
    }
    for (const viewer of viewers()) {
      viewer.setState({ tool });
      if (viewer.getState().tool !== tool) {
        throw new RangeError(`change_left_mouse: this viewer has no ${tool} tool`);
      }
    }
  };
  win.toggle_simple_mode = () => {
    const mode = win.claripacs_display_mode === "simple" ? "normal" : "simple";
    for (const viewer of viewers()) viewer.setState({ mode });
    return mode;
  };
  win.read_url_line = (url) => host.read(url);
}

/**
 * Mount the viewer of one case in `element`: the case page.
 *
 * The element carries `data-accession`, `data-api` (the API root) and
 * `data-xsrf`. `params` are the page's query parameters, with the names of
 * links.js. The page's window gets the embedded API (see exposeEmbeddedApi):
 * its get_url() is this page's URL with the view's parameters in place of
 * those it had (other parameters kept, the token dropped); its
 * read_url_line(url) moves the viewer when `url` is a link to this case, and
 * goes to `url` otherwise (another case's page, a split page).
 *
 * While series of the case await review, the template's banner (`.cp-review`)
 * lists them; review.js gives each its actions, "Mark reviewed" and "Mask…",
 * which post with the element's `data-xsrf`. The banner shows in simple mode
 * too: it is a warning, not a menu.
 *
 * @param {HTMLElement} element the host element
 * @param {URLSearchParams} params the page's query parameters
 * @returns {object} the viewer (see createViewer)
 */
export function mountPage(element, params) {
  const api = element.dataset.api || "/claripacs/api/";
  ensureStylesheet();
  forgetToken(params);
  if (!element.style.height && element.getBoundingClientRect().height < 100) {
    element.style.height = "100vh";
  }

  const here = linkTarget(window.location.href);
  const target = {
    kind: "case",
    accession: element.dataset.accession,
    href: here ? here.href : `${window.location.origin}${window.location.pathname}`,
    params,
    detail: inlineDetail(element),
  };
  const pane = casePane(element, api, target, {});
  const { viewer } = pane;

  const showBars = (mode) => {
    // an inline style: the template's own CSS gives the bar a display
    const display = mode === "simple" ? "none" : "";
    for (const bar of pageBars(element)) bar.style.display = display;
  };
  showBars(viewer.getState().mode);
  const banner = element.ownerDocument.querySelector(".cp-review");
  if (banner) {
    const xsrf = element.dataset.xsrf ?? "";
    mountReview(banner, viewer, { api, accession: target.accession, xsrf });
  }
  viewer.onChange((state, changed) => {
    if (changed.includes("mode")) showBars(state.mode);
  });

  exposeEmbeddedApi(window, {
    root: () => pane,
    url() {
      const url = new URL(window.location.href);
      for (const name of [...VIEW_PARAMS, "token"]) url.searchParams.delete(name);
      const view = stateToParams({ ...pane.state(), mode: "normal" });
      for (const [name, value] of view) url.searchParams.append(name, value);
      return url.href;
    },
    async read(url) {
      const other = targetOf(url);
      if (pane.fits(other)) {
        await pane.move(other);
        return "moved";
      }
      window.location.assign(new URL(String(url), window.location.href).href);
      return "navigated";
    },
  });
  viewer.element.focus({ preventScroll: true });
  return viewer;
}

/**
 * Mount the split-screen page in `element`.
 *
 * The element carries `data-api` (the API root). `params` are the page's:
 * `type` (cols or rows), `size` (the first pane's share in percent), `url1`
 * and `url2` (each a case page URL or a split page URL, nested), and optionally
 * `mode=simple` and `link=1` for every pane. The page's window gets the
 * embedded API (see exposeEmbeddedApi): get_url() answers the split URL with
 * each pane's current view; read_url_line(url) moves the panes when `url` has
 * the same layout of the same cases, and otherwise mounts `url` (a split or a
 * case) in this page in place of what it shows.
 *
 * @param {HTMLElement} element the host element
 * @param {URLSearchParams} params the page's query parameters
 * @returns {object} the root pane: {kind, viewers(), url(), layout, children}
 */
export function mountSplit(element, params) {
  const api = element.dataset.api || "/claripacs/api/";
  ensureStylesheet();
  forgetToken(params);
  if (!element.style.height && element.getBoundingClientRect().height < 100) {
    element.style.height = "100vh";
  }

  const mount = (target) =>
    target.kind === "case"
      ? casePane(element, api, target, {})
      : splitPane(element, api, target, {}, 0);
  const here = linkTarget(window.location.href);
  const { origin, pathname } = window.location;
  const href = here ? here.href : `${origin}${pathname}`;
  let root = mount({ kind: "split", href, params });

  exposeEmbeddedApi(window, {
    root: () => root,
    url: () => root.url(),
    async read(url) {
      const other = targetOf(url);
      if (root.fits(other)) {
        await root.move(other);
        return "moved";
      }
      root.destroy();
      root = mount(other);
      return "mounted";
    },
  });
  return root;
}
