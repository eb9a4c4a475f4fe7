// The plan editor: paste a row of numbers copied from a spreadsheet (Excel, Google
// Sheets, Numbers, LibreOffice) into one period, and the periods fill from that one on.
// A file of our own: the Content-Security-Policy allows scripts from 'self' only.
//
// How the pasted text is cut into cells (docs/decisions.md, issue 14 item 5):
// - with a tab or a line break in it, at tabs and line breaks only: a spreadsheet's row
//   (or column), whose cells keep their commas ("1,000" stays one cell, a thousand);
// - else at semicolons, if it has any (the list separator where the comma is decimal);
// - else at commas, unless the whole text is one number with thousands separators
//   ("1,000,000" pastes as one number);
// - one cell is pasted by the browser as always.
// Each cell goes into its period as it is: the server's one parser reads it, so what is
// not a number gets the field's usual message in the live totals and on saving. The
// inputs then fire "input" as typing does, so htmx updates the totals and the preview.
(() => {
  "use strict";

  const LINES_OR_TABS = /\t|\r\n|\r|\n/;
  const GROUPED = /^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$/;
  const BLANKS = /^[\s\u00a0\u202f]+|[\s\u00a0\u202f]+$/g;

  function cellsOf(text) {
    const row = text.replace(/^[\r\n]+|[\r\n]+$/g, ""); // a copied row ends with a line break
    let cells;
    if (/[\t\r\n]/.test(row)) {
      cells = row.split(LINES_OR_TABS);
    } else if (row.includes(";")) {
      cells = row.split(";");
    } else if (row.includes(",") && !GROUPED.test(row.replace(BLANKS, ""))) {
      cells = row.split(",");
    } else {
      return null;
    }
    cells = cells.map((cell) => cell.replace(BLANKS, ""));
    while (cells.length && cells[cells.length - 1] === "") {
      cells.pop(); // empty cells at the end of a selection
    }
    return cells.length > 1 ? cells : null;
  }

  function labelOf(input) {
    const label = input.form.querySelector(`label[for="${input.id}"]`);
    return label ? label.textContent.trim() : input.id;
  }

  function tell(form, text, warning) {
    const note = form.querySelector("[data-paste-note]");
    if (note) {
      note.textContent = text;
      note.classList.toggle("paste-note-warning", warning);
    }
  }

  document.addEventListener("paste", (event) => {
    const input = event.target.closest ? event.target.closest("input[data-period]") : null;
    if (!input || !input.form || input.readOnly || input.disabled) {
      return;
    }
    const data = event.clipboardData;
    const cells = cellsOf(data ? data.getData("text/plain") : "");
    if (!cells) {
      return; // one number (or nothing): the browser's own paste
    }
    event.preventDefault();
    const inputs = Array.from(input.form.querySelectorAll("input[data-period]"));
    const start = inputs.indexOf(input);
    const filled = cells.slice(0, inputs.length - start);
    filled.forEach((cell, i) => {
      const target = inputs[start + i];
      target.value = cell;
      target.dispatchEvent(new Event("input", { bubbles: true }));
    });
    const first = labelOf(inputs[start]);
    const last = labelOf(inputs[start + filled.length - 1]);
    const left = cells.slice(filled.length);
    let text = `Pasted ${filled.length} values into ${first} to ${last}.`;
    if (left.length) {
      const shown = left.slice(0, 3).join(", ") + (left.length > 3 ? ", …" : "");
      text =
        `Pasted ${filled.length} of ${cells.length} values, into ${first} to ${last}: ` +
        `the plan has no period after ${last}, so ${left.length} ` +
        `${left.length === 1 ? "was" : "were"} left out (${shown}).`;
    }
    tell(input.form, text, left.length > 0);
  });
})();
