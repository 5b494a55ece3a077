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
  const say = text => { form.querySelector(".form-status").textContent = text; };
  const summary = () => document.getElementById("erreurs");

  /* The draft: the answers as [name, value] pairs, as the form would send them, less the
     hidden fields, which stay the page's own. */
  function save() {
    const answers = [...new FormData(form)].filter(([name]) => !skip.includes(name));
    try { localStorage.setItem(key, JSON.stringify(answers)); } catch (e) { /* storage refused or full */ }
  }

  function restore() {
    try {
      const answers = JSON.parse(localStorage.getItem(key));
      Array.from(form.elements).forEach(el => {
        const values = answers.filter(([name]) => name == el.name).map(([, value]) => value);
        if (/radio|checkbox/.test(el.type)) el.checked = values.includes(el.value);
        else if (values.length) el.value = values[0];
      });
      say("Votre brouillon enregistré dans ce navigateur a été repris.");
    } catch (e) { /* no draft, or one this page cannot read */ }
  }

  /* Show the error summary, say so in the title, and move the focus to it. */
  function announce(box) {
    box.hidden = false;
    document.title = "Erreur : " + document.title.replace(/^Erreur : /, "");
    box.focus();
  }

  /* A failure that concerns no one answer (network, server): one sentence in the summary. */
  function fail(text) {
    summary().querySelector(".error-general").textContent = text;
    announce(summary());
  }

  ["input", "change"].forEach(type => form.addEventListener(type, save));
  form.addEventListener("submit", event => {
    event.preventDefault();
    save();
    const button = form.querySelector("button");
    const ready = () => { button.disabled = false; say(""); };
    button.disabled = true;
    say("Envoi en cours…");
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) })
      .then(reply => reply.text().then(html => {
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
          announce(box);
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
