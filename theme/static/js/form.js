/* The form page, enhanced: the same POST by fetch, errors shown in place without a reload, a
   draft kept in this browser, a live count on texts with a maximum length. The form works
   fully without this file. On a refusal (422) the server's own page comes back: its error
   summary and its form, with the same words and the same markup as without JavaScript,
   replace the ones on screen; on a closed call (403) its closing page replaces the page.
   The draft is cleared only once a receipt with a reference has loaded, when the porteur
   erases it, after the days the form states (data-draft-days, from ami.yaml), or when the
   call is closed.
   The build minifies this file (plugins/ami_minify); keep it readable here. */
(() => {
  const DRAFT_PREFIX = "ami-brouillon";
  const forgetAll = () => {
    try {
      Object.keys(localStorage).filter(name => name.startsWith(DRAFT_PREFIX)).forEach(name => localStorage.removeItem(name));
    } catch (e) { /* storage refused */ }
  };
  const form = document.querySelector("form.ami-form");
  if (!form) {  /* the call is closed (or not open yet): no draft is kept */
    if (document.getElementById("formulaire-ferme")) forgetAll();
    return;
  }
  if (!window.fetch) return;
  const key = form.dataset.draftKey;
  const skip = ["jeton", "id_envoi", "site_web"];
  const say = text => { form.querySelector(".form-status").textContent = text; };
  const summary = () => document.getElementById("erreurs");
  const count = n => n.toLocaleString("fr-FR");
  const callNow = () => form.dataset.now ? Date.parse(form.dataset.now) : Date.now();

  /* The draft: the time it was saved and the answers as [name, value] pairs, as the form
     would send them, less the hidden fields, which stay the page's own. */
  function save() {
    const answers = [...new FormData(form)].filter(([name]) => !skip.includes(name));
    try { localStorage.setItem(key, JSON.stringify({ at: Date.now(), answers })); } catch (e) { /* refused or full */ }
  }

  function forget() {
    try { localStorage.removeItem(key); } catch (e) { /* nothing to forget */ }
  }

  function readDraft() {
    try {
      const draft = JSON.parse(localStorage.getItem(key));
      if (!draft || !Array.isArray(draft.answers) || typeof draft.at != "number") return null;
      const expired = Date.now() - draft.at > form.dataset.draftDays * 864e5 || callNow() > Date.parse(form.dataset.closes);
      if (expired) { forget(); return null; }
      return draft;
    } catch (e) { return null; }  /* no draft, or one this page cannot read */
  }

  function fillWith(answers) {
    Array.from(form.elements).forEach(el => {
      if (!el.name || skip.includes(el.name) || el.type == "hidden") return;
      const values = answers.filter(([name]) => name == el.name).map(([, value]) => value);
      if (/radio|checkbox/.test(el.type)) el.checked = values.includes(el.value);
      else if (el.tagName != "BUTTON") el.value = values.length ? values[0] : "";
    });
    form.querySelectorAll("[data-max]").forEach(el => el.dispatchEvent(new Event("count")));
  }

  /* « Brouillon repris du … — Effacer le brouillon », above the form. */
  function offerErase(draft) {
    const when = new Date(draft.at).toLocaleString("fr-FR", { dateStyle: "full", timeStyle: "short" });
    const box = document.createElement("div");
    box.className = "notice draft-notice";
    box.innerHTML = "<p>Brouillon repris du " + when + ", enregistré dans ce navigateur seulement. " +
      "<button type=button class=button-secondary>Effacer le brouillon</button></p>";
    form.before(box);
    box.querySelector("button").addEventListener("click", () => {
      forget();
      fillWith([]);
      box.innerHTML = "<p>Brouillon effacé : le formulaire est vide et plus rien n'est gardé dans ce navigateur.</p>";
      box.setAttribute("role", "status");
      form.querySelector("input:not([type=hidden]),textarea,select").focus();
    });
  }

  /* A live count under each text with a maximum length, as GOV.UK's character count: a
     visible count, and a polite announcement once typing pauses. */
  function addCounters() {
    form.querySelectorAll("[data-max]").forEach(el => {
      const max = Number(el.dataset.max);
      const shown = document.createElement("p");
      const spoken = document.createElement("p");
      shown.className = "char-count";
      shown.setAttribute("aria-hidden", "true");
      spoken.className = "visually-hidden";
      spoken.setAttribute("aria-live", "polite");
      el.after(shown, spoken);
      let pause;
      const update = () => {
        const used = [...el.value.normalize("NFC").trim()].length;
        const over = used > max;
        shown.textContent = over ? count(used - max) + " caractère" + (used - max > 1 ? "s" : "") + " en trop"
                                 : count(used) + " caractère" + (used > 1 ? "s" : "") + " sur " + count(max);
        shown.classList.toggle("char-count-over", over);
        clearTimeout(pause);
        pause = setTimeout(() => { spoken.textContent = shown.textContent; }, 1000);
      };
      el.addEventListener("input", update);
      el.addEventListener("count", update);
      update();
    });
  }

  /* The error summary's links: the question's label (or legend), hint and message come into
     view, then the field gets the focus (GOV.UK's pattern). */
  function followErrorLinks() {
    document.addEventListener("click", event => {
      const link = event.target.closest("#erreurs a[href^='#']");
      const field = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!field) return;
      event.preventDefault();
      const question = field.closest(".field-error") || document.querySelector("label[for='" + field.id + "']") || field;
      question.scrollIntoView({ block: "start" });
      field.focus({ preventScroll: true });
    });
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

  /* A receipt: the address it was reached at ends with a reference, which the page shows. */
  function isReceipt(reply, html) {
    const last = new URL(reply.url).pathname.split("/").filter(Boolean).pop() || "";
    return reply.redirected && /^[A-Z0-9]+(-[A-Z0-9]+)*-\d+$/.test(last) && html.includes(last);
  }

  ["input", "change"].forEach(type => form.addEventListener(type, save));
  form.addEventListener("submit", event => {
    event.preventDefault();
    save();
    const button = form.querySelector("button[type=submit]");
    const ready = () => { button.disabled = false; say(""); };
    button.disabled = true;
    say("Envoi en cours…");
    fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)) })
      .then(reply => reply.text().then(html => {
        if (reply.ok) {
          if (isReceipt(reply, html)) forget();  /* stored: the receipt has loaded */
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
          addCounters();
          announce(box);
        } else if (page.getElementById("formulaire-ferme")) {  /* the call closed meanwhile */
          forgetAll();
          const main = document.querySelector("main");
          main.innerHTML = page.querySelector("main").innerHTML;
          document.title = page.title;
          main.focus();
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

  addCounters();
  followErrorLinks();
  if (summary().hidden) {
    const draft = readDraft();
    if (draft) {
      fillWith(draft.answers);
      offerErase(draft);
    }
  }
})();
