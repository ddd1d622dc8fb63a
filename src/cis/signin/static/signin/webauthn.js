// Security keys (WebAuthn) for the sign-in and authenticator pages: no inline script (CSP).
// Each page's button names its two endpoints in data-options-url and data-verify-url.
"use strict";
(() => {
  const b64 = {
    dec: (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/") + "==".slice(0, (4 - s.length % 4) % 4)), (c) => c.charCodeAt(0)).buffer,
    enc: (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  };
  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;
  async function cisPost(url, body) {
    const response = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()}, body: JSON.stringify(body || {})});
    const data = await response.json();
    if (!response.ok) { throw new Error(data.message || data.detail || "Something went wrong."); }
    return data;
  }
  function credentialJson(c) {
    const r = c.response;
    const out = {id: c.id, rawId: b64.enc(c.rawId), type: c.type, clientExtensionResults: c.getClientExtensionResults(), response: {clientDataJSON: b64.enc(r.clientDataJSON)}};
    if (r.attestationObject) { out.response.attestationObject = b64.enc(r.attestationObject); out.response.transports = r.getTransports ? r.getTransports() : []; }
    if (r.authenticatorData) { out.response.authenticatorData = b64.enc(r.authenticatorData); out.response.signature = b64.enc(r.signature); if (r.userHandle) { out.response.userHandle = b64.enc(r.userHandle); } }
    return out;
  }
  function showError(message) {
    const box = document.getElementById("webauthn-error");
    box.querySelector("p").textContent = message; box.hidden = false; box.focus();
  }

  const signIn = document.getElementById("webauthn-go");
  if (signIn) {
    signIn.addEventListener("click", async () => {
      try {
        const options = await cisPost(signIn.dataset.optionsUrl);
        options.challenge = b64.dec(options.challenge);
        (options.allowCredentials || []).forEach((c) => { c.id = b64.dec(c.id); });
        const credential = await navigator.credentials.get({publicKey: options});
        const done = await cisPost(signIn.dataset.verifyUrl, credentialJson(credential));
        window.location = done.next;
      } catch (e) { showError(e.message); }
    });
  }

  const add = document.getElementById("webauthn-add");
  if (add) {
    add.addEventListener("click", async () => {
      try {
        const options = await cisPost(add.dataset.optionsUrl);
        options.challenge = b64.dec(options.challenge);
        options.user.id = b64.dec(options.user.id);
        (options.excludeCredentials || []).forEach((c) => { c.id = b64.dec(c.id); });
        const credential = await navigator.credentials.create({publicKey: options});
        await cisPost(add.dataset.verifyUrl, {name: document.getElementById("key-name").value, credential: credentialJson(credential)});
        window.location.reload();
      } catch (e) { showError(e.message); }
    });
  }
})();
