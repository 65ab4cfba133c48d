// The open URL format of a case page: the viewer's state as query parameters,
// with the reference guide's names, and back.
//
//   series        the series UID
//   image         the image number in the series, counted from 1
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
//
// The state is the viewer's (viewer.js getState): `image` counts from 0 and
// `position` is {x, y} as xpos and ypos above. This module imports nothing and
// touches neither the page nor the network.

/** The left-mouse tools by the reference guide's numbers (change_left_mouse). */
export const TOOL_NUMBERS = Object.freeze({ 1: "window", 2: "pan", 3: "scroll", 4: "zoom" });

/** The parameter names this module reads and writes, in the order written. */
export const VIEW_PARAMS = Object.freeze([
  "series",
  "image",
  "window_level",
  "window_width",
  "zoom",
  "xpos",
  "ypos",
  "mode",
]);

/** A number as short text with at most `digits` decimals ("-0" as "0"). */
function short(x, digits) {
  const text = String(Number(x.toFixed(digits)));
  return text === "-0" ? "0" : text;
}

function finite(x) {
  return typeof x === "number" && Number.isFinite(x);
}

/**
 * Query parameters for a viewer state.
 *
 * Only what the state knows is written: no `image` without one, no window until
 * the viewer has one, no `zoom` at 1, no `xpos`/`ypos` without a position, and
 * `mode` only when it is "simple".
 *
 * @param {object} state a viewer state (see the top of this module)
 * @returns {URLSearchParams} the parameters, in the order of VIEW_PARAMS
 */
export function stateToParams(state) {
  const params = new URLSearchParams();
  if (state.series) params.set("series", String(state.series));
  if (finite(state.image)) params.set("image", String(Math.round(state.image) + 1));
  const w = state.window;
  if (w && finite(w.center) && finite(w.width)) {
    params.set("window_level", short(w.center, 2));
    params.set("window_width", short(w.width, 2));
  }
  if (finite(state.zoom) && Math.abs(state.zoom - 1) > 1e-9) {
    params.set("zoom", short(state.zoom, 4));
  }
  const p = state.position;
  if (p && finite(p.x) && finite(p.y)) {
    params.set("xpos", short(p.x, 2));
    params.set("ypos", short(p.y, 2));
  }
  if (state.mode === "simple") params.set("mode", "simple");
  return params;
}

function numberOf(params, name) {
  const raw = params.get(name);
  if (raw === null || raw.trim() === "") return undefined;
  const value = Number(raw);
  return Number.isFinite(value) ? value : undefined;
}

/**
 * The part of a viewer state that query parameters give.
 *
 * Missing and unusable parameters are left out of the answer (the viewer keeps
 * its own value for them): an image number below 1, a window with only one of
 * its two parameters or a width below 1, a zoom that is not positive. `xpos`
 * without `ypos` (or the reverse) gives a position whose other coordinate is
 * undefined, which the viewer reads as the image's middle.
 *
 * @param {URLSearchParams|string} params the query (a leading "?" is allowed)
 * @returns {object} a partial viewer state for setState, with `mode` always
 *   set ("simple" or "normal")
 */
export function paramsToState(params) {
  const query = typeof params === "string" ? new URLSearchParams(params) : params;
  const state = {};
  const series = query.get("series");
  if (series) state.series = series;
  const image = numberOf(query, "image");
  if (image !== undefined && image >= 1) state.image = Math.round(image) - 1;
  const center = numberOf(query, "window_level");
  const width = numberOf(query, "window_width");
  if (center !== undefined && width !== undefined && width >= 1) {
    state.window = { center, width };
  }
  const zoom = numberOf(query, "zoom");
  if (zoom !== undefined && zoom > 0) state.zoom = zoom;
  const x = numberOf(query, "xpos");
  const y = numberOf(query, "ypos");
  if (x !== undefined || y !== undefined) state.position = { x, y };
  state.mode = query.get("mode") === "simple" ? "simple" : "normal";
  return state;
}
