// The claripacs image viewer: one canvas, window/level and scroll on raw pixel
// values in the browser, so that no interaction waits for the server.
//
// This module is the product's own viewer (no framework, nothing fetched from
// the network; it imports only linking.js). Two thin adapters feed it: the HTTP
// adapter of the standalone page (page.js) and the anywidget model (widget.js).
//
// A source is an object with
//   async info()        -> {seriesUid, modality, label, series: [{uid, label}],
//                           instances: [{uid, frames, image?: image_info}],
//                           stacks?: [Stack.to_dict()]}
//   async frame(index, ref?) -> {info: image_info, pixels: ArrayBuffer}
//   async select(uid)   (optional) switches the source to another series.
// With `stacks` (claripacs_jupyter.dicom.series.Stack.to_dict(): frames as
// [sopUid, frame] in display order, positions, orientation, warnings) the
// viewer shows one stack at a time, `index` counts the images of that stack in
// display order and `ref` = {instance: sopUid, frame} names the image; a source
// must fetch by `ref` when it is given. Without `stacks`, `index` counts every
// frame of every instance, in the order the instances are listed.

import { linkGroup, positionAlongNormal, sliceNormal } from "./linking.js";

import { annotationDistance, checkAnnotations, drawAnnotations, measureAnnotation, modalityUnit } from "./annotations.js";

/** Window presets for CT, in Hounsfield units. */
export const CT_PRESETS = Object.freeze([
  { name: "Soft tissue", center: 40, width: 400, key: "1" },
  { name: "Lung", center: -600, width: 1500, key: "2" },
  { name: "Bone", center: 300, width: 2000, key: "3" },
  { name: "Brain", center: 40, width: 80, key: "4" },
  { name: "CTA", center: 170, width: 600, key: "5" },
]);

/** Keys that choose the file's own windows, in the file's order. */
const FILE_WINDOW_KEYS = ["6", "7", "8", "9"];

const TOOLS = Object.freeze([
  { id: "scroll", label: "Scroll", key: "s" },
  { id: "window", label: "W/L", key: "w" },
  { id: "zoom", label: "Zoom", key: "z" },
  { id: "pan", label: "Pan", key: "p" },
  { id: "arrow", label: "Arrow", key: "a" },
  { id: "text", label: "Text", key: "t" },
  { id: "length", label: "Length", key: "m" },
  { id: "ellipse", label: "Ellipse", key: "e" },
  { id: "angle", label: "Angle", key: "g" },
]);

/** The left-mouse tools that draw an annotation of their own type. */
const ANNOTATION_TOOLS = new Set(["arrow", "text", "length", "ellipse", "angle"]);
const KEY_IMAGE_KEY = "k";
/** Keys that move the image slider and the series picker themselves. */
const CONTROL_KEYS = new Set([
  "ArrowUp",
  "ArrowDown",
  "ArrowLeft",
  "ArrowRight",
  "PageUp",
  "PageDown",
  "Home",
  "End",
]);
const HIT_DISTANCE = { mouse: 6, touch: 16 }; // CSS px from a shape that selects it
const CLICK_DISTANCE = { mouse: 3, touch: 10 }; // CSS px a click may move
const WHEEL_ZOOM_RATE = 0.002; // zoom factor e^(-rate * wheel delta in CSS px)
const MIN_ZOOM = 0.05;
const MAX_ZOOM = 64;

const LUT_DTYPES = {
  uint8: { offset: 0, size: 256, array: Uint8Array },
  int8: { offset: 128, size: 256, array: Int8Array },
  uint16: { offset: 0, size: 65536, array: Uint16Array },
  int16: { offset: 32768, size: 65536, array: Int16Array },
};
const DIRECT_DTYPES = {
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
};

const OPAQUE_BLACK = 0xff000000;
const WHEEL_STEP = 100; // wheel delta (CSS pixels) that moves one image
const DEFAULT_CONCURRENCY = 4;
const DEFAULT_CACHE_BYTES = 512 * 1024 * 1024;
const LUT_CACHE_SIZE = 24;
const DEFAULT_CINE_FPS = 15;
const MAX_CINE_FPS = 120;

/**
 * The DICOM linear VOI function (PS3.3 C.11.2.1.2.1) onto 0..255.
 * @param {number} x modality value
 * @param {number} center window centre
 * @param {number} width window width (at least 1)
 * @returns {number} display value 0..255, unrounded
 */
export function linearWindow(x, center, width) {
  const w = Math.max(width, 1);
  const low = center - 0.5 - (w - 1) / 2;
  const high = center - 0.5 + (w - 1) / 2;
  if (x <= low) return 0;
  if (x > high) return 255;
  // this form keeps exact halves exact, so rounding matches dicom.render
  return ((x - (center - 0.5)) * 255) / (w - 1) + 127.5;
}

function rescaleOf(info, frame) {
  const rescale = info.rescale || [];
  const pair = rescale[Math.min(frame, rescale.length - 1)] || [1, 0];
  return { slope: Number(pair[0]), intercept: Number(pair[1]) };
}

// The image_info of each frame of a multi-frame image, built once per info,
// and the set of those built (frames whose values may differ from frame 0's).
const frameInfos = new WeakMap();
const perFrameInfos = new WeakSet();

/**
 * The image_info of frame `frame`: `info` with the frame's own values from
 * info.frames_info (position, orientation, pixel spacing, rescale, windows,
 * VOI function and LUTs) in place of frame 0's. The same object every time.
 */
export function frameInfoOf(info, frame) {
  const perFrame = info && info.frames_info;
  if (!perFrame || !perFrame.length) return info;
  let list = frameInfos.get(info);
  if (!list) {
    list = [];
    frameInfos.set(info, list);
  }
  const k = Math.min(Math.max(0, frame), perFrame.length - 1);
  if (!list[k]) {
    const own = perFrame[k] || {};
    const merged = { ...info, ...own, frames_info: null };
    if (own.rescale) {
      // rescale stays a list per frame, with this frame's pair at its place
      merged.rescale = (info.rescale || []).slice();
      merged.rescale[k] = own.rescale;
    }
    if (own.windows) {
      // a frame opens with its first window (image_info's rule)
      merged.default_window = own.windows.length ? own.windows[0] : info.default_window;
    }
    perFrameInfos.add(merged);
    list[k] = merged;
  }
  return list[k];
}

function paddingOf(info) {
  if (!info.padding) return null;
  const [a, b] = info.padding.map(Number);
  return [Math.min(a, b), Math.max(a, b)];
}

/** The window that shows `low` as the last black and `high` as the first white. */
function windowForRange(low, high) {
  return {
    center: (low + high + 1) / 2,
    width: Math.max(high - low + 1, 1),
    function: null,
    lut: null,
  };
}

/**
 * A window as the viewer keeps it: {center, width, function, lut}. `function`
 * is LINEAR, LINEAR_EXACT, SIGMOID or null (the file's VOI LUT Function);
 * `lut` the position of one of the file's VOI LUTs in info.voi_luts, or null.
 * LINEAR widths below 1 count as 1; the others must be above 0.
 */
function windowOf(w, info) {
  const fn = VOI_FUNCTIONS[w.function] ? w.function : null;
  const lut = Number.isInteger(w.lut) && w.lut >= 0 ? w.lut : null;
  let width = Number(w.width);
  if (functionName({ function: fn }, info) === "LINEAR") width = Math.max(1, width);
  else if (!(width > 0)) width = 1;
  return { center: Number(w.center), width, function: fn, lut };
}

/** Lowest and highest modality value of a grey frame, padding left out. */
function dataRange(frame, frameIndex) {
  const { info, pixels } = frame;
  const padding = paddingOf(info);
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i];
    if (padding && v >= padding[0] && v <= padding[1]) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  if (!(low <= high)) return null;
  const { slope, intercept } = rescaleOf(info, frameIndex);
  const a = low * slope + intercept;
  const b = high * slope + intercept;
  return [Math.min(a, b), Math.max(a, b)];
}

/** Pack a grey value 0..255 into an opaque RGBA pixel of a little-endian Uint32. */
function grey32(v) {
  return (OPAQUE_BLACK | (v << 16) | (v << 8) | v) >>> 0;
}

/**
 * The DICOM LINEAR_EXACT VOI function (PS3.3 C.11.2.1.3.2) onto 0..255.
 * @param {number} x modality value
 * @param {number} center window centre
 * @param {number} width window width (above 0)
 * @returns {number} display value 0..255, unrounded
 */
export function linearExactWindow(x, center, width) {
  const w = width > 0 ? width : 1;
  if (x <= center - w / 2) return 0;
  if (x > center + w / 2) return 255;
  // the same order of operations as dicom.voi, so halves round alike
  return ((x - center) * 255) / w + 127.5;
}

/**
 * The DICOM SIGMOID VOI function (PS3.3 C.11.2.1.3.1) onto 0..255.
 * @param {number} x modality value
 * @param {number} center window centre
 * @param {number} width window width (above 0)
 * @returns {number} display value 0..255, unrounded
 */
export function sigmoidWindow(x, center, width) {
  const w = width > 0 ? width : 1;
  return 255 / (1 + Math.exp((-4 * (x - center)) / w));
}

const VOI_FUNCTIONS = {
  LINEAR: linearWindow,
  LINEAR_EXACT: linearExactWindow,
  SIGMOID: sigmoidWindow,
};

/** The VOI function a window uses: its own, else the file's, else LINEAR. */
function functionName(window, info) {
  const name = (window && window.function) ?? (info && info.voi_function);
  return VOI_FUNCTIONS[name] ? name : "LINEAR";
}

/** The file's VOI LUT a window shows (an item of info.voi_luts), or null. */
function voiLutOf(window, info) {
  if (!window || window.lut === null || window.lut === undefined) return null;
  const lut = ((info && info.voi_luts) || [])[window.lut];
  return lut && lut.data && lut.data.length ? lut : null;
}

// One 8-bit table per VOI LUT (the LUT objects of image_info are the keys), and
// a number per LUT to tell stored-value tables built from different LUTs apart.
const voiTables = new WeakMap();
let voiLutCount = 0;

/** The display values 0..255 of a VOI LUT's entries, built once per LUT. */
function voiTable(lut) {
  let entry = voiTables.get(lut);
  if (!entry) {
    const top = 2 ** Number(lut.bits) - 1;
    const table = new Uint8Array(lut.data.length);
    for (let i = 0; i < table.length; i++) {
      const v = Math.floor((Number(lut.data[i]) * 255) / top + 0.5);
      table[i] = Math.min(255, Math.max(0, v));
    }
    entry = { table, id: ++voiLutCount };
    voiTables.set(lut, entry);
  }
  return entry;
}

/**
 * The map from modality value to display value 0..255 (rounded half up, not
 * yet inverted; not-a-number shows 0) for a window on an image: the window's
 * VOI LUT when it has one, else its VOI function, as dicom.voi.apply_window.
 */
function displayMap(window, info) {
  const lut = voiLutOf(window, info);
  if (lut) {
    const { table } = voiTable(lut);
    const first = Number(lut.first);
    const last = table.length - 1;
    return (x) => {
      if (Number.isNaN(x)) return 0;
      const i = Math.floor(x) - first;
      return table[i < 0 ? 0 : i > last ? last : i];
    };
  }
  const fn = VOI_FUNCTIONS[functionName(window, info)];
  const { center, width } = window;
  return (x) => {
    const v = Math.floor(fn(x, center, width) + 0.5);
    return v >= 0 ? Math.min(v, 255) : 0; // NaN too
  };
}

/**
 * A lookup table from stored value to packed RGBA, for one rescale, display
 * map, padding and inversion. Built for 8- and 16-bit stored values only.
 */
function buildLut(dtype, slope, intercept, map, invert, padding) {
  const spec = LUT_DTYPES[dtype];
  const lut = new Uint32Array(spec.size);
  for (let i = 0; i < spec.size; i++) {
    const stored = i - spec.offset;
    if (padding && stored >= padding[0] && stored <= padding[1]) {
      lut[i] = OPAQUE_BLACK;
      continue;
    }
    let v = map(stored * slope + intercept);
    if (invert) v = 255 - v;
    lut[i] = grey32(v);
  }
  return lut;
}

/** A typed array over the little-endian pixel bytes, copied when misaligned. */
function typedPixels(buffer, ctor) {
  if (ctor.BYTES_PER_ELEMENT > 1 && buffer.byteLength % ctor.BYTES_PER_ELEMENT) {
    throw new Error("pixel data length does not fit its data type");
  }
  return new ctor(buffer);
}

/** Size in bytes that one image of `info` must have. */
function expectedBytes(info) {
  const count = info.rows * info.columns;
  if (info.kind === "rgb") return count * 3;
  const ctor = (LUT_DTYPES[info.dtype] || {}).array || DIRECT_DTYPES[info.dtype];
  if (!ctor) throw new Error(`unsupported pixel data type ${info.dtype}`);
  return count * ctor.BYTES_PER_ELEMENT;
}

function formatNumber(x) {
  return Number.isInteger(x) ? String(x) : x.toFixed(1);
}

function el(tag, props = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("aria-") || k.startsWith("data-") || k === "role") {
      node.setAttribute(k, v);
    } else node[k] = v;
  }
  for (const c of children) node.append(c);
  return node;
}

/**
 * Create a viewer inside `element`.
 *
 * @param {HTMLElement} element the host; the viewer fills it
 * @param {object} source the frame source (see the top of this module)
 * @param {object} [options]
 * @param {number} [options.image] first image index (0-based)
 * @param {number} [options.stack] first stack of the series (0-based)
 * @param {boolean} [options.linked] start in the link group (see linking.js)
 * @param {string} [options.linkGroup] the link group's name ("default")
 * @param {{center: number, width: number}} [options.window] first window
 * @param {string} [options.tool] "scroll", "window", "zoom" or "pan"
 * @param {string} [options.mode] "simple" hides the toolbar; else "normal"
 * @param {string} [options.height] CSS height of the viewer, e.g. "480px"
 * @param {number} [options.concurrency] frames requested at once
 * @param {number} [options.cacheBytes] pixel bytes kept in memory
 * @returns {object} the viewer: getState, setState, selectSeries, onChange, ready,
 *   destroy
 *
 * The state also holds `annotations` (a list of {type, image, points, text?}:
 * see annotations.js; setState replaces the whole list) and `keyImages` (the
 * sorted 0-based indices of the images marked as key images). The tools
 * "arrow", "text", "length", "ellipse" and "angle" draw annotations with the
 * left mouse button or one finger; two fingers pinch to zoom and move to pan.
 *
 * The state (getState, setState, onChange) holds `series`, `image` (from 0),
 * `window` ({center, width, function, lut}: `function` LINEAR, LINEAR_EXACT,
 * SIGMOID or null for the file's VOI LUT Function; `lut` null, or the position
 * in image_info.voi_luts of the file's VOI LUT shown instead), `zoom` (1 fits
 * the image), `pan` (offset of the image, in fractions of its drawn size),
 * `position` and `mode`. `position` is
 * `pan` told another way: {x, y}, the image point at the centre of the view in
 * image pixel coordinates (0 at the image's left and top edges; an undefined
 * coordinate is the image's middle), null until the image's size is known; a
 * position set before that is applied when it is. `mode` is "normal" or
 * "simple" (the toolbar hidden). `stack` is the stack of the series shown
 * (from 0; a series split by orientation or size, or with multi-frame files, has
 * several) and `linked` whether the viewer scrolls with its link group.
 */
export function createViewer(element, source, options = {}) {
  const state = {
    series: null,
    image: Math.max(0, Math.trunc(options.image ?? 0)),
    window: options.window ? windowOf(options.window, null) : null,
    zoom: 1,
    pan: { x: 0, y: 0 },
    annotations: [],
    keyImages: [],
    tool: TOOLS.some((t) => t.id === options.tool) ? options.tool : "scroll",
    mode: options.mode === "simple" ? "simple" : "normal",
    stack: Math.max(0, Math.trunc(Number(options.stack) || 0)),
    linked: false,
  };
  const group = linkGroup(options.linkGroup ?? "default");
  let pendingPosition = null; // a position set before the image's size was known
  // true while the window on screen is the file's own (none chosen by the user):
  // the frames of a multi-frame image then each open with their own window
  let windowFromFile = !options.window;
  const cine = { playing: false, fps: DEFAULT_CINE_FPS, due: 0, handle: 0 };
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const cacheBudget = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const listeners = new Set();

  let series = null; // the info() answer for the current series
  let images = []; // [{instance, frame, info, position}] of the stack shown
  let loadingSeries = true; // info() of the series is on its way
  let frames = new Map(); // index -> {info, pixels: typed array, bytes}
  let cachedBytes = 0;
  let inflight = new Set();
  let failed = new Map();
  let generation = 0;
  let drawn = null; // {index, gen} of the picture on the canvas
  let destroyed = false;
  let drawQueued = false;
  const luts = new Map();
  let resolveReady;
  let rejectReady;
  const ready = new Promise((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => {}); // a failure is shown in the viewer; awaiting is optional

  // ---- DOM -------------------------------------------------------------------
  const root = el("div", {
    class: "claripacs-viewer",
    tabIndex: 0,
    "aria-label": "Image viewer",
    "data-state": "loading",
  });
  if (options.height) root.style.height = options.height;
  const seriesPicker = el("select", { class: "cpv-series", "aria-label": "Series" });
  seriesPicker.hidden = true;
  const toolButtons = TOOLS.map((t) =>
    el("button", {
      type: "button",
      class: "cpv-tool",
      text: t.label,
      title: `${t.label} with the left mouse button (${t.key.toUpperCase()})`,
      "aria-pressed": "false",
      "data-tool": t.id,
    }),
  );
  const toolGroup = el("div", { class: "cpv-group", role: "group" }, toolButtons);
  toolGroup.setAttribute("aria-label", "Left mouse tool");
  const keyButton = el("button", {
    type: "button",
    class: "cpv-key",
    text: "Key image",
    title: `Mark the image shown as a key image (${KEY_IMAGE_KEY.toUpperCase()})`,
    "aria-pressed": "false",
  });
  const clearButton = el("button", {
    type: "button",
    class: "cpv-clear",
    text: "Clear",
    title: "Remove the annotations of this image (Delete removes the selected one)",
  });
  const annotGroup = el("div", { class: "cpv-group", role: "group" }, [
    keyButton,
    clearButton,
  ]);
  annotGroup.setAttribute("aria-label", "Annotations");
  const presetGroup = el("div", { class: "cpv-group", role: "group" });
  presetGroup.setAttribute("aria-label", "Window presets");
  const resetButton = el("button", {
    type: "button",
    class: "cpv-reset",
    text: "Reset",
    title: "Fit the image and restore the file's window (R)",
  });
  const playButton = el("button", {
    type: "button",
    class: "cpv-play",
    text: "Play",
    title: "Play the images as a loop (C)",
    "aria-pressed": "false",
  });
  const fpsInput = el("input", {
    type: "number",
    class: "cpv-fps",
    min: "1",
    max: String(MAX_CINE_FPS),
    step: "1",
    value: String(DEFAULT_CINE_FPS),
    title: "Cine rate in frames per second",
    "aria-label": "Frames per second",
  });
  const cineGroup = el("div", { class: "cpv-group cpv-cine", role: "group" }, [
    playButton,
    fpsInput,
    el("span", { class: "cpv-fps-unit", text: "fps" }),
  ]);
  cineGroup.setAttribute("aria-label", "Cine");
  cineGroup.hidden = true;
  const linkButton = el("button", {
    type: "button",
    class: "cpv-link",
    text: "Link",
    title: "Scroll together with the other linked viewers (L)",
    "aria-pressed": "false",
  });
  // the stack's warnings (gaps, duplicate positions, split, no geometry)
  const warningsSummary = el("summary", { class: "cpv-warnings-summary" });
  const warningsList = el("ul", { class: "cpv-warnings-list" });
  const warningsStrip = el("details", { class: "cpv-warnings", role: "status" }, [
    warningsSummary,
    warningsList,
  ]);
  warningsStrip.setAttribute("aria-label", "Stack warnings");
  warningsStrip.hidden = true;
  const toolbar = el("div", { class: "cpv-toolbar", role: "toolbar" }, [
    seriesPicker,
    toolGroup,
    annotGroup,
    presetGroup,
    cineGroup,
    resetButton,
    linkButton,
  ]);
  toolbar.setAttribute("aria-label", "Viewer tools");
  const canvas = el("canvas", { class: "cpv-canvas", role: "img" });
  canvas.setAttribute("aria-label", "Loading image");
  const overlayImage = el("div", { class: "cpv-overlay cpv-overlay-image" });
  const overlayWindow = el("div", { class: "cpv-overlay cpv-overlay-window" });
  const overlayZoom = el("div", {
    class: "cpv-overlay cpv-overlay-zoom",
    title: "100% shows one image pixel per screen pixel",
  });
  const overlayKey = el("div", {
    class: "cpv-overlay cpv-overlay-key",
    text: "Key image",
  });
  overlayKey.hidden = true;
  const textInput = el("input", {
    type: "text",
    class: "cpv-text-input",
    placeholder: "Text, then Enter",
    "aria-label": "Annotation text",
  });
  textInput.hidden = true;
  const status = el("div", { class: "cpv-status", role: "status" });
  // right-drag is window/level: JupyterLab must not open its context menu here
  const stage = el("div", { class: "cpv-stage", "data-jp-suppress-context-menu": "" }, [
    canvas,
    overlayImage,
    overlayWindow,
    overlayZoom,
    overlayKey,
    textInput,
    status,
  ]);
  const slider = el("input", {
    type: "range",
    class: "cpv-slider",
    min: "1",
    max: "1",
    step: "1",
    value: "1",
    "aria-label": "Image number",
  });
  root.append(toolbar, warningsStrip, stage, slider);
  element.append(root);
  const ctx = canvas.getContext("2d");
  const offscreen = document.createElement("canvas");
  const offctx = offscreen.getContext("2d");
  let imageData = null;

  // ---- state changes -----------------------------------------------------------
  function emit(changed) {
    if (!changed.length) return;
    const snapshot = getState();
    for (const fn of listeners) {
      try {
        fn(snapshot, changed);
      } catch (err) {
        console.error("claripacs viewer listener failed", err);
      }
    }
    if (state.linked && images.length) {
      // a new series or stack joins the group where it is; a new image leads it
      // (the group ignores both while it is the one moving the viewer)
      if (changed.includes("series") || changed.includes("stack")) followGroup();
      else if (changed.includes("image")) group.moved(api);
    }
  }

  /** Move to the image that goes with the other linked viewers' images. */
  function followGroup() {
    const lead = group.viewers.find((v) => v !== api && v.count > 0);
    if (lead) group.moved(lead);
  }

  function getState() {
    return {
      series: state.series,
      image: state.image,
      window: state.window ? { ...state.window } : null,
      zoom: state.zoom,
      pan: { ...state.pan },
      position: positionOf(),
      annotations: state.annotations.map((a) => ({
        ...a,
        points: a.points.map((p) => [p[0], p[1]]),
      })),
      keyImages: [...state.keyImages],
      tool: state.tool,
      mode: state.mode,
      stack: state.stack,
      linked: state.linked,
    };
  }

  /** The image point at the centre of the view, in image pixels; null if unknown. */
  function positionOf() {
    const info = currentInfo();
    if (!info || !(info.columns > 0) || !(info.rows > 0)) return null;
    return {
      x: (0.5 - state.pan.x) * info.columns,
      y: (0.5 - state.pan.y) * info.rows,
    };
  }

  /** The pan that puts image point `position` at the centre; null if unknown. */
  function panFor(position) {
    const info = currentInfo();
    if (!info || !(info.columns > 0) || !(info.rows > 0)) return null;
    const x = Number(position.x);
    const y = Number(position.y);
    return {
      x: Number.isFinite(x) ? 0.5 - x / info.columns : 0,
      y: Number.isFinite(y) ? 0.5 - y / info.rows : 0,
    };
  }

  /** Apply part of a state; returns the names of the keys that changed. */
  function apply(partial) {
    const changed = [];
    if (partial.stack !== undefined) {
      const k = Math.max(0, Math.trunc(Number(partial.stack) || 0));
      if (k !== state.stack && showStack(k)) changed.push("stack");
    }
    if (partial.image !== undefined && images.length) {
      const i = Math.min(Math.max(0, Math.round(partial.image)), images.length - 1);
      if (i !== state.image) {
        state.image = i;
        changed.push("image");
      }
    } else if (partial.image !== undefined && partial.image !== state.image) {
      state.image = Math.max(0, Math.round(partial.image));
      changed.push("image");
    }
    if (partial.window !== undefined) {
      const w = partial.window;
      const next = w ? windowOf(w, currentInfo()) : null;
      // a window told by centre and width only (a notebook trait, a URL) is
      // the one on screen when those match, whatever its function or LUT
      const same =
        next && state.window
          ? next.center === state.window.center &&
            next.width === state.window.width &&
            (w.function === undefined || next.function === state.window.function) &&
            (w.lut === undefined || next.lut === state.window.lut)
          : next === state.window;
      if (!same && (!next || (Number.isFinite(next.center) && Number.isFinite(next.width)))) {
        state.window = next;
        windowFromFile = !w;
        changed.push("window");
      }
    }
    if (partial.zoom !== undefined) {
      const z = Math.min(Math.max(Number(partial.zoom), 0.05), 64);
      if (Number.isFinite(z) && z !== state.zoom) {
        state.zoom = z;
        changed.push("zoom");
      }
    }
    if (partial.position) {
      const pan = panFor(partial.position);
      if (pan) partial = { ...partial, pan };
      else pendingPosition = { ...partial.position };
    }
    if (partial.pan !== undefined) {
      if (!partial.position) pendingPosition = null;
      const p = { x: Number(partial.pan.x) || 0, y: Number(partial.pan.y) || 0 };
      if (p.x !== state.pan.x || p.y !== state.pan.y) {
        state.pan = p;
        changed.push("pan");
      }
    }
    if (partial.annotations !== undefined) {
      const { annotations, rejected } = checkAnnotations(partial.annotations ?? []);
      if (rejected.length) {
        console.warn(`claripacs viewer: annotations left out: ${rejected.join("; ")}`);
      }
      if (JSON.stringify(annotations) !== JSON.stringify(state.annotations)) {
        state.annotations = annotations;
        selected = -1;
        changed.push("annotations");
      }
    }
    if (partial.keyImages !== undefined) {
      const list = partial.keyImages ?? [];
      const valid = Array.isArray(list)
        ? list.filter((i) => Number.isInteger(i) && i >= 0)
        : [];
      if (!Array.isArray(list) || valid.length !== list.length) {
        console.warn("claripacs viewer: keyImages must be image indices from 0");
      }
      const keys = [...new Set(valid)].sort((a, b) => a - b);
      if (keys.join() !== state.keyImages.join()) {
        state.keyImages = keys;
        changed.push("keyImages");
      }
    }
    if (changed.includes("image") || changed.includes("annotations")) {
      // a half-drawn annotation or a selection belongs to the image it was on
      dropSketch();
      if (changed.includes("image")) selected = -1;
    }
    if (partial.tool !== undefined && partial.tool !== state.tool) {
      if (TOOLS.some((t) => t.id === partial.tool)) {
        state.tool = partial.tool;
        changed.push("tool");
      }
    }
    if (partial.mode !== undefined) {
      const mode = partial.mode === "simple" ? "simple" : "normal";
      if (mode !== state.mode) {
        state.mode = mode;
        changed.push("mode");
      }
    }
    if (partial.linked !== undefined && !!partial.linked !== state.linked) {
      state.linked = !!partial.linked;
      if (state.linked) group.add(api);
      else group.remove(api);
      changed.push("linked");
      if (state.linked && images.length) followGroup();
    }
    if (changed.includes("window") && !state.window) {
      // null means "the file's window": take it from the image on screen
      const info = currentInfo();
      if (info) state.window = fileDefaultWindow(info);
    }
    if (changed.length) {
      refreshControls();
      if (changed.includes("image")) pump();
      scheduleDraw();
    }
    return changed;
  }

  function setState(partial) {
    emit(apply(partial));
  }

  // ---- series and frames ------------------------------------------------------
  function currentInfo() {
    const f = frames.get(state.image);
    if (f) return f.info;
    const img = images[state.image];
    return img ? img.info : null;
  }

  /**
   * The window the file asks for: its first window, else one over the data
   * range without padding (from image_info, else from the pixels on screen),
   * as claripacs_jupyter.dicom.default_window computes it.
   */
  function fileDefaultWindow(info) {
    const d = info.default_window;
    if (d && Number.isFinite(Number(d.center)) && Number.isFinite(Number(d.width))) {
      return windowOf(d, info);
    }
    let range = info.value_range ? info.value_range.map(Number) : null;
    const frame = frames.get(state.image);
    if (!range && info.kind !== "rgb" && frame && frame.info === info) {
      range = dataRange(frame, images[state.image].frame);
    }
    if (!range) range = [0, 255];
    return windowForRange(range[0], range[1]);
  }

  async function loadSeries() {
    const gen = ++generation;
    frames = new Map();
    cachedBytes = 0;
    inflight = new Set();
    failed = new Map();
    drawn = null;
    loadingSeries = true;
    root.dataset.state = "loading";
    showStatus("Loading series…");
    let answer;
    try {
      answer = await source.info();
    } catch (err) {
      if (gen === generation) fail(err);
      return;
    }
    if (gen !== generation || destroyed) return;
    series = answer;
    loadingSeries = false;
    const changed = ["series"];
    if (state.stack > stacksOf(answer).length - 1) {
      state.stack = 0;
      changed.push("stack");
    }
    images = imagesOf(answer, state.stack);
    if (!images.length) {
      fail(new Error("This series has no images."));
      return;
    }
    state.series = answer.seriesUid ?? null;
    if (state.image > images.length - 1) {
      state.image = images.length - 1;
      changed.push("image");
    }
    buildSeriesPicker();
    buildWarnings();
    buildPresets();
    refreshControls();
    emit(changed);
    pump();
  }

  /** The stacks of an info() answer; empty when the source gives none. */
  function stacksOf(answer) {
    const list = answer && answer.stacks;
    return Array.isArray(list) ? list.filter((st) => st && Array.isArray(st.frames)) : [];
  }

  /**
   * The images of stack `k` of an info() answer in display order, each
   * {instance, frame, info, position}: `position` in mm along the slice
   * normal from the stack's positions, else from image_info, else null.
   * Without stacks: every frame of every instance, as listed.
   */
  function imagesOf(answer, k) {
    const byUid = new Map((answer.instances || []).map((inst) => [inst.uid, inst]));
    const infoOf = (inst, f) => (inst && inst.image ? frameInfoOf(inst.image, f) : null);
    const stack = stacksOf(answer)[k];
    const list = [];
    if (stack) {
      const positions = Array.isArray(stack.positions) ? stack.positions : [];
      stack.frames.forEach(([uid, f], j) => {
        const info = infoOf(byUid.get(uid), Number(f) || 0);
        const given = positions[j];
        const position = Number.isFinite(given) ? given : positionAlongNormal(info);
        list.push({ instance: uid, frame: Number(f) || 0, info, position });
      });
      return list;
    }
    for (const inst of answer.instances || []) {
      const count = Math.max(1, Number(inst.frames ?? inst.image?.frames ?? 1));
      for (let f = 0; f < count; f++) {
        const info = infoOf(inst, f);
        list.push({ instance: inst.uid, frame: f, info, position: positionAlongNormal(info) });
      }
    }
    return list;
  }

  /**
   * Show stack `k` of the series (the images, picker and warnings follow);
   * false when the series has no such stack. Before the series is known the
   * stack is only remembered.
   */
  function showStack(k) {
    if (loadingSeries) {
      state.stack = k;
      return true;
    }
    const next = series ? imagesOf(series, k) : [];
    if (k >= stacksOf(series).length || !next.length) return false;
    generation++; // frames on their way belong to the other stack
    state.stack = k;
    images = next;
    frames = new Map();
    cachedBytes = 0;
    inflight = new Set();
    failed = new Map();
    state.image = Math.min(state.image, images.length - 1);
    buildSeriesPicker();
    buildWarnings();
    pump();
    return true;
  }

  /** The stack's warnings, listed in the warnings strip. */
  function buildWarnings() {
    const stack = stacksOf(series)[state.stack];
    const list = (stack && Array.isArray(stack.warnings) ? stack.warnings : []).filter(
      (w) => w && w.message,
    );
    warningsList.replaceChildren(
      ...list.map((w) =>
        el("li", { class: "cpv-warning", "data-kind": String(w.kind ?? ""), text: w.message }),
      ),
    );
    const count = list.length;
    warningsSummary.textContent = `${count} warning${count === 1 ? "" : "s"} on this stack`;
    warningsStrip.hidden = !count;
    root.dataset.warnings = String(count);
  }

  /** Where the images of the stack lie, for the link group (see linking.js). */
  function slices() {
    const stack = stacksOf(series)[state.stack];
    const img = images[state.image];
    const info = (img && img.info) || currentInfo();
    const normal = sliceNormal((stack && stack.orientation) || (info && info.orientation));
    return {
      image: state.image,
      count: images.length,
      positions: images.map((x) => (x.position ?? positionAlongNormal(x.info)) ?? null),
      normal,
    };
  }

  function fail(err) {
    root.dataset.state = "error";
    showStatus(err && err.message ? err.message : String(err), true);
    rejectReady(err);
  }

  function showStatus(text, isError = false) {
    status.textContent = text || "";
    status.hidden = !text;
    status.classList.toggle("cpv-error", isError);
  }

  /** The next image to fetch: the one on screen, then its nearest neighbours. */
  function nextWanted() {
    const n = images.length;
    const budgetLeft = cachedBytes < cacheBudget;
    for (let d = 0; d < n; d++) {
      for (const i of d ? [state.image + d, state.image - d] : [state.image]) {
        if (i < 0 || i >= n) continue;
        if (frames.has(i) || inflight.has(i) || failed.has(i)) continue;
        // past the memory budget only the neighbourhood is fetched
        if (!budgetLeft && d > concurrency * 2) return -1;
        return i;
      }
    }
    return -1;
  }

  function pump() {
    if (destroyed || !images.length) return;
    while (inflight.size < concurrency) {
      const i = nextWanted();
      if (i < 0) break;
      fetchFrame(i);
    }
    updateProgress();
  }

  function fetchFrame(i) {
    const gen = generation;
    const ref = { instance: images[i].instance, frame: images[i].frame };
    inflight.add(i);
    Promise.resolve()
      .then(() => source.frame(i, ref))
      .then((answer) => {
        if (gen !== generation || destroyed) return;
        const info = answer.info ? frameInfoOf(answer.info, images[i].frame) : images[i].info;
        if (!info) throw new Error("the source sent pixels without image information");
        const need = expectedBytes(info);
        if (answer.pixels.byteLength !== need) {
          throw new Error(`image ${i + 1}: ${answer.pixels.byteLength} bytes, expected ${need}`);
        }
        const ctor =
          info.kind === "rgb"
            ? Uint8Array
            : (LUT_DTYPES[info.dtype] || {}).array || DIRECT_DTYPES[info.dtype];
        images[i].info = info;
        frames.set(i, { info, pixels: typedPixels(answer.pixels, ctor), bytes: need });
        cachedBytes += need;
        evict();
        if (i === state.image) scheduleDraw();
      })
      .catch((err) => {
        if (gen !== generation || destroyed) return;
        failed.set(i, err);
        console.error(`claripacs viewer: image ${i + 1} failed`, err);
        if (i === state.image) scheduleDraw();
      })
      .finally(() => {
        if (gen !== generation) return;
        inflight.delete(i);
        pump();
      });
  }

  /** Drop the frames farthest from the image on screen while over the budget. */
  function evict() {
    if (cachedBytes <= cacheBudget) return;
    const byDistance = [...frames.keys()].sort(
      (a, b) => Math.abs(b - state.image) - Math.abs(a - state.image),
    );
    for (const i of byDistance) {
      if (cachedBytes <= cacheBudget || Math.abs(i - state.image) <= concurrency * 2) break;
      cachedBytes -= frames.get(i).bytes;
      frames.delete(i);
    }
  }

  function updateProgress() {
    root.dataset.loaded = String(frames.size);
    root.dataset.total = String(images.length);
  }

  // ---- controls -------------------------------------------------------------
  /**
   * The series picker: one entry per series, and one per stack of a series
   * with several (those of the series shown, and of others whose entry in
   * info().series carries `stacks`). A stack's entry has the value
   * "<series uid> <stack from 0>", the first stack's the series UID alone.
   */
  function buildSeriesPicker() {
    const list = (series && series.series) || [];
    const options = [];
    for (const s of list) {
      const own = s.uid === state.series ? stacksOf(series) : stacksOf(s);
      const label = s.label || s.uid;
      if (own.length < 2) {
        options.push(el("option", { value: s.uid, text: label }));
        continue;
      }
      // "3: T2 AX (40 images)" becomes "3: T2 AX (stack 2 of 2, 20 images)"
      const name = label.replace(/\s*\(\d+ images?\)$/, "");
      own.forEach((st, k) => {
        const count = `${st.frames.length} image${st.frames.length === 1 ? "" : "s"}`;
        const text = `${name} (stack ${k + 1} of ${own.length}, ${count})`;
        options.push(el("option", { value: k ? `${s.uid} ${k}` : s.uid, text }));
      });
    }
    seriesPicker.replaceChildren(...options);
    seriesPicker.hidden = options.length < 2;
    if (state.series) {
      seriesPicker.value = state.stack ? `${state.series} ${state.stack}` : state.series;
    }
  }

  /** Show the series and stack that a picker entry names. */
  function pickSeries(value) {
    const [uid, k] = value.split(" ");
    const stack = Number(k) || 0;
    if (uid === state.series) setState({ stack, image: 0 });
    else selectSeries(uid, stack);
  }

  function presetButton(p, title) {
    const b = el("button", { type: "button", class: "cpv-preset", text: p.name, title });
    b.addEventListener("click", () => setState({ window: p }));
    return b;
  }

  function fileWindows() {
    const img = images.find((x) => x.info) || null;
    const info = currentInfo() || (img && img.info);
    return ((info && info.windows) || []).map((w, k) => ({
      name: w.name || `File ${k + 1}`,
      center: Number(w.center),
      width: Number(w.width),
      function: w.function ?? null,
      lut: w.lut ?? null,
      key: FILE_WINDOW_KEYS[k],
    }));
  }

  function presets() {
    const ct = series && series.modality === "CT";
    return [...(ct ? CT_PRESETS : []), ...fileWindows()];
  }

  let presetSignature = "";
  function buildPresets() {
    const list = presets();
    const signature = JSON.stringify(list);
    if (signature === presetSignature) return;
    presetSignature = signature;
    presetGroup.replaceChildren(
      ...list.map((p) =>
        presetButton(
          p,
          (p.lut !== null && p.lut !== undefined
            ? "The file's VOI LUT"
            : `Window ${formatNumber(p.width)}, level ${formatNumber(p.center)}`) +
            (p.key ? ` (${p.key})` : ""),
        ),
      ),
    );
    presetGroup.hidden = !list.length;
  }

  function refreshControls() {
    const n = images.length;
    cineGroup.hidden = n < 2;
    playButton.textContent = cine.playing ? "Pause" : "Play";
    playButton.setAttribute("aria-pressed", String(cine.playing));
    root.dataset.playing = String(cine.playing);
    slider.max = String(Math.max(1, n));
    slider.value = String(state.image + 1);
    slider.disabled = n < 2;
    slider.setAttribute("aria-valuetext", `Image ${state.image + 1} of ${n}`);
    for (const b of toolButtons) {
      b.setAttribute("aria-pressed", String(b.dataset.tool === state.tool));
    }
    root.dataset.tool = state.tool;
    root.classList.toggle("cpv-simple", state.mode === "simple");
    root.dataset.image = String(state.image);
    root.dataset.stack = String(state.stack);
    root.dataset.linked = String(state.linked);
    linkButton.setAttribute("aria-pressed", String(state.linked));
    overlayImage.textContent = n ? `Image ${state.image + 1} / ${n}` : "";
    overlayWindow.textContent = windowLabel();
    const isKey = state.keyImages.includes(state.image);
    overlayKey.hidden = !isKey;
    keyButton.setAttribute("aria-pressed", String(isKey));
    root.dataset.annotations = String(state.annotations.length);
    const w = state.window;
    root.dataset.window = w ? `${w.center}/${w.width}` : "";
  }

  // ---- drawing ---------------------------------------------------------------
  function scheduleDraw() {
    if (drawQueued || destroyed) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      draw();
    });
  }

  /** The window's VOI LUT name while one is shown, else its width and level. */
  function windowLabel() {
    const w = state.window;
    if (!w) return "";
    const info = currentInfo();
    const lut = voiLutOf(w, info);
    if (lut) {
      const own = ((info && info.windows) || []).find((x) => x.lut === w.lut);
      return (own && own.name) || `VOI LUT ${w.lut + 1}`;
    }
    return `W ${formatNumber(w.width)}  L ${formatNumber(w.center)}`;
  }

  function lutFor(info, slope, intercept) {
    const w = state.window;
    const invert = !!info.invert;
    const voiLut = voiLutOf(w, info);
    const shape = voiLut
      ? ["lut", voiTable(voiLut).id]
      : [functionName(w, info), w.center, w.width];
    const key = [info.dtype, slope, intercept, ...shape, invert, info.padding].join("|");
    let lut = luts.get(key);
    if (!lut) {
      if (luts.size >= LUT_CACHE_SIZE) luts.delete(luts.keys().next().value);
      const padding = paddingOf(info);
      const map = displayMap(w, info);
      lut = buildLut(info.dtype, slope, intercept, map, invert, padding);
      luts.set(key, lut);
    }
    return lut;
  }

  /** Turn one frame's raw values into RGBA on the offscreen canvas. */
  function paint(frame, frameIndex) {
    const { info, pixels } = frame;
    const { rows, columns } = info;
    if (!imageData || imageData.width !== columns || imageData.height !== rows) {
      imageData = new ImageData(columns, rows);
      offscreen.width = columns;
      offscreen.height = rows;
    }
    const out8 = imageData.data;
    const out32 = new Uint32Array(out8.buffer);
    const count = rows * columns;
    if (info.kind === "rgb") {
      for (let i = 0, j = 0; i < count; i++, j += 3) {
        out8[4 * i] = pixels[j];
        out8[4 * i + 1] = pixels[j + 1];
        out8[4 * i + 2] = pixels[j + 2];
        out8[4 * i + 3] = 255;
      }
    } else {
      const { slope, intercept } = rescaleOf(info, frameIndex);
      if (!state.window) state.window = fileDefaultWindow(info);
      const spec = LUT_DTYPES[info.dtype];
      if (spec) {
        const lut = lutFor(info, slope, intercept);
        const offset = spec.offset;
        for (let i = 0; i < count; i++) out32[i] = lut[pixels[i] + offset];
      } else {
        const map = displayMap(state.window, info);
        const padding = paddingOf(info);
        const invert = !!info.invert;
        for (let i = 0; i < count; i++) {
          const stored = pixels[i];
          if (padding && stored >= padding[0] && stored <= padding[1]) {
            out32[i] = OPAQUE_BLACK;
            continue;
          }
          let v = map(stored * slope + intercept);
          if (invert) v = 255 - v;
          out32[i] = grey32(v);
        }
      }
    }
    offctx.putImageData(imageData, 0, 0);
  }

  /** Size of the canvas in CSS pixels and the device pixel ratio. */
  function stageSize() {
    const rect = stage.getBoundingClientRect();
    return { width: Math.max(1, rect.width), height: Math.max(1, rect.height) };
  }

  /** Scale (device pixels per image pixel, x and y) that fits the image. */
  function geometry(info) {
    const { width, height } = stageSize();
    const dpr = window.devicePixelRatio || 1;
    const spacing = info.pixel_spacing && info.pixel_spacing.map(Number);
    const rowMm = spacing && spacing[0] > 0 && spacing[1] > 0 ? spacing[0] : 1;
    const colMm = spacing && spacing[0] > 0 && spacing[1] > 0 ? spacing[1] : 1;
    const physW = info.columns * colMm;
    const physH = info.rows * rowMm;
    const fit = Math.min(width / physW, height / physH); // CSS px per mm
    const scale = fit * state.zoom;
    return {
      dpr,
      width,
      height,
      sx: scale * colMm,
      sy: scale * rowMm,
      fitCss: fit * Math.min(colMm, rowMm),
      drawW: physW * scale,
      drawH: physH * scale,
    };
  }

  function draw() {
    if (destroyed) return;
    const { width, height } = stageSize();
    const dpr = window.devicePixelRatio || 1;
    const cw = Math.round(width * dpr);
    const ch = Math.round(height * dpr);
    if (canvas.width !== cw || canvas.height !== ch) {
      canvas.width = cw;
      canvas.height = ch;
    }
    const frame = frames.get(state.image);
    if (!frame) {
      const err = failed.get(state.image);
      if (err) showStatus(`Image ${state.image + 1} could not be loaded: ${err.message}`, true);
      else if (images.length) showStatus(`Loading image ${state.image + 1}…`);
      // the previous picture stays until this one arrives
      if (drawn) return;
      ctx.fillStyle = "#000";
      ctx.fillRect(0, 0, cw, ch);
      return;
    }
    const img = images[state.image];
    if (pendingPosition) {
      // the image's size is known now: place the point the state asked for
      const pan = panFor(pendingPosition);
      pendingPosition = null;
      if (pan) setState({ pan });
    }
    const followed = followFrameWindow(frame.info);
    paint(frame, img.frame);
    const g = geometry(frame.info);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, cw, ch);
    const x = (width - g.drawW) / 2 + state.pan.x * g.drawW;
    const y = (height - g.drawH) / 2 + state.pan.y * g.drawH;
    ctx.imageSmoothingEnabled = state.zoom * g.fitCss < 4; // crisp pixels when magnified
    ctx.imageSmoothingQuality = "high";
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.drawImage(offscreen, x, y, g.drawW, g.drawH);
    drawAnnotationLayer((p) => [x + p[0] * g.sx, y + p[1] * g.sy]);
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    const percent = state.zoom * g.fitCss * 100;
    const shown = percent < 10 ? percent.toFixed(1) : Math.round(percent);
    overlayZoom.textContent = `Zoom ${shown}%`;
    drawn = { index: state.image, gen: generation };
    showStatus("");
    buildPresets();
    refreshControls();
    const modality = series && series.modality ? `${series.modality} ` : "";
    const lutShown = voiLutOf(state.window, frame.info);
    canvas.setAttribute(
      "aria-label",
      `${modality}image ${state.image + 1} of ${images.length}, ` +
        (lutShown
          ? `VOI LUT ${windowLabel()}`
          : `window ${formatNumber(state.window?.width ?? 0)} level ` +
            `${formatNumber(state.window?.center ?? 0)}`),
    );
    root.dataset.drawnImage = String(state.image);
    root.dataset.drawnStack = String(state.stack);
    root.dataset.draws = String(Number(root.dataset.draws || 0) + 1);
    if (root.dataset.state !== "ready") {
      root.dataset.state = "ready";
      // the window may have been taken from the file just now
      emit(["window"]);
      resolveReady(getState());
    } else if (followed) emit(["window"]);
  }

  /**
   * While the user has chosen no window, a frame of a multi-frame image with a
   * window of its own (image_info's frames_info) is shown with that window.
   * Returns whether the window changed.
   */
  function followFrameWindow(info) {
    if (!windowFromFile || !state.window || !perFrameInfos.has(info)) return false;
    const d = info.default_window;
    if (!d || !Number.isFinite(Number(d.center)) || !Number.isFinite(Number(d.width))) {
      return false;
    }
    const own = windowOf(d, info);
    const w = state.window;
    const same =
      own.center === w.center &&
      own.width === w.width &&
      own.function === w.function &&
      own.lut === w.lut;
    if (same) return false;
    state.window = own;
    return true;
  }

  // ---- cine ------------------------------------------------------------------
  // Plays the images in a loop at cine.fps. An image is shown for at least one
  // period; the next one is waited for, never skipped, when not yet loaded.
  function cineTick(now) {
    cine.handle = 0;
    if (!cine.playing || destroyed) return;
    cine.handle = requestAnimationFrame(cineTick);
    const n = images.length;
    const period = 1000 / cine.fps;
    if (n < 2 || now < cine.due) return;
    // the image on screen must have been drawn before the next one replaces it
    if (!drawn || drawn.index !== state.image) return;
    let next = (state.image + 1) % n;
    // an image that failed to load is passed over, as long as another can show
    for (let k = 0; k < n - 1 && failed.has(next); k++) next = (next + 1) % n;
    if (!frames.has(next)) {
      pump();
      return;
    }
    // keep the rate when on time, start a new period after a wait
    cine.due = now - cine.due < period ? cine.due + period : now + period;
    setState({ image: next });
  }

  function play() {
    if (cine.playing || images.length < 2 || destroyed) return;
    cine.playing = true;
    cine.due = performance.now() + 1000 / cine.fps;
    cine.handle = requestAnimationFrame(cineTick);
    refreshControls();
  }

  function pause() {
    if (!cine.playing) return;
    cine.playing = false;
    if (cine.handle) cancelAnimationFrame(cine.handle);
    cine.handle = 0;
    refreshControls();
  }

  function togglePlay() {
    if (cine.playing) pause();
    else play();
  }

  function setFps(fps) {
    const value = Number(fps);
    if (!Number.isFinite(value) || value <= 0) return;
    cine.fps = Math.min(Math.max(value, 1), MAX_CINE_FPS);
    if (document.activeElement !== fpsInput || Number(fpsInput.value) !== cine.fps) {
      fpsInput.value = String(cine.fps);
    }
  }

  // ---- interaction -----------------------------------------------------------
  function step(delta) {
    if (!images.length) return;
    pause(); // scrolling by hand takes over from the cine
    setState({ image: state.image + delta });
  }

  function valueSpan() {
    const info = currentInfo();
    if (info && info.value_range) {
      const [lo, hi] = info.value_range.map(Number);
      if (hi > lo) return hi - lo;
    }
    return state.window ? Math.max(state.window.width, 256) : 256;
  }

  let wheelAccumulator = 0;
  function onWheel(event) {
    event.preventDefault();
    let dy = event.deltaY;
    if (event.deltaMode === 1) dy *= 33; // lines
    else if (event.deltaMode === 2) dy *= stageSize().height; // pages
    if (event.ctrlKey || event.metaKey) {
      // Ctrl or Cmd + wheel, and a trackpad pinch (sent as Ctrl + wheel), zoom
      // the image about the pointer instead of the page
      const view = viewStart();
      if (!view) return;
      const p = stagePoint(event);
      setState(zoomAbout(view, p, p, state.zoom * Math.exp(-dy * WHEEL_ZOOM_RATE)));
      return;
    }
    if (Math.sign(dy) !== Math.sign(wheelAccumulator)) wheelAccumulator = 0;
    wheelAccumulator += dy;
    const steps = Math.trunc(wheelAccumulator / WHEEL_STEP);
    if (steps) {
      wheelAccumulator -= steps * WHEEL_STEP;
      step(steps);
    }
  }

  let drag = null;
  function onPointerDown(event) {
    if (event.pointerType === "touch" && touchDown(event)) return;
    if (event.button !== 0 && event.button !== 2) return;
    root.focus({ preventScroll: true });
    if (event.button === 0 && ANNOTATION_TOOLS.has(state.tool)) {
      annotationDown(event);
      stage.setPointerCapture(event.pointerId);
      event.preventDefault();
      return;
    }
    const tool = event.button === 2 ? "window" : state.tool;
    drag = {
      id: event.pointerId,
      tool,
      x: event.clientX,
      y: event.clientY,
      start: getState(),
      span: valueSpan(),
      size: stageSize(),
    };
    stage.setPointerCapture(event.pointerId);
    event.preventDefault();
  }

  function onPointerMove(event) {
    if (event.pointerType === "touch" && touchMove(event)) return;
    if (!drag && sketch) {
      sketch.preview = imagePoint(event) || sketch.preview; // the angle's next ray
      scheduleDraw();
    }
    if (!drag || event.pointerId !== drag.id) return;
    if (drag.tool === "annotate" || drag.tool === "move") {
      annotationMove(event);
      return;
    }
    const dx = event.clientX - drag.x;
    const dy = event.clientY - drag.y;
    const s = drag.start;
    if (drag.tool === "window" && s.window) {
      // a drag across the viewer spans the image's whole value range
      const perPixel = drag.span / Math.max(drag.size.width, drag.size.height);
      // from a VOI LUT the drag goes on with the window's function, from the
      // centre and width that span the LUT's input
      setState({
        window: {
          width: Math.max(1, s.window.width + dx * perPixel),
          center: s.window.center + dy * perPixel,
          function: s.window.function,
          lut: null,
        },
      });
    } else if (drag.tool === "scroll") {
      pause();
      const pixelsPerImage = Math.min(20, Math.max(2, drag.size.height / images.length));
      setState({ image: s.image + Math.trunc(dy / pixelsPerImage) });
    } else if (drag.tool === "zoom") {
      setState({ zoom: s.zoom * Math.exp(-dy / 200) });
    } else if (drag.tool === "pan") {
      const info = currentInfo();
      if (!info) return;
      const g = geometry(info);
      setState({ pan: { x: s.pan.x + dx / g.drawW, y: s.pan.y + dy / g.drawH } });
    }
  }

  function onPointerUp(event) {
    if (event.pointerType === "touch") touchUp(event);
    if (drag && event.pointerId === drag.id) {
      const drawing = drag.tool === "annotate" || drag.tool === "move";
      if (event.type === "pointerup" && drawing) {
        annotationUp(event);
      } else if (drag.tool === "annotate") dropSketch();
      drag = null;
    }
  }

  // ---- zoom about a point (ctrl + wheel, pinch) ---------------------------------
  /** Where the image is drawn now: the start of a zoom about a point. */
  function viewStart() {
    const info = currentInfo();
    if (!info) return null;
    const g = geometry(info);
    return {
      zoom: state.zoom,
      x0: (g.width - g.drawW) / 2 + state.pan.x * g.drawW,
      y0: (g.height - g.drawH) / 2 + state.pan.y * g.drawH,
      drawW: g.drawW,
      drawH: g.drawH,
      width: g.width,
      height: g.height,
    };
  }

  /**
   * The zoom and pan that show the image at `zoom` with the image point that
   * was at stage point `anchor` (in `view`) now at stage point `target`.
   */
  function zoomAbout(view, anchor, target, zoom) {
    const z = Math.min(Math.max(zoom, MIN_ZOOM), MAX_ZOOM);
    const u = (anchor[0] - view.x0) / view.drawW;
    const v = (anchor[1] - view.y0) / view.drawH;
    const drawW = (view.drawW * z) / view.zoom;
    const drawH = (view.drawH * z) / view.zoom;
    return {
      zoom: z,
      pan: {
        x: (target[0] - view.width / 2) / drawW + 0.5 - u,
        y: (target[1] - view.height / 2) / drawH + 0.5 - v,
      },
    };
  }

  /** The point of a pointer event on the stage, in CSS pixels. */
  function stagePoint(event) {
    const rect = stage.getBoundingClientRect();
    return [event.clientX - rect.left, event.clientY - rect.top];
  }

  // ---- touch -------------------------------------------------------------------
  // One finger is the left mouse button; two pinch to zoom about their midpoint
  // and move together to pan. A third finger is ignored, and after a pinch the
  // finger left on the glass does nothing until all are lifted.
  const touches = new Map(); // pointerId -> stage point of each finger down
  let pinch = null;

  /** A finger comes down; returns true when it is not a one-finger drag. */
  function touchDown(event) {
    touches.set(event.pointerId, stagePoint(event));
    if (touches.size === 1) return false;
    event.preventDefault();
    if (touches.size === 2 && !pinch) {
      // the first finger's drag gives way to the pinch
      if (drag && drag.tool === "annotate") dropSketch();
      drag = null;
      const view = viewStart();
      if (view) {
        const [a, b] = [...touches.values()];
        pinch = {
          ids: [...touches.keys()],
          view,
          mid: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2],
          distance: Math.max(1, Math.hypot(b[0] - a[0], b[1] - a[1])),
        };
        stage.setPointerCapture(event.pointerId);
      }
    }
    return true;
  }

  /** A finger moves; returns true when the pinch took it. */
  function touchMove(event) {
    if (!touches.has(event.pointerId)) return false;
    touches.set(event.pointerId, stagePoint(event));
    if (!pinch) return touches.size > 1;
    if (!pinch.ids.includes(event.pointerId)) return true;
    const [a, b] = pinch.ids.map((id) => touches.get(id));
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const distance = Math.max(1, Math.hypot(b[0] - a[0], b[1] - a[1]));
    const zoom = (pinch.view.zoom * distance) / pinch.distance;
    setState(zoomAbout(pinch.view, pinch.mid, mid, zoom));
    return true;
  }

  function touchUp(event) {
    touches.delete(event.pointerId);
    if (pinch && pinch.ids.includes(event.pointerId)) pinch = null;
  }

  // ---- annotations -------------------------------------------------------------
  let selected = -1; // index in state.annotations of the selected annotation
  let sketch = null; // the annotation being drawn: {type, image, points, preview}
  let textEntry = null; // {image, point} of a text annotation being typed

  /** The image point (image pixel coordinates) under a pointer event. */
  function imagePoint(event) {
    const view = viewStart();
    if (!view) return null;
    const [x, y] = stagePoint(event);
    const info = currentInfo();
    return [
      ((x - view.x0) / view.drawW) * info.columns,
      ((y - view.y0) / view.drawH) * info.rows,
    ];
  }

  /** Map an image point to its stage point, for the image on screen. */
  function screenMapper() {
    const view = viewStart();
    if (!view) return null;
    const info = currentInfo();
    const sx = view.drawW / info.columns;
    const sy = view.drawH / info.rows;
    return (p) => [view.x0 + p[0] * sx, view.y0 + p[1] * sy];
  }

  function pointerKind(event) {
    return event.pointerType === "touch" ? "touch" : "mouse";
  }

  /** The annotation of the image shown nearest a pointer event, or -1. */
  function annotationAt(event) {
    const toScreen = screenMapper();
    if (!toScreen) return -1;
    const p = stagePoint(event);
    let best = -1;
    let bestDistance = HIT_DISTANCE[pointerKind(event)];
    state.annotations.forEach((a, k) => {
      if (a.image !== state.image) return;
      const d = annotationDistance(a, p, toScreen);
      if (d <= bestDistance) {
        best = k;
        bestDistance = d;
      }
    });
    return best;
  }

  function annotationDown(event) {
    const point = imagePoint(event);
    if (!point) return;
    const base = { id: event.pointerId, x: event.clientX, y: event.clientY, point };
    if (sketch) {
      // the next point of an angle
      sketch.points.push(point);
      sketch.preview = point;
      drag = { ...base, tool: "annotate" };
      if (sketch.points.length === 3) finishSketch();
      scheduleDraw();
      return;
    }
    const hit = annotationAt(event);
    if (hit >= 0) {
      // pressing on an annotation selects it, and dragging moves it
      selected = hit;
      drag = { ...base, tool: "move", original: state.annotations[hit], moved: false };
      scheduleDraw();
      return;
    }
    selected = -1;
    if (state.tool !== "text") {
      sketch = {
        type: state.tool,
        image: state.image,
        points: [point],
        preview: point,
      };
    }
    drag = { ...base, tool: "annotate" };
    scheduleDraw();
  }

  function annotationMove(event) {
    const point = imagePoint(event);
    if (!point) return;
    if (drag.tool === "move") {
      const dx = point[0] - drag.point[0];
      const dy = point[1] - drag.point[1];
      const a = drag.original;
      state.annotations = state.annotations.slice();
      const points = a.points.map((p) => [p[0] + dx, p[1] + dy]);
      state.annotations[selected] = { ...a, points };
      drag.moved = true;
    } else if (sketch) sketch.preview = point;
    scheduleDraw();
  }

  function annotationUp(event) {
    const moved =
      Math.hypot(event.clientX - drag.x, event.clientY - drag.y) >
      CLICK_DISTANCE[pointerKind(event)];
    const point = imagePoint(event);
    if (drag.tool === "move") {
      if (drag.moved) emit(["annotations"]);
      return;
    }
    if (state.tool === "text" && !sketch) {
      if (!moved && point) openTextEntry(drag.point);
      return;
    }
    if (!sketch || !point) return;
    if (sketch.type === "angle") {
      // a drag adds its end too: three clicks, or a drag and a click
      if (moved) sketch.points.push(point);
      if (sketch.points.length === 3) finishSketch();
      scheduleDraw();
      return;
    }
    if (moved) {
      sketch.points.push(point);
      finishSketch();
    } else dropSketch(); // a click draws nothing
  }

  function finishSketch() {
    const { type, image, points } = sketch;
    sketch = null;
    addAnnotation({ type, image, points: points.slice(0, type === "angle" ? 3 : 2) });
  }

  function addAnnotation(annotation) {
    state.annotations = [...state.annotations, annotation];
    selected = -1; // drawn in the annotation colour; a click selects it
    refreshControls();
    scheduleDraw();
    emit(["annotations"]);
  }

  function dropSketch() {
    if (sketch) scheduleDraw();
    sketch = null;
    closeTextEntry();
  }

  function openTextEntry(point) {
    const toScreen = screenMapper();
    if (!toScreen) return;
    const [x, y] = toScreen(point);
    textEntry = { image: state.image, point };
    textInput.value = "";
    textInput.style.left = `${x}px`;
    textInput.style.top = `${y}px`;
    textInput.hidden = false;
    textInput.focus({ preventScroll: true });
  }

  function closeTextEntry() {
    textEntry = null;
    if (!textInput.hidden) {
      // hiding the box takes the focus from it: ask before, so that the keys
      // go back to the viewer rather than to the page
      const hadFocus = document.activeElement === textInput;
      textInput.hidden = true;
      if (hadFocus) root.focus({ preventScroll: true });
    }
  }

  function commitTextEntry() {
    const entry = textEntry;
    const text = textInput.value.trim();
    closeTextEntry();
    if (entry && text && entry.image === state.image) {
      addAnnotation({ type: "text", image: entry.image, points: [entry.point], text });
    }
  }

  function deleteSelected() {
    if (selected < 0 || selected >= state.annotations.length) return false;
    state.annotations = state.annotations.filter((_, k) => k !== selected);
    selected = -1;
    refreshControls();
    scheduleDraw();
    emit(["annotations"]);
    return true;
  }

  function clearImageAnnotations() {
    dropSketch();
    const kept = state.annotations.filter((a) => a.image !== state.image);
    if (kept.length !== state.annotations.length) setState({ annotations: kept });
  }

  function toggleKeyImage() {
    if (!images.length) return;
    const keys = state.keyImages.includes(state.image)
      ? state.keyImages.filter((i) => i !== state.image)
      : [...state.keyImages, state.image];
    setState({ keyImages: keys });
  }

  // Measurements of each annotation, kept while it and its frame stay the same.
  const measured = new WeakMap();

  /** The measurement of an annotation of the image on screen (measureAnnotation). */
  function measurementOf(annotation) {
    const img = images[annotation.image];
    const frame = frames.get(annotation.image);
    const info = (frame && frame.info) || (img && img.info);
    if (!info) return null;
    const cached = measured.get(annotation);
    if (cached && cached.frame === frame) return cached.result;
    let grey = null;
    if (frame && info.kind !== "rgb") {
      const { slope, intercept } = rescaleOf(info, img.frame);
      const { rows, columns } = info;
      grey = { rows, columns, pixels: frame.pixels, slope, intercept };
      grey.padding = paddingOf(info);
    }
    const context = {
      spacing: info.pixel_spacing || null,
      unit: modalityUnit(series && series.modality),
      frame: grey,
    };
    const result = measureAnnotation(annotation, context);
    measured.set(annotation, { frame, result });
    return result;
  }

  /** Draw the annotations of the image on screen, and the one being drawn. */
  function drawAnnotationLayer(toScreen) {
    const items = [];
    state.annotations.forEach((annotation, k) => {
      if (annotation.image !== state.image) return;
      const m = measurementOf(annotation);
      items.push({ annotation, lines: m ? m.lines : [], selected: k === selected });
    });
    if (sketch && sketch.image === state.image) {
      const count = sketch.type === "angle" ? 3 : 2;
      const points = [...sketch.points, sketch.preview].slice(0, count);
      const annotation = { type: sketch.type, image: sketch.image, points };
      const m = points.length === count ? measurementOf(annotation) : null;
      items.push({ annotation, lines: m ? m.lines : [], selected: true });
    }
    if (items.length) drawAnnotations(ctx, items, toScreen);
  }

  function toggleActualSize() {
    const info = currentInfo();
    if (!info) return;
    const actual = 1 / geometry(info).fitCss; // one image pixel per CSS pixel
    if (Math.abs(state.zoom - 1) < 1e-6) setState({ zoom: actual, pan: { x: 0, y: 0 } });
    else setState({ zoom: 1, pan: { x: 0, y: 0 } });
  }

  function reset() {
    const info = currentInfo();
    setState({
      zoom: 1,
      pan: { x: 0, y: 0 },
      window: info ? fileDefaultWindow(info) : state.window,
    });
    windowFromFile = true;
  }

  function onKeyDown(event) {
    const target = event.target;
    const modified = event.altKey || event.ctrlKey || event.metaKey;
    const control = target instanceof HTMLSelectElement || target instanceof HTMLInputElement;
    // A key without Ctrl, Alt or Meta pressed while the viewer has the focus
    // is the viewer's, whether it uses it or not: the host page's shortcuts
    // must not take it too. In JupyterLab's command mode X would cut the
    // viewer's cell, D D delete it, 1 make a heading of it, and the arrow keys
    // move the cell selection instead of the slider. Shift+Enter still runs
    // the cell, as everywhere in a notebook.
    if (!modified && !(event.shiftKey && event.key === "Enter")) event.stopPropagation();
    // the controls' own keys move them (the browser's default action); on the
    // slider the viewer's other keys work as on the image
    if (control && (CONTROL_KEYS.has(event.key) || target.type !== "range")) return;
    if (modified) return;
    const n = images.length;
    const page = Math.max(1, Math.round(n / 10));
    let handled = true;
    switch (event.key) {
      case "ArrowUp":
      case "ArrowLeft":
        step(-1);
        break;
      case "ArrowDown":
      case "ArrowRight":
        step(1);
        break;
      case "PageUp":
        step(-page);
        break;
      case "PageDown":
        step(page);
        break;
      case "Home":
        setState({ image: 0 });
        break;
      case "End":
        setState({ image: n - 1 });
        break;
      case "r":
      case "R":
        reset();
        break;
      case "c":
      case "C":
        togglePlay();
        break;
      case "l":
      case "L":
        setState({ linked: !state.linked });
        break;
      case KEY_IMAGE_KEY:
      case KEY_IMAGE_KEY.toUpperCase():
        toggleKeyImage();
        break;
      case "Delete":
      case "Backspace":
        handled = deleteSelected();
        break;
      case "Escape":
        handled = !!sketch || selected >= 0;
        dropSketch();
        selected = -1;
        scheduleDraw();
        break;
      default: {
        const key = event.key.toLowerCase();
        const preset = presets().find((p) => p.key === key);
        const tool = TOOLS.find((t) => t.key === key);
        if (key === "0") setState({ window: null });
        else if (preset) setState({ window: preset });
        else if (tool) setState({ tool: tool.id });
        else handled = false;
      }
    }
    if (handled) event.preventDefault();
  }

  stage.addEventListener("wheel", onWheel, { passive: false });
  stage.addEventListener("pointerdown", onPointerDown);
  stage.addEventListener("pointermove", onPointerMove);
  stage.addEventListener("pointerup", onPointerUp);
  stage.addEventListener("pointercancel", onPointerUp);
  stage.addEventListener("contextmenu", (event) => event.preventDefault());
  stage.addEventListener("dblclick", toggleActualSize);
  root.addEventListener("keydown", onKeyDown);
  slider.addEventListener("input", () => {
    pause();
    setState({ image: Number(slider.value) - 1 });
  });
  playButton.addEventListener("click", togglePlay);
  fpsInput.addEventListener("change", () => {
    setFps(fpsInput.value);
    fpsInput.value = String(cine.fps);
  });
  resetButton.addEventListener("click", reset);
  keyButton.addEventListener("click", toggleKeyImage);
  clearButton.addEventListener("click", clearImageAnnotations);
  // the text box is part of the stage: keep its clicks and keys from the tools
  textInput.addEventListener("pointerdown", (event) => event.stopPropagation());
  textInput.addEventListener("keydown", (event) => {
    event.stopPropagation();
    if (event.key === "Enter") commitTextEntry();
    else if (event.key === "Escape") closeTextEntry();
  });
  textInput.addEventListener("blur", () => {
    if (textEntry) commitTextEntry();
  });
  for (const b of toolButtons) {
    b.addEventListener("click", () => setState({ tool: b.dataset.tool }));
  }
  seriesPicker.addEventListener("change", () => pickSeries(seriesPicker.value));
  linkButton.addEventListener("click", () => setState({ linked: !state.linked }));
  const resizeObserver = new ResizeObserver(() => scheduleDraw());
  resizeObserver.observe(stage);

  async function selectSeries(uid, stack = 0) {
    if (uid && uid === state.series) {
      setState({ stack });
      return;
    }
    if (!uid) return;
    if (typeof source.select !== "function") {
      throw new Error("this source shows one series only");
    }
    generation++; // answers still on their way belong to the old series
    pause();
    await source.select(uid);
    state.image = 0;
    state.stack = Math.max(0, Math.trunc(Number(stack) || 0));
    state.window = null;
    windowFromFile = true;
    state.zoom = 1;
    state.pan = { x: 0, y: 0 };
    pendingPosition = null;
    presetSignature = "";
    await loadSeries();
    emit(["image", "window", "zoom", "pan", "stack"]);
  }

  function destroy() {
    pause();
    group.remove(api);
    destroyed = true;
    generation++;
    resizeObserver.disconnect();
    listeners.clear();
    frames = new Map();
    root.remove();
  }

  const api = {
    element: root,
    ready,
    getState,
    setState,
    selectSeries,
    onChange(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
    /**
     * Where the centre of image pixel (row, column) is on the canvas, in CSS
     * pixels from the canvas's top left corner; null before an image is shown.
     */
    toCanvas(row, column) {
      const info = currentInfo();
      if (!info) return null;
      const g = geometry(info);
      const x0 = (g.width - g.drawW) / 2 + state.pan.x * g.drawW;
      const y0 = (g.height - g.drawH) / 2 + state.pan.y * g.drawH;
      return { x: x0 + (column + 0.5) * g.sx, y: y0 + (row + 0.5) * g.sy };
    },
    /**
     * The image point under canvas point (x, y) (CSS pixels from the canvas's
     * top left corner): {x, y} in image pixels, x along the columns, 0 at the
     * image's left and top edges, so pixel (row r, column c) spans c..c+1 and
     * r..r+1. Points off the image give coordinates outside 0..columns and
     * 0..rows. Null before an image is shown.
     */
    toImage(x, y) {
      const view = viewStart();
      if (!view) return null;
      const info = currentInfo();
      return {
        x: ((x - view.x0) / view.drawW) * info.columns,
        y: ((y - view.y0) / view.drawH) * info.rows,
      };
    },
    /** {rows, columns} of the image on screen; null before one is known. */
    get imageSize() {
      const info = currentInfo();
      return info ? { rows: info.rows, columns: info.columns } : null;
    },
    /**
     * The element the canvas fills (positioned, clipping): a host lays its
     * own overlays in it, at the canvas's coordinates.
     */
    stage,
    /**
     * The annotations of the image on screen with their measurements: each is
     * {index (in state.annotations), annotation, lines (the label), value,
     * unit, mean, sd, count, area, areaUnit (those the type has)}.
     */
    measurements() {
      const out = [];
      state.annotations.forEach((annotation, index) => {
        if (annotation.image !== state.image) return;
        const m = measurementOf(annotation) || { lines: [] };
        out.push({ index, annotation: { ...annotation }, ...m, lines: [...m.lines] });
      });
      return out;
    },
    /** Index in state.annotations of the selected annotation, or -1. */
    get selectedAnnotation() {
      return selected;
    },
    /**
     * The picture of the image on screen at its own size (rows x columns), with
     * the window applied: an ImageData copy, or null before an image is shown.
     */
    snapshot() {
      if (!drawn || !imageData) return null;
      return new ImageData(new Uint8ClampedArray(imageData.data), imageData.width);
    },
    /** Start the cine loop (a series of two images or more). */
    play,
    /** Stop the cine loop on the image shown. */
    pause,
    /** Whether the cine loop is running. */
    get playing() {
      return cine.playing;
    },
    /** Cine rate in frames per second; set to change it (1 to 120). */
    get fps() {
      return cine.fps;
    },
    set fps(value) {
      setFps(value);
    },
    /** Number of images in the series (0 until the series is loaded). */
    get count() {
      return images.length;
    },
    /** For the link group: the images' positions along the slice normal. */
    slices,
    /** For the link group: show image `index` without moving the group. */
    showLinked(index) {
      setState({ image: index });
    },
    destroy,
  };

  refreshControls();
  if (options.linked) setState({ linked: true });
  loadSeries();
  return api;
}
