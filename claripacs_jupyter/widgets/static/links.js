// The open URL format: the viewer's state as query parameters, with the
// reference guide's names, and back; and the split-screen page's parameters.
//
//   series        the series UID
//   stack         the stack within the series, counted from 1 (written only
//                 when above 1: most series are one stack)
//   image         the image number in the stack, counted from 1
//   window_level  window centre, in the modality's units (both window
//   window_width  parameters are needed; width at least 1)
//   zoom          magnification over "fit to frame" (1 fits the image)
//   xpos, ypos    the image point at the centre of the view, in image pixel
//                 coordinates: x runs along the columns and y along the rows,
//                 0 at the image's left and top edges, so the centre of pixel
//                 (row r, column c) is (c + 0.5, r + 0.5) and the centre of an
//                 image of 512 x 512 pixels is (256, 256). A point of the image
//                 rather than an offset on the screen, so a link shows the same
//                 part of the image in a window of any size.
//   mode=simple   hides the menus and icons
//   annotations   the state's annotations as a JSON array, each
//                 {type, image, points, text?} with `image` counted from 1 and
//                 the points' coordinates (image pixels, as xpos and ypos)
//                 rounded to 0.1
//   key           the key images: comma-separated image numbers, from 1
//   link=1        the viewer starts in its page's link group
//
// A split-screen page ({base}claripacs/split) takes `type` (cols or rows),
// `size` (the first pane's share, in percent) and `url1`, `url2`: the panes,
// each a case page URL or a split page URL (nested).
//
// The state is the viewer's (viewer.js getState): `image` and `stack` count
// from 0, `position` is {x, y} as xpos and ypos above, `keyImages` a sorted
// array of image indices from 0, `linked` a boolean. This module imports
// nothing and touches neither the page nor the network.

/**
 * The left-mouse tools by the reference guide's numbers (change_left_mouse),
 * 1 to 4 as the guide's, 5 to 9 the annotation tools.
 */
export const TOOL_NUMBERS = Object.freeze({
  1: "window",
  2: "pan",
  3: "scroll",
  4: "zoom",
  5: "arrow",
  6: "text",
  7: "length",
  8: "ellipse",
  9: "angle",
});

/** The parameter names this module reads and writes, in the order written. */
export const VIEW_PARAMS = Object.freeze([
  "series",
  "stack",
  "image",
  "window_level",
  "window_width",
  "zoom",
  "xpos",
  "ypos",
  "mode",
  "annotations",
  "key",
  "link",
]);

/** Points each annotation type has (arrow: tail, head; angle: end, vertex, end). */
export const LINK_POINT_COUNTS = Object.freeze({
  arrow: 2,
  text: 1,
  length: 2,
  ellipse: 2,
  angle: 3,
});

/** Path of the split-screen page under the server's base URL. */
export const SPLIT_PATH = "claripacs/split";
/** Path of the case pages under the server's base URL. */
export const CASE_PATH = "claripacs/case/";

/** A number as short text with at most `digits` decimals ("-0" as "0"). */
function linksShort(x, digits) {
  const text = String(Number(x.toFixed(digits)));
  return text === "-0" ? "0" : text;
}

function linksFinite(x) {
  return typeof x === "number" && Number.isFinite(x);
}

/** An annotation as the URL carries it (image from 1, points to 0.1), or null. */
function annotationToLink(a) {
  const count = a ? LINK_POINT_COUNTS[a.type] : undefined;
  if (!count || !Number.isInteger(a.image) || a.image < 0) return null;
  if (!Array.isArray(a.points) || a.points.length !== count) return null;
  const points = [];
  for (const p of a.points) {
    if (!Array.isArray(p) || !linksFinite(p[0]) || !linksFinite(p[1])) return null;
    points.push([Number(linksShort(p[0], 1)), Number(linksShort(p[1], 1))]);
  }
  const link = { type: a.type, image: a.image + 1, points };
  if (typeof a.text === "string") link.text = a.text;
  return link;
}

/** An annotation of the URL as the state holds it (image from 0), or null. */
function annotationFromLink(a) {
  const count = a && typeof a === "object" ? LINK_POINT_COUNTS[a.type] : undefined;
  if (!count || !Number.isInteger(a.image) || a.image < 1) return null;
  if (!Array.isArray(a.points) || a.points.length !== count) return null;
  const points = [];
  for (const p of a.points) {
    if (!Array.isArray(p) || p.length !== 2) return null;
    if (!linksFinite(p[0]) || !linksFinite(p[1])) return null;
    points.push([p[0], p[1]]);
  }
  const state = { type: a.type, image: a.image - 1, points };
  if (typeof a.text === "string") state.text = a.text;
  else if (a.type === "text") return null;
  return state;
}

/**
 * Query parameters for a viewer state.
 *
 * Only what the state knows is written: no `image` without one, no window until
 * the viewer has one, no `zoom` at 1, no `xpos`/`ypos` without a position,
 * `stack` only above the first, `mode` only when it is "simple", `annotations`
 * and `key` only when there are some, `link=1` only while linked. Annotations
 * the viewer could not draw (an unknown type, a wrong number of points) are
 * left out.
 *
 * @param {object} state a viewer state (see the top of this module)
 * @returns {URLSearchParams} the parameters, in the order of VIEW_PARAMS
 */
export function stateToParams(state) {
  const params = new URLSearchParams();
  if (state.series) params.set("series", String(state.series));
  if (Number.isInteger(state.stack) && state.stack > 0) {
    params.set("stack", String(state.stack + 1));
  }
  if (linksFinite(state.image)) {
    params.set("image", String(Math.round(state.image) + 1));
  }
  const w = state.window;
  if (w && linksFinite(w.center) && linksFinite(w.width)) {
    params.set("window_level", linksShort(w.center, 2));
    params.set("window_width", linksShort(w.width, 2));
  }
  if (linksFinite(state.zoom) && Math.abs(state.zoom - 1) > 1e-9) {
    params.set("zoom", linksShort(state.zoom, 4));
  }
  const p = state.position;
  if (p && linksFinite(p.x) && linksFinite(p.y)) {
    params.set("xpos", linksShort(p.x, 2));
    params.set("ypos", linksShort(p.y, 2));
  }
  if (state.mode === "simple") params.set("mode", "simple");
  if (Array.isArray(state.annotations)) {
    const list = state.annotations.map(annotationToLink).filter(Boolean);
    if (list.length) params.set("annotations", JSON.stringify(list));
  }
  if (Array.isArray(state.keyImages)) {
    const usable = state.keyImages.filter((k) => Number.isInteger(k) && k >= 0);
    const keys = [...new Set(usable)];
    keys.sort((a, b) => a - b);
    if (keys.length) params.set("key", keys.map((k) => k + 1).join(","));
  }
  if (state.linked === true) params.set("link", "1");
  return params;
}

function linksNumber(params, name) {
  const raw = params.get(name);
  if (raw === null || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

function linksAnnotations(raw) {
  let list;
  try {
    list = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!Array.isArray(list)) return undefined;
  return list.map(annotationFromLink).filter(Boolean);
}

function linksKeys(raw) {
  const keys = new Set();
  for (const part of raw.split(",")) {
    const n = part.trim() === "" ? NaN : Number(part);
    if (Number.isInteger(n) && n >= 1) keys.add(n - 1);
  }
  return [...keys].sort((a, b) => a - b);
}

/**
 * The part of a viewer state that query parameters give.
 *
 * Missing and unusable parameters are left out of the answer (the viewer keeps
 * its own value for them): an image or stack number below 1, a window with
 * only one of its two parameters or a width below 1, a zoom that is not
 * positive, `annotations` that are not a JSON array. `xpos` without `ypos` (or
 * the reverse) gives a position whose other coordinate is undefined, which the
 * viewer reads as the image's middle. Annotations the viewer could not draw
 * and key numbers that are not whole numbers from 1 are dropped one by one.
 *
 * @param {URLSearchParams|string} params the query (a leading "?" is allowed)
 * @returns {object} a partial viewer state for setState, with `mode` always
 *   set ("simple" or "normal"), and `linked: true` for `link=1`
 */
export function paramsToState(params) {
  const query = typeof params === "string" ? new URLSearchParams(params) : params;
  const state = {};
  const series = query.get("series");
  if (series) state.series = series;
  const stack = linksNumber(query, "stack");
  if (stack !== undefined && stack >= 1) state.stack = Math.round(stack) - 1;
  const image = linksNumber(query, "image");
  if (image !== undefined && image >= 1) state.image = Math.round(image) - 1;
  const center = linksNumber(query, "window_level");
  const width = linksNumber(query, "window_width");
  if (center !== undefined && width !== undefined && width >= 1) {
    state.window = { center, width };
  }
  const zoom = linksNumber(query, "zoom");
  if (zoom !== undefined && zoom > 0) state.zoom = zoom;
  const x = linksNumber(query, "xpos");
  const y = linksNumber(query, "ypos");
  if (x !== undefined || y !== undefined) state.position = { x, y };
  state.mode = query.get("mode") === "simple" ? "simple" : "normal";
  const annotations = query.get("annotations");
  if (annotations !== null) {
    const list = linksAnnotations(annotations);
    if (list) state.annotations = list;
  }
  const key = query.get("key");
  if (key !== null) state.keyImages = linksKeys(key);
  if (query.get("link") === "1") state.linked = true;
  return state;
}

/** What each view parameter must be, for the notice of those left out. */
const LINKS_EXPECTED = Object.freeze({
  series: "a series UID",
  stack: "a stack number from 1",
  image: "an image number from 1",
  window_level: "a number, with window_width",
  window_width: "a number of 1 or more, with window_level",
  zoom: "a number above 0",
  xpos: "a number",
  ypos: "a number",
  mode: "simple",
  annotations: "a JSON list of {type, image (from 1), points, text}",
  key: "image numbers from 1, separated by commas",
  link: "1",
});

/**
 * The view parameters of `params` that paramsToState leaves out, and why.
 *
 * @param {URLSearchParams|string} params the query
 * @returns {{name: string, value: string, expected: string}[]} in VIEW_PARAMS
 *   order; empty when every parameter given is used
 */
export function ignoredParams(params) {
  const query = typeof params === "string" ? new URLSearchParams(params) : params;
  const state = paramsToState(query);
  const used = {
    series: state.series !== undefined,
    stack: state.stack !== undefined,
    image: state.image !== undefined,
    window_level: state.window !== undefined,
    window_width: state.window !== undefined,
    zoom: state.zoom !== undefined,
    xpos: Number.isFinite(state.position?.x),
    ypos: Number.isFinite(state.position?.y),
    mode: ["simple", "normal"].includes(query.get("mode")),
    annotations:
      state.annotations !== undefined &&
      state.annotations.length === linksListLength(query.get("annotations")),
    key:
      state.keyImages !== undefined &&
      state.keyImages.length === new Set(query.get("key").split(",")).size,
    link: ["0", "1"].includes(query.get("link")),
  };
  const out = [];
  for (const name of VIEW_PARAMS) {
    const value = query.get(name);
    if (value === null || value.trim() === "" || used[name]) continue;
    out.push({ name, value, expected: LINKS_EXPECTED[name] });
  }
  return out;
}

function linksListLength(raw) {
  try {
    const list = JSON.parse(raw);
    return Array.isArray(list) ? list.length : -1;
  } catch {
    return -1;
  }
}

/**
 * What a URL is a link to: a case page, a split page, or neither.
 *
 * @param {string|URL} url an absolute URL, or one relative to `base`
 * @param {string} [base] the URL that relative ones are read against
 * @returns {object|null} {kind: "case", accession, href, params} or
 *   {kind: "split", href, params}, `href` being the URL without its query; null
 *   for any other URL
 */
export function linkTarget(url, base = globalThis.location?.href) {
  let parsed;
  try {
    parsed = new URL(String(url), base);
  } catch {
    return null;
  }
  const href = `${parsed.origin}${parsed.pathname}`;
  const path = parsed.pathname.replace(/\/+$/, "");
  if (path.endsWith(`/${SPLIT_PATH}`)) {
    return { kind: "split", href, params: parsed.searchParams };
  }
  const at = path.lastIndexOf(`/${CASE_PATH}`);
  if (at < 0) return null;
  const tail = path.slice(at + CASE_PATH.length + 1);
  if (!tail || tail.includes("/")) return null;
  let accession;
  try {
    accession = decodeURIComponent(tail);
  } catch {
    return null;
  }
  return { kind: "case", accession, href, params: parsed.searchParams };
}

/**
 * The layout a split page's parameters name.
 *
 * Lenient as paramsToState: a `type` other than "rows" is "cols", a `size`
 * missing or outside 0..100 (exclusive) is 50. A missing pane URL is null.
 *
 * @param {URLSearchParams|string} params the split page's query
 * @returns {{type: string, size: number, url1: ?string, url2: ?string,
 *   mode: string, linked: boolean}} the layout
 */
export function paramsToSplit(params) {
  const query = typeof params === "string" ? new URLSearchParams(params) : params;
  const size = linksNumber(query, "size");
  return {
    type: query.get("type") === "rows" ? "rows" : "cols",
    size: size !== undefined && size > 0 && size < 100 ? size : 50,
    url1: query.get("url1") || null,
    url2: query.get("url2") || null,
    mode: query.get("mode") === "simple" ? "simple" : "normal",
    linked: query.get("link") === "1",
  };
}

/**
 * Query parameters of a split page: type, size (to 0.1 percent), url1, url2.
 *
 * @param {{type: string, size: number, url1: string, url2: string}} split
 * @returns {URLSearchParams} the parameters
 */
export function splitToParams(split) {
  const params = new URLSearchParams();
  params.set("type", split.type === "rows" ? "rows" : "cols");
  params.set("size", linksShort(split.size, 1));
  params.set("url1", split.url1);
  params.set("url2", split.url2);
  return params;
}
