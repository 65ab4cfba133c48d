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

// ---- stacks harness ----
// Sources that give `stacks` (claripacs_jupyter.dicom.series.Stack.to_dict(),
// made by the test with the real assemble()) and must be asked by `ref`, and
// pages with two viewers for linking.

/**
 * A source over `spec.instances` ([{uid, value, position?, orientation?,
 * instance_number?}], each a single frame whose pixels all hold `value`) and
 * `spec.stacks`. frame() answers by `ref` only (it fails without one), and
 * records {index, ref} of every request in `requests`.
 */
export function stackSource(spec) {
  const requests = [];
  const infoOf = (inst) => ({
    ...imageInfo({ ...spec, frames: [[inst.value, inst.value, inst.value, inst.value]] }),
    position: inst.position ?? null,
    orientation: inst.orientation ?? null,
    instance_number: inst.instance_number ?? 1,
  });
  const seriesUid = spec.seriesUid ?? "1.2.3";
  return {
    requests,
    async info() {
      const answer = {
        seriesUid,
        modality: spec.modality ?? "CT",
        label: spec.label ?? "synthetic",
        series: spec.series ?? [{ uid: seriesUid, label: spec.label ?? "synthetic" }],
        instances: spec.instances.map((inst) => ({
          uid: inst.uid,
          frames: 1,
          image: infoOf(inst),
        })),
      };
      if (spec.stacks) answer.stacks = spec.stacks;
      return answer;
    },
    async frame(index, ref) {
      requests.push({ index, ref: ref ?? null });
      if (!ref) throw new Error("no ref: the viewer must name the image it wants");
      const inst = spec.instances.find((x) => x.uid === ref.instance);
      if (!inst) throw new Error(`no instance ${ref.instance}`);
      const info = infoOf(inst);
      const v = inst.value;
      return { info, pixels: quadrants(info, [v, v, v, v]) };
    },
  };
}

/** Hosts for `count` viewers side by side, in place of the single #host. */
function stackHosts(count) {
  document.querySelectorAll(".stack-host").forEach((h) => h.remove());
  host.hidden = true;
  return Array.from({ length: count }, (_, k) => {
    const h = document.createElement("div");
    h.className = "stack-host";
    h.id = `host-${k}`;
    h.style.cssText = "display:inline-block;width:380px;height:380px;margin:4px;";
    document.body.append(h);
    return h;
  });
}

/** Resolve once `viewer` has drawn image `index` of the stack it shows. */
function drawnOn(viewer, index) {
  return new Promise((resolve) => {
    const check = () => {
      const shown = viewer.element.dataset;
      const stack = String(viewer.getState().stack);
      if (shown.drawnImage === String(index) && shown.drawnStack === stack) resolve();
      else requestAnimationFrame(check);
    };
    check();
  });
}

/**
 * A source over real files: `spec.instances` = [{uid, image: image_info,
 * pixels: base64 of raw_frame}] and `spec.stacks`, as the test read them from
 * a store. Answers by `ref` only, like stackSource.
 */
export function realStackSource(spec) {
  const requests = [];
  const bytesOf = (b64) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)).buffer;
  return {
    requests,
    async info() {
      return {
        seriesUid: spec.seriesUid,
        modality: spec.modality ?? "",
        label: spec.label ?? "",
        series: [{ uid: spec.seriesUid, label: spec.label ?? "" }],
        instances: spec.instances.map((x) => ({ uid: x.uid, frames: 1, image: x.image })),
        stacks: spec.stacks,
      };
    },
    async frame(index, ref) {
      requests.push({ index, ref: ref ?? null });
      if (!ref) throw new Error("no ref: the viewer must name the image it wants");
      const inst = spec.instances.find((x) => x.uid === ref.instance);
      return { info: inst.image, pixels: bytesOf(inst.pixels) };
    },
  };
}

window.stacksHarness = {
  /** Mount one viewer per spec (viewer k as window.viewers[k]); returns their states. */
  async mount(specs, options = []) {
    for (const v of window.viewers || []) v.destroy();
    if (window.viewer) window.viewer.destroy();
    const hosts = stackHosts(specs.length);
    window.sources = specs.map((spec) =>
      spec.real ? realStackSource(spec) : stackSource(spec),
    );
    window.viewers = specs.map((spec, k) =>
      createViewer(hosts[k], window.sources[k], options[k] || {}),
    );
    window.viewer = window.viewers[0];
    window.source = window.sources[0];
    window.changes = window.viewers.map(() => []);
    window.viewers.forEach((v, k) =>
      v.onChange((s, changed) => window.changes[k].push({ state: s, changed })),
    );
    await Promise.all(window.viewers.map((v) => v.ready));
    return window.viewers.map((v) => v.getState());
  },
  /** The grey value at the centre of image pixel (row, column) of viewer k. */
  grey(k, row = 10, column = 10) {
    const viewer = window.viewers[k];
    const p = viewer.toCanvas(row, column);
    const canvas = viewer.element.querySelector("canvas");
    const scale = canvas.width / canvas.getBoundingClientRect().width;
    const d = canvas
      .getContext("2d")
      .getImageData(Math.floor(p.x * scale), Math.floor(p.y * scale), 1, 1).data;
    return d[0];
  },
  /** Wait until viewer k has drawn the image its state names. */
  settled(k) {
    const viewer = window.viewers[k];
    return drawnOn(viewer, viewer.getState().image);
  },
  /** The grey values of the picture viewer k shows at the image's own size. */
  greys(k) {
    const data = window.viewers[k].snapshot().data;
    return Array.from({ length: data.length / 4 }, (_, i) => data[4 * i]);
  },
  /** viewer.slices() of viewer k: its image and the positions of its images. */
  slices(k) {
    return window.viewers[k].slices();
  },
  /** The {index, ref} of the frame requests of viewer k's source. */
  requests(k) {
    return window.sources[k].requests;
  },
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
