/* The form page, enhanced: the same POST by fetch, errors shown in place without a reload, a
   draft kept in this browser, a live count on texts with a maximum length, a suggestion for a
   mistyped e-mail domain. The form works fully without this file. On a refusal (422) the
   server's own page comes back: its error summary and its form, with the same words and the
   same markup as without JavaScript, replace the ones on screen; on a closed call (403) its
   closing page replaces the page. The draft is cleared only once a receipt with a reference
   has loaded, when the porteur erases it, after the days the form states (data-draft-days,
   from ami.yaml), or when the call is closed. The build minifies this file (plugins/ami_minify)
   and shortens local names; global and property names stay, so the code avoids repeating
   them (this page has a weight budget). */
(() => {
  const doc = document;
  let store;  /* none when the browser refuses storage: every use below is in a try */
  try { store = localStorage; } catch (e) { /* refused */ }
  const $ = (selector, root = doc) => root.querySelector(selector);
  const on = (el, type, handler) => el.addEventListener(type, handler);
  const form = $("form.ami-form");
  const data = form ? form.dataset : {};
  const key = data.draftKey;
  /* Forget this form's draft, or (all) every draft of this site: the call is closed. */
  const forget = all => {
    try { Object.keys(store).filter(k => all ? k.startsWith("ami-brouillon") : k == key).forEach(k => store.removeItem(k)); } catch (e) { /* refused */ }
  };
  if (!form) {  /* the call is closed (or not open yet): no draft is kept */
    if ($("#formulaire-ferme")) forget(1);
    return;
  }
  const skip = ["jeton", "id_envoi", "site_web"];
  const say = text => { $(".form-status", form).textContent = text; };
  const summary = () => $("#erreurs");
  const fr = n => n.toLocaleString("fr-FR");
  const characters = n => fr(n) + " caractère" + (n > 1 ? "s" : "");

  /* The draft: when it was saved, and the answers as [name, value] pairs as the form would
     send them, less the hidden fields, which stay the page's own. */
  const save = () => {
    try { store.setItem(key, JSON.stringify({ at: Date.now(), answers: [...new FormData(form)].filter(([n]) => !skip.includes(n)) })); } catch (e) { /* refused or full */ }
  };

  /* The draft unless it is past its days or the call's closing (in a preview, the page's "now"). */
  const readDraft = () => {
    try {
      const draft = JSON.parse(store.getItem(key));
      if (Date.now() - draft.at < data.draftDays * 864e5 && (data.now ? Date.parse(data.now) : Date.now()) < Date.parse(data.closes)) return draft;
      forget();
    } catch (e) { /* no draft, or one this page cannot read */ }
  };

  const fillWith = answers => {
    for (const el of form.elements) {
      if (!el.name || skip.includes(el.name)) continue;
      const values = answers.filter(([n]) => n == el.name).map(([, v]) => v);
      if (/radio|checkbox/.test(el.type)) el.checked = values.includes(el.value);
      else el.value = values[0] || "";
      el.dispatchEvent(new Event("count"));
    }
  };

  /* « Brouillon repris du … » with a button that empties the form and the storage. */
  const offerErase = draft => {
    form.insertAdjacentHTML("beforebegin", "<div class='notice draft-notice'><p>Brouillon repris du " +
      new Date(draft.at).toLocaleString("fr-FR", { dateStyle: "full", timeStyle: "short" }) +
      ", enregistré dans ce navigateur seulement. <button type=button class=button-secondary>Effacer le brouillon</button></div>");
    const box = form.previousSibling;
    on($("button", box), "click", () => {
      forget();
      fillWith([]);
      box.setAttribute("role", "status");
      box.innerHTML = "<p>Brouillon effacé : le formulaire est vide et ce navigateur ne garde plus rien.";
      $("fieldset [name]", form).focus();  /* the first question (the honeypot is before any fieldset) */
    });
  };

  /* GOV.UK's character count: a visible count, and a polite announcement once typing pauses. */
  const addCounters = () => form.querySelectorAll("[data-max]").forEach(el => {
    const max = +el.dataset.max;
    el.insertAdjacentHTML("afterend", "<p class=char-count aria-hidden=true></p><p class=visually-hidden aria-live=polite></p>");
    const shown = el.nextSibling;
    let pause;
    const update = () => {
      const used = [...el.value.normalize("NFC").trim()].length;
      shown.textContent = used > max ? characters(used - max) + " en trop" : characters(used) + " sur " + fr(max);
      shown.classList.toggle("char-count-over", used > max);
      clearTimeout(pause);
      pause = setTimeout(() => { shown.nextSibling.textContent = shown.textContent; }, 1000);
    };
    on(el, "input", update);
    on(el, "count", update);
    update();
  });

  /* Show the error summary, say so in the title, and move the focus to it. */
  const announce = box => {
    box.hidden = false;
    doc.title = "Erreur : " + doc.title.replace(/^Erreur : /, "");
    box.focus();
  };

  /* A failure that concerns no one answer (network, server): one sentence in the summary. */
  const fail = text => {
    $(".error-general", summary()).textContent = text;
    announce(summary());
  };

  on(form, "input", save);
  on(form, "change", save);
  on(form, "submit", event => {
    event.preventDefault();
    save();
    const button = $("[type=submit]", form);
    const ready = () => { button.disabled = false; say(""); };
    button.disabled = true;
    say("Envoi en cours…");
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) })
      .then(reply => reply.text().then(html => {
        if (reply.ok) {
          /* a receipt: the address the post ended at ends with a reference, which the page shows */
          const reference = reply.redirected && new URL(reply.url).pathname.match(/([A-Z0-9]+-)+\d+$/);
          if (reference && html.includes(reference[0])) forget();
          location.assign(reply.url);
          return;
        }
        ready();
        const page = new DOMParser().parseFromString(html, "text/html");
        const refused = $("form.ami-form", page);
        const main = $("main");
        if (reply.status == 422 && refused) {
          const box = $("#erreurs", page);
          summary().replaceWith(box);
          form.innerHTML = refused.innerHTML;
          addCounters();
          announce(box);
        } else if ($("#formulaire-ferme", page)) {  /* the call closed meanwhile: its page, nothing else */
          forget(1);
          main.innerHTML = $("main", page).innerHTML;
          doc.title = page.title;
          main.focus();
        } else {
          const message = $("main p", page);
          fail(message ? message.textContent : "L'envoi a échoué. Vos réponses sont conservées : réessayez dans un instant.");
        }
      }))
      .catch(() => {
        ready();
        fail("Connexion impossible : vos réponses sont gardées dans ce navigateur. Vérifiez votre connexion, puis envoyez à nouveau.");
      });
  });

  /* A mistyped e-mail domain (gmial.com, orange.fe…): a suggestion under the field when it
     loses the focus, never a refusal. The known domains come from the page (data-domaines,
     collector/email_typos.py); a domain one or two edits away from one of them is suggested.
     The server makes the same suggestion on the page it sends back after a post. */
  const distance = (a, b) => {
    let row = [...Array(b.length + 1).keys()];
    for (let i = 1; i <= a.length; i++) {
      const next = [i];
      for (let j = 1; j <= b.length; j++)
        next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] != b[j - 1]));
      row = next;
    }
    return row[b.length];
  };
  on(form, "focusout", event => {
    const field = event.target;
    const known = field.type == "email" && field.dataset.domaines;
    if (!known) return;
    const [local, domain] = field.value.trim().toLowerCase().split(/@(?=[^@]*$)/);
    const names = known.split(" ");
    const best = domain && !names.includes(domain) && names.find(name => distance(domain, name) <= 2);
    let note = $(".email-suggestion", field.parentNode);
    if (!best) return note && note.remove();
    if (!note) {
      field.insertAdjacentHTML("afterend", "<p class=email-suggestion role=status></p>");
      note = field.nextSibling;
    }
    const strong = doc.createElement("strong");
    strong.textContent = local + "@" + best;
    note.replaceChildren("Vouliez-vous écrire ", strong, " ? Si oui, corrigez l'adresse ; sinon, laissez-la telle quelle.");
  });

  addCounters();
  const draft = summary().hidden && readDraft();
  if (draft) {
    fillWith(draft.answers);
    offerErase(draft);
  }
})();
