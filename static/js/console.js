// Avika Console's only script of its own. Loaded from static/ (the CSP allows
// no inline script).

// htmx leaves the page as it is when a request fails. For boosted links and
// forms the server's answer is a whole page that says what went wrong (a
// refused release, a 403, GitHub unreachable), so show it.
document.addEventListener("htmx:beforeSwap", (event) => {
  const detail = event.detail;
  if (detail.boosted && detail.xhr.status >= 400) {
    detail.shouldSwap = true;
    detail.isError = false;
  }
});

// Copy buttons next to digests: the whole digest goes to the clipboard.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button || !navigator.clipboard) {
    return;
  }
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = "copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
