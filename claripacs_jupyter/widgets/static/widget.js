// The anywidget host of the viewer: the model's traits and the viewer's state
// follow each other, and the kernel feeds the viewer its frames.
//
// viewer.py bundles this module and the modules it imports into the one module
// anywidget loads (single-line imports only; top-level names unique across the
// modules, hence the `widget` prefix of the names here).
//
// Frames travel as custom messages: the view asks {type: "frames", view, id,
// series, indices, refs} (refs[i] = {instance, frame} names the image of
// indices[i], or is null); the kernel answers one {type: "frame", ...} message
// per piece of a frame, its pixel values in a binary buffer (never base64 or
// PNG), with the `ref` it was asked by.

import { createViewer } from "./viewer.js";

let widgetNextViewId = 1;

/** Interval of the viewer's changes sent to the kernel while they keep coming. */
const WIDGET_PUSH_MS = 100;

/** Closer than this (image pixels), two positions are the same. */
const WIDGET_POSITION_EPSILON = 1e-6;

/** A frame source over the widget model's custom messages. */
function widgetSource(model, viewId) {
  let series = model.get("series_uid") || null;
  let requestCount = 0;
  const waiting = new Map(); // request key -> {promise, resolve, reject}
  const partial = new Map(); // request key -> {bytes, received}
  let pending = []; // [{index, ref}] asked in this tick
  let flushQueued = false;

  function keyOf(kind, seriesUid, index, ref) {
    if (ref) return `${kind}|${seriesUid}|ref|${ref.instance}|${ref.frame}`;
    return `${kind}|${seriesUid}|${index ?? ""}`;
  }

  function request(key) {
    if (!waiting.has(key)) {
      let resolve;
      let reject;
      const promise = new Promise((res, rej) => {
        resolve = res;
        reject = rej;
      });
      waiting.set(key, { promise, resolve, reject });
    }
    return waiting.get(key).promise;
  }

  function settle(key, ok, value) {
    const entry = waiting.get(key);
    if (!entry) return;
    waiting.delete(key);
    partial.delete(key);
    if (ok) entry.resolve(value);
    else entry.reject(value);
  }

  /** The bytes of a message buffer (a DataView), without copying them. */
  function bytesOf(view) {
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }

  function onMessage(msg, buffers) {
    if (!msg || msg.view !== viewId) return;
    if (msg.type === "info") {
      settle(keyOf("info", msg.request_series ?? null), true, msg.info);
    } else if (msg.type === "frame") {
      const key = keyOf("frame", msg.series, msg.index, msg.ref);
      if (!waiting.has(key)) return;
      let p = partial.get(key);
      if (!p) {
        p = { bytes: new Uint8Array(msg.total), received: 0 };
        partial.set(key, p);
      }
      const chunk = bytesOf(buffers[0]);
      p.bytes.set(chunk, msg.offset);
      p.received += chunk.byteLength;
      if (p.received >= msg.total) {
        settle(key, true, { info: msg.info, pixels: p.bytes.buffer });
      }
    } else if (msg.type === "error") {
      const key =
        msg.request === "info"
          ? keyOf("info", msg.request_series ?? null)
          : keyOf("frame", msg.series, msg.index, msg.ref);
      settle(key, false, new Error(msg.message));
    }
  }

  function flush() {
    flushQueued = false;
    const asked = pending;
    pending = [];
    if (!asked.length) return;
    model.send({
      type: "frames",
      view: viewId,
      id: ++requestCount,
      series,
      indices: asked.map((a) => a.index),
      refs: asked.map((a) => a.ref),
    });
  }

  model.on("msg:custom", onMessage);

  return {
    async info() {
      const asked = series;
      const promise = request(keyOf("info", asked));
      model.send({ type: "info", view: viewId, id: ++requestCount, series: asked });
      const info = await promise;
      series = info.seriesUid;
      return info;
    },
    frame(index, ref) {
      const named =
        ref && typeof ref.instance === "string"
          ? { instance: ref.instance, frame: Math.max(0, Math.trunc(ref.frame ?? 0)) }
          : null;
      const promise = request(keyOf("frame", series, index, named));
      pending.push({ index, ref: named });
      // the requests of one tick go out as one message
      if (!flushQueued) {
        flushQueued = true;
        queueMicrotask(flush);
      }
      return promise;
    },
    async select(uid) {
      for (const [key, entry] of waiting) {
        entry.reject(new Error("series changed"));
        waiting.delete(key);
      }
      partial.clear();
      series = uid;
    },
    get series() {
      return series;
    },
    dispose() {
      model.off("msg:custom", onMessage);
      for (const entry of waiting.values()) entry.reject(new Error("view closed"));
      waiting.clear();
    },
  };
}

function widgetWindowOf(model) {
  const center = model.get("window_center");
  const width = model.get("window_width");
  if (center === null || width === null || center === undefined || width === undefined) {
    return null;
  }
  return { center, width };
}

/** The position the xpos/ypos traits name; null when both are None. */
function widgetPositionOf(model) {
  const x = model.get("xpos");
  const y = model.get("ypos");
  if ((x === null || x === undefined) && (y === null || y === undefined)) return null;
  // an undefined coordinate is the image's middle for the viewer
  return { x: x ?? undefined, y: y ?? undefined };
}

function widgetSameJson(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The traits of each key of the viewer state (`pan` moves the position). */
const WIDGET_TRAITS_OF_KEY = Object.freeze({
  series: ["series_uid"],
  stack: ["stack"],
  image: ["image_index"],
  window: ["window_center", "window_width"],
  zoom: ["zoom"],
  pan: ["xpos", "ypos"],
  position: ["xpos", "ypos"],
  tool: ["tool"],
  mode: ["mode"],
  annotations: ["annotations"],
  keyImages: ["key_images"],
  linked: ["linked"],
});

/** The traits that a viewer state names, as {trait: value}. */
function widgetTraitsOf(s) {
  const traits = {};
  if (s.series) traits.series_uid = s.series;
  if (Number.isInteger(s.stack)) traits.stack = s.stack;
  if (Number.isInteger(s.image)) traits.image_index = s.image;
  if (s.window) {
    traits.window_center = s.window.center;
    traits.window_width = s.window.width;
  }
  if (Number.isFinite(s.zoom)) traits.zoom = s.zoom;
  if (s.position && Number.isFinite(s.position.x) && Number.isFinite(s.position.y)) {
    traits.xpos = s.position.x;
    traits.ypos = s.position.y;
  }
  if (typeof s.tool === "string") traits.tool = s.tool;
  if (typeof s.mode === "string") traits.mode = s.mode;
  if (Array.isArray(s.annotations)) traits.annotations = s.annotations;
  if (Array.isArray(s.keyImages)) traits.key_images = s.keyImages;
  if (typeof s.linked === "boolean") traits.linked = s.linked;
  return traits;
}

function renderWidget({ model, el }) {
  const viewId = `v${widgetNextViewId++}-${Math.random().toString(36).slice(2, 8)}`;
  const source = widgetSource(model, viewId);
  const viewer = createViewer(el, source, {
    image: model.get("image_index"),
    window: widgetWindowOf(model) ?? undefined,
    tool: model.get("tool"),
    mode: model.get("mode"),
    height: model.get("height") || undefined,
  });
  // the viewer of a notebook cell, for scripts of the page (and tests) that
  // find it by its element, as the case page's find_viewer does
  Object.defineProperty(viewer.element, "claripacsViewer", { value: viewer });

  // the rest of the view, for the keys the viewer knows (it ignores others)
  const place = {};
  if (model.get("zoom") !== 1) place.zoom = model.get("zoom");
  const position = widgetPositionOf(model);
  if (position) place.position = position;
  if (model.get("stack")) place.stack = model.get("stack");
  if ((model.get("annotations") || []).length) place.annotations = model.get("annotations");
  if ((model.get("key_images") || []).length) place.keyImages = model.get("key_images");
  if (model.get("linked")) place.linked = true;
  viewer.setState(place);

  // viewer -> traits: the first change at once, then at most one set a
  // WIDGET_PUSH_MS while dragging or scrolling fast, the last one always
  let timer = null;
  let pending = false; // the viewer changed since the last push
  let moved = new Set(); // the traits the viewer moved since the last push
  function cooled() {
    timer = null;
    if (pending) {
      push();
      timer = setTimeout(cooled, WIDGET_PUSH_MS);
    }
  }
  function push() {
    if (!pending) return;
    // the state now, not the one of the change: a trait set from the kernel
    // since then has moved the viewer, and a stale value sent back would undo it
    const traits = widgetTraitsOf(viewer.getState());
    const names = moved;
    pending = false;
    moved = new Set();
    // Only the traits the viewer moved: another one may be on its way from
    // the kernel, and its old value sent back would undo it. One set() for
    // all: set one at a time, the window's centre would come back to the
    // viewer with the old width and drop a LUT window.
    const changes = {};
    for (const name of names) {
      if (!(name in traits)) continue;
      const value = traits[name];
      const held = model.get(name);
      // a position set from the kernel comes back from the viewer's pan with
      // rounding errors: that is no move
      const near =
        (name === "xpos" || name === "ypos") &&
        typeof held === "number" &&
        Math.abs(held - value) < WIDGET_POSITION_EPSILON;
      if (!near && !widgetSameJson(held, value)) changes[name] = value;
    }
    if (Object.keys(changes).length) {
      model.set(changes);
      model.save_changes();
    }
  }
  const unsubscribe = viewer.onChange((_state, changed) => {
    pending = true;
    for (const key of changed) {
      for (const name of WIDGET_TRAITS_OF_KEY[key] ?? []) moved.add(name);
    }
    if (!timer) {
      push();
      timer = setTimeout(cooled, WIDGET_PUSH_MS);
    }
  });

  // traits -> viewer
  const onPosition = () => {
    const wanted = widgetPositionOf(model) ?? {};
    const s = viewer.getState();
    // an undefined coordinate is the middle, where the pan is 0
    const same = (want, shown, pan) =>
      want === undefined
        ? Math.abs(pan) < WIDGET_POSITION_EPSILON
        : Math.abs(Number(want) - shown) < WIDGET_POSITION_EPSILON;
    const shown = s.position;
    if (shown && same(wanted.x, shown.x, s.pan.x) && same(wanted.y, shown.y, s.pan.y)) return;
    viewer.setState({ position: { x: wanted.x, y: wanted.y } });
  };
  const onSeries = () => {
    const uid = model.get("series_uid");
    if (uid && uid !== viewer.getState().series) {
      viewer.selectSeries(uid).catch((err) => console.error("claripacs viewer", err));
    }
  };
  const onWindow = () => viewer.setState({ window: widgetWindowOf(model) });
  const handlers = [
    ["change:series_uid", onSeries],
    ["change:stack", () => viewer.setState({ stack: model.get("stack") })],
    ["change:image_index", () => viewer.setState({ image: model.get("image_index") })],
    ["change:window_center", onWindow],
    ["change:window_width", onWindow],
    ["change:zoom", () => viewer.setState({ zoom: model.get("zoom") })],
    ["change:xpos", onPosition],
    ["change:ypos", onPosition],
    ["change:tool", () => viewer.setState({ tool: model.get("tool") })],
    ["change:mode", () => viewer.setState({ mode: model.get("mode") })],
    ["change:annotations", () => viewer.setState({ annotations: model.get("annotations") })],
    ["change:key_images", () => viewer.setState({ keyImages: model.get("key_images") })],
    ["change:linked", () => viewer.setState({ linked: model.get("linked") })],
  ];
  for (const [event, handler] of handlers) model.on(event, handler);

  return () => {
    if (timer) clearTimeout(timer);
    push();
    unsubscribe();
    for (const [event, handler] of handlers) model.off(event, handler);
    source.dispose();
    viewer.destroy();
  };
}

export default { render: renderWidget };
