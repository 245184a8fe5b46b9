import { initAll } from '/assets/govuk-frontend.min.js';
initAll();

// A link into a closed section (the family page's contents list, or the page after a change,
// /families/ID#notes) opens it: browsers do not all open a closed <details> for a link.
function openLinkedSection() {
  const id = decodeURIComponent(location.hash.slice(1));
  const target = id && document.getElementById(id);
  const section = target && target.closest('details');
  if (section && !section.open) {
    section.open = true;
    target.scrollIntoView();
  }
}
openLinkedSection();
window.addEventListener('hashchange', openLinkedSection);
