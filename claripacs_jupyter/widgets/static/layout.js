// Split-screen layouts: two panes side by side (cols) or one above the other
// (rows), the first taking `size` percent, with a divider that resizes them by
// pointer or keyboard. The panes are plain elements of the page's document, so
// the viewers mounted in them share the document (and its link groups).

const LAYOUT_MIN_SIZE = 1; // percent: a pane never shrinks out of sight
const LAYOUT_MAX_SIZE = 99;
const LAYOUT_DIVIDER_PX = 6;
const LAYOUT_KEY_STEP = 2; // percent moved by an arrow key on the divider

function layoutClamp(size) {
  return Math.min(Math.max(size, LAYOUT_MIN_SIZE), LAYOUT_MAX_SIZE);
}

function layoutBox(tag, className, style) {
  const node = document.createElement(tag);
  node.className = className;
  Object.assign(node.style, style);
  return node;
}

/**
 * Lay out two panes inside `element`.
 *
 * @param {HTMLElement} element the host; the split fills it
 * @param {object} [options]
 * @param {string} [options.type] "cols" (side by side) or "rows" (stacked)
 * @param {number} [options.size] the first pane's share in percent (1 to 99)
 * @param {function(number): void} [options.onResize] called with the new size
 *   after the user moves the divider
 * @returns {object} {element, first, second, divider, type, size (get/set),
 *   destroy()}: `first` and `second` are the empty pane elements to mount in
 */
export function buildSplit(element, options = {}) {
  const type = options.type === "rows" ? "rows" : "cols";
  const horizontal = type === "cols";
  let size = layoutClamp(Number(options.size) || 50);

  const root = layoutBox("div", "cp-split", {
    display: "flex",
    flexDirection: horizontal ? "row" : "column",
    width: "100%",
    height: "100%",
    minWidth: "0",
    minHeight: "0",
    overflow: "hidden",
  });
  root.dataset.type = type;
  const pane = {
    position: "relative",
    display: "flex",
    flexDirection: "column",
    minWidth: "0",
    minHeight: "0",
    overflow: "hidden",
  };
  const first = layoutBox("div", "cp-split-pane", { ...pane });
  const second = layoutBox("div", "cp-split-pane", { ...pane, flex: "1 1 0" });
  const divider = layoutBox("div", "cp-split-divider", {
    flex: `0 0 ${LAYOUT_DIVIDER_PX}px`,
    background: "#333",
    cursor: horizontal ? "col-resize" : "row-resize",
    touchAction: "none",
  });
  divider.tabIndex = 0;
  divider.setAttribute("role", "separator");
  divider.setAttribute("aria-orientation", horizontal ? "vertical" : "horizontal");
  divider.setAttribute("aria-valuemin", String(LAYOUT_MIN_SIZE));
  divider.setAttribute("aria-valuemax", String(LAYOUT_MAX_SIZE));
  divider.title = "Drag to resize the panes";
  root.append(first, divider, second);
  element.append(root);

  function show() {
    // the divider's width comes out of the first pane's share, so `size` is the
    // first pane's part of the whole
    first.style.flex = `0 0 calc(${size}% - ${LAYOUT_DIVIDER_PX / 2}px)`;
    root.dataset.size = String(size);
    divider.setAttribute("aria-valuenow", String(Math.round(size)));
  }

  function resize(next) {
    const clamped = layoutClamp(next);
    if (!Number.isFinite(clamped) || clamped === size) return;
    size = clamped;
    show();
    if (options.onResize) options.onResize(size);
  }

  let dragging = null;
  divider.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    divider.setPointerCapture(event.pointerId);
    dragging = root.getBoundingClientRect();
  });
  divider.addEventListener("pointermove", (event) => {
    if (!dragging) return;
    const r = dragging;
    const share = horizontal
      ? (event.clientX - r.left) / r.width
      : (event.clientY - r.top) / r.height;
    resize(Math.round(share * 1000) / 10);
  });
  const stop = () => {
    dragging = null;
  };
  divider.addEventListener("pointerup", stop);
  divider.addEventListener("pointercancel", stop);
  divider.addEventListener("keydown", (event) => {
    const back = horizontal ? "ArrowLeft" : "ArrowUp";
    const on = horizontal ? "ArrowRight" : "ArrowDown";
    if (event.key !== back && event.key !== on) return;
    event.preventDefault();
    resize(size + (event.key === on ? LAYOUT_KEY_STEP : -LAYOUT_KEY_STEP));
  });

  show();
  return {
    element: root,
    first,
    second,
    divider,
    type,
    get size() {
      return size;
    },
    set size(value) {
      const clamped = layoutClamp(Number(value));
      if (!Number.isFinite(clamped)) return;
      size = clamped;
      show();
    },
    destroy() {
      root.remove();
    },
  };
}
