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

// A page that follows background work (a matching run): every few seconds it reads itself
// again and brings the bar up to date; when the work ends, the results take the page's place
// and focus moves to them, so a screen reader hears they are there. A meta refresh would
// reload the whole page under the reader's feet (WCAG 2.2.1); without JavaScript, the page
// has a link to look again.
const following = document.querySelector('[data-eh-follow]');
if (following) {
  const every = Number(following.dataset.ehFollow);
  const look = async () => {
    let fresh;
    try {
      const response = await fetch(location.href, { credentials: 'same-origin' });
      if (!response.ok) throw new Error(response.statusText);
      fresh = new DOMParser().parseFromString(await response.text(), 'text/html');
    } catch {
      setTimeout(look, every);
      return;
    }
    const next = fresh.querySelector('[data-eh-follow]');
    if (next) {
      following.replaceChildren(...next.childNodes);
      setTimeout(look, every);
      return;
    }
    document.getElementById('main-content').replaceWith(fresh.getElementById('main-content'));
    const heading = document.querySelector('#main-content [tabindex="-1"]');
    if (heading) heading.focus();
  };
  setTimeout(look, every);
}
