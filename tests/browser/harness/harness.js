// Test harness for viewer.js: synthetic frame sources and canvas read-outs.
// Loaded by index.html, driven from the Playwright tests in this folder.

import { createViewer } from "./viewer.js";

const ARRAYS = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
};

/**
 * An image_info for a synthetic series; `spec` overrides the defaults.
 */
function imageInfo(spec) {
  const frames = spec.multiframe ? spec.frames.length : 1;
  return {
    rows: spec.rows ?? 64,
    columns: spec.columns ?? 64,
    frames,
    kind: spec.kind ?? "gray",
    dtype: spec.dtype ?? "int16",
    photometric: spec.invert ? "MONOCHROME1" : "MONOCHROME2",
    invert: !!spec.invert,
    rescale: Array.from({ length: frames }, () => spec.rescale ?? [1, 0]),
    windows: spec.windows ?? [],
    default_window:
      "default_window" in spec ? spec.default_window : { center: 40, width: 400, name: "" },
    voi_function: spec.voi_function ?? "LINEAR",
    voi_lut: (spec.voi_luts ?? [])[0] ?? null,
    voi_luts: spec.voi_luts ?? [],
    padding: spec.padding ?? null,
    pixel_spacing: spec.pixel_spacing ?? null,
    position: null,
    orientation: null,
    instance_number: 1,
    value_range: "value_range" in spec ? spec.value_range : [-1024, 3071],
    frames_info: spec.frames_info ?? null,
  };
}

/** Pixels of one frame: four quadrants with the stored values `q` (tl, tr, bl, br). */
function quadrants(info, q) {
  const { rows, columns } = info;
  if (info.kind === "rgb") {
    const out = new Uint8Array(rows * columns * 3);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const rgb = q[(r < rows / 2 ? 0 : 2) + (c < columns / 2 ? 0 : 1)];
        out.set(rgb, 3 * (r * columns + c));
      }
    }
    return out.buffer;
  }
  const out = new ARRAYS[info.dtype](rows * columns);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      out[r * columns + c] = q[(r < rows / 2 ? 0 : 2) + (c < columns / 2 ? 0 : 1)];
    }
  }
  return out.buffer;
}

/**
 * A source of `spec.frames.length` single-frame instances, or with
 * `spec.multiframe` one instance of that many frames (`spec.frames_info` its
 * image_info's frames_info); frame k has the quadrant values spec.frames[k].
 * `spec.delays` maps an image index to a delay in ms of its answer. Records
 * the order of frame requests.
 */
export function syntheticSource(spec, seriesList = null) {
  const requests = [];
  let current = spec;
  const all = seriesList || [{ uid: "1.2.3", spec }];
  const source = {
    requests,
    async info() {
      const info = imageInfo(current);
      return {
        seriesUid: all.find((s) => s.spec === current).uid,
        modality: current.modality ?? "CT",
        label: "synthetic",
        series: all.map((s) => ({ uid: s.uid, label: s.uid })),
        instances: (current.multiframe ? [null] : current.frames).map((_, k) => ({
          uid: `1.2.3.${k}`,
          frames: info.frames,
          image: current.withInfo === false ? undefined : info,
        })),
      };
    },
    async frame(index) {
      requests.push(index);
      if (current.failAt === index) throw new Error("synthetic failure");
      const delay = (current.delays || {})[index] ?? current.delay;
      if (delay) await new Promise((r) => setTimeout(r, delay));
      const info = imageInfo(current);
      return { info, pixels: quadrants(info, current.frames[index]) };
    },
  };
  if (seriesList) {
    source.select = async (uid) => {
      current = all.find((s) => s.uid === uid).spec;
    };
  }
  return source;
}

const host = document.getElementById("host");

window.harness = {
  async mount(spec, options = {}, seriesList = null) {
    if (window.viewer) window.viewer.destroy();
    window.source = syntheticSource(spec, seriesList);
    window.viewer = createViewer(host, window.source, options);
    window.changes = [];
    window.viewer.onChange((s, changed) => window.changes.push({ state: s, changed }));
    await window.viewer.ready;
    return window.viewer.getState();
  },
  canvas() {
    return host.querySelector("canvas");
  },
  /** RGBA on the canvas at the centre of image pixel (row, column). */
  pixelAt(row, column) {
    const p = window.viewer.toCanvas(row, column);
    const canvas = this.canvas();
    const scale = canvas.width / canvas.getBoundingClientRect().width;
    const ctx = canvas.getContext("2d");
    const d = ctx.getImageData(Math.floor(p.x * scale), Math.floor(p.y * scale), 1, 1).data;
    return [d[0], d[1], d[2], d[3]];
  },
  point(row, column) {
    return window.viewer.toCanvas(row, column);
  },
  /** Resolve once the viewer has drawn image `index` after `draws` draws. */
  waitDrawn(index, draws = 0) {
    return new Promise((resolve) => {
      const root = window.viewer.element;
      const check = () => {
        const done =
          root.dataset.drawnImage === String(index) && Number(root.dataset.draws) > draws;
        if (done) resolve(Number(root.dataset.draws));
        else requestAnimationFrame(check);
      };
      check();
    });
  },
  draws() {
    return Number(window.viewer.element.dataset.draws || 0);
  },
};
window.harnessReady = true;

/**
 * Show `name`.json (image_info) and `name`.bin (raw_frame of frame `frame`)
 * from the harness folder as that frame of the instance, and compare the
 * viewer's picture with `name`.rgb (the RGB bytes of
 * claripacs_jupyter.dicom.render). Returns the number of differing samples and
 * the first difference.
 */
window.compareWithRender = async (name, frame = 0) => {
  const info = await (await fetch(`${name}.json`)).json();
  const pixels = await (await fetch(`${name}.bin`)).arrayBuffer();
  const expected = new Uint8Array(await (await fetch(`${name}.rgb`)).arrayBuffer());
  const source = {
    async info() {
      return {
        seriesUid: name,
        modality: "",
        instances: [{ uid: name, frames: info.frames ?? 1, image: info }],
      };
    },
    async frame(index) {
      // only frame `frame` is compared: the others get the same bytes
      return { info, pixels: index === frame ? pixels : pixels.slice(0) };
    },
  };
  if (window.viewer) window.viewer.destroy();
  window.viewer = createViewer(host, source, { image: frame });
  await window.viewer.ready;
  const shown = window.viewer.snapshot().data;
  let differing = 0;
  let first = null;
  for (let i = 0, j = 0; j < expected.length; i += 4, j += 3) {
    for (let k = 0; k < 3; k++) {
      if (shown[i + k] !== expected[j + k]) {
        differing++;
        if (!first) first = { pixel: j / 3, shown: shown[i + k], expected: expected[j + k] };
      }
    }
  }
  return { differing, first, samples: expected.length };
};

// ---- annotations harness ----

/**
 * Mount a viewer on frames given pixel by pixel: `values[k]` holds the stored
 * values of image k, row by row (rows x columns of `spec`).
 */
window.harness.mountValues = async (spec, values, options = {}) => {
  const source = syntheticSource({ ...spec, frames: values.map(() => [0, 0, 0, 0]) });
  source.frame = async (index) => {
    source.requests.push(index);
    const info = imageInfo(spec);
    return { info, pixels: new ARRAYS[info.dtype](values[index]).buffer };
  };
  if (window.viewer) window.viewer.destroy();
  window.source = source;
  window.viewer = createViewer(host, source, options);
  window.changes = [];
  window.viewer.onChange((s, changed) => window.changes.push({ state: s, changed }));
  await window.viewer.ready;
  return window.viewer.getState();
};

/** The point of image point [x, y] (image pixel coordinates) in the page. */
window.harness.pagePoint = (x, y) => {
  const p = window.viewer.toCanvas(y - 0.5, x - 0.5);
  const box = window.harness.canvas().getBoundingClientRect();
  return { x: box.left + p.x, y: box.top + p.y };
};

/** RGBA on the canvas at image point [x, y]. */
window.harness.colourAt = (x, y) => window.harness.pixelAt(y - 0.5, x - 0.5);
