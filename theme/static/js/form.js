/* The form page, enhanced: the same POST by fetch, errors shown in place without a reload, a
   draft kept in this browser until the form is sent. The form works fully without this file.
   On a refusal (422) the server's own page comes back: its error summary and its form, with
   the same words and the same markup as without JavaScript, replace the ones on screen.
   The build minifies this file (plugins/ami_minify); keep it readable here. */
(() => {
  const form = document.querySelector("form.ami-form");
  if (!form || !window.fetch) return;
  const key = form.dataset.draftKey;
  const skip = ["jeton", "id_envoi", "site_web"];
  const fields = () => Array.from(form.elements).filter((el) => el.name && !skip.includes(el.name));
  const ticked = (el) => /radio|checkbox/.test(el.type);
  const say = (text) => { form.querySelector(".form-status").textContent = text; };
  const summary = () => document.getElementById("erreurs");

  /* The draft: each answer by name; boxes and radios as the list of the values ticked. */
  function save() {
    const draft = {};
    fields().forEach((el) => {
      if (!ticked(el)) draft[el.name] = el.value;
      else if ((draft[el.name] = draft[el.name] || []) && el.checked) draft[el.name].push(el.value);
    });
    try { localStorage.setItem(key, JSON.stringify(draft)); } catch (e) { /* storage refused or full */ }
  }

  function restore() {
    let draft;
    try { draft = JSON.parse(localStorage.getItem(key)); } catch (e) { return; }
    if (!draft) return;
    fields().forEach((el) => {
      const value = draft[el.name];
      if (ticked(el)) el.checked = [].concat(value).includes(el.value);
      else if (typeof value == "string") el.value = value;
    });
    say("Votre brouillon enregistré dans ce navigateur a été repris.");
  }

  /* Show the error summary, say so in the title, and move the focus to it. */
  function announce(box, title) {
    box.hidden = false;
    document.title = "Erreur : " + title.replace(/^Erreur : /, "");
    box.focus();
  }

  /* A failure that concerns no one answer (network, server): one sentence in the summary. */
  function fail(text) {
    summary().querySelector(".error-general").textContent = text;
    announce(summary(), document.title);
  }

  form.addEventListener("input", save);
  form.addEventListener("change", save);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    save();
    const button = form.querySelector("button");
    const ready = () => { button.disabled = false; say(""); };
    button.disabled = true;
    say("Envoi en cours…");
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) })
      .then((reply) => reply.text().then((html) => {
        if (reply.ok) {  /* stored: the receipt, where the server redirected */
          try { localStorage.removeItem(key); } catch (e) { /* nothing to forget */ }
          location.assign(reply.url);
          return;
        }
        ready();
        const page = new DOMParser().parseFromString(html, "text/html");
        const refused = page.querySelector("form.ami-form");
        if (reply.status == 422 && refused) {
          const box = page.getElementById("erreurs");
          summary().replaceWith(box);
          form.innerHTML = refused.innerHTML;
          announce(box, page.title);
        } else {
          const message = page.querySelector("main p");
          fail(message ? message.textContent : "L'envoi a échoué. Vos réponses sont conservées : réessayez dans un instant.");
        }
      }))
      .catch(() => {
        ready();
        fail("Connexion impossible : vos réponses sont gardées dans ce navigateur. Vérifiez votre connexion, puis envoyez à nouveau.");
      });
  });

  if (summary().hidden) restore();
})();
