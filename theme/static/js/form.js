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

/* A mistyped e-mail domain (gmial.com, orange.fe…): a suggestion under the field when it
   loses the focus, never a refusal. The known domains come from the page (data-domaines,
   collector/email_typos.py); a domain one or two edits away from one of them is suggested.
   The server makes the same suggestion on the page it sends back after a post. */
(() => {
  const form = document.querySelector("form.ami-form");
  if (!form) return;
  function distance(a, b) {
    let row = [...Array(b.length + 1).keys()];
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++)
        next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
      row = next;
    }
    return row[b.length];
  }
  form.addEventListener("focusout", event => {
    const field = event.target;
    if (field.type != "email" || !field.dataset.domaines) return;
    const [local, domain] = field.value.trim().toLowerCase().split(/@(?=[^@]*$)/);
    const known = field.dataset.domaines.split(" ");
    const best = domain && !known.includes(domain) && known.find(name => distance(domain, name) <= 2);
    let note = field.parentNode.querySelector(".email-suggestion");
    if (!best) { if (note) note.remove(); return; }
    if (!note) {
      note = document.createElement("p");
      note.className = "email-suggestion";
      note.setAttribute("role", "status");
      field.after(note);
    }
    note.textContent = "";
    note.append("Vouliez-vous écrire ", Object.assign(document.createElement("strong"), { textContent: local + "@" + best }),
                " ? Si oui, corrigez l'adresse ; sinon, laissez-la telle quelle.");
  });
})();
