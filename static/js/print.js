// A "Print" button (data-print) opens the browser's print dialog. A file of our own
// rather than an inline onclick: the Content-Security-Policy allows scripts from 'self' only.
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});
