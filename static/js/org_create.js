// The new organization's slug follows its name as one types (hierarchy/forms.py makes the
// same one on the server when the field is left empty, so the page works without this),
// until the slug is edited by hand. A file of our own: the CSP allows scripts from 'self'.
document.addEventListener("DOMContentLoaded", () => {
  const slug = document.querySelector("input[data-slug-from]");
  const name = slug && document.getElementById(slug.dataset.slugFrom);
  if (!name) return;
  const make = (text) =>
    text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 50)
      .replace(/-+$/, "");
  let follows = slug.value === "" || slug.value === make(name.value);
  // a name typed before this script ran (a slow page): the slug catches up at once
  if (follows) slug.value = make(name.value);
  name.addEventListener("input", () => {
    if (follows) slug.value = make(name.value);
  });
  slug.addEventListener("input", () => {
    follows = slug.value === "";
  });
});
