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
