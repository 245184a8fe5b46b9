// The shortlist's print button: shown only when JavaScript can print (no inline scripts).
for (const button of document.querySelectorAll('[data-eh-print]')) {
  button.hidden = false;
  button.addEventListener('click', () => window.print());
}
