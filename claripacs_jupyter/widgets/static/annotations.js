// Annotations of the viewer: their geometry and measurements (pure functions
// over image pixel coordinates), checking of annotation lists, and drawing.
//
// Points are [x, y] in image pixel coordinates: x along the columns, y along
// the rows, 0 at the image's left and top edges, so the centre of pixel
// (row r, column c) is (c + 0.5, r + 0.5). A pixel spacing is (0028,0030)
// *PixelSpacing*: [row spacing, column spacing] in mm, that is the vertical
// size of a pixel first, then its horizontal size.

/** The annotation types and how many points each one has. */
export const ANNOTATION_POINTS = Object.freeze({
  arrow: 2,
  text: 1,
  length: 2,
  ellipse: 2,
  angle: 3,
});

const ANNOTATION_COLOUR = "#ffd400";
const ANNOTATION_SELECTED_COLOUR = "#4fc3f7";
const ANNOTATION_FONT = "13px system-ui, sans-serif";
const ANNOTATION_LINE_HEIGHT = 16;

/** [row mm, column mm] of a usable spacing, else null. */
function annotSpacing(spacing) {
  if (!spacing || spacing.length < 2) return null;
  const row = Number(spacing[0]);
  const column = Number(spacing[1]);
  return row > 0 && column > 0 ? [row, column] : null;
}

/**
 * Length in image pixels of the segment from `a` to `b`.
 * @param {number[]} a [x, y]
 * @param {number[]} b [x, y]
 * @returns {number}
 */
export function lengthPx(a, b) {
  return Math.hypot(b[0] - a[0], b[1] - a[1]);
}

/**
 * Length in mm of the segment from `a` to `b` on pixels of `spacing`.
 * Non-square pixels count right: x steps are column spacings, y steps row
 * spacings.
 * @param {number[]} a [x, y]
 * @param {number[]} b [x, y]
 * @param {number[] | null} spacing (0028,0030) [row mm, column mm]
 * @returns {number | null} mm, or null when there is no usable spacing
 */
export function lengthMm(a, b, spacing) {
  const s = annotSpacing(spacing);
  if (!s) return null;
  return Math.hypot((b[0] - a[0]) * s[1], (b[1] - a[1]) * s[0]);
}

/**
 * The angle at `vertex` between the rays to `a` and `b`, in degrees 0..180,
 * measured on the image as it is shown (physical units when `spacing` is
 * given, so non-square pixels do not bend it).
 * @param {number[]} a [x, y] end of the first ray
 * @param {number[]} vertex [x, y]
 * @param {number[]} b [x, y] end of the second ray
 * @param {number[] | null} [spacing] (0028,0030) [row mm, column mm]
 * @returns {number | null} degrees; null when a ray has no length
 */
export function angleDegrees(a, vertex, b, spacing = null) {
  const s = annotSpacing(spacing) || [1, 1];
  const ux = (a[0] - vertex[0]) * s[1];
  const uy = (a[1] - vertex[1]) * s[0];
  const vx = (b[0] - vertex[0]) * s[1];
  const vy = (b[1] - vertex[1]) * s[0];
  if ((ux === 0 && uy === 0) || (vx === 0 && vy === 0)) return null;
  // atan2 of cross and dot stays exact near 0 and 180 degrees
  const radians = Math.atan2(Math.abs(ux * vy - uy * vx), ux * vx + uy * vy);
  return (radians * 180) / Math.PI;
}

/**
 * Centre and semi-axes (image pixels) of the ellipse inscribed in the box of
 * two opposite corners.
 */
export function ellipseShape(corner, opposite) {
  return {
    cx: (corner[0] + opposite[0]) / 2,
    cy: (corner[1] + opposite[1]) / 2,
    rx: Math.abs(opposite[0] - corner[0]) / 2,
    ry: Math.abs(opposite[1] - corner[1]) / 2,
  };
}

/**
 * Area of the ellipse inscribed in the box of two opposite corners.
 * @param {number[]} corner [x, y]
 * @param {number[]} opposite [x, y]
 * @param {number[] | null} spacing (0028,0030) [row mm, column mm]
 * @returns {{value: number, unit: string}} in mm², or in px² without spacing
 */
export function ellipseArea(corner, opposite, spacing) {
  const { rx, ry } = ellipseShape(corner, opposite);
  const s = annotSpacing(spacing);
  if (!s) return { value: Math.PI * rx * ry, unit: "px²" };
  return { value: Math.PI * rx * s[1] * ry * s[0], unit: "mm²" };
}

/**
 * Statistics of the modality values of the pixels whose centres lie inside
 * the ellipse inscribed in the box of two opposite corners.
 *
 * @param {number[]} corner [x, y]
 * @param {number[]} opposite [x, y]
 * @param {object} image one grey frame: `rows`, `columns`, `pixels` (stored
 *   values, row by row), `slope` and `intercept` (its rescale) and `padding`
 *   ([low, high] stored values of (0028,0120) *PixelPaddingValue* and
 *   (0028,0121) *PixelPaddingRangeLimit*, left out) or null
 * @returns {{count: number, mean: number, sd: number, min: number, max: number}}
 *   `sd` is the population standard deviation (numpy's default); mean, sd,
 *   min and max are NaN when no pixel is inside
 */
export function ellipseStats(corner, opposite, image) {
  const { rows, columns, pixels } = image;
  const slope = image.slope ?? 1;
  const intercept = image.intercept ?? 0;
  const padding = image.padding || null;
  const { cx, cy, rx, ry } = ellipseShape(corner, opposite);
  // Welford's running mean and sum of squared deviations: one pass, stable
  let count = 0;
  let mean = 0;
  let squares = 0;
  let min = Infinity;
  let max = -Infinity;
  if (rx > 0 && ry > 0) {
    const r0 = Math.max(0, Math.floor(cy - ry - 0.5));
    const r1 = Math.min(rows - 1, Math.ceil(cy + ry - 0.5));
    for (let r = r0; r <= r1; r++) {
      const dy = (r + 0.5 - cy) / ry;
      const reach = 1 - dy * dy;
      if (reach < 0) continue;
      const half = rx * Math.sqrt(reach);
      // pixel centres c + 0.5 within [cx - half, cx + half]
      const c0 = Math.max(0, Math.ceil(cx - half - 0.5));
      const c1 = Math.min(columns - 1, Math.floor(cx + half - 0.5));
      for (let c = c0; c <= c1; c++) {
        const stored = pixels[r * columns + c];
        if (padding && stored >= padding[0] && stored <= padding[1]) continue;
        const v = stored * slope + intercept;
        count++;
        const delta = v - mean;
        mean += delta / count;
        squares += delta * (v - mean);
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
  }
  if (!count) return { count: 0, mean: NaN, sd: NaN, min: NaN, max: NaN };
  return { count, mean, sd: Math.sqrt(squares / count), min, max };
}

/** The unit of a modality's rescaled values: "HU" for CT, else "". */
export function modalityUnit(modality) {
  // TODO: other modalities name their unit in (0028,1054) RescaleType, which
  // image_info does not carry yet; their values are shown without a unit.
  return modality === "CT" ? "HU" : "";
}

function annotNumber(x, digits = 1) {
  return Number.isFinite(x) ? x.toFixed(digits) : "–";
}

function annotWithUnit(x, unit) {
  return unit ? `${annotNumber(x)} ${unit}` : annotNumber(x);
}

/**
 * The measurement of one annotation, as numbers and as the label lines drawn
 * beside it.
 *
 * @param {object} annotation {type, image, points, text?}
 * @param {object} context `spacing` ((0028,0030) or null), `unit` (of the
 *   modality values), and for an ellipse `frame` (see ellipseStats; null for
 *   colour images or a frame not loaded)
 * @returns {{lines: string[], value?: number, unit?: string, mean?: number,
 *   sd?: number, count?: number, area?: number, areaUnit?: string}}
 */
export function measureAnnotation(annotation, context = {}) {
  const p = annotation.points;
  const spacing = context.spacing ?? null;
  switch (annotation.type) {
    case "length": {
      const mm = lengthMm(p[0], p[1], spacing);
      const value = mm ?? lengthPx(p[0], p[1]);
      const unit = mm === null ? "px" : "mm";
      return { value, unit, lines: [`${annotNumber(value)} ${unit}`] };
    }
    case "angle": {
      const value = angleDegrees(p[0], p[1], p[2], spacing);
      return { value, unit: "°", lines: [`${annotNumber(value)}°`] };
    }
    case "ellipse": {
      const area = ellipseArea(p[0], p[1], spacing);
      const out = { area: area.value, areaUnit: area.unit, lines: [] };
      if (context.frame) {
        const stats = ellipseStats(p[0], p[1], context.frame);
        const unit = context.unit || "";
        const { mean, sd, count } = stats;
        Object.assign(out, { mean, sd, count, unit });
        out.lines.push(`Mean ${annotWithUnit(stats.mean, unit)}`);
        out.lines.push(`SD ${annotWithUnit(stats.sd, unit)}`);
      }
      out.lines.push(`Area ${annotNumber(area.value)} ${area.unit}`);
      return out;
    }
    case "text":
      return { lines: [] }; // the text is the annotation itself
    default:
      return { lines: [] };
  }
}

/**
 * Check an annotation list from outside (setState, a URL, a trait): returns
 * clean copies of the valid items and the reasons the others were left out.
 * @param {unknown} list
 * @returns {{annotations: object[], rejected: string[]}}
 */
export function checkAnnotations(list) {
  const annotations = [];
  const rejected = [];
  if (!Array.isArray(list)) {
    return { annotations, rejected: ["annotations must be an array"] };
  }
  list.forEach((item, k) => {
    const why = annotProblem(item);
    if (why) {
      rejected.push(`annotation ${k}: ${why}`);
      return;
    }
    const clean = {
      type: item.type,
      image: item.image,
      points: item.points.map((q) => [Number(q[0]), Number(q[1])]),
    };
    if (item.type === "text") clean.text = item.text;
    annotations.push(clean);
  });
  return { annotations, rejected };
}

function annotProblem(item) {
  if (!item || typeof item !== "object") return "not an object";
  const count = ANNOTATION_POINTS[item.type];
  if (!count) return `unknown type ${JSON.stringify(item.type)}`;
  if (!Number.isInteger(item.image) || item.image < 0) {
    return "image must be an integer from 0";
  }
  const points = item.points;
  if (!Array.isArray(points) || points.length !== count) {
    return `a ${item.type} has ${count} point(s)`;
  }
  const finite = points.every(
    (q) =>
      Array.isArray(q) && q.length === 2 && q.every((v) => Number.isFinite(Number(v))),
  );
  if (!finite) return "points must be [x, y] pairs of numbers";
  if (item.type === "text" && (typeof item.text !== "string" || !item.text.trim())) {
    return "a text annotation needs its text";
  }
  return null;
}

/** Distance from point p to the segment a-b (all [x, y] in one space). */
function annotSegmentDistance(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let t = len2 ? ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2 : 0;
  t = Math.max(0, Math.min(1, t));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/**
 * How far screen point `p` is from an annotation drawn with `toScreen`
 * (image point -> screen point); 0 inside an ellipse or on a text's label.
 */
export function annotationDistance(annotation, p, toScreen) {
  const q = annotation.points.map(toScreen);
  switch (annotation.type) {
    case "arrow":
    case "length":
      return annotSegmentDistance(p, q[0], q[1]);
    case "angle":
      return Math.min(
        annotSegmentDistance(p, q[0], q[1]),
        annotSegmentDistance(p, q[1], q[2]),
      );
    case "ellipse": {
      const e = ellipseShape(q[0], q[1]);
      const nx = e.rx ? (p[0] - e.cx) / e.rx : Infinity;
      const ny = e.ry ? (p[1] - e.cy) / e.ry : Infinity;
      const r = Math.hypot(nx, ny);
      if (r <= 1) return 0;
      return (r - 1) * Math.min(e.rx, e.ry);
    }
    case "text": {
      // the label box: about 7 px per character, one line high
      const width = Math.max(10, 7 * (annotation.text || "").length);
      const inX = p[0] >= q[0][0] - 4 && p[0] <= q[0][0] + width + 4;
      const inY = p[1] >= q[0][1] - ANNOTATION_LINE_HEIGHT && p[1] <= q[0][1] + 4;
      return inX && inY ? 0 : Math.hypot(p[0] - q[0][0], p[1] - q[0][1]);
    }
    default:
      return Infinity;
  }
}

function annotLabel(ctx, lines, x, y) {
  ctx.font = ANNOTATION_FONT;
  ctx.textBaseline = "top";
  ctx.lineWidth = 3;
  ctx.strokeStyle = "rgb(0 0 0 / 80%)";
  lines.forEach((line, k) => {
    const ly = y + k * ANNOTATION_LINE_HEIGHT;
    ctx.strokeText(line, x, ly);
    ctx.fillText(line, x, ly);
  });
}

function annotArrowHead(ctx, tail, head) {
  const angle = Math.atan2(head[1] - tail[1], head[0] - tail[0]);
  const size = 10;
  ctx.beginPath();
  ctx.moveTo(head[0], head[1]);
  for (const side of [-0.4, 0.4]) {
    const a = angle + side;
    ctx.lineTo(head[0] - size * Math.cos(a), head[1] - size * Math.sin(a));
  }
  ctx.closePath();
  ctx.fill();
}

/**
 * Draw annotations over the image. `ctx` is set up in CSS pixels; each item is
 * {annotation, lines (label lines), selected}; `toScreen` maps an image point
 * to a CSS pixel point of the canvas.
 */
export function drawAnnotations(ctx, items, toScreen) {
  ctx.save();
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  for (const { annotation, lines, selected } of items) {
    const colour = selected ? ANNOTATION_SELECTED_COLOUR : ANNOTATION_COLOUR;
    const q = annotation.points.map(toScreen);
    ctx.strokeStyle = colour;
    ctx.fillStyle = colour;
    ctx.lineWidth = selected ? 3 : 2;
    ctx.beginPath();
    let labelAt = q[q.length - 1];
    switch (annotation.type) {
      case "arrow":
      case "length":
        ctx.moveTo(q[0][0], q[0][1]);
        ctx.lineTo(q[1][0], q[1][1]);
        ctx.stroke();
        if (annotation.type === "arrow") annotArrowHead(ctx, q[0], q[1]);
        break;
      case "angle":
        ctx.moveTo(q[0][0], q[0][1]);
        ctx.lineTo(q[1][0], q[1][1]);
        if (q[2]) ctx.lineTo(q[2][0], q[2][1]);
        ctx.stroke();
        labelAt = q[1];
        break;
      case "ellipse": {
        const e = ellipseShape(q[0], q[1]);
        ctx.ellipse(e.cx, e.cy, e.rx, e.ry, 0, 0, 2 * Math.PI);
        ctx.stroke();
        labelAt = [e.cx + e.rx, e.cy - e.ry];
        break;
      }
      case "text":
        const top = q[0][1] - ANNOTATION_LINE_HEIGHT + 2;
        annotLabel(ctx, [annotation.text || ""], q[0][0], top);
        break;
      default:
        break;
    }
    ctx.fillStyle = colour;
    if (lines && lines.length) annotLabel(ctx, lines, labelAt[0] + 8, labelAt[1] + 4);
  }
  ctx.restore();
}
