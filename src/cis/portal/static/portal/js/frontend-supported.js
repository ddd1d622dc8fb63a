// Marks the page as able to run the NHS.UK frontend's scripts before anything is drawn, as the
// frontend's own inline snippet would (kept in a file so the Content-Security-Policy needs no
// inline script).
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
