/* The form page, enhanced: the same POST by fetch, errors shown in place, a draft kept
   in this browser until the form is sent. The form works fully without this file. */
(function () {
  "use strict";
  var form = document.querySelector("form.ami-form");
  if (!form || !window.fetch || !window.URLSearchParams) { return; }
  var summary = document.getElementById("erreurs");
  var status = form.querySelector(".form-status");
  var button = form.querySelector("button[type=submit]");
  var draftKey = form.getAttribute("data-draft-key") || "ami-brouillon";
  var skip = { jeton: true, id_envoi: true, site_web: true };
  var baseTitle = document.title.replace(/^Erreur : /, "");

  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function readDraft() {
    var store = storage();
    if (!store) { return null; }
    try { return JSON.parse(store.getItem(draftKey) || "null"); } catch (e) { return null; }
  }

  function saveDraft() {
    var store = storage();
    if (!store) { return; }
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || skip[el.name]) { return; }
      if (el.type === "checkbox" && el.value !== "oui") {
        data[el.name] = data[el.name] || [];
        if (el.checked) { data[el.name].push(el.value); }
      } else if (el.type === "checkbox") {
        data[el.name] = el.checked;
      } else if (el.type === "radio") {
        if (el.checked) { data[el.name] = el.value; }
      } else if (el.type !== "submit") {
        data[el.name] = el.value;
      }
    });
    try { store.setItem(draftKey, JSON.stringify(data)); } catch (e) { /* storage full or refused */ }
  }

  function restoreDraft() {
    var data = readDraft();
    if (!data) { return; }
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || skip[el.name] || !(el.name in data)) { return; }
      var value = data[el.name];
      if (el.type === "checkbox" && Array.isArray(value)) {
        el.checked = value.indexOf(el.value) !== -1;
      } else if (el.type === "checkbox") {
        el.checked = value === true;
      } else if (el.type === "radio") {
        el.checked = el.value === value;
      } else if (typeof value === "string") {
        el.value = value;
      }
    });
    if (status) { status.textContent = "Votre brouillon enregistré dans ce navigateur a été repris."; }
  }

  function clearErrors() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (span) {
      span.hidden = true;
      span.textContent = "";
    });
    Array.prototype.forEach.call(form.querySelectorAll(".field-error"), function (div) {
      div.classList.remove("field-error");
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
  }

  function describe(el, id) {
    var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (ids.indexOf(id) === -1) { ids.push(id); el.setAttribute("aria-describedby", ids.join(" ")); }
  }

  function showErrors(errors, general) {
    clearErrors();
    var names = Object.keys(errors);
    var list = summary.querySelector("ul");
    list.textContent = "";
    var generalNode = summary.querySelector(".error-general");
    if (generalNode) { generalNode.parentNode.removeChild(generalNode); }
    if (general) {
      generalNode = document.createElement("p");
      generalNode.className = "error-general";
      generalNode.textContent = general;
      summary.insertBefore(generalNode, list);
    }
    names.forEach(function (name) {
      var span = form.querySelector('[data-error-for="' + name + '"]');
      var field = form.querySelector('[data-field="' + name + '"]');
      if (span) {
        var prefix = document.createElement("span");
        prefix.className = "visually-hidden";
        prefix.textContent = "Erreur : ";
        span.appendChild(prefix);
        span.appendChild(document.createTextNode(errors[name]));
        span.hidden = false;
      }
      if (field) {
        field.classList.add("field-error");
        var group = field.querySelector("fieldset");
        Array.prototype.forEach.call(field.querySelectorAll("input, textarea, select"), function (el) {
          el.setAttribute("aria-invalid", "true");
          if (!group) { describe(el, name + "-error"); }
        });
        if (group) { describe(group, name + "-error"); }
      }
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = "#" + name;
      link.textContent = errors[name];
      item.appendChild(link);
      list.appendChild(item);
    });
    var count = names.length;
    summary.querySelector("h2").textContent = "Erreur : " + (count ?
      count + (count > 1 ? " réponses à corriger" : " réponse à corriger") : "envoi à vérifier");
    summary.hidden = false;
    document.title = "Erreur : " + baseTitle;
    summary.focus();
  }

  function setHidden(hidden) {
    if (!hidden) { return; }
    Object.keys(hidden).forEach(function (name) {
      var input = form.querySelector('input[name="' + name + '"]');
      if (input && name !== "site_web") { input.value = hidden[name]; }
    });
  }

  form.addEventListener("input", saveDraft);
  form.addEventListener("change", saveDraft);

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    saveDraft();
    button.disabled = true;
    if (status) { status.textContent = "Envoi en cours…"; }
    var body = new URLSearchParams(new FormData(form));
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if ((response.status === 200 || response.status === 201) && data.confirmation_url) {
          var store = storage();
          if (store) { store.removeItem(draftKey); }
          window.location.assign(data.confirmation_url);
          return;
        }
        button.disabled = false;
        if (status) { status.textContent = ""; }
        if (response.status === 422 && data.errors) {
          var general = data.errors.jeton;
          delete data.errors.jeton;
          setHidden(data.hidden);
          showErrors(data.errors, general);
        } else {
          showErrors({}, data.error || "L'envoi a échoué. Vos réponses sont conservées : réessayez dans un instant.");
        }
      });
    }).catch(function () {
      button.disabled = false;
      if (status) { status.textContent = ""; }
      showErrors({}, "Connexion impossible : vos réponses sont gardées dans ce navigateur. Vérifiez votre connexion, puis envoyez à nouveau.");
    });
  });

  if (summary && summary.hidden) { restoreDraft(); }
}());
