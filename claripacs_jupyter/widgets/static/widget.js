// The anywidget host of the viewer. Python concatenates viewer.js and this file
// into one module, so createViewer is in scope here without an import.
//
// Frames travel as custom messages: the view asks {type: "frames", id, series,
// indices}; the kernel answers one {type: "frame", ...} message per piece of a
// frame, its pixel values in a binary buffer (never base64 or PNG).

let nextViewId = 1;

/** A frame source over the widget model's custom messages. */
function widgetSource(model, viewId) {
  let series = model.get("series_uid") || null;
  let requestCount = 0;
  const waiting = new Map(); // request key -> {resolve, reject}
  const partial = new Map(); // request key -> {parts, received, total, meta}
  let pendingIndices = [];
  let flushQueued = false;

  function keyOf(kind, seriesUid, index) {
    return `${kind}|${seriesUid}|${index ?? ""}`;
  }

  function request(kind, seriesUid, index) {
    const key = keyOf(kind, seriesUid, index);
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

  /** Copy a message buffer (a DataView) into its own aligned ArrayBuffer. */
  function bytesOf(view) {
    return new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  }

  function onMessage(msg, buffers) {
    if (!msg || msg.view !== viewId) return;
    if (msg.type === "info") {
      settle(keyOf("info", msg.request_series ?? null), true, msg.info);
    } else if (msg.type === "frame") {
      const key = keyOf("frame", msg.series, msg.index);
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
          : keyOf("frame", msg.series, msg.index);
      settle(key, false, new Error(msg.message));
    }
  }

  function flush() {
    flushQueued = false;
    const indices = pendingIndices;
    pendingIndices = [];
    if (!indices.length) return;
    model.send({ type: "frames", view: viewId, id: ++requestCount, series, indices });
  }

  model.on("msg:custom", onMessage);

  return {
    async info() {
      const asked = series;
      const promise = request("info", asked);
      model.send({ type: "info", view: viewId, id: ++requestCount, series: asked });
      const info = await promise;
      series = info.seriesUid;
      return info;
    },
    frame(index) {
      const promise = request("frame", series, index);
      pendingIndices.push(index);
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

function windowFromModel(model) {
  const center = model.get("window_center");
  const width = model.get("window_width");
  if (center === null || width === null || center === undefined || width === undefined) {
    return null;
  }
  return { center, width };
}

function render({ model, el }) {
  const viewId = `v${nextViewId++}-${Math.random().toString(36).slice(2, 8)}`;
  const source = widgetSource(model, viewId);
  const viewer = createViewer(el, source, {
    image: model.get("image_index"),
    window: windowFromModel(model) ?? undefined,
    height: model.get("height") || undefined,
  });

  // viewer -> traits: the first change at once, then at most ten a second
  // while dragging or scrolling fast, the last one always
  let timer = null;
  let pending = null;
  function cooled() {
    timer = null;
    if (pending) {
      push();
      timer = setTimeout(cooled, 100);
    }
  }
  function push() {
    if (!pending) return;
    const s = pending;
    pending = null;
    // One set() for all traits: set one at a time, the window's centre would
    // come back to the viewer with the old width and drop a LUT window.
    const changes = {};
    const put = (name, value) => {
      if (value !== undefined && model.get(name) !== value) changes[name] = value;
    };
    put("image_index", s.image);
    if (s.window) {
      put("window_center", s.window.center);
      put("window_width", s.window.width);
    }
    if (s.series) put("series_uid", s.series);
    if (Object.keys(changes).length) {
      model.set(changes);
      model.save_changes();
    }
  }
  const unsubscribe = viewer.onChange((s) => {
    pending = s;
    if (!timer) {
      push();
      timer = setTimeout(cooled, 100);
    }
  });

  // traits -> viewer
  const onImage = () => viewer.setState({ image: model.get("image_index") });
  const onWindow = () => viewer.setState({ window: windowFromModel(model) });
  const onSeries = () => {
    const uid = model.get("series_uid");
    if (uid && uid !== viewer.getState().series) {
      viewer.selectSeries(uid).catch((err) => console.error("claripacs viewer", err));
    }
  };
  model.on("change:image_index", onImage);
  model.on("change:window_center", onWindow);
  model.on("change:window_width", onWindow);
  model.on("change:series_uid", onSeries);

  return () => {
    if (timer) clearTimeout(timer);
    push();
    unsubscribe();
    model.off("change:image_index", onImage);
    model.off("change:window_center", onWindow);
    model.off("change:window_width", onWindow);
    model.off("change:series_uid", onSeries);
    source.dispose();
    viewer.destroy();
  };
}

export default { render };
