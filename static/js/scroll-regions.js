// A wide table scrolls inside its `.table-scroll` box (on a phone, say) rather than the
// page sideways. When the box does scroll, this makes it a named region that the keyboard
// can reach and scroll (tabindex="0": WCAG 2.1.1, axe's scrollable-region-focusable), and
// shows the cue: a "Scroll sideways" hint above it, and (app.css, `.is-scrollable`) a
// shadow on each side that has more. When it fits, none of that: no extra tab stop on a
// wide screen. Again after each htmx swap and when the window changes size. A file of our
// own: the Content-Security-Policy allows scripts from 'self' only.
(() => {
  const HINT = "Scroll sideways for more →";

  function nameOf(box) {
    const table = box.querySelector("table");
    const caption = table && table.caption && table.caption.textContent.trim();
    if (caption) return caption;
    const labelled = box.closest("[aria-labelledby]");
    const heading = labelled && document.getElementById(labelled.getAttribute("aria-labelledby").split(" ")[0]);
    const text = heading && heading.textContent.replace(/\s+/g, " ").trim();
    return text || "Table";
  }

  function update(box) {
    const scrolls = box.scrollWidth > box.clientWidth + 1;
    box.classList.toggle("is-scrollable", scrolls);
    let hint = box.previousElementSibling;
    if (!(hint && hint.classList.contains("scroll-hint"))) hint = null;
    if (!scrolls) {
      if (box.dataset.scrollRegion) {
        box.removeAttribute("tabindex");
        box.removeAttribute("role");
        box.removeAttribute("aria-label");
        delete box.dataset.scrollRegion;
      }
      if (hint) hint.remove();
      return;
    }
    if (!box.dataset.scrollRegion) {
      box.dataset.scrollRegion = "1";
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", `${nameOf(box)} (table, scrolls sideways)`);
    }
    if (!hint) {
      hint = document.createElement("p");
      hint.className = "scroll-hint";
      hint.setAttribute("aria-hidden", "true");
      hint.textContent = HINT;
      box.before(hint);
    }
  }

  function uniqueNames() {
    // Regions are landmarks: two with one name would be told apart by nothing.
    const seen = new Map();
    for (const box of document.querySelectorAll(".table-scroll[data-scroll-region]")) {
      const name = box.getAttribute("aria-label").replace(/ \(\d+\)$/, "");
      const n = (seen.get(name) || 0) + 1;
      seen.set(name, n);
      box.setAttribute("aria-label", n > 1 ? `${name} (${n})` : name);
    }
  }

  function scan(root) {
    const boxes = root.querySelectorAll ? [...root.querySelectorAll(".table-scroll")] : [];
    if (root.classList && root.classList.contains("table-scroll")) boxes.push(root);
    boxes.forEach(update);
    uniqueNames();
  }

  document.addEventListener("DOMContentLoaded", () => scan(document));
  document.addEventListener("htmx:load", (event) => scan(event.target));
  let pending = null;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(() => scan(document), 100);
  });
})();
