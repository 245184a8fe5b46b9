import { initAll } from '/assets/govuk-frontend.min.js';
initAll();

// A link to a section of a page's accordion (the family page's contents list, or the page
// after a change, /families/ID#notes) opens that section if it is closed.
function openLinkedSection() {
  const id = decodeURIComponent(location.hash.slice(1));
  const target = id && document.getElementById(id);
  const section = target && target.closest('.govuk-accordion__section');
  if (section && !section.classList.contains('govuk-accordion__section--expanded')) {
    section.querySelector('.govuk-accordion__section-button')?.click();
    target.scrollIntoView();
  }
}
openLinkedSection();
window.addEventListener('hashchange', openLinkedSection);
